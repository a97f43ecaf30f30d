// crm.now() for C++ callers: the crm.clock setting when set, else the transaction start time.
#pragma once

#include "pg/pg.hpp"

namespace crm::pg {

// Calls Postgres (parses the setting): use inside pg_call or in a plain C phase.
TimestampTz current_clock();

}  // namespace crm::pg
