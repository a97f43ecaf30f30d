// The AI enqueue trigger (src/sql/87_ai.sql): BEFORE INSERT OR UPDATE ... FOR EACH ROW on the
// record tables and the signal tables. It writes nothing but a row of crm.ai_inbox per attribute
// whose declared inputs changed, straight into the heap while the inbox is as created (no index,
// constraint or trigger): an enqueue costs one heap insert. The attributes of a workspace and kind
// are cached per backend until crm.ai_attribute or crm.ai_worker changes (their statement trigger
// sends a relcache invalidation of crm.ai_attribute, which every backend receives at commit).
// Plain C phases only: nothing here runs C++ that could throw.
#include <cstring>

#include "pg/common/pg.hpp"
#include "pg/common/restore_mode.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "commands/async.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(crm_ai_enqueue);
PG_FUNCTION_INFO_V1(crm_ai_attributes_changed);
}

namespace {

constexpr int kMaxInputs = 64;

// The signal columns whose change makes 'signals' and 'interactions' inputs due.
const char *const kSignalColumns[] = {
    "first_interaction_at", "last_interaction_at", "last_interaction_kind", "next_meeting_at",
    "email_count",          "meeting_count",       "interaction_count",     "strongest_member_id"};

struct AttributeInputs {
  int64 id;
  int count;  // columns watched on this trigger's table
  AttrNumber columns[kMaxInputs];
};

struct CacheKey {
  int64 workspace;
  Oid relid;
};

struct CacheEntry {
  CacheKey key;
  int count;
  AttributeInputs *attributes;
};

MemoryContext cache_context = nullptr;
HTAB *cache = nullptr;
bool workers_running = false;
bool workers_known = false;
Oid attribute_relid = InvalidOid;
Oid worker_relid = InvalidOid;
Oid inbox_relid = InvalidOid;

// Bumped by every invalidation: a load that saw it happen meanwhile is used once, not cached.
uint64 cache_generation = 0;

void forget_cache(Datum, Oid relid) {
  if (relid != InvalidOid && relid != attribute_relid && relid != worker_relid &&
      relid != inbox_relid)
    return;
  ++cache_generation;
  if (cache_context != nullptr) MemoryContextDelete(cache_context);
  cache_context = nullptr;
  cache = nullptr;
  workers_known = false;
  inbox_relid = InvalidOid;
}

void ensure_cache() {
  static bool registered = false;
  if (!registered) {
    CacheRegisterRelcacheCallback(forget_cache, Datum(0));
    registered = true;
  }
  if (cache != nullptr) return;
  const Oid crm = get_namespace_oid("crm", false);
  attribute_relid = get_relname_relid("ai_attribute", crm);
  worker_relid = get_relname_relid("ai_worker", crm);
  inbox_relid = get_relname_relid("ai_inbox", crm);
  if (!OidIsValid(attribute_relid) || !OidIsValid(worker_relid) || !OidIsValid(inbox_relid))
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("crm_ai_enqueue: the AI tables are missing"),
                    errhint("run ALTER EXTENSION crm_hygiene UPDATE")));
  cache_context =
      AllocSetContextCreate(CacheMemoryContext, "crm_hygiene AI attributes", ALLOCSET_SMALL_SIZES);
  HASHCTL ctl;
  std::memset(&ctl, 0, sizeof ctl);
  ctl.keysize = sizeof(CacheKey);
  ctl.entrysize = sizeof(CacheEntry);
  ctl.hcxt = cache_context;
  cache = hash_create("crm_hygiene AI attributes", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

// The reads below run as the owner of crm.ai_attribute, as Postgres's own RI triggers run as a
// table's owner: whoever writes a record need not be able to read the AI tables, and their
// row-level security is not the writer's business.
struct AsOwner {
  Oid saved_user;
  int saved_context;
};

AsOwner become_owner() {
  AsOwner saved;
  GetUserIdAndSecContext(&saved.saved_user, &saved.saved_context);
  Relation rel = table_open(attribute_relid, AccessShareLock);
  const Oid owner = rel->rd_rel->relowner;
  table_close(rel, AccessShareLock);
  SetUserIdAndSecContext(owner,
                         saved.saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
  return saved;
}

void restore_user(const AsOwner &saved) {
  SetUserIdAndSecContext(saved.saved_user, saved.saved_context);
}

CacheEntry *load_entry(const CacheKey &key, const char *kind, bool signals, TupleDesc desc) {
  const uint64 generation = cache_generation;
  const AsOwner saved = become_owner();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_ai_enqueue: SPI_connect failed");
  Oid types[2] = {INT8OID, TEXTOID};
  Datum values[2] = {Int64GetDatum(key.workspace), CStringGetTextDatum(kind)};
  // Read with the latest snapshot, not the statement's: an attribute committed after this
  // statement began (whose invalidation this backend has already taken) must not be left out of
  // what stays cached.
  SPIPlanPtr plan = SPI_prepare(
      "SELECT a.id, a.inputs FROM crm.ai_attribute a "
      "WHERE a.workspace_id OPERATOR(pg_catalog.=) $1 AND a.kind OPERATOR(pg_catalog.=) $2 "
      "AND a.enabled ORDER BY a.id",
      2, types);
  if (plan == nullptr || SPI_execute_snapshot(plan, values, nullptr, GetLatestSnapshot(),
                                              InvalidSnapshot, true, false, 0) != SPI_OK_SELECT)
    elog(ERROR, "crm_ai_enqueue: reading crm.ai_attribute failed");
  const uint64 rows = SPI_processed;
  // In the caller's context (SPI_palloc): an invalidation during the query may drop the cache.
  AttributeInputs *read =
      static_cast<AttributeInputs *>(SPI_palloc(sizeof(AttributeInputs) * (rows + 1)));
  std::memset(read, 0, sizeof(AttributeInputs) * (rows + 1));
  int count = 0;
  for (uint64 r = 0; r < rows; ++r) {
    HeapTuple row = SPI_tuptable->vals[r];
    bool isnull = false;
    AttributeInputs &a = read[count];
    a.id = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
    Datum inputs_datum = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
    Datum *inputs = nullptr;
    int n = 0;
    deconstruct_array(DatumGetArrayTypeP(inputs_datum), TEXTOID, -1, false, TYPALIGN_INT, &inputs,
                      nullptr, &n);
    bool wants_signals = false;
    a.count = 0;
    for (int i = 0; i < n; ++i) {
      char *input = TextDatumGetCString(inputs[i]);
      if (strcmp(input, "signals") == 0 || strcmp(input, "interactions") == 0) {
        wants_signals = true;
        continue;
      }
      if (signals) continue;
      const char *column = strncmp(input, "attributes.", 11) == 0 ? "attributes" : input;
      const int at = SPI_fnumber(desc, column);
      if (at > 0 && a.count < kMaxInputs) a.columns[a.count++] = static_cast<AttrNumber>(at);
    }
    if (signals) {
      if (!wants_signals) continue;  // this attribute does not read activity
      for (const char *column : kSignalColumns) {
        const int at = SPI_fnumber(desc, column);
        if (at > 0 && a.count < kMaxInputs) a.columns[a.count++] = static_cast<AttrNumber>(at);
      }
    }
    ++count;
  }
  if (!workers_known) {
    SPIPlanPtr workers = SPI_prepare("SELECT EXISTS (SELECT FROM crm.ai_worker)", 0, nullptr);
    if (workers == nullptr ||
        SPI_execute_snapshot(workers, nullptr, nullptr, GetLatestSnapshot(), InvalidSnapshot, true,
                             false, 1) != SPI_OK_SELECT)
      elog(ERROR, "crm_ai_enqueue: reading crm.ai_worker failed");
    bool isnull = false;
    workers_running =
        DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    workers_known = true;
  }
  SPI_finish();
  restore_user(saved);
  // Entered only once read: an error above leaves nothing cached; an invalidation during the read
  // leaves this statement's answer uncached.
  if (generation != cache_generation) {
    static CacheEntry once;
    once.key = key;
    once.count = count;
    once.attributes = read;  // the caller's memory: lives as long as this trigger call
    return &once;
  }
  ensure_cache();
  AttributeInputs *attributes = static_cast<AttributeInputs *>(
      MemoryContextAlloc(cache_context, sizeof(AttributeInputs) * (count + 1)));
  std::memcpy(attributes, read, sizeof(AttributeInputs) * count);
  pfree(read);
  bool found = false;
  CacheEntry *entry = static_cast<CacheEntry *>(hash_search(cache, &key, HASH_ENTER, &found));
  entry->count = count;
  entry->attributes = attributes;
  return entry;
}

bool changed(HeapTuple before, HeapTuple after, TupleDesc desc, const AttributeInputs &a) {
  for (int i = 0; i < a.count; ++i) {
    Form_pg_attribute attr = TupleDescAttr(desc, a.columns[i] - 1);
    bool before_null = false, after_null = false;
    const Datum b = heap_getattr(before, attr->attnum, desc, &before_null);
    const Datum v = heap_getattr(after, attr->attnum, desc, &after_null);
    if (before_null || after_null) {
      if (before_null != after_null) return true;
      continue;
    }
    if (!datum_image_eq(b, v, attr->attbyval, attr->attlen)) return true;
  }
  return false;
}

// The inbox as created: four plain columns, nothing that a heap insert would bypass. (Its
// workspace policy holds: the row is for the workspace of the record just written.)
bool plain_inbox(Relation rel) {
  TupleDesc desc = rel->rd_att;
  return rel->rd_rel->relkind == RELKIND_RELATION && !rel->rd_rel->relhasindex &&
         rel->trigdesc == nullptr && desc->constr == nullptr && desc->natts == 4 &&
         TupleDescAttr(desc, 0)->atttypid == INT8OID &&
         TupleDescAttr(desc, 1)->atttypid == INT8OID &&
         TupleDescAttr(desc, 2)->atttypid == INT8OID &&
         TupleDescAttr(desc, 3)->atttypid == TIMESTAMPTZOID;
}

SPIPlanPtr inbox_insert_plan = nullptr;

void append_requests(int64 workspace, int64 record, const int64 *ids, int count) {
  const TimestampTz now = GetCurrentTransactionStartTimestamp();
  Relation rel = table_open(inbox_relid, RowExclusiveLock);
  if (plain_inbox(rel)) {
    for (int i = 0; i < count; ++i) {
      Datum values[4] = {Int64GetDatum(workspace), Int64GetDatum(ids[i]), Int64GetDatum(record),
                         TimestampTzGetDatum(now)};
      bool nulls[4] = {false, false, false, false};
      HeapTuple row = heap_form_tuple(rel->rd_att, values, nulls);
      simple_heap_insert(rel, row);
      heap_freetuple(row);
    }
    table_close(rel, RowExclusiveLock);
    return;
  }
  table_close(rel, RowExclusiveLock);
  // A DBA changed the inbox (an index, a trigger, a policy): through SQL, which honours it.
  const AsOwner saved = become_owner();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_ai_enqueue: SPI_connect failed");
  if (inbox_insert_plan == nullptr) {
    Oid types[4] = {INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID};
    inbox_insert_plan = SPI_prepare(
        "INSERT INTO crm.ai_inbox (workspace_id, attribute_id, record_id, requested_at) "
        "VALUES ($1, $2, $3, $4)",
        4, types);
    if (inbox_insert_plan == nullptr) elog(ERROR, "crm_ai_enqueue: SPI_prepare failed");
    SPI_keepplan(inbox_insert_plan);
  }
  for (int i = 0; i < count; ++i) {
    Datum values[4] = {Int64GetDatum(workspace), Int64GetDatum(ids[i]), Int64GetDatum(record),
                       TimestampTzGetDatum(now)};
    if (SPI_execute_plan(inbox_insert_plan, values, nullptr, false, 0) != SPI_OK_INSERT)
      elog(ERROR, "crm_ai_enqueue: inserting into crm.ai_inbox failed");
  }
  SPI_finish();
  restore_user(saved);
}

}  // namespace

extern "C" PGDLLEXPORT Datum crm_ai_enqueue(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_ai_enqueue: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      TRIGGER_FIRED_BY_DELETE(td->tg_event) || td->tg_trigger->tgnargs != 2)
    elog(ERROR,
         "crm_ai_enqueue: must fire BEFORE INSERT OR UPDATE ... FOR EACH ROW with two arguments");
  const bool update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  HeapTuple row = update ? td->tg_newtuple : td->tg_trigtuple;
  // The row goes on unchanged; a statement that fails later takes its requests back with it.
  const Datum unchanged = PointerGetDatum(row);
  if (crm::pg::restoring()) return unchanged;
  const char *kind = td->tg_trigger->tgargs[0];
  const bool signals = strcmp(td->tg_trigger->tgargs[1], "signals") == 0;
  TupleDesc desc = td->tg_relation->rd_att;
  static const char *const id_columns[] = {"id", "person_id", "company_id"};
  const char *id_column = !signals                      ? id_columns[0]
                          : strcmp(kind, "person") == 0 ? id_columns[1]
                                                        : id_columns[2];
  const int workspace_at = SPI_fnumber(desc, "workspace_id");
  const int id_at = SPI_fnumber(desc, id_column);
  if (workspace_at <= 0 || id_at <= 0)
    elog(ERROR, "crm_ai_enqueue: the table has no workspace_id or %s", id_column);
  bool isnull = false;
  const Datum workspace_datum = heap_getattr(row, workspace_at, desc, &isnull);
  if (isnull) return unchanged;
  const Datum id_datum = heap_getattr(row, id_at, desc, &isnull);
  if (isnull) return unchanged;

  ensure_cache();
  CacheKey key{DatumGetInt64(workspace_datum), RelationGetRelid(td->tg_relation)};
  CacheEntry *entry = static_cast<CacheEntry *>(hash_search(cache, &key, HASH_FIND, nullptr));
  if (entry == nullptr) entry = load_entry(key, kind, signals, desc);
  if (entry->count == 0) return unchanged;

  int64 *due = static_cast<int64 *>(palloc(sizeof(int64) * entry->count));
  int count = 0;
  for (int i = 0; i < entry->count; ++i) {
    const AttributeInputs &a = entry->attributes[i];
    if (update && !changed(td->tg_trigtuple, td->tg_newtuple, desc, a)) continue;
    due[count++] = a.id;
  }
  if (count == 0) return unchanged;
  append_requests(key.workspace, DatumGetInt64(id_datum), due, count);
  // Wakes the workers at commit; one notification per transaction, however many rows.
  if (workers_running) Async_Notify("crm_ai_jobs", "");
  return unchanged;
}

// AFTER ... FOR EACH STATEMENT on crm.ai_attribute and crm.ai_worker: every backend's cache of
// attributes (and of whether workers run) is stale once this transaction commits.
extern "C" PGDLLEXPORT Datum crm_ai_attributes_changed(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_ai_attributes_changed: not called as a trigger");
  const Oid relid = get_relname_relid("ai_attribute", get_namespace_oid("crm", false));
  if (OidIsValid(relid)) CacheInvalidateRelcacheByRelid(relid);
  return PointerGetDatum(nullptr);
}
