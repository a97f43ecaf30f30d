// Statement-level AFTER triggers that keep crm.person_signal and crm.company_signal exact.
//
// Inserts of participants into interactions this transaction created (a COPY, an app writing an
// interaction and its participants) are folded from the transition table alone: O(1) per
// affected record, one locked read and one write per statement. Everything else (participants
// added to older interactions, updates, deletes) recomputes the affected records from indexes.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/signals/columns.hpp"
#include "core/signals/folder.hpp"
#include "pg/common/clock.hpp"
#include "pg/signals/activity_reader.hpp"
#include "pg/signals/fresh_interactions.hpp"
#include "pg/common/guard.hpp"
#include "pg/signals/interaction_claims.hpp"
#include "pg/records/resolution_cache.hpp"
#include "core/activity/address.hpp"
#include "pg/signals/record_apply.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/transition_table.hpp"
#include "pg/common/restore_mode.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_participant_signals);
PG_FUNCTION_INFO_V1(crm_interaction_signals);
PG_FUNCTION_INFO_V1(crm_interaction_deleting);
PG_FUNCTION_INFO_V1(crm_activity_truncated);
}

namespace crm::pg {
namespace {

using signals::Micros;
using signals::Participant;
using signals::RecordKind;

struct ParticipantRow {
  std::int64_t id, interaction_id, workspace_id;
  Participant p;
};

struct Affected {
  RecordIds persons, companies;
  void add(const Participant &p) {
    if (p.person_id) persons.insert(p.person_id);
    if (p.company_id) companies.insert(p.company_id);
  }
};

bool declined(const Participant &p) {
  return p.response == signals::Response::Declined;
}

// Reads a transition table of crm.participant into plain rows.
std::vector<ParticipantRow> read_participants(Tuplestorestate *store, TupleDesc desc) {
  const std::size_t n =
      pg_call([&] { return static_cast<std::size_t>(transition_row_count(store)); });
  std::vector<ParticipantRow> rows(n);
  pg_call([&] {
    const int a_id = SPI_fnumber(desc, "id"), a_interaction = SPI_fnumber(desc, "interaction_id"),
              a_ws = SPI_fnumber(desc, "workspace_id"), a_person = SPI_fnumber(desc, "person_id"),
              a_company = SPI_fnumber(desc, "company_id"),
              a_member = SPI_fnumber(desc, "member_id"), a_role = SPI_fnumber(desc, "role"),
              a_response = SPI_fnumber(desc, "response"), a_address = SPI_fnumber(desc, "address");
    for_each_transition_row(store, desc, [&](TupleTableSlot *slot, std::int64_t i) {
      if (static_cast<std::size_t>(i) >= n) return;
      ParticipantRow &r = rows[i];
      r.id = slot_int8(slot, a_id);
      r.interaction_id = slot_int8(slot, a_interaction);
      r.workspace_id = slot_int8(slot, a_ws);
      r.p.person_id = slot_int8(slot, a_person);
      r.p.company_id = slot_int8(slot, a_company);
      r.p.member_id = slot_int8(slot, a_member);
      r.p.role = signals::parse_role(slot_enum(slot, a_role)).value_or(signals::Role::To);
      r.p.response =
          signals::parse_response(slot_enum(slot, a_response)).value_or(signals::Response::None);
      bool isnull = false;
      const Datum address = slot_getattr(slot, a_address, &isnull);
      r.p.address_key = isnull ? 0 : activity::address_key(text_view(address));
    });
  });
  return rows;
}

[[noreturn]] void workspace_mismatch(std::int64_t interaction, std::int64_t interaction_ws,
                                     std::int64_t participant_ws) {
  throw crm::Error("23503",
                   "interaction " + std::to_string(interaction) + " belongs to workspace " +
                       std::to_string(interaction_ws) + ", participant to workspace " +
                       std::to_string(participant_ws),
                   "", "write the participant into the interaction's workspace");
}

// Checks that each participant is in its interaction's workspace, for interactions not in the
// registry. expected maps interaction id -> participant workspace.
void check_workspaces(const std::unordered_map<std::int64_t, std::int64_t> &expected) {
  if (expected.empty()) return;
  std::vector<std::int64_t> ids;
  for (const auto &[id, _] : expected) ids.push_back(id);
  std::vector<std::pair<std::int64_t, std::int64_t>> found(ids.size());
  const std::size_t n = pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    Datum arg = int8_array(ids.data(), static_cast<int>(ids.size()));
    execute_once("SELECT id, workspace_id FROM crm.interaction WHERE id = ANY ($1)", 1, types, &arg,
                 nullptr, false, SPI_OK_SELECT);
    bool isnull = false;
    for (uint64 i = 0; i < SPI_processed; ++i) {
      found[i].first =
          DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
      found[i].second =
          DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
    }
    return static_cast<std::size_t>(SPI_processed);
  });
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t participant_ws = expected.at(found[i].first);
    if (participant_ws != found[i].second)
      workspace_mismatch(found[i].first, found[i].second, participant_ws);
  }
}

// Applies a change of participant rows as a difference: each changed interaction is folded as it
// was and as it is, and what each record gained and lost replaces its stored state (record_apply:
// Delta). The cost is the size of the interactions, not the activity of the records in them; a
// record whose stored state cannot take the difference exactly (it lost an extreme, say its last
// interaction) is recomputed. Interactions deleted with their participants cannot be folded as
// they were: their records are recomputed. added may already hold what new interactions of the
// statement contribute: one pass applies both.
void apply_change(const ParticipantChange &change, std::vector<std::int64_t> interactions,
                  const std::vector<const ParticipantRow *> &before_rows, Micros now,
                  signals::Folder *added_already = nullptr) {
  std::sort(interactions.begin(), interactions.end());
  interactions.erase(std::unique(interactions.begin(), interactions.end()), interactions.end());
  if (interactions.empty() && added_already == nullptr) return;
  if (!interactions.empty()) pg_call([&] { claim_interactions(interactions); });
  signals::Folder removed(now, interrupt_pending), own_added(now, interrupt_pending);
  // Under REPEATABLE READ or SERIALIZABLE the interactions are read in the transaction's snapshot,
  // which may predate a change another transaction committed to them: a difference taken there
  // would take that change out twice. The records are recomputed from that snapshot instead, and
  // a conflicting write fails with a serialization error as any other would.
  const bool snapshot_reads = pg_call([] { return IsolationUsesXactSnapshot(); });
  signals::Folder &added = added_already && !snapshot_reads ? *added_already : own_added;
  // One cache of connection models for every Folder of the statement: each model is read once.
  if (added_already != nullptr)
    own_added.set_models(added_already->models());
  else
    attach_models(own_added, false);
  removed.set_models(own_added.models());
  const std::vector<std::int64_t> missing = fold_versions(interactions, change, removed, added);
  Affected recompute;
  for (const ParticipantRow *r : before_rows)
    if (std::binary_search(missing.begin(), missing.end(), r->interaction_id)) recompute.add(r->p);
  if (snapshot_reads) {
    for (signals::Folder *f : {&removed, &own_added})
      for (RecordKind kind : {RecordKind::Person, RecordKind::Company}) {
        RecordIds &ids = kind == RecordKind::Person ? recompute.persons : recompute.companies;
        for (const auto &[id, _] : f->result(kind)) ids.insert(id);
        for (const auto &[id, _] : f->contacts(kind)) ids.insert(id);
      }
    apply_both({.added = added_already}, recompute.persons, recompute.companies, now);
    return;
  }
  pg_call([&] {
    elog(DEBUG1,
         "crm_hygiene: participant change in %zu interactions applied as a difference, %zu "
         "deleted",
         interactions.size(), missing.size());
  });
  apply_both({.added = &added, .removed = &removed}, recompute.persons, recompute.companies, now);
}

void participants_inserted(TriggerData *td, Micros now) {
  const std::vector<ParticipantRow> rows =
      read_participants(td->tg_newtable, td->tg_relation->rd_att);
  std::unordered_map<std::int64_t, std::vector<std::size_t>> by_interaction;
  for (std::size_t i = 0; i < rows.size(); ++i) by_interaction[rows[i].interaction_id].push_back(i);

  signals::Folder folder(now, interrupt_pending);
  attach_models(folder, false);
  ParticipantChange change;  // rows added to interactions that had participants already
  std::vector<std::int64_t> older;
  std::unordered_map<std::int64_t, std::int64_t> unchecked;
  std::vector<Participant> group;
  for (const auto &entry : by_interaction) {
    const std::int64_t interaction_id = entry.first;
    const std::vector<std::size_t> &indexes = entry.second;
    FreshInteraction *fresh = pg_call([&] { return fresh_find(interaction_id); });
    if (fresh != nullptr && !fresh->has_participants) {
      group.clear();
      for (std::size_t i : indexes) {
        if (rows[i].workspace_id != fresh->workspace_id)
          workspace_mismatch(interaction_id, fresh->workspace_id, rows[i].workspace_id);
        group.push_back(rows[i].p);
      }
      fresh->has_participants = true;
      folder.add({.id = interaction_id,
                  .workspace_id = fresh->workspace_id,
                  .occurred_at = fresh->occurred_at,
                  .kind = static_cast<signals::Kind>(fresh->kind),
                  .status = static_cast<signals::Status>(fresh->status)},
                 group);
      continue;
    }
    for (std::size_t i : indexes) {
      auto [it, inserted] = unchecked.emplace(interaction_id, rows[i].workspace_id);
      if (!inserted && it->second != rows[i].workspace_id)
        workspace_mismatch(interaction_id, it->second, rows[i].workspace_id);
      change.written.insert(rows[i].id);
    }
    older.push_back(interaction_id);
  }
  check_workspaces(unchecked);
  const std::size_t folded = by_interaction.size() - older.size();
  const std::size_t differences = older.size();
  pg_call([&] {
    elog(DEBUG1,
         "crm_hygiene: %zu participants: %zu interactions folded from new rows, %zu applied as a "
         "difference",
         rows.size(), folded, differences);
  });
  apply_change(change, std::move(older), {}, now, &folder);
}

void participants_updated(TriggerData *td, Micros now) {
  const std::vector<ParticipantRow> before =
      read_participants(td->tg_oldtable, td->tg_relation->rd_att);
  const std::vector<ParticipantRow> after =
      read_participants(td->tg_newtable, td->tg_relation->rd_att);
  pg_call([] { fresh_forget_all(); });
  std::unordered_map<std::int64_t, const ParticipantRow *> old_by_id;
  for (const ParticipantRow &r : before) old_by_id.emplace(r.id, &r);

  ParticipantChange change;
  std::vector<std::int64_t> interactions;
  std::vector<const ParticipantRow *> changed_before;
  std::unordered_map<std::int64_t, std::int64_t> unchecked;
  for (const ParticipantRow &n : after) {
    auto it = old_by_id.find(n.id);
    const ParticipantRow *o = it == old_by_id.end() ? nullptr : it->second;
    const bool same_links =
        o && o->p.person_id == n.p.person_id && o->p.company_id == n.p.company_id;
    // Of the response only "declined or not" counts (signals/contribution.cpp,
    // connection/terms.cpp): accepting, or answering tentatively, changes nothing derived.
    const bool same_shape = o && o->interaction_id == n.interaction_id &&
                            o->p.member_id == n.p.member_id && o->p.role == n.p.role &&
                            declined(o->p) == declined(n.p) && o->p.address_key == n.p.address_key;
    if (!o || o->workspace_id != n.workspace_id || o->interaction_id != n.interaction_id) {
      auto [it, inserted] = unchecked.emplace(n.interaction_id, n.workspace_id);
      if (!inserted && it->second != n.workspace_id)
        workspace_mismatch(n.interaction_id, it->second, n.workspace_id);
    }
    if (same_links && same_shape) continue;
    change.written.insert(n.id);
    interactions.push_back(n.interaction_id);
    if (o) {
      change.before[o->interaction_id].push_back(o->p);
      interactions.push_back(o->interaction_id);
      changed_before.push_back(o);
    }
  }
  check_workspaces(unchecked);
  apply_change(change, std::move(interactions), changed_before, now);
}

void participants_deleted(TriggerData *td, Micros now) {
  const std::vector<ParticipantRow> rows =
      read_participants(td->tg_oldtable, td->tg_relation->rd_att);
  pg_call([] { fresh_forget_all(); });
  ParticipantChange change;
  std::vector<std::int64_t> interactions;
  std::vector<const ParticipantRow *> before;
  for (const ParticipantRow &r : rows) {
    change.before[r.interaction_id].push_back(r.p);
    interactions.push_back(r.interaction_id);
    before.push_back(&r);
  }
  apply_change(change, std::move(interactions), before, now);
  pg_call([] { deleted_forget_all(); });
}

void interactions_inserted(Tuplestorestate *store, TupleDesc desc) {
  pg_call([&] {
    const int a_id = SPI_fnumber(desc, "id"), a_ws = SPI_fnumber(desc, "workspace_id"),
              a_at = SPI_fnumber(desc, "occurred_at"), a_kind = SPI_fnumber(desc, "kind"),
              a_status = SPI_fnumber(desc, "status");
    for_each_transition_row(store, desc, [&](TupleTableSlot *slot, std::int64_t) {
      bool isnull = false;
      FreshInteraction f{};
      f.id = slot_int8(slot, a_id);
      f.workspace_id = slot_int8(slot, a_ws);
      f.occurred_at = DatumGetTimestampTz(slot_getattr(slot, a_at, &isnull));
      f.kind = static_cast<std::uint8_t>(
          signals::parse_kind(slot_enum(slot, a_kind)).value_or(signals::Kind::Note));
      f.status = static_cast<std::uint8_t>(
          signals::parse_status(slot_enum(slot, a_status)).value_or(signals::Status::Confirmed));
      f.has_participants = false;
      fresh_remember(f);
    });
  });
}

// A change of an interaction's kind, status or time: folded as it was and as it is, with the same
// participants, and applied as a difference (apply_change).
void interactions_updated(Micros now) {
  pg_call([] { fresh_forget_all(); });
  const std::size_t n = pg_call([&] {
    const char *sql =
        "SELECT o.id, o.occurred_at, o.kind::text, o.status::text, o.workspace_id "
        "FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE (n.kind, n.status, n.occurred_at) IS DISTINCT FROM (o.kind, o.status, "
        "o.occurred_at)";
    if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
      elog(ERROR, "crm_hygiene: cannot compare interactions");
    return static_cast<std::size_t>(SPI_processed);
  });
  std::vector<signals::Interaction> before(n);
  pg_call([&] { read_interactions(before); });
  ParticipantChange change;
  std::vector<std::int64_t> interactions;
  for (const signals::Interaction &i : before) {
    change.interaction_before.emplace(i.id, i);
    interactions.push_back(i.id);
  }
  apply_change(change, std::move(interactions), {}, now);
}

TriggerData *statement_trigger(FunctionCallInfo fcinfo, const char *name) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "%s: not called as a trigger", name);
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
    elog(ERROR, "%s: must fire AFTER ... FOR EACH STATEMENT", name);
  return td;
}

// Connects SPI with the transition tables visible, runs body in the barrier, disconnects.
template <typename Body>
Datum with_spi(TriggerData *td, Body &&body) {
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  if (td != nullptr && SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
    elog(ERROR, "crm_hygiene: cannot register transition tables");
  const TimestampTz now = current_clock();
  barrier([&] {
    lock_models_shared();
    body(now);
    return Datum(0);
  });
  SPI_finish();
  return PointerGetDatum(nullptr);
}

}  // namespace
}  // namespace crm::pg

using namespace crm::pg;

extern "C" PGDLLEXPORT Datum crm_participant_signals(PG_FUNCTION_ARGS) {
  TriggerData *td = statement_trigger(fcinfo, "crm_participant_signals");
  if (restoring()) return PointerGetDatum(nullptr);
  // Resolutions cached during this statement may be outdated by the next one.
  resolution_cache_reset();
  return with_spi(td, [&](TimestampTz now) {
    if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
      participants_inserted(td, now);
    else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
      participants_updated(td, now);
    else
      participants_deleted(td, now);
  });
}

extern "C" PGDLLEXPORT Datum crm_interaction_signals(PG_FUNCTION_ARGS) {
  TriggerData *td = statement_trigger(fcinfo, "crm_interaction_signals");
  if (restoring()) return PointerGetDatum(nullptr);
  if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
    // Participants cascade, and their own trigger takes out what they contributed. It runs after
    // this one (the cascade's triggers are queued behind the statement's), and forgets the
    // interactions remembered as deleting once it has used them.
    fresh_forget_all();
    return PointerGetDatum(nullptr);
  }
  return with_spi(td, [&](TimestampTz now) {
    if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
      interactions_inserted(td->tg_newtable, td->tg_relation->rd_att);
    else
      interactions_updated(now);
  });
}

// BEFORE DELETE ... FOR EACH ROW on crm.interaction: remembers the interaction as it is, for the
// participants' trigger, which runs when the cascade has deleted them and the row is gone.
extern "C" PGDLLEXPORT Datum crm_interaction_deleting(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_interaction_deleting: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      !TRIGGER_FIRED_BY_DELETE(td->tg_event))
    elog(ERROR, "crm_interaction_deleting: must fire BEFORE DELETE ... FOR EACH ROW");
  if (restoring()) return PointerGetDatum(td->tg_trigtuple);
  TupleDesc desc = td->tg_relation->rd_att;
  HeapTuple row = td->tg_trigtuple;
  // Read: the row's fields as plain values (every column is NOT NULL).
  bool isnull = false;
  const std::int64_t id = DatumGetInt64(heap_getattr(row, SPI_fnumber(desc, "id"), desc, &isnull));
  const std::int64_t workspace =
      DatumGetInt64(heap_getattr(row, SPI_fnumber(desc, "workspace_id"), desc, &isnull));
  const TimestampTz at =
      DatumGetTimestampTz(heap_getattr(row, SPI_fnumber(desc, "occurred_at"), desc, &isnull));
  // The enum labels copied out of the syscache (its buffer serves the next lookup).
  char kind[NAMEDATALEN], status[NAMEDATALEN];
  auto copy_label = [&](const char *column, char *out) {
    const std::string_view label =
        enum_label(DatumGetObjectId(heap_getattr(row, SPI_fnumber(desc, column), desc, &isnull)));
    const std::size_t n = std::min(label.size(), static_cast<std::size_t>(NAMEDATALEN - 1));
    memcpy(out, label.data(), n);
    out[n] = '\0';
  };
  copy_label("kind", kind);
  copy_label("status", status);
  // Compute in the barrier; remember through pg_call.
  barrier([&] {
    FreshInteraction f{};
    f.id = id;
    f.workspace_id = workspace;
    f.occurred_at = at;
    f.kind = static_cast<std::uint8_t>(
        crm::signals::parse_kind(kind).value_or(crm::signals::Kind::Note));
    f.status = static_cast<std::uint8_t>(
        crm::signals::parse_status(status).value_or(crm::signals::Status::Confirmed));
    pg_call([&] { deleted_remember(f); });
    return Datum(0);
  });
  return PointerGetDatum(row);
}

extern "C" PGDLLEXPORT Datum crm_activity_truncated(PG_FUNCTION_ARGS) {
  statement_trigger(fcinfo, "crm_activity_truncated");
  fresh_forget_all();
  // No activity is left (TRUNCATE of interaction cascades to participant): every record is empty.
  return with_spi(nullptr, [&](TimestampTz now) {
    // Every signal column to its empty value: NULL, or 0 for the counts.
    std::string reset;
    for (std::size_t c = 0; c < crm::signals::kSignalColumns.size(); ++c)
      reset += std::string(crm::signals::kSignalColumns[c].name) +
               (crm::signals::empty_value(c).null ? " = NULL, " : " = 0, ");
    pg_call([&] {
      Datum arg = TimestampTzGetDatum(now);
      static const Oid types[1] = {TIMESTAMPTZOID};
      for (const char *table : {"crm.person_signal", "crm.company_signal"}) {
        char sql[1024];
        snprintf(sql, sizeof sql, "UPDATE %s SET %ssignals_as_of = $1", table, reset.c_str());
        if (SPI_execute_with_args(sql, 1, const_cast<Oid *>(types), &arg, nullptr, false, 0) !=
            SPI_OK_UPDATE)
          elog(ERROR, "crm_hygiene: cannot reset %s", table);
      }
    });
    clear_connections();
  });
}
