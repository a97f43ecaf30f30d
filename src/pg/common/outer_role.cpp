// crm._outer_role(): the role a SECURITY DEFINER function acts for, for the logs the merge
// functions write (inside them current_user is the extension's owner, and session_user is the
// login role, not the one SET ROLE chose).
#include "pg/common/pg.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_outer_role);
}

extern "C" PGDLLEXPORT Datum crm_outer_role(PG_FUNCTION_ARGS) {
  PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(GetOuterUserId(), false)));
}
