// Reading query results as plain C++ rows: two bigint columns (an id and a workspace) followed by
// text columns, NULL kept as nullopt. Every value is copied out of Postgres memory outside the
// pg_call that fetched it, so no C++ allocation happens under PG_TRY.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pg/common/pg.hpp"

namespace crm::pg {

struct TextRow {
  std::int64_t id = 0;
  std::int64_t workspace = 0;
  std::vector<std::optional<std::string>> columns;
};

// Runs sql through a cursor and hands its rows to visit in batches of up to batch_size rows.
void stream_text_rows(const char *sql, int nargs, const Oid *types, const Datum *args,
                      bool read_only, long batch_size,
                      const std::function<void(std::vector<TextRow> &)> &visit);

// All rows of a (small) result at once.
std::vector<TextRow> text_rows(const char *sql, int nargs, const Oid *types, const Datum *args,
                               bool read_only);

// The same through a plan prepared once per backend (kept_plan): for fixed statements run per
// write.
std::vector<TextRow> text_rows_kept(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types,
                                    const Datum *args, bool read_only);

// The rows of the query just run (SPI_tuptable), which it frees.
std::vector<TextRow> take_spi_rows();

// "{1,-2,3}" (bigint[] output) → values; malformed text gives what parsed before it.
std::vector<std::int64_t> parse_int8_array(const std::string &text);

}  // namespace crm::pg
