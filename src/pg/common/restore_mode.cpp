#include "pg/common/restore_mode.hpp"

#include "pg/common/pg.hpp"

extern "C" {
#include "utils/rls.h"

PG_FUNCTION_INFO_V1(crm_restoring);
}

namespace crm::pg {

bool restoring() {
  // GetOuterUserId, not GetUserId: the triggers run SECURITY DEFINER as the extension's owner.
  return !check_function_bodies && !row_security && superuser_arg(GetOuterUserId());
}

}  // namespace crm::pg

extern "C" PGDLLEXPORT Datum crm_restoring(PG_FUNCTION_ARGS) {
  PG_RETURN_BOOL(crm::pg::restoring());
}
