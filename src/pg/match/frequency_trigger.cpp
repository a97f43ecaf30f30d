// The statement-level AFTER trigger on crm.match_profile that keeps crm.match_frequency: every
// insert, update and delete of profiles adds to or takes from the counts of the values they hold,
// in one sorted upsert. It runs inside every duplicate trigger's profile write, so it reads the
// transition tables directly and plans nothing per statement; an event with nothing to count (the
// UPDATE half of an INSERT ... ON CONFLICT that inserted) returns without a query.
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/match/frequency.hpp"
#include "pg/common/guard.hpp"
#include "pg/match/match_store.hpp"
#include "pg/common/restore_mode.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/transition_table.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_match_frequency_changed);
}

namespace crm::pg {
namespace {

struct ProfileRow {
  std::int64_t workspace = 0;
  RecordKind kind = RecordKind::Person;
  std::string fields;
};

// (workspace, kind, field, value) → how many records more (or fewer) hold it.
using Deltas = std::map<std::tuple<std::int64_t, std::string, std::string, std::string>, int>;

std::vector<ProfileRow> read_profiles(Tuplestorestate *store, TupleDesc desc) {
  if (store == nullptr) return {};
  const std::size_t n =
      pg_call([&] { return static_cast<std::size_t>(transition_row_count(store)); });
  std::vector<std::int64_t> workspaces(n);
  std::vector<char *> kinds(n, nullptr), fields(n, nullptr);  // palloc'd: no C++ allocation below
  pg_call([&] {
    const int workspace_at = SPI_fnumber(desc, "workspace_id"), kind_at = SPI_fnumber(desc, "kind"),
              fields_at = SPI_fnumber(desc, "fields");
    for_each_transition_row(store, desc, [&](TupleTableSlot *slot, std::int64_t row) {
      if (static_cast<std::size_t>(row) >= n) return;
      workspaces[row] = slot_int8(slot, workspace_at);
      bool isnull = false;
      Datum value = slot_getattr(slot, kind_at, &isnull);
      if (!isnull) kinds[row] = TextDatumGetCString(value);
      value = slot_getattr(slot, fields_at, &isnull);
      if (!isnull) fields[row] = TextDatumGetCString(value);
    });
  });
  std::vector<ProfileRow> rows(n);
  for (std::size_t i = 0; i < n; ++i) {
    rows[i].workspace = workspaces[i];
    rows[i].kind = kind_of(kinds[i] ? kinds[i] : "");
    if (fields[i]) rows[i].fields = fields[i];
  }
  return rows;
}

// The counted values of each profile (crm._match_frequency_values spells the same in SQL).
void add_values(const std::vector<ProfileRow> &rows, int sign, Deltas &deltas) {
  for (const ProfileRow &row : rows) {
    const match::Profile profile = split_fields(row.fields);
    for (const match::FrequencyField &f : match::frequency_fields(row.kind)) {
      const std::string &value = profile[f.profile_field];
      if (value.empty()) continue;
      deltas[{row.workspace, kind_name(row.kind), std::string(f.name), value}] += sign;
    }
  }
}

// A workspace being deleted takes its counts with it (the cascade): its rows are left alone.
void drop_deleted_workspaces(Deltas &deltas) {
  std::vector<std::int64_t> asked;
  for (const auto &[key, delta] : deltas)
    if (asked.empty() || asked.back() != std::get<0>(key)) asked.push_back(std::get<0>(key));
  static SPIPlanPtr plan = nullptr;
  static const Oid types[1] = {INT8ARRAYOID};
  std::vector<std::int64_t> present;
  pg_call([&] {
    const Datum args[1] = {int8_array(asked.data(), static_cast<int>(asked.size()))};
    execute_plan(kept_plan(&plan, "SELECT id FROM crm.workspace WHERE id = ANY ($1)", 1, types),
                 args, nullptr, false, SPI_OK_SELECT);
  });
  for (std::uint64_t i = 0; i < SPI_processed; ++i) {
    bool isnull = false;
    const Datum id = pg_call(
        [&] { return SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull); });
    if (!isnull) present.push_back(DatumGetInt64(id));
  }
  std::sort(present.begin(), present.end());
  std::erase_if(deltas, [&](const auto &entry) {
    return !std::binary_search(present.begin(), present.end(), std::get<0>(entry.first));
  });
}

void apply(const Deltas &deltas) {
  std::vector<std::int64_t> workspaces;
  std::vector<std::string_view> kinds, fields, values;
  std::vector<std::int64_t> changes;
  for (const auto &[key, delta] : deltas) {
    if (delta == 0) continue;
    workspaces.push_back(std::get<0>(key));
    kinds.push_back(std::get<1>(key));
    fields.push_back(std::get<2>(key));
    values.push_back(std::get<3>(key));
    changes.push_back(delta);
  }
  if (changes.empty()) return;
  // Sorted in SQL, so that every writer locks the rows in the order the readers' probes use. A
  // decrement proposes a negative row, which always conflicts: the value was counted.
  static const char *sql =
      "INSERT INTO crm.match_frequency AS f (workspace_id, kind, field, value, records, peak) "
      "SELECT u.w, u.k, u.f, u.v, u.d::integer, GREATEST(u.d, 0)::integer "
      "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(w, k, f, "
      "v, d) "
      "ORDER BY 1, 2, 3, 4 "
      "ON CONFLICT (workspace_id, kind, field, value) DO UPDATE "
      "SET records = f.records + excluded.records, "
      "peak = GREATEST(f.peak, f.records + excluded.records)";
  static const Oid types[5] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
                               INT8ARRAYOID};
  static SPIPlanPtr plan = nullptr;
  const int n = static_cast<int>(changes.size());
  pg_call([&] {
    const Datum args[5] = {int8_array(workspaces.data(), n), text_array(kinds), text_array(fields),
                           text_array(values), int8_array(changes.data(), n)};
    execute_plan(kept_plan(&plan, sql, 5, types), args, nullptr, false, SPI_OK_INSERT);
  });
}

void profiles_changed(TriggerData *td) {
  const TupleDesc desc = RelationGetDescr(td->tg_relation);
  Deltas deltas;
  add_values(read_profiles(td->tg_newtable, desc), +1, deltas);
  add_values(read_profiles(td->tg_oldtable, desc), -1, deltas);
  if (deltas.empty()) return;
  if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) drop_deleted_workspaces(deltas);
  apply(deltas);
}

}  // namespace
}  // namespace crm::pg

extern "C" PGDLLEXPORT Datum crm_match_frequency_changed(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    elog(ERROR, "crm_match_frequency_changed: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
    elog(ERROR, "crm_match_frequency_changed: must fire AFTER ... FOR EACH STATEMENT");
  if (crm::pg::restoring()) return PointerGetDatum(nullptr);  // counts are restored as dumped
  const bool empty = (td->tg_newtable == nullptr || tuplestore_tuple_count(td->tg_newtable) == 0) &&
                     (td->tg_oldtable == nullptr || tuplestore_tuple_count(td->tg_oldtable) == 0);
  if (empty) return PointerGetDatum(nullptr);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  crm::pg::barrier([&] {
    crm::pg::profiles_changed(td);
    return Datum(0);
  });
  SPI_finish();
  return PointerGetDatum(nullptr);
}
