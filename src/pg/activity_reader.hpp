// Streams activity rows from SPI into a Folder, one interaction (with all its participants) at a
// time. Runs inside the barrier: every Postgres call goes through pg_call.
#pragma once

#include <cstdint>

#include "core/signals/folder.hpp"
#include "pg/pg.hpp"

namespace crm::pg {

// The select list every activity query must have, in this order; rows ordered by interaction id.
#define CRM_ACTIVITY_COLUMNS                                                                   \
  "i.id, i.occurred_at, i.kind::text, i.status::text, p.person_id, p.company_id, p.member_id, " \
  "p.role::text, p.response::text"

// Opens a cursor on plan and folds every row. SPI must be connected.
void fold_activity(SPIPlanPtr plan, const Datum *args, const char *nulls, bool read_only,
                   signals::Folder &folder);

}  // namespace crm::pg
