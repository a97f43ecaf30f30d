// A user's own write marks a field as the user's (docs/ENRICHMENT.md): AFTER UPDATE ... FOR EACH
// ROW on crm.person, crm.company and crm.deal, crm._field_written(kind) records one provenance row
// (source kind user) per field the UPDATE changed. Automated writers (crm.enrich, merges) record
// their own rows and say so first; a restore keeps the rows as dumped.
//
// A one-row UPDATE of a column nothing derives from costs ~0.11 ms; an INSERT through the executor
// (SPI) added ~0.07 ms to it, so the usual case (columns changed, attributes not) inserts the rows
// directly into the heap and its indexes, as Postgres writes its catalogs. The SPI statement stays
// for attribute changes, and for a field_provenance a DBA gave triggers or index expressions.
//
// Plain C phases only: nothing here owns a C++ object, so Postgres errors unwind as they would in
// any C trigger.
#include "pg/common/clock.hpp"
#include "pg/common/pg.hpp"
#include "pg/common/restore_mode.hpp"
#include "pg/enrich/enrich_writes.hpp"
#include "pg/records/merge_guard.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_am_d.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "nodes/makefuncs.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

PG_FUNCTION_INFO_V1(crm_field_written);
}

namespace {

// Columns that are not fields a user fills: identity, bookkeeping, and attributes, whose keys are
// fields of their own.
bool bookkeeping(const char *name) {
  return strcmp(name, "id") == 0 || strcmp(name, "workspace_id") == 0 ||
         strcmp(name, "created_at") == 0 || strcmp(name, "updated_at") == 0 ||
         strcmp(name, "merged_into") == 0 || strcmp(name, "attributes") == 0;
}

bool column_changed(Form_pg_attribute attr, HeapTuple before, HeapTuple after, TupleDesc desc) {
  bool before_null = false, after_null = false;
  const Datum b = heap_getattr(before, attr->attnum, desc, &before_null);
  const Datum a = heap_getattr(after, attr->attnum, desc, &after_null);
  if (before_null || after_null) return before_null != after_null;
  // By image, detoasted: a value stored compressed and the same value written again are equal.
  return !datum_image_eq(b, a, attr->attbyval, attr->attlen);
}

// One kept plan per record table (three at most), keyed by the table's row type.
struct KeptInsert {
  Oid row_type;
  SPIPlanPtr plan;
};
KeptInsert kept[4];

SPIPlanPtr insert_plan(Oid row_type) {
  for (KeptInsert &k : kept)
    if (k.plan != nullptr && k.row_type == row_type) return k.plan;
  Oid types[5] = {TEXTOID, row_type, TEXTARRAYOID, JSONBOID, JSONBOID};
  SPIPlanPtr plan = SPI_prepare(
      "INSERT INTO crm.field_provenance (workspace_id, kind, record_id, field, value, source, "
      "source_kind, confidence, observed_at, written_at, actor) "
      "SELECT ($2).workspace_id, $1, ($2).id, c.field, c.value, 'user', 'user', 1, w.at, w.at, "
      "crm._outer_role() "
      "FROM (SELECT f, pg_catalog.to_jsonb($2) -> f FROM pg_catalog.unnest($3) f "
      "      UNION ALL "
      "      SELECT 'attributes.' || k, $5 -> k "
      "      FROM (SELECT pg_catalog.jsonb_object_keys($4) UNION SELECT "
      "pg_catalog.jsonb_object_keys($5)) "
      "           ks(k) WHERE ($4 -> k) IS DISTINCT FROM ($5 -> k)) c(field, value), "
      "     (SELECT crm.now() AS at) w",
      5, types);
  if (plan == nullptr || SPI_keepplan(plan) != 0)
    elog(ERROR, "crm_hygiene: cannot prepare the field provenance insert");
  for (KeptInsert &k : kept)
    if (k.plan == nullptr) {
      k = {row_type, plan};
      return plan;
    }
  elog(ERROR, "crm_field_written: more record tables than expected");
}

// to_jsonb for a value of a column's type: the SQL function, given an expression that names the
// argument's type (to_jsonb reads it from there), kept per type for the backend's life.
struct JsonbConverter {
  Oid type;
  FmgrInfo call;
};
JsonbConverter converters[16];
int n_converters = 0;

Datum to_jsonb_of(Datum value, Oid type) {
  for (int i = 0; i < n_converters; ++i)
    if (converters[i].type == type) return FunctionCall1(&converters[i].call, value);
  JsonbConverter *c = &converters[n_converters < 16 ? n_converters++ : 15];
  MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);
  int16 len = 0;
  bool byval = false;
  get_typlenbyval(type, &len, &byval);
  Const *argument = makeConst(type, -1, InvalidOid, len, Datum(0), true, byval);
  FuncExpr *expr = makeFuncExpr(F_TO_JSONB, JSONBOID, list_make1(argument), InvalidOid, InvalidOid,
                                COERCE_EXPLICIT_CALL);
  c->type = type;
  fmgr_info_cxt(F_TO_JSONB, &c->call, TopMemoryContext);
  fmgr_info_set_expr(reinterpret_cast<Node *>(expr), &c->call);
  MemoryContextSwitchTo(caller);
  return FunctionCall1(&c->call, value);
}

// Whether rows can go straight into the heap and indexes: no trigger to fire but the foreign
// key's own (the workspace is the record's, which exists), and only indexes on plain columns
// (what CatalogTupleInsert maintains).
bool plain_table(Relation rel) {
  // As created: a heap of the twelve columns, three CHECK constraints and no default (the id is
  // an identity), no rule, no forced row-level security. A DBA's column, constraint or default
  // takes the SPI statement, which honours them.
  TupleDesc desc = RelationGetDescr(rel);
  TupleConstr *constr = desc->constr;
  if (rel->rd_rel->relam != HEAP_TABLE_AM_OID || rel->rd_rel->relispartition ||
      RelationGetNumberOfAttributes(rel) != 12 || constr == nullptr || constr->num_check != 3 ||
      constr->num_defval != 0 || constr->has_generated_stored || rel->rd_rules != nullptr ||
      rel->rd_rel->relforcerowsecurity || list_length(RelationGetFKeyList(rel)) != 1)
    return false;
  // Its own CHECK constraints, valid, and NOT NULL where it was created so (all but value).
  static const char *const checks[] = {"field_provenance_kind", "field_provenance_source_kind",
                                       "field_provenance_confidence"};
  for (int i = 0; i < constr->num_check; ++i) {
    bool known = false;
    for (const char *name : checks) known = known || strcmp(constr->check[i].ccname, name) == 0;
    if (!known || !constr->check[i].ccvalid) return false;
  }
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute attr = TupleDescAttr(desc, i);
    if (attr->attisdropped) return false;
    if (attr->attnotnull != (strcmp(NameStr(attr->attname), "value") != 0)) return false;
  }
  if (rel->trigdesc != nullptr)
    for (int i = 0; i < rel->trigdesc->numtriggers; ++i)
      if (!rel->trigdesc->triggers[i].tgisinternal) return false;
  List *indexes = RelationGetIndexList(rel);
  bool plain = true;
  ListCell *lc;
  foreach (lc, indexes) {
    Relation index = index_open(lfirst_oid(lc), AccessShareLock);
    if (RelationGetIndexExpressions(index) != NIL || RelationGetIndexPredicate(index) != NIL ||
        !index->rd_index->indimmediate || index->rd_index->indisexclusion)
      plain = false;
    index_close(index, AccessShareLock);
  }
  list_free(indexes);
  return plain;
}

int column_number(TupleDesc desc, const char *name) {
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute attr = TupleDescAttr(desc, i);
    if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0) return i;
  }
  elog(ERROR, "crm_field_written: crm.field_provenance has no column %s", name);
}

// What insert_directly needs of crm.field_provenance, worked out once and kept until the table's
// relcache entry is invalidated (any DDL on it, its indexes, constraints or triggers): a row's
// write then costs no catalog scan (getIdentitySequence reads pg_depend).
enum Column {
  kId,
  kWorkspace,
  kKind,
  kRecord,
  kField,
  kValue,
  kSource,
  kSourceKind,
  kConfidence,
  kObservedAt,
  kWrittenAt,
  kActor,
  kColumns
};
const char *const kColumnNames[kColumns] = {
    "id",     "workspace_id", "kind",       "record_id",   "field",      "value",
    "source", "source_kind",  "confidence", "observed_at", "written_at", "actor"};
struct ProvenanceTable {
  bool known = false;
  Oid relid = InvalidOid;
  bool plain = false;
  Oid sequence = InvalidOid;
  int at[kColumns] = {};
};
ProvenanceTable table_shape;

void forget_table_shape(Datum, Oid relid) {
  if (relid == InvalidOid || relid == table_shape.relid) table_shape.known = false;
}

const ProvenanceTable &provenance_table() {
  static bool callback = false;
  if (!callback) {
    CacheRegisterRelcacheCallback(forget_table_shape, Datum(0));
    callback = true;
  }
  if (table_shape.known) return table_shape;
  const Oid relid = get_relname_relid("field_provenance", get_namespace_oid("crm", false));
  if (!OidIsValid(relid)) elog(ERROR, "crm_field_written: crm.field_provenance is missing");
  Relation rel = table_open(relid, AccessShareLock);
  ProvenanceTable shape;
  shape.relid = relid;
  shape.plain = plain_table(rel);
  if (shape.plain) {
    for (int c = 0; c < kColumns; ++c)
      shape.at[c] = column_number(RelationGetDescr(rel), kColumnNames[c]);
    shape.sequence = getIdentitySequence(relid, shape.at[kId] + 1, false);
  }
  table_close(rel, AccessShareLock);
  shape.known = true;
  table_shape = shape;
  return table_shape;
}

// One provenance row per changed column, straight into crm.field_provenance. False (nothing
// written) when the table is not plain any more.
bool insert_directly(const char *kind, HeapTuple after, TupleDesc desc, const int *changed,
                     int n_changed) {
  // Locked first: taking the lock reads the invalidations another session's DDL sent, so the
  // shape consulted next is the table's as of now.
  const Oid relid = table_shape.known
                        ? table_shape.relid
                        : get_relname_relid("field_provenance", get_namespace_oid("crm", false));
  if (!OidIsValid(relid)) elog(ERROR, "crm_field_written: crm.field_provenance is missing");
  Relation target = table_open(relid, RowExclusiveLock);
  const ProvenanceTable shape = provenance_table();
  if (!shape.plain || shape.relid != relid) {
    table_close(target, RowExclusiveLock);
    return false;
  }
  TupleDesc out = RelationGetDescr(target);
  Datum *values = static_cast<Datum *>(palloc0(sizeof(Datum) * out->natts));
  bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * out->natts));
  for (int i = 0; i < out->natts; ++i) nulls[i] = true;
  bool null = false;
  const TimestampTz at = crm::pg::current_clock();
  auto set = [&](Column c, Datum v) {
    values[shape.at[c]] = v;
    nulls[shape.at[c]] = false;
  };
  set(kWorkspace, heap_getattr(after, SPI_fnumber(desc, "workspace_id"), desc, &null));
  set(kKind, CStringGetTextDatum(kind));
  set(kRecord, heap_getattr(after, SPI_fnumber(desc, "id"), desc, &null));
  set(kSource, CStringGetTextDatum("user"));
  set(kSourceKind, CStringGetTextDatum("user"));
  set(kConfidence, Float8GetDatum(1.0));
  set(kObservedAt, TimestampTzGetDatum(at));
  set(kWrittenAt, TimestampTzGetDatum(at));
  set(kActor, CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false)));
  for (int c = 0; c < n_changed; ++c) {
    Form_pg_attribute attr = TupleDescAttr(desc, changed[c]);
    bool value_null = false;
    const Datum value = heap_getattr(after, attr->attnum, desc, &value_null);
    set(kId, Int64GetDatum(nextval_internal(shape.sequence, false)));
    set(kField, CStringGetTextDatum(NameStr(attr->attname)));
    // A cleared field is JSON null, as to_jsonb of the row gives it on the SQL path.
    set(kValue, value_null ? DirectFunctionCall1(jsonb_in, CStringGetDatum("null"))
                           : to_jsonb_of(value, attr->atttypid));
    HeapTuple row = heap_form_tuple(out, values, nulls);
    CatalogTupleInsert(target, row);
    heap_freetuple(row);
  }
  table_close(target, RowExclusiveLock);
  return true;
}

}  // namespace

extern "C" PGDLLEXPORT Datum crm_field_written(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_field_written: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      !TRIGGER_FIRED_BY_UPDATE(td->tg_event) || td->tg_trigger->tgnargs != 1)
    elog(ERROR, "crm_field_written: must fire AFTER UPDATE ... FOR EACH ROW with the kind");
  if (crm::pg::restoring() || crm::pg::merge_writing() || crm::pg::enrich_writing())
    return PointerGetDatum(nullptr);
  Relation rel = td->tg_relation;
  TupleDesc desc = rel->rd_att;
  HeapTuple before = td->tg_trigtuple, after = td->tg_newtuple;

  Datum *changed = static_cast<Datum *>(palloc(sizeof(Datum) * desc->natts));
  int *changed_at = static_cast<int *>(palloc(sizeof(int) * desc->natts));
  int n_changed = 0;
  int attributes_at = 0;
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute attr = TupleDescAttr(desc, i);
    if (attr->attisdropped || attr->attgenerated) continue;
    const char *name = NameStr(attr->attname);
    if (strcmp(name, "attributes") == 0) attributes_at = attr->attnum;
    if (bookkeeping(name)) continue;
    if (column_changed(attr, before, after, desc)) {
      changed_at[n_changed] = i;
      changed[n_changed++] = CStringGetTextDatum(name);
    }
  }
  bool attributes_changed = false;
  if (attributes_at > 0)
    attributes_changed =
        column_changed(TupleDescAttr(desc, attributes_at - 1), before, after, desc);
  if (n_changed == 0 && !attributes_changed) return PointerGetDatum(nullptr);

  if (!attributes_changed &&
      insert_directly(td->tg_trigger->tgargs[0], after, desc, changed_at, n_changed))
    return PointerGetDatum(nullptr);

  Datum values[5];
  char nulls[5] = {' ', ' ', ' ', 'n', 'n'};
  values[0] = CStringGetTextDatum(td->tg_trigger->tgargs[0]);
  values[1] = heap_copy_tuple_as_datum(after, desc);
  values[2] =
      PointerGetDatum(construct_array(changed, n_changed, TEXTOID, -1, false, TYPALIGN_INT));
  if (attributes_changed) {
    bool null = false;
    values[3] = heap_getattr(before, attributes_at, desc, &null);
    nulls[3] = null ? 'n' : ' ';
    values[4] = heap_getattr(after, attributes_at, desc, &null);
    nulls[4] = null ? 'n' : ' ';
  } else {
    values[3] = values[4] = 0;
  }
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  SPIPlanPtr plan = insert_plan(rel->rd_rel->reltype);
  if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT)
    elog(ERROR, "crm_hygiene: cannot record the fields a user wrote");
  SPI_finish();
  return PointerGetDatum(nullptr);
}
