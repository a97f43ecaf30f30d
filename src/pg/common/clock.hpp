// The session's settings for C++ callers: crm.now() (crm.clock, else the transaction start) and
// crm.current_workspace() (crm.workspace, else 1).
#pragma once

#include <cstdint>

#include "pg/common/pg.hpp"

namespace crm::pg {

// Calls Postgres (parses the setting): use inside pg_call or in a plain C phase.
TimestampTz current_clock();

// crm.current_workspace() for C++ callers: the crm.workspace setting, else 1. Reads a setting:
// use inside pg_call or in a plain C phase.
std::int64_t session_workspace();

}  // namespace crm::pg
