#include "pg/signals/signals_store.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "core/connection/maths.hpp"
#include "core/signals/columns.hpp"
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

// "<signal columns>, signals_as_of", in kSignalColumns' order (the kind as text).
const std::string &select_list() {
  static const std::string list = [] {
    std::string out;
    for (const signals::SignalColumn &c : signals::kSignalColumns) {
      out += c.name;
      if (c.type == signals::SignalType::Kind) out += "::text";
      out += ", ";
    }
    return out + "signals_as_of";
  }();
  return list;
}

// Batches up to this size go through kept plans (cheap for the single-row writes of an
// application); larger ones through one set-based statement planned for its arguments. Locks are
// read by one statement over an id array; writes are one primary-key update per record (a kept
// plan of an UPDATE ... FROM unnest(...) would be a generic join).
constexpr std::size_t kSmallBatch = 8;

SPIPlanPtr lock_small_plans[2], write_small_plans[2];

Micros time_or_none(HeapTuple t, TupleDesc d, int col) {
  bool isnull = false;
  const Datum v = SPI_getbinval(t, d, col, &isnull);
  return isnull ? kNoTime : DatumGetTimestampTz(v);
}

// Postgres phase: one stored row (id in column 1, then select_list()).
std::int64_t read_stored(HeapTuple t, TupleDesc d, StoredSignals &out) {
  for (std::size_t c = 0; c < signals::kSignalColumns.size(); ++c) {
    const int column = static_cast<int>(c) + 2;
    bool isnull = false;
    const Datum v = SPI_getbinval(t, d, column, &isnull);
    signals::SignalValue value;
    value.null = isnull;
    if (!isnull) {
      switch (signals::kSignalColumns[c].type) {
        case signals::SignalType::Time:
          value.time = DatumGetTimestampTz(v);
          break;
        case signals::SignalType::Id:
        case signals::SignalType::Count:
          value.number = DatumGetInt64(v);
          break;
        case signals::SignalType::Kind:
          value.kind = signals::parse_kind(text_view(v)).value_or(signals::Kind::Email);
          break;
        case signals::SignalType::Rank:
          value.rank = DatumGetFloat8(v);
          break;
      }
    }
    signals::set_stored_value(out.signals, c, value);
  }
  out.as_of = time_or_none(t, d, static_cast<int>(signals::kSignalColumns.size()) + 2);
  bool isnull = false;
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
  const std::string select = std::string("SELECT ") + id_column(kind) + ", " + select_list() +
                             " FROM " + table(kind) + " WHERE " + id_column(kind);
  const std::string sql = select + " = ANY ($1) ORDER BY " + id_column(kind) + " FOR NO KEY UPDATE";
  if (sorted_ids.size() <= kSmallBatch) {
    // One statement through a kept plan (an index scan of the primary key for any array): rows
    // are locked in id order, so concurrent writers never cross.
    pg_call([&] {
      static const Oid types[1] = {INT8ARRAYOID};
      SPIPlanPtr plan = kept_plan(&lock_small_plans[slot(kind)], sql.c_str(), 1, types);
      Datum arg = int8_array(sorted_ids.data(), static_cast<int>(sorted_ids.size()));
      execute_plan(plan, &arg, nullptr, false, SPI_OK_SELECT);
    });
    collect_stored(out);
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
      std::string("SELECT ") + id_column(kind) + ", " + select_list() + " FROM " + table(kind);
  pg_call([&] { execute_once(sql.c_str(), 0, nullptr, nullptr, nullptr, true, SPI_OK_SELECT); });
  collect_stored(out);
  return out;
}

void write(RecordKind kind, const SignalMap &rows, Micros as_of) {
  if (rows.empty()) return;
  // Plain values per row: column 0 is the record id, then kSignalColumns in order.
  constexpr int kColumns = static_cast<int>(signals::kSignalColumns.size()) + 1;
  static const std::array<Oid, kColumns> elem_types = [] {
    std::array<Oid, kColumns> out{};
    out[0] = INT8OID;
    for (std::size_t c = 0; c < signals::kSignalColumns.size(); ++c) {
      switch (signals::kSignalColumns[c].type) {
        case signals::SignalType::Time:
          out[c + 1] = TIMESTAMPTZOID;
          break;
        case signals::SignalType::Id:
        case signals::SignalType::Count:
          out[c + 1] = INT8OID;
          break;
        case signals::SignalType::Kind:
          out[c + 1] = TEXTOID;
          break;
        case signals::SignalType::Rank:
          out[c + 1] = FLOAT8OID;
          break;
      }
    }
    return out;
  }();
  struct Flat {
    Datum values[kColumns];
    bool nulls[kColumns];
    std::string_view
        kind;  // points at a static label; its text Datum is made in the Postgres phase
  };
  std::vector<Flat> flat;
  flat.reserve(rows.size());
  for (const auto &[record, sig] : rows) {
    Flat f{};
    f.values[0] = Int64GetDatum(record);
    for (std::size_t c = 0; c < signals::kSignalColumns.size(); ++c) {
      const signals::SignalValue v = signals::stored_value(sig, c);
      f.nulls[c + 1] = v.null;
      switch (signals::kSignalColumns[c].type) {
        case signals::SignalType::Time:
          f.values[c + 1] = TimestampTzGetDatum(v.time);
          break;
        case signals::SignalType::Id:
        case signals::SignalType::Count:
          f.values[c + 1] = Int64GetDatum(v.number);
          break;
        case signals::SignalType::Kind:
          f.kind = signals::to_string(v.kind);
          break;
        case signals::SignalType::Rank:
          f.values[c + 1] = Float8GetDatum(v.rank);
          break;
      }
    }
    flat.push_back(f);
  }
  // Rows are already locked; id order keeps the heap access pattern tidy.
  std::sort(flat.begin(), flat.end(), [](const Flat &x, const Flat &y) {
    return DatumGetInt64(x.values[0]) < DatumGetInt64(y.values[0]);
  });
  const auto is_kind = [](int column) {
    return column > 0 && signals::kSignalColumns[column - 1].type == signals::SignalType::Kind;
  };
  const auto kind_datum = [](const Flat &f) {
    return PointerGetDatum(
        cstring_to_text_with_len(f.kind.data(), static_cast<int>(f.kind.size())));
  };

  // The SET list, with values from parameters $2.. (one record) or from the columns d.c2.. of the
  // unnested arrays (a batch); signals_as_of from the last parameter.
  auto set_list = [&](const char *prefix) {
    std::string out;
    for (int c = 1; c < kColumns; ++c) {
      out +=
          std::string(signals::kSignalColumns[c - 1].name) + " = " + prefix + std::to_string(c + 1);
      if (is_kind(c)) out += "::crm.interaction_kind";
      out += ", ";
    }
    return out + "signals_as_of = $" + std::to_string(kColumns + 1);
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
          args[c] = is_kind(c) && !f.nulls[c] ? kind_datum(f) : f.values[c];
          nulls[c] = f.nulls[c] ? 'n' : ' ';
        }
        args[kColumns] = TimestampTzGetDatum(as_of);
        nulls[kColumns] = ' ';
        execute_plan(plan, args, nulls, false, SPI_OK_UPDATE);
      });
    }
    return;
  }

  std::string arrays, names;
  for (int c = 0; c < kColumns; ++c) {
    const char *type = elem_types[c] == TIMESTAMPTZOID ? "timestamptz[]"
                       : elem_types[c] == TEXTOID      ? "text[]"
                       : elem_types[c] == FLOAT8OID    ? "float8[]"
                                                       : "bigint[]";
    arrays += (c ? ", $" : "$") + std::to_string(c + 1) + "::" + type;
    names += (c ? ", c" : "c") + std::to_string(c + 1);
  }
  const std::string sql = std::string("UPDATE ") + table(kind) + " s SET " + set_list("d.c") +
                          " FROM unnest(" + arrays + ") AS d(" + names + ") WHERE s." +
                          id_column(kind) + " = d.c1";
  static const std::array<Oid, kColumns + 1> array_types = [] {
    std::array<Oid, kColumns + 1> out{};
    for (int c = 0; c < kColumns; ++c)
      out[c] = elem_types[c] == TIMESTAMPTZOID ? TIMESTAMPTZARRAYOID
               : elem_types[c] == TEXTOID      ? TEXTARRAYOID
               : elem_types[c] == FLOAT8OID    ? FLOAT8ARRAYOID
                                               : INT8ARRAYOID;
    out[kColumns] = TIMESTAMPTZOID;
    return out;
  }();
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
          values[i] = is_kind(c) && !nulls[i] ? kind_datum(f) : f.values[c];
        }
        const bool text = elem_types[c] == TEXTOID;
        int dims[1] = {count}, lbs[1] = {1};
        args[c] = PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elem_types[c],
                                                     text ? -1 : 8, !text,
                                                     text ? TYPALIGN_INT : TYPALIGN_DOUBLE));
      }
      args[kColumns] = TimestampTzGetDatum(as_of);
      execute_once(sql.c_str(), kColumns + 1, array_types.data(), args, nullptr, false,
                   SPI_OK_UPDATE);
    });
  }
}

}  // namespace crm::pg
