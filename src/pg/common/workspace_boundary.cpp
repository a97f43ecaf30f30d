// crm._require_workspace: the workspace boundary for functions that run with the owner's rights
// (SECURITY DEFINER: capture, dismissals, duplicate scans and training). Row-level security
// keeps every other access inside the workspaces a role may use
// (src/sql/93_workspace_boundary.sql); these functions bypass it, so they check the role they act
// for explicitly. Plain Postgres code, no C++ objects: nothing to keep apart from ereport.
#include "pg/common/pg.hpp"

extern "C" {
#include "utils/acl.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(crm_require_workspace);
}

extern "C" PGDLLEXPORT Datum crm_require_workspace(PG_FUNCTION_ARGS) {
  const int64 workspace = PG_GETARG_INT64(0);
  // The role outside every SECURITY DEFINER function: the one the caller acts for.
  const Oid role = GetOuterUserId();
  if (superuser_arg(role)) PG_RETURN_INT64(workspace);

  bool allowed = false;
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  Oid types[1] = {INT8OID};
  Datum args[1] = {Int64GetDatum(workspace)};
  if (SPI_execute_with_args("SELECT w.roles::pg_catalog.oid[] FROM crm.workspace w WHERE w.id = $1",
                            1, types, args, nullptr, true, 1) != SPI_OK_SELECT)
    elog(ERROR, "crm_hygiene: cannot read crm.workspace");
  if (SPI_processed == 1) {
    bool isnull = false;
    const Datum roles = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    if (isnull) {
      allowed = true;  // no roles listed: open to every role with the table grants
    } else {
      ArrayType *array = DatumGetArrayTypeP(roles);
      Datum *elements = nullptr;
      bool *nulls = nullptr;
      int count = 0;
      deconstruct_array(array, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &elements, &nulls, &count);
      for (int i = 0; i < count && !allowed; ++i)
        allowed = !nulls[i] && is_member_of_role(role, DatumGetObjectId(elements[i]));
    }
  }
  SPI_finish();
  if (!allowed)
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("workspace %lld is not available to role \"%s\"",
                           static_cast<long long>(workspace), GetUserNameFromId(role, false)),
                    errhint("crm.workspace.roles lists the roles that may use a workspace.")));
  PG_RETURN_INT64(workspace);
}
