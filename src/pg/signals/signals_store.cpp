#include "pg/signals/signals_store.hpp"

#include <algorithm>
#include <string>

#include "core/connection/maths.hpp"
#include "pg/signals/activity_reader.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/spi.hpp"

namespace crm::pg {
namespace {

using signals::kNoTime;
using signals::Micros;
using signals::RecordKind;
using signals::Signals;

constexpr int kWriteChunk = 5000;

int slot(RecordKind kind) {
  return kind == RecordKind::Person ? 0 : 1;
}
const char *table(RecordKind kind) {
  return kind == RecordKind::Person ? "crm.person_signal" : "crm.company_signal";
}
const char *id_column(RecordKind kind) {
  return kind == RecordKind::Person ? "person_id" : "company_id";
}

#define CRM_SIGNAL_COLUMNS                                                                        \
  "first_interaction_at, last_interaction_at, last_interaction_id, last_interaction_kind::text, " \
  "last_interaction_member_id, first_email_at, last_email_at, last_inbound_email_at, "            \
  "last_outbound_email_at, first_meeting_at, last_meeting_at, next_meeting_at, "                  \
  "next_interaction_at, email_count, meeting_count, interaction_count, strongest_member_id, "     \
  "strongest_rank, signals_as_of"

// Batches up to this size go through cached primary-key plans, one statement per record (cheap for
// the single-row writes of an application: a generic plan of a set-based statement would scan);
// larger ones through one set-based statement planned for its arguments.
constexpr std::size_t kSmallBatch = 8;

SPIPlanPtr lock_small_plans[2], write_small_plans[2];

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
  s.last_interaction_kind =
      isnull ? signals::Kind::Email
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
  s.strongest_member_id = int8_or_zero(t, d, 18);
  const Datum rank = SPI_getbinval(t, d, 19, &isnull);
  s.strongest_rank = isnull ? connection::kNothing : DatumGetFloat8(rank);
  out.as_of = time_or_none(t, d, 20);
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

}  // namespace

StoredMap lock_and_load(RecordKind kind, const std::vector<std::int64_t> &sorted_ids) {
  StoredMap out;
  if (sorted_ids.empty()) return out;
  const std::string select = std::string("SELECT ") + id_column(kind) +
                             ", " CRM_SIGNAL_COLUMNS " FROM " + table(kind) + " WHERE " +
                             id_column(kind);
  const std::string sql = select + " = ANY ($1) ORDER BY " + id_column(kind) + " FOR NO KEY UPDATE";
  if (sorted_ids.size() <= kSmallBatch) {
    // One primary-key probe per id, in id order: concurrent writers lock in the same order.
    const std::string one = select + " = $1 FOR NO KEY UPDATE";
    for (std::int64_t id : sorted_ids) {
      pg_call([&] {
        static const Oid types[1] = {INT8OID};
        SPIPlanPtr plan = kept_plan(&lock_small_plans[slot(kind)], one.c_str(), 1, types);
        Datum arg = Int64GetDatum(id);
        execute_plan(plan, &arg, nullptr, false, SPI_OK_SELECT);
      });
      collect_stored(out);
    }
    return out;
  }
  pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    Datum arg = int8_array(sorted_ids.data(), static_cast<int>(sorted_ids.size()));
    execute_once(sql.c_str(), 1, types, &arg, nullptr, false, SPI_OK_SELECT);
  });
  collect_stored(out);
  return out;
}

StoredMap load_all(RecordKind kind) {
  StoredMap out;
  const std::string sql =
      std::string("SELECT ") + id_column(kind) + ", " CRM_SIGNAL_COLUMNS " FROM " + table(kind);
  pg_call([&] { execute_once(sql.c_str(), 0, nullptr, nullptr, nullptr, true, SPI_OK_SELECT); });
  collect_stored(out);
  return out;
}

void write(RecordKind kind, const SignalMap &rows, Micros as_of) {
  if (rows.empty()) return;
  // Plain values per row, in the order of the SET list below (column 0 is the record id).
  constexpr int kColumns = 19;
  static const Oid elem_types[kColumns] = {
      INT8OID,        TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID,        TEXTOID,
      INT8OID,        TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
      TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID,
      INT8OID,        INT8OID,        INT8OID,        FLOAT8OID};
  struct Flat {
    Datum values[kColumns];
    bool nulls[kColumns];
    std::string_view kind;  // points at a static label
  };
  std::vector<Flat> flat;
  flat.reserve(rows.size());
  for (const auto &[record, sig] : rows) {
    Flat f{};
    int c = 0;
    auto time = [&](Micros m) {
      f.values[c] = TimestampTzGetDatum(m);
      f.nulls[c++] = m == kNoTime;
    };
    auto int8 = [&](std::int64_t v, bool null) {
      f.values[c] = Int64GetDatum(v);
      f.nulls[c++] = null;
    };
    const bool has_last = sig.last_interaction_at != kNoTime;
    int8(record, false);
    time(sig.first_interaction_at);
    time(sig.last_interaction_at);
    int8(sig.last_interaction_id, !has_last);
    f.nulls[c++] = !has_last;  // the kind's text Datum is made in the Postgres phase
    f.kind = signals::to_string(sig.last_interaction_kind);
    int8(sig.last_interaction_member_id, !has_last || sig.last_interaction_member_id == 0);
    time(sig.first_email_at);
    time(sig.last_email_at);
    time(sig.last_inbound_email_at);
    time(sig.last_outbound_email_at);
    time(sig.first_meeting_at);
    time(sig.last_meeting_at);
    time(sig.next_meeting_at);
    time(sig.next_interaction_at);
    int8(sig.email_count, false);
    int8(sig.meeting_count, false);
    int8(sig.interaction_count, false);
    int8(sig.strongest_member_id, sig.strongest_member_id == 0);
    f.values[c] = Float8GetDatum(sig.strongest_rank);
    f.nulls[c++] = sig.strongest_rank == connection::kNothing;
    flat.push_back(f);
  }
  // Rows are already locked; id order keeps the heap access pattern tidy.
  std::sort(flat.begin(), flat.end(), [](const Flat &x, const Flat &y) {
    return DatumGetInt64(x.values[0]) < DatumGetInt64(y.values[0]);
  });

  // The SET list, with values from parameters $2..$17 (one record) or from the columns d.c2..d.c17
  // of the unnested arrays (a batch).
  auto set_list = [](const char *prefix) {
    static const char *const columns[kColumns] = {nullptr,
                                                  "first_interaction_at",
                                                  "last_interaction_at",
                                                  "last_interaction_id",
                                                  "last_interaction_kind",
                                                  "last_interaction_member_id",
                                                  "first_email_at",
                                                  "last_email_at",
                                                  "last_inbound_email_at",
                                                  "last_outbound_email_at",
                                                  "first_meeting_at",
                                                  "last_meeting_at",
                                                  "next_meeting_at",
                                                  "next_interaction_at",
                                                  "email_count",
                                                  "meeting_count",
                                                  "interaction_count",
                                                  "strongest_member_id",
                                                  "strongest_rank"};
    std::string out;
    for (int c = 1; c < kColumns; ++c) {
      out += std::string(columns[c]) + " = " + prefix + std::to_string(c + 1);
      if (c == 4) out += "::crm.interaction_kind";
      out += ", ";
    }
    return out + "signals_as_of = $20";
  };

  if (flat.size() <= kSmallBatch) {
    const std::string one = std::string("UPDATE ") + table(kind) + " SET " + set_list("$") +
                            " WHERE " + id_column(kind) + " = $1";
    for (const Flat &f : flat) {
      pg_call([&] {
        static Oid types[kColumns + 1];
        for (int c = 0; c < kColumns; ++c) types[c] = elem_types[c];
        types[kColumns] = TIMESTAMPTZOID;
        SPIPlanPtr plan =
            kept_plan(&write_small_plans[slot(kind)], one.c_str(), kColumns + 1, types);
        Datum args[kColumns + 1];
        char nulls[kColumns + 1];
        for (int c = 0; c < kColumns; ++c) {
          args[c] = f.values[c];
          nulls[c] = f.nulls[c] ? 'n' : ' ';
        }
        if (!f.nulls[4])
          args[4] = PointerGetDatum(
              cstring_to_text_with_len(f.kind.data(), static_cast<int>(f.kind.size())));
        args[kColumns] = TimestampTzGetDatum(as_of);
        nulls[kColumns] = ' ';
        execute_plan(plan, args, nulls, false, SPI_OK_UPDATE);
      });
    }
    return;
  }

  const std::string sql =
      std::string("UPDATE ") + table(kind) + " s SET " + set_list("d.c") +
      " FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::text[], "
      "$6::bigint[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], "
      "$11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], "
      "$15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::float8[]) AS d(c1, c2, c3, "
      "c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19) WHERE s." +
      id_column(kind) + " = d.c1";
  static const Oid array_types[kColumns + 1] = {
      INT8ARRAYOID,        TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID,
      TEXTARRAYOID,        INT8ARRAYOID,        TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
      TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
      TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID,        INT8ARRAYOID,
      INT8ARRAYOID,        INT8ARRAYOID,        FLOAT8ARRAYOID,      TIMESTAMPTZOID};
  constexpr std::size_t kChunk = 5000;
  for (std::size_t start = 0; start < flat.size(); start += kChunk) {
    const int count = static_cast<int>(std::min(flat.size(), start + kChunk) - start);
    pg_call([&] {
      Datum args[kColumns + 1];
      for (int c = 0; c < kColumns; ++c) {
        Datum *values = static_cast<Datum *>(palloc(sizeof(Datum) * count));
        bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * count));
        for (int i = 0; i < count; ++i) {
          const Flat &f = flat[start + i];
          nulls[i] = f.nulls[c];
          values[i] = f.values[c];
          if (c == 4 && !nulls[i])
            values[i] = PointerGetDatum(
                cstring_to_text_with_len(f.kind.data(), static_cast<int>(f.kind.size())));
        }
        const bool text = elem_types[c] == TEXTOID;
        int dims[1] = {count}, lbs[1] = {1};
        args[c] = PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elem_types[c],
                                                     text ? -1 : 8, !text,
                                                     text ? TYPALIGN_INT : TYPALIGN_DOUBLE));
      }
      args[kColumns] = TimestampTzGetDatum(as_of);
      execute_once(sql.c_str(), kColumns + 1, array_types, args, nullptr, false, SPI_OK_UPDATE);
    });
  }
}

}  // namespace crm::pg
