// merged_into is crm.merge's and crm.unmerge's to write: a tombstone made by a plain UPDATE would
// have no log to undo it by. Those two say when they write it (crm._merge_writes), for their own
// transaction and subtransaction only; the guard trigger refuses any other change.
#include "pg/records/merge_guard.hpp"

#include "pg/common/pg.hpp"
#include "pg/common/restore_mode.hpp"

extern "C" {
#include "utils/datum.h"

PG_FUNCTION_INFO_V1(crm_merge_writes);
PG_FUNCTION_INFO_V1(crm_merged_into_guard);
}

namespace {

LocalTransactionId writes_xact = InvalidLocalTransactionId;
SubTransactionId writes_subxact = InvalidSubTransactionId;

}  // namespace

bool crm::pg::merge_writing() {
  return writes_xact == MyProc->lxid && writes_subxact == GetCurrentSubTransactionId();
}

// crm._merge_writes(on): EXECUTE only for the extension's owner (its definer functions).
extern "C" PGDLLEXPORT Datum crm_merge_writes(PG_FUNCTION_ARGS) {
  const bool on = !PG_ARGISNULL(0) && PG_GETARG_BOOL(0);
  writes_xact = on ? MyProc->lxid : InvalidLocalTransactionId;
  writes_subxact = on ? GetCurrentSubTransactionId() : InvalidSubTransactionId;
  PG_RETURN_VOID();
}

// BEFORE INSERT OR UPDATE ... FOR EACH ROW on a table with merged_into. Plain C, no SPI, so it
// needs no grant and runs with nobody's rights.
extern "C" PGDLLEXPORT Datum crm_merged_into_guard(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_merged_into_guard: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      TRIGGER_FIRED_BY_DELETE(td->tg_event))
    elog(ERROR, "crm_merged_into_guard: must fire BEFORE INSERT OR UPDATE ... FOR EACH ROW");
  const bool update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  HeapTuple written = update ? td->tg_newtuple : td->tg_trigtuple;
  if (crm::pg::restoring() || crm::pg::merge_writing()) return PointerGetDatum(written);
  TupleDesc desc = td->tg_relation->rd_att;
  const int at = SPI_fnumber(desc, "merged_into");
  if (at <= 0) elog(ERROR, "crm_merged_into_guard: the table has no column merged_into");
  bool new_null = false, old_null = true;
  const Datum new_value = heap_getattr(written, at, desc, &new_null);
  Datum old_value = 0;
  if (update) old_value = heap_getattr(td->tg_trigtuple, at, desc, &old_null);
  const bool changed = update
                           ? (new_null != old_null ||
                              (!new_null && DatumGetInt64(new_value) != DatumGetInt64(old_value)))
                           : !new_null;
  if (changed)
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("%s.merged_into is written by crm.merge and crm.unmerge only",
                           RelationGetRelationName(td->tg_relation)),
                    errhint("merge with crm.merge(kind, survivor, others), undo with "
                            "crm.unmerge(merge_id)")));
  return PointerGetDatum(written);
}
