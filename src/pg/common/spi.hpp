// Small SPI helpers. Everything here calls Postgres: use it inside pg_call, or from plain C phases.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "pg/common/pg.hpp"

namespace crm::pg {

// Prepares sql once per backend, with a generic plan, and keeps it in *slot. Only for index
// probes (primary keys, small = ANY arrays); set-based queries use execute_once.
SPIPlanPtr kept_plan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types);

// A bigint[] Datum of the given values, allocated in the current memory context.
Datum int8_array(const std::int64_t *values, int count);
// A text[] of these strings; Postgres phase.
Datum text_array(const std::vector<std::string_view> &values);

// The bytes of a text Datum without copying when it is short (the common case).
std::string_view text_view(Datum value);

// Plans sql for these very arguments and runs it, or opens a cursor on it. For set-based queries,
// whose best plan depends on how big the tables are now: a cached generic plan made while a table
// was small would scan it whole forever after.
void execute_once(const char *sql, int nargs, const Oid *types, const Datum *values,
                  const char *nulls, bool read_only, int expected);
Portal cursor_once(const char *sql, int nargs, const Oid *types, const Datum *values,
                   const char *nulls, bool read_only);

// Runs a prepared plan and fails unless it returned the expected SPI code.
void execute_plan(SPIPlanPtr plan, const Datum *values, const char *nulls, bool read_only,
                  int expected);

}  // namespace crm::pg
