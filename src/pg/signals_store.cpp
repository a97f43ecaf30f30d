#include "pg/signals_store.hpp"

#include <algorithm>
#include <string>

#include "pg/activity_reader.hpp"
#include "pg/guard.hpp"
#include "pg/spi.hpp"

namespace crm::pg {
namespace {

using signals::kNoTime;
using signals::Micros;
using signals::RecordKind;
using signals::Signals;

constexpr int kWriteChunk = 5000;

int slot(RecordKind kind) { return kind == RecordKind::Person ? 0 : 1; }
const char *table(RecordKind kind) {
  return kind == RecordKind::Person ? "crm.person_signal" : "crm.company_signal";
}
const char *id_column(RecordKind kind) {
  return kind == RecordKind::Person ? "person_id" : "company_id";
}

#define CRM_SIGNAL_COLUMNS                                                                       \
  "first_interaction_at, last_interaction_at, last_interaction_id, last_interaction_kind::text, " \
  "last_interaction_member_id, first_email_at, last_email_at, last_inbound_email_at, "            \
  "last_outbound_email_at, first_meeting_at, last_meeting_at, next_meeting_at, "                  \
  "next_interaction_at, email_count, meeting_count, interaction_count, signals_as_of"

SPIPlanPtr lock_plans[2], all_plans[2], recompute_plans[2], write_plans[2];


Micros time_or_none(HeapTuple t, TupleDesc d, int col) {
  bool isnull = false;
  const Datum v = SPI_getbinval(t, d, col, &isnull);
  return isnull ? kNoTime : DatumGetTimestampTz(v);
}
std::int64_t int8_or_zero(HeapTuple t, TupleDesc d, int col) {
  bool isnull = false;
  const Datum v = SPI_getbinval(t, d, col, &isnull);
  return isnull ? 0 : DatumGetInt64(v);
}

// Postgres phase: one stored row (id in column 1, then CRM_SIGNAL_COLUMNS).
std::int64_t read_stored(HeapTuple t, TupleDesc d, StoredSignals &out) {
  Signals &s = out.signals;
  s.first_interaction_at = time_or_none(t, d, 2);
  s.last_interaction_at = time_or_none(t, d, 3);
  s.last_interaction_id = int8_or_zero(t, d, 4);
  bool isnull = false;
  const Datum kind = SPI_getbinval(t, d, 5, &isnull);
  s.last_interaction_kind = isnull ? signals::Kind::Email
                                   : signals::parse_kind(text_view(kind)).value_or(signals::Kind::Email);
  s.last_interaction_member_id = int8_or_zero(t, d, 6);
  s.first_email_at = time_or_none(t, d, 7);
  s.last_email_at = time_or_none(t, d, 8);
  s.last_inbound_email_at = time_or_none(t, d, 9);
  s.last_outbound_email_at = time_or_none(t, d, 10);
  s.first_meeting_at = time_or_none(t, d, 11);
  s.last_meeting_at = time_or_none(t, d, 12);
  s.next_meeting_at = time_or_none(t, d, 13);
  s.next_interaction_at = time_or_none(t, d, 14);
  s.email_count = int8_or_zero(t, d, 15);
  s.meeting_count = int8_or_zero(t, d, 16);
  s.interaction_count = int8_or_zero(t, d, 17);
  out.as_of = time_or_none(t, d, 18);
  return DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
}

// Reads the current SPI result into plain pairs (Postgres phase), then into the map.
void collect_stored(StoredMap &out) {
  const std::size_t n = pg_call([] { return static_cast<std::size_t>(SPI_processed); });
  std::vector<std::pair<std::int64_t, StoredSignals>> rows(n);
  pg_call([&] {
    for (uint64 i = 0; i < SPI_processed; ++i)
      rows[i].first = read_stored(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, rows[i].second);
    SPI_freetuptable(SPI_tuptable);
  });
  out.reserve(out.size() + n);
  for (auto &[id, stored] : rows) out.emplace(id, stored);
}

// One column of the write statement: values and null flags, turned into an array Datum.
struct Column {
  Oid type;
  std::vector<Datum> values;
  std::vector<bool> nulls;
  void time(Micros m) { push(TimestampTzGetDatum(m), m == kNoTime); }
  void int8(std::int64_t v, bool null = false) { push(Int64GetDatum(v), null); }
  void push(Datum v, bool null) {
    values.push_back(v);
    nulls.push_back(null);
  }
};

}  // namespace

StoredMap lock_and_load(RecordKind kind, const std::vector<std::int64_t> &sorted_ids) {
  StoredMap out;
  if (sorted_ids.empty()) return out;
  const std::string sql = std::string("SELECT ") + id_column(kind) + ", " CRM_SIGNAL_COLUMNS " FROM " +
                          table(kind) + " WHERE " + id_column(kind) + " = ANY ($1) ORDER BY " +
                          id_column(kind) + " FOR NO KEY UPDATE";
  pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    SPIPlanPtr plan = kept_plan(&lock_plans[slot(kind)], sql.c_str(), 1, types);
    Datum arg = int8_array(sorted_ids.data(), static_cast<int>(sorted_ids.size()));
    execute_plan(plan, &arg, nullptr, false, SPI_OK_SELECT);
  });
  collect_stored(out);
  return out;
}

StoredMap load_all(RecordKind kind) {
  StoredMap out;
  const std::string sql = std::string("SELECT ") + id_column(kind) + ", " CRM_SIGNAL_COLUMNS " FROM " +
                          table(kind);
  pg_call([&] {
    SPIPlanPtr plan = kept_plan(&all_plans[slot(kind)], sql.c_str(), 0, nullptr);
    execute_plan(plan, nullptr, nullptr, true, SPI_OK_SELECT);
  });
  collect_stored(out);
  return out;
}

SignalMap recompute(RecordKind kind, const RecordIds &ids, Micros now, bool read_only) {
  signals::Folder folder(now, interrupt_pending);
  if (ids.empty()) return {};
  std::vector<std::int64_t> list(ids.begin(), ids.end());
  folder.restrict_to(kind, ids);
  const std::string sql = std::string("SELECT " CRM_ACTIVITY_COLUMNS
                                      " FROM crm.participant p JOIN crm.interaction i ON i.id = "
                                      "p.interaction_id WHERE p.interaction_id IN (SELECT "
                                      "interaction_id FROM crm.participant WHERE ") +
                          id_column(kind) + " = ANY ($1)) ORDER BY i.id";
  SPIPlanPtr plan = pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    return kept_plan(&recompute_plans[slot(kind)], sql.c_str(), 1, types);
  });
  const Datum arg = pg_call([&] { return int8_array(list.data(), static_cast<int>(list.size())); });
  fold_activity(plan, &arg, nullptr, read_only, folder);
  return std::move(folder.result(kind));
}

void fold_all_activity(signals::Folder &folder, bool read_only) {
  static SPIPlanPtr plan_slot = nullptr;
  SPIPlanPtr plan = pg_call([&] {
    return kept_plan(&plan_slot,
                     "SELECT " CRM_ACTIVITY_COLUMNS
                     " FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id "
                     "ORDER BY i.id",
                     0, nullptr);
  });
  fold_activity(plan, nullptr, nullptr, read_only, folder);
}

void write(RecordKind kind, const SignalMap &rows, Micros as_of) {
  if (rows.empty()) return;
  const std::string id = id_column(kind);
  const std::string sql =
      std::string("UPDATE ") + table(kind) +
      " s SET first_interaction_at = d.c1, last_interaction_at = d.c2, last_interaction_id = d.c3, "
      "last_interaction_kind = d.c4::crm.interaction_kind, last_interaction_member_id = d.c5, "
      "first_email_at = d.c6, last_email_at = d.c7, last_inbound_email_at = d.c8, "
      "last_outbound_email_at = d.c9, first_meeting_at = d.c10, last_meeting_at = d.c11, "
      "next_meeting_at = d.c12, next_interaction_at = d.c13, email_count = d.c14, "
      "meeting_count = d.c15, interaction_count = d.c16, signals_as_of = $18 "
      "FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::text[], "
      "$6::bigint[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], "
      "$11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], "
      "$15::bigint[], $16::bigint[], $17::bigint[]) AS d(id, c1, c2, c3, c4, c5, c6, c7, c8, c9, "
      "c10, c11, c12, c13, c14, c15, c16) WHERE s." +
      id + " = d.id";
  static const Oid types[18] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID,
                                TEXTARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
                                TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
                                TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
                                INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZOID};
  SPIPlanPtr plan = pg_call([&] { return kept_plan(&write_plans[slot(kind)], sql.c_str(), 18, types); });

  std::vector<const std::pair<const std::int64_t, Signals> *> order;
  order.reserve(rows.size());
  for (const auto &row : rows) order.push_back(&row);
  // Rows are already locked; id order just keeps the heap access pattern tidy.
  std::sort(order.begin(), order.end(), [](auto *a, auto *b) { return a->first < b->first; });

  for (std::size_t start = 0; start < order.size(); start += kWriteChunk) {
    const std::size_t end = std::min(order.size(), start + kWriteChunk);
    std::vector<Column> cols(17);
    const Oid elem_types[17] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, TEXTOID, INT8OID,
                                TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
                                TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
                                INT8OID, INT8OID, INT8OID};
    for (int c = 0; c < 17; ++c) cols[c].type = elem_types[c];
    std::vector<int> kind_codes;  // the text[] column is built in the Postgres phase
    for (std::size_t i = start; i < end; ++i) {
      const std::int64_t record = order[i]->first;
      const Signals &s = order[i]->second;
      const bool has_last = s.last_interaction_at != kNoTime;
      cols[0].int8(record);
      cols[1].time(s.first_interaction_at);
      cols[2].time(s.last_interaction_at);
      cols[3].int8(s.last_interaction_id, !has_last);
      cols[4].push(0, !has_last);
      kind_codes.push_back(static_cast<int>(s.last_interaction_kind));
      cols[5].int8(s.last_interaction_member_id, !has_last || s.last_interaction_member_id == 0);
      cols[6].time(s.first_email_at);
      cols[7].time(s.last_email_at);
      cols[8].time(s.last_inbound_email_at);
      cols[9].time(s.last_outbound_email_at);
      cols[10].time(s.first_meeting_at);
      cols[11].time(s.last_meeting_at);
      cols[12].time(s.next_meeting_at);
      cols[13].time(s.next_interaction_at);
      cols[14].int8(s.email_count);
      cols[15].int8(s.meeting_count);
      cols[16].int8(s.interaction_count);
    }
    std::vector<std::string_view> kind_names;
    for (int code : kind_codes) kind_names.push_back(signals::to_string(static_cast<signals::Kind>(code)));
    const int count = static_cast<int>(end - start);
    pg_call([&] {
      Datum args[18];
      for (int c = 0; c < 17; ++c) {
        Column &col = cols[c];
        bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * count));
        for (int i = 0; i < count; ++i) nulls[i] = col.nulls[i];
        if (col.type == TEXTOID)
          for (int i = 0; i < count; ++i)
            if (!nulls[i])
              col.values[i] = PointerGetDatum(
                  cstring_to_text_with_len(kind_names[i].data(), static_cast<int>(kind_names[i].size())));
        int dims[1] = {count}, lbs[1] = {1};
        const bool text = col.type == TEXTOID;
        args[c] = PointerGetDatum(construct_md_array(col.values.data(), nulls, 1, dims, lbs, col.type,
                                                     text ? -1 : 8, !text, text ? TYPALIGN_INT : TYPALIGN_DOUBLE));
      }
      args[17] = TimestampTzGetDatum(as_of);
      execute_plan(plan, args, nullptr, false, SPI_OK_UPDATE);
    });
  }
}

std::int64_t apply(RecordKind kind, const SignalMap &deltas, const RecordIds &recompute_ids,
                   Micros now) {
  std::vector<std::int64_t> ids;
  ids.reserve(deltas.size() + recompute_ids.size());
  for (const auto &[id, _] : deltas) ids.push_back(id);
  for (std::int64_t id : recompute_ids)
    if (!deltas.contains(id)) ids.push_back(id);
  if (ids.empty()) return 0;
  std::sort(ids.begin(), ids.end());

  const StoredMap stored = lock_and_load(kind, ids);
  SignalMap out;
  RecordIds again;
  for (std::int64_t id : recompute_ids)
    if (stored.contains(id)) again.insert(id);
  for (const auto &[id, delta] : deltas) {
    auto it = stored.find(id);
    if (it == stored.end() || again.contains(id)) continue;
    if (!signals::mergeable(it->second.signals, it->second.as_of, now)) {
      again.insert(id);
      continue;
    }
    Signals merged = it->second.signals;
    merged.merge(delta);
    if (!(merged == it->second.signals)) out.emplace(id, merged);
  }
  if (!again.empty()) {
    SignalMap fresh = recompute(kind, again, now);
    for (std::int64_t id : again) {
      auto f = fresh.find(id);
      const Signals value = f == fresh.end() ? Signals{} : f->second;
      const StoredSignals &s = stored.at(id);
      if (!(value == s.signals) || !signals::mergeable(s.signals, s.as_of, now)) out.emplace(id, value);
    }
  }
  write(kind, out, now);
  return static_cast<std::int64_t>(out.size());
}

}  // namespace crm::pg
