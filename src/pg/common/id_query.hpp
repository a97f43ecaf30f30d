// A query whose first column is a bigint, read into a vector. Runs inside the barrier.
#pragma once

#include <cstdint>
#include <vector>

#include "pg/common/pg.hpp"

namespace crm::pg {

// Plans sql for these arguments (execute_once); NULLs read as 0.
std::vector<std::int64_t> query_ids(const char *sql, int nargs, const Oid *types, const Datum *args,
                                    bool read_only);

}  // namespace crm::pg
