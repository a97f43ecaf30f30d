// SQL functions over the interaction attributes: live reads, tick, rebuild and the oracle.
#include <algorithm>
#include <string>
#include <vector>

#include "core/signals/columns.hpp"
#include "core/signals/folder.hpp"
#include "pg/common/clock.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/id_query.hpp"
#include "pg/signals/activity_reader.hpp"
#include "pg/connection/connection_store.hpp"
#include "pg/connection/connection_verify.hpp"
#include "pg/signals/record_apply.hpp"
#include "pg/signals/signals_store.hpp"
#include "pg/common/spi.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_signals_now);
PG_FUNCTION_INFO_V1(crm_verify_signal_state);
PG_FUNCTION_INFO_V1(crm_rebuild_signals);
PG_FUNCTION_INFO_V1(crm_tick);
}

namespace crm::pg {
namespace {

using signals::kNoTime;
using signals::Micros;
using signals::RecordKind;
using signals::Signals;

constexpr RecordKind kKinds[2] = {RecordKind::Person, RecordKind::Company};

// Timestamps in verify_signals output, rendered by Postgres in the session's DateStyle and
// TimeZone (years past 9999 included).
std::string render_time(Micros m) {
  if (m == kNoTime) return "(none)";
  const char *text = pg_call([m] {
    return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(m)));
  });
  return text;
}

RecordKind record_kind(std::string_view text) {
  auto kind = signals::parse_record_kind(text);
  if (!kind)
    throw crm::Error("22023", "unknown record kind \"" + std::string(text.substr(0, 64)) + "\"", "",
                     "use 'person' or 'company'");
  return *kind;
}

// The ids of records whose stored state holds a future interaction that has started by now.
RecordIds due_records(RecordKind kind, Micros now) {
  static const Oid types[1] = {TIMESTAMPTZOID};
  const Datum arg = TimestampTzGetDatum(now);
  const std::vector<std::int64_t> ids =
      query_ids(kind == RecordKind::Person
                    ? "SELECT person_id FROM crm.person_signal WHERE next_interaction_at <= $1"
                    : "SELECT company_id FROM crm.company_signal WHERE next_interaction_at <= $1",
                1, types, &arg, false);
  return RecordIds(ids.begin(), ids.end());
}

}  // namespace
}  // namespace crm::pg

using namespace crm::pg;

extern "C" PGDLLEXPORT Datum crm_signals_now(PG_FUNCTION_ARGS) {
  text *kind_text = PG_GETARG_TEXT_PP(0);
  const std::int64_t record = PG_GETARG_INT64(1);
  const TimestampTz now = current_clock();
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "crm._signals_now must return a composite type");
  desc = BlessTupleDesc(desc);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");

  Signals s;
  const std::string_view kind_view(VARDATA_ANY(kind_text), VARSIZE_ANY_EXHDR(kind_text));
  barrier([&] {
    const RecordKind kind = record_kind(kind_view);
    Recomputed result = recompute(kind, RecordIds{record}, now, true);
    if (auto it = result.signals.find(record); it != result.signals.end()) s = it->second;
    const auto &contacts = result.contacts[record];
    const crm::connection::Strongest best =
        kind == RecordKind::Person
            ? crm::connection::strongest_of(contacts)
            : crm::connection::strongest_of(crm::connection::roll_up(contacts));
    s.strongest_member_id = best.member_id;
    s.strongest_rank = best.rank;
    return Datum(0);
  });
  SPI_finish();

  // Write, in the order of the OUT parameters: the shown signal columns.
  constexpr std::size_t kShown = [] {
    std::size_t n = 0;
    for (const auto &c : crm::signals::kSignalColumns) n += c.shown;
    return n;
  }();
  if (desc->natts != static_cast<int>(kShown))
    elog(ERROR, "crm_signals_now: %d OUT parameters for %zu signal columns", desc->natts, kShown);
  Datum values[kShown];
  bool nulls[kShown];
  int i = 0;
  for (std::size_t c = 0; c < crm::signals::kSignalColumns.size(); ++c) {
    if (!crm::signals::kSignalColumns[c].shown) continue;
    const crm::signals::SignalValue v = crm::signals::stored_value(s, c);
    nulls[i] = v.null;
    values[i] = 0;
    switch (crm::signals::kSignalColumns[c].type) {
      case crm::signals::SignalType::Time:
        values[i] = TimestampTzGetDatum(v.time);
        break;
      case crm::signals::SignalType::Id:
      case crm::signals::SignalType::Count:
        values[i] = Int64GetDatum(v.number);
        break;
      case crm::signals::SignalType::Kind:
        if (!v.null) {
          const std::string_view label = crm::signals::to_string(v.kind);
          char buffer[16];
          snprintf(buffer, sizeof buffer, "%.*s", static_cast<int>(label.size()), label.data());
          values[i] = DirectFunctionCall2(enum_in, CStringGetDatum(buffer),
                                          ObjectIdGetDatum(TupleDescAttr(desc, i)->atttypid));
        }
        break;
      case crm::signals::SignalType::Rank:
        values[i] = Float8GetDatum(v.rank);
        break;
    }
    ++i;
  }
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

extern "C" PGDLLEXPORT Datum crm_verify_signal_state(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  const TimestampTz now = current_clock();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  barrier([&] {
    // One snapshot for the stored rows and the activity: the caller's (read-only SPI).
    StoredMap stored[2] = {load_all(RecordKind::Person), load_all(RecordKind::Company)};
    // A record is recomputed at the clock its stored state is exact for: now while no stored
    // future interaction has started, else the clock it was written at (crm.tick() catches up).
    auto clock_for = [&](RecordKind kind, std::int64_t id) -> Micros {
      const StoredMap &m = stored[kind == RecordKind::Person ? 0 : 1];
      auto it = m.find(id);
      if (it == m.end() || it->second.as_of == kNoTime) return now;
      return crm::signals::mergeable(it->second.signals, it->second.as_of, now) ? now
                                                                                : it->second.as_of;
    };
    crm::signals::Folder folder(clock_for, interrupt_pending);
    attach_models(folder, true);
    fold_all_activity(folder, true);

    auto report = [&](RecordKind kind, std::int64_t id, const std::string &field,
                      const std::string &stored_text, const std::string &expected_text) {
      const std::string kind_name(crm::signals::to_string(kind));
      pg_call([&] {
        Datum values[5] = {PointerGetDatum(cstring_to_text(kind_name.c_str())), Int64GetDatum(id),
                           PointerGetDatum(cstring_to_text(field.c_str())),
                           PointerGetDatum(cstring_to_text(stored_text.c_str())),
                           PointerGetDatum(cstring_to_text(expected_text.c_str()))};
        bool nulls[5] = {false, false, false, false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
      });
    };
    for (RecordKind kind : kKinds) {
      for (const auto &[id, row] : stored[kind == RecordKind::Person ? 0 : 1]) {
        const SignalMap &expected_map = folder.result(kind);
        auto e = expected_map.find(id);
        Signals expected = e == expected_map.end() ? Signals{} : e->second;
        auto c = folder.contacts(kind).find(id);
        if (c != folder.contacts(kind).end()) {
          const crm::connection::Strongest best = strongest_from(kind, c->second);
          expected.strongest_member_id = best.member_id;
          expected.strongest_rank = best.rank;
        }
        for (const auto &d : crm::signals::differences(row.signals, expected, render_time))
          report(kind, id, d.field, d.stored, d.expected);
      }
    }
    verify_connections(folder, now, render_time, report);
    return Datum(0);
  });
  SPI_finish();
  return Datum(0);
}

extern "C" PGDLLEXPORT Datum crm_rebuild_signals(PG_FUNCTION_ARGS) {
  const TimestampTz now = current_clock();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  // Writers of activity wait until the rebuild commits, so it sees one consistent state.
  if (SPI_execute("LOCK TABLE crm.interaction, crm.participant IN SHARE MODE", false, 0) !=
      SPI_OK_UTILITY)
    elog(ERROR, "crm_hygiene: cannot lock activity tables");
  std::int64_t written = 0;
  barrier([&] {
    lock_models_shared();
    crm::signals::Folder folder(now, interrupt_pending);
    attach_models(folder, false);
    fold_all_activity(folder, false);
    clear_connections();
    for (RecordKind kind : kKinds) {
      const StoredMap stored = load_all(kind);
      SignalMap out;
      PairsByCompany pairs;
      std::vector<std::int64_t> ids;
      const SignalMap &computed = folder.result(kind);
      ContactsByRecord &contacts = folder.contacts(kind);
      for (const auto &[id, row] : stored) {
        auto c = computed.find(id);
        Signals value = c == computed.end() ? Signals{} : c->second;
        auto k = contacts.find(id);
        if (k != contacts.end()) {
          ids.push_back(id);
          const crm::connection::Strongest best = strongest_from(kind, k->second);
          value.strongest_member_id = best.member_id;
          value.strongest_rank = best.rank;
          if (kind == RecordKind::Company) pairs.emplace(id, crm::connection::roll_up(k->second));
        }
        if (!value.equivalent(row.signals) || row.as_of == kNoTime ||
            !crm::signals::mergeable(row.signals, row.as_of, now))
          out.emplace(id, value);
      }
      write(kind, out, now);
      std::sort(ids.begin(), ids.end());
      replace_contacts(kind, ids, contacts, now);
      if (kind == RecordKind::Company) replace_company_pairs(ids, pairs, now);
      written += static_cast<std::int64_t>(out.size());
    }
    return Datum(0);
  });
  SPI_finish();
  PG_RETURN_INT64(written);
}

extern "C" PGDLLEXPORT Datum crm_tick(PG_FUNCTION_ARGS) {
  const TimestampTz now = current_clock();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  std::int64_t refreshed = 0;
  barrier([&] {
    lock_models_shared();
    const RecordIds persons = due_records(RecordKind::Person, now);
    const RecordIds companies = due_records(RecordKind::Company, now);
    refreshed = apply_both({}, persons, companies, now);
    return Datum(0);
  });
  SPI_finish();
  PG_RETURN_INT64(refreshed);
}
