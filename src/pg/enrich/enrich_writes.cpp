// Automated writes of record fields say so (crm._enrich_writes), as merges do (SubxactFlag): a
// later user write is never taken for an automated one.
#include "pg/enrich/enrich_writes.hpp"

#include "pg/common/pg.hpp"
#include "pg/common/subxact_flag.hpp"
#include "pg/records/merge_guard.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_enrich_writes);
PG_FUNCTION_INFO_V1(crm_automated_writing);
PG_FUNCTION_INFO_V1(crm_statement_rows);
}

namespace {

crm::pg::SubxactFlag enrich_writes;

}  // namespace

bool crm::pg::enrich_writing() {
  return enrich_writes.raised();
}

// crm._enrich_writes(on): EXECUTE only for the extension's owner (its definer functions).
extern "C" PGDLLEXPORT Datum crm_enrich_writes(PG_FUNCTION_ARGS) {
  enrich_writes.set(!PG_ARGISNULL(0) && PG_GETARG_BOOL(0));
  PG_RETURN_VOID();
}

// crm._automated_writing(): whether crm.enrich or a merge is writing records now (the enrichers'
// write triggers stand aside).
extern "C" PGDLLEXPORT Datum crm_automated_writing(PG_FUNCTION_ARGS) {
  PG_RETURN_BOOL(crm::pg::enrich_writing() || crm::pg::merge_writing());
}

// crm._statement_rows(): how many times it has been called in this top-level statement, this one
// included. The enrichers' row trigger on UPDATE counts its rows with it, so a bulk UPDATE is
// enriched for its first rows only (a row trigger cannot know how many rows its statement has).
extern "C" PGDLLEXPORT Datum crm_statement_rows(PG_FUNCTION_ARGS) {
  static LocalTransactionId xact = InvalidLocalTransactionId;
  static TimestampTz statement = 0;
  static int64 rows = 0;
  const TimestampTz started = GetCurrentStatementStartTimestamp();
  if (xact != MyProc->lxid || statement != started) {
    xact = MyProc->lxid;
    statement = started;
    rows = 0;
  }
  PG_RETURN_INT64(++rows);
}
