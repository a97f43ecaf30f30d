// merged_into is crm.merge's and crm.unmerge's to write: a tombstone made by a plain UPDATE would
// have no log to undo it by. Those two say when they write it (crm._merge_writes), for their own
// transaction and subtransaction only; the guard trigger refuses any other change.
#include "pg/records/merge_guard.hpp"

#include "pg/common/pg.hpp"
#include "pg/common/restore_mode.hpp"
#include "pg/common/subxact_flag.hpp"

extern "C" {
#include "utils/datum.h"

PG_FUNCTION_INFO_V1(crm_merge_writes);
PG_FUNCTION_INFO_V1(crm_merged_into_guard);
PG_FUNCTION_INFO_V1(crm_follow_merged_company);
}

namespace {

crm::pg::SubxactFlag merge_writes;

}  // namespace

bool crm::pg::merge_writing() {
  return merge_writes.raised();
}

// crm._merge_writes(on): EXECUTE only for the extension's owner (its definer functions).
extern "C" PGDLLEXPORT Datum crm_merge_writes(PG_FUNCTION_ARGS) {
  merge_writes.set(!PG_ARGISNULL(0) && PG_GETARG_BOOL(0));
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
  if (at <= 0)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("crm_merged_into_guard: the table has no column merged_into"),
                    errhint("The database's crm_hygiene objects are older than its installed "
                            "library: run ALTER EXTENSION crm_hygiene UPDATE.")));
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

// BEFORE INSERT OR UPDATE OF company_id ... FOR EACH ROW on crm.person and crm.deal: a company id
// that names a merged company is written as the company it was merged into, so ids other systems
// hold keep working and nothing links to a tombstone (whose activity no view would show).
extern "C" PGDLLEXPORT Datum crm_follow_merged_company(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_follow_merged_company: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      TRIGGER_FIRED_BY_DELETE(td->tg_event))
    elog(ERROR, "crm_follow_merged_company: must fire BEFORE INSERT OR UPDATE ... FOR EACH ROW");
  HeapTuple written = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
  if (crm::pg::restoring()) return PointerGetDatum(written);  // rows as dumped
  TupleDesc desc = td->tg_relation->rd_att;
  const int at = SPI_fnumber(desc, "company_id");
  if (at <= 0)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("crm_follow_merged_company: the table has no column company_id"),
                    errhint("The database's crm_hygiene objects are older than its installed "
                            "library: run ALTER EXTENSION crm_hygiene UPDATE.")));
  bool isnull = false;
  const Datum company = heap_getattr(written, at, desc, &isnull);
  if (isnull) return PointerGetDatum(written);
  // Most databases have no merged company: asked once a statement (a COPY of a million people
  // then pays one query, not one a row).
  static LocalTransactionId asked_xact = InvalidLocalTransactionId;
  static CommandId asked_command = InvalidCommandId;
  static bool any_merged = true;
  static SPIPlanPtr any_plan = nullptr, plan = nullptr;
  const CommandId command = GetCurrentCommandId(false);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  if (asked_xact != MyProc->lxid || asked_command != command) {
    if (any_plan == nullptr) {
      SPIPlanPtr prepared = SPI_prepare(
          "SELECT EXISTS (SELECT FROM crm.company WHERE merged_into IS NOT NULL)", 0, nullptr);
      if (prepared == nullptr || SPI_keepplan(prepared) != 0)
        elog(ERROR, "crm_hygiene: cannot prepare the merged company check");
      any_plan = prepared;
    }
    if (SPI_execute_plan(any_plan, nullptr, nullptr, true, 1) != SPI_OK_SELECT)
      elog(ERROR, "crm_hygiene: cannot check for merged companies");
    bool null = false;
    any_merged = SPI_processed == 0 || DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
                                                                  SPI_tuptable->tupdesc, 1, &null));
    asked_xact = MyProc->lxid;
    asked_command = command;
  }
  if (!any_merged) {
    SPI_finish();
    return PointerGetDatum(written);
  }
  if (plan == nullptr) {
    Oid types[1] = {INT8OID};
    SPIPlanPtr prepared = SPI_prepare(
        "SELECT merged_into FROM crm.company WHERE id = $1 AND merged_into IS NOT NULL", 1, types);
    if (prepared == nullptr || SPI_keepplan(prepared) != 0)
      elog(ERROR, "crm_hygiene: cannot prepare the merged company lookup");
    plan = prepared;
  }
  Datum args[1] = {company};
  if (SPI_execute_plan(plan, args, nullptr, true, 1) != SPI_OK_SELECT)
    elog(ERROR, "crm_hygiene: cannot look up the merged company");
  Datum survivor = 0;
  bool found = false;
  if (SPI_processed > 0) {
    bool null = false;
    survivor = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null);
    found = !null;
  }
  SPI_finish();
  if (!found) return PointerGetDatum(written);
  int columns[1] = {at};
  Datum values[1] = {survivor};
  bool nulls[1] = {false};
  return PointerGetDatum(heap_modify_tuple_by_cols(written, desc, 1, columns, values, nulls));
}
