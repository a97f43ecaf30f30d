// crm.now() and crm.current_workspace() in C: calling either loads the library, whose check hooks
// (src/pg/common/module.cpp) then vet crm.clock and crm.workspace; a value set before the library
// was loaded is checked at load, reported as a WARNING and ignored, so it cannot break the session.
#include "pg/common/clock.hpp"
#include "pg/common/pg.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_now);
PG_FUNCTION_INFO_V1(crm_current_workspace);
}

extern "C" PGDLLEXPORT Datum crm_now(PG_FUNCTION_ARGS) {
  PG_RETURN_TIMESTAMPTZ(crm::pg::current_clock());
}

extern "C" PGDLLEXPORT Datum crm_current_workspace(PG_FUNCTION_ARGS) {
  PG_RETURN_INT64(crm::pg::session_workspace());
}
