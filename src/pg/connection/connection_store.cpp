#include "pg/connection/connection_store.hpp"

#include <algorithm>
#include <string>

#include "pg/common/guard.hpp"
#include "pg/common/lock_keys.hpp"
#include "pg/common/spi.hpp"

namespace crm::pg {
namespace {

using connection::CompanyPair;
using connection::ContactKey;
using connection::kNothing;
using connection::Pair;
using signals::kNoTime;
using signals::Micros;
using signals::RecordKind;

constexpr std::size_t kChunk = 20000;
// Up to this many records (loads) or rows (writes), statements go through kept plans: one read
// over an id array (an index scan whatever the array), one write per row by its key; what the
// single-row writes of an application need. Beyond it, one set-based statement planned for its
// arguments.
constexpr std::size_t kSmallBatch = 8;
constexpr std::size_t kSmallWrites = 16;

SPIPlanPtr small_load_plans[2][2], small_pair_load_plan;
SPIPlanPtr contact_insert_plan, contact_update_plans[2], contact_delete_plans[2];
SPIPlanPtr pair_insert_plan, pair_delete_plan;

// Columns read for a contact: the record's id first, as the caller selected it.
#define CRM_CONTACT_COLUMNS                                                                    \
  "member_id, person_id, address_key, workspace_id, company_id, log_out, log_in, log_meet, "   \
  "emails_sent, emails_received, meetings, calls, first_interaction_at, last_interaction_at, " \
  "next_interaction_at, as_of"

std::int64_t int8_at(HeapTuple t, TupleDesc d, int col) {
  bool isnull = false;
  const Datum v = SPI_getbinval(t, d, col, &isnull);
  return isnull ? 0 : DatumGetInt64(v);
}
double log_at(HeapTuple t, TupleDesc d, int col) {
  bool isnull = false;
  const Datum v = SPI_getbinval(t, d, col, &isnull);
  return isnull ? kNothing : DatumGetFloat8(v);
}
Micros time_at(HeapTuple t, TupleDesc d, int col) {
  bool isnull = false;
  const Datum v = SPI_getbinval(t, d, col, &isnull);
  return isnull ? kNoTime : DatumGetTimestampTz(v);
}

struct ContactRow {
  std::int64_t record;
  ContactKey key;
  Pair pair;
  Micros as_of;
};

// Reads the current SPI result of a select of (record id, CRM_CONTACT_COLUMNS) into plain rows.
std::vector<ContactRow> read_contacts(std::size_t n) {
  // Sized outside pg_call: an allocation failure must not throw through PG_TRY.
  std::vector<ContactRow> rows(n);
  pg_call([&] {
    TupleDesc d = SPI_tuptable->tupdesc;
    for (uint64 i = 0; i < SPI_processed; ++i) {
      HeapTuple t = SPI_tuptable->vals[i];
      ContactRow &r = rows[i];
      r.record = int8_at(t, d, 1);
      r.key = {int8_at(t, d, 2), int8_at(t, d, 3), int8_at(t, d, 4)};
      r.pair.workspace_id = int8_at(t, d, 5);
      r.pair.company_id = int8_at(t, d, 6);
      r.pair.log_out = log_at(t, d, 7);
      r.pair.log_in = log_at(t, d, 8);
      r.pair.log_meet = log_at(t, d, 9);
      r.pair.emails_sent = int8_at(t, d, 10);
      r.pair.emails_received = int8_at(t, d, 11);
      r.pair.meetings = int8_at(t, d, 12);
      r.pair.calls = int8_at(t, d, 13);
      r.pair.first_at = time_at(t, d, 14);
      r.pair.last_at = time_at(t, d, 15);
      r.pair.next_at = time_at(t, d, 16);
      r.as_of = time_at(t, d, 17);
    }
    SPI_freetuptable(SPI_tuptable);
  });
  return rows;
}

std::vector<ContactRow> select_contacts(const std::string &sql, int nargs, const Oid *types,
                                        const Datum *args, bool read_only) {
  const std::size_t n = pg_call([&] {
    execute_once(sql.c_str(), nargs, types, args, nullptr, read_only, SPI_OK_SELECT);
    return static_cast<std::size_t>(SPI_processed);
  });
  return read_contacts(n);
}

std::vector<ContactRow> select_contacts_kept(SPIPlanPtr *slot, const std::string &sql,
                                             const Oid *types, const Datum *args, bool read_only) {
  const std::size_t n = pg_call([&] {
    execute_plan(kept_plan(slot, sql.c_str(), 1, types), args, nullptr, read_only, SPI_OK_SELECT);
    return static_cast<std::size_t>(SPI_processed);
  });
  return read_contacts(n);
}

LoadedContacts collect(std::vector<ContactRow> rows, Micros now) {
  LoadedContacts out;
  for (ContactRow &r : rows) {
    if (!connection::mergeable(r.pair.next_at, r.as_of, now)) out.stale.insert(r.record);
    out.rows[r.record].emplace(r.key, r.pair);
  }
  return out;
}

std::string contact_select(RecordKind kind) {
  return kind == RecordKind::Person ? "SELECT person_id, " CRM_CONTACT_COLUMNS
                                      " FROM crm.connection WHERE person_id"
                                    : "SELECT company_id, " CRM_CONTACT_COLUMNS
                                      " FROM crm.connection WHERE person_id IS NULL AND company_id";
}

// Columns of values, turned into arrays for one set-based statement.
class ArrayColumns {
 public:
  ArrayColumns(std::initializer_list<Oid> element_types) : types_(element_types) {
    values_.resize(types_.size());
    nulls_.resize(types_.size());
  }
  void add(std::size_t column, Datum value, bool null = false) {
    values_[column].push_back(value);
    nulls_[column].push_back(null);
  }
  std::size_t rows() const { return values_.empty() ? 0 : values_[0].size(); }
  // Postgres phase: arrays of rows [start, start + count).
  void arrays(std::size_t start, int count, Datum *out) const {
    for (std::size_t c = 0; c < types_.size(); ++c) {
      bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * count));
      for (int i = 0; i < count; ++i) nulls[i] = nulls_[c][start + i];
      int dims[1] = {count}, lbs[1] = {1};
      out[c] = PointerGetDatum(construct_md_array(const_cast<Datum *>(&values_[c][start]), nulls, 1,
                                                  dims, lbs, types_[c], 8, true, TYPALIGN_DOUBLE));
    }
  }

 private:
  std::vector<Oid> types_;
  std::vector<std::vector<Datum>> values_;
  std::vector<std::vector<bool>> nulls_;
};

Datum log_datum(double v) {
  return Float8GetDatum(v);
}

void delete_by_ids(const char *sql, const std::vector<std::int64_t> &ids) {
  if (ids.empty()) return;
  pg_call([&] {
    static const Oid types[1] = {INT8ARRAYOID};
    Datum arg = int8_array(ids.data(), static_cast<int>(ids.size()));
    execute_once(sql, 1, types, &arg, nullptr, false, SPI_OK_DELETE);
  });
}

}  // namespace

LoadedContacts load_contacts(RecordKind kind, const std::vector<std::int64_t> &ids, Micros now,
                             bool read_only) {
  if (ids.empty()) return {};
  static const Oid types[1] = {INT8ARRAYOID};
  const std::string sql = contact_select(kind) + " = ANY ($1)";
  const Datum arg = pg_call([&] { return int8_array(ids.data(), static_cast<int>(ids.size())); });
  if (ids.size() <= kSmallBatch) {
    // The single-row writes of applications: one statement through a kept plan (an index scan
    // for any array).
    SPIPlanPtr &slot = small_load_plans[kind == RecordKind::Person ? 0 : 1][read_only ? 1 : 0];
    return collect(select_contacts_kept(&slot, sql, types, &arg, read_only), now);
  }
  return collect(select_contacts(sql, 1, types, &arg, read_only), now);
}

LoadedContacts load_all_contacts(RecordKind kind, Micros now) {
  const std::string sql = contact_select(kind) + " IS NOT NULL";
  return collect(select_contacts(sql, 0, nullptr, nullptr, true), now);
}

namespace {

// One contact row as statement parameters: $1..$16 in the column order of the INSERT below, $17
// the clock it is exact at.
constexpr int kContactParams = 17;
const Oid kContactTypes[kContactParams] = {
    INT8OID,   INT8OID,        INT8OID,        INT8OID,        INT8OID,       FLOAT8OID,
    FLOAT8OID, FLOAT8OID,      FLOAT8OID,      INT8OID,        INT8OID,       INT8OID,
    INT8OID,   TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

void contact_params(const ContactKey &key, const Pair &p, Micros as_of, Datum *v, char *n) {
  const double rank = p.rank();
  auto put = [&](int i, Datum d, bool null) {
    v[i] = d;
    n[i] = null ? 'n' : ' ';
  };
  put(0, Int64GetDatum(p.workspace_id), false);
  put(1, Int64GetDatum(key.member_id), false);
  put(2, Int64GetDatum(key.person_id), key.person_id == 0);
  put(3, Int64GetDatum(key.address_key), key.person_id != 0);
  put(4, Int64GetDatum(p.company_id), p.company_id == 0);
  put(5, log_datum(p.log_out), p.log_out == kNothing);
  put(6, log_datum(p.log_in), p.log_in == kNothing);
  put(7, log_datum(p.log_meet), p.log_meet == kNothing);
  put(8, log_datum(rank), rank == kNothing);
  put(9, Int64GetDatum(p.emails_sent), false);
  put(10, Int64GetDatum(p.emails_received), false);
  put(11, Int64GetDatum(p.meetings), false);
  put(12, Int64GetDatum(p.calls), false);
  put(13, TimestampTzGetDatum(p.first_at), p.first_at == kNoTime);
  put(14, TimestampTzGetDatum(p.last_at), p.last_at == kNoTime);
  put(15, TimestampTzGetDatum(p.next_at), p.next_at == kNoTime);
  put(16, TimestampTzGetDatum(as_of), false);
}

struct ContactWrite {
  enum What { Insert, Update, Delete } what;
  std::int64_t record;  // the person, or the company of an address contact
  ContactKey key;
  const Pair *pair;  // null for Delete
};

// The row-by-row writes that turn stored into wanted (force: rewrite rows even when equal, so
// that they are marked exact at the new clock).
void diff_contacts(RecordKind kind, std::int64_t record, const connection::Contacts *wanted,
                   const connection::Contacts *stored, bool force, std::vector<ContactWrite> &out) {
  if (wanted) {
    for (const auto &[key, p] : *wanted) {
      if (kind == RecordKind::Company && key.person_id != 0) continue;
      const auto it = stored ? stored->find(key) : connection::Contacts::const_iterator{};
      if (!stored || it == stored->end())
        out.push_back({ContactWrite::Insert, record, key, &p});
      else if (force || !(it->second == p))
        out.push_back({ContactWrite::Update, record, key, &p});
    }
  }
  if (stored)
    for (const auto &[key, p] : *stored)
      if (!wanted || !wanted->contains(key))
        out.push_back({ContactWrite::Delete, record, key, nullptr});
}

void write_contacts_one_by_one(const std::vector<ContactWrite> &writes, Micros as_of) {
  static const std::string set_list =
      "UPDATE crm.connection SET workspace_id = $1, company_id = $5, log_out = $6, "
      "log_in = $7, log_meet = $8, rank = $9, emails_sent = $10, emails_received = $11, "
      "meetings = $12, calls = $13, first_interaction_at = $14, last_interaction_at = $15, "
      "next_interaction_at = $16, as_of = $17 WHERE ";
  static const std::string update_person = set_list + "person_id = $3 AND member_id = $2";
  static const std::string update_address =
      set_list + "person_id IS NULL AND company_id = $5 AND address_key = $4 AND member_id = $2";
  for (const ContactWrite &w : writes) {
    pg_call([&] {
      const bool person = w.key.person_id != 0;
      if (w.what == ContactWrite::Delete) {
        static const Oid types[3] = {INT8OID, INT8OID, INT8OID};
        SPIPlanPtr plan =
            person ? kept_plan(&contact_delete_plans[0],
                               "DELETE FROM crm.connection WHERE person_id = $1 AND member_id = $2",
                               2, types)
                   : kept_plan(&contact_delete_plans[1],
                               "DELETE FROM crm.connection WHERE person_id IS NULL AND "
                               "company_id = $1 AND address_key = $3 AND member_id = $2",
                               3, types);
        Datum args[3] = {Int64GetDatum(w.record), Int64GetDatum(w.key.member_id),
                         Int64GetDatum(w.key.address_key)};
        execute_plan(plan, args, nullptr, false, SPI_OK_DELETE);
        return;
      }
      Datum args[kContactParams];
      char nulls[kContactParams];
      contact_params(w.key, *w.pair, as_of, args, nulls);
      if (w.what == ContactWrite::Insert) {
        SPIPlanPtr plan = kept_plan(
            &contact_insert_plan,
            "INSERT INTO crm.connection (workspace_id, member_id, person_id, address_key, "
            "company_id, log_out, log_in, log_meet, rank, emails_sent, emails_received, meetings, "
            "calls, first_interaction_at, last_interaction_at, next_interaction_at, as_of) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            kContactParams, kContactTypes);
        execute_plan(plan, args, nulls, false, SPI_OK_INSERT);
        return;
      }
      SPIPlanPtr plan = person ? kept_plan(&contact_update_plans[0], update_person.c_str(),
                                           kContactParams, kContactTypes)
                               : kept_plan(&contact_update_plans[1], update_address.c_str(),
                                           kContactParams, kContactTypes);
      execute_plan(plan, args, nulls, false, SPI_OK_UPDATE);
    });
  }
}

}  // namespace

void replace_contacts(RecordKind kind, const std::vector<std::int64_t> &ids,
                      const ContactsByRecord &rows, Micros as_of, const ContactsByRecord *stored,
                      const RecordIds *force) {
  if (stored != nullptr) {
    std::vector<ContactWrite> writes;
    for (std::int64_t id : ids) {
      auto w = rows.find(id);
      auto s = stored->find(id);
      diff_contacts(kind, id, w == rows.end() ? nullptr : &w->second,
                    s == stored->end() ? nullptr : &s->second, force && force->contains(id),
                    writes);
    }
    if (writes.size() <= kSmallWrites) {
      write_contacts_one_by_one(writes, as_of);
      return;
    }
  }
  delete_by_ids(
      kind == RecordKind::Person
          ? "DELETE FROM crm.connection WHERE person_id = ANY ($1)"
          : "DELETE FROM crm.connection WHERE person_id IS NULL AND company_id = ANY ($1)",
      ids);
  ArrayColumns cols({INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
                     FLOAT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
                     TIMESTAMPTZOID});
  for (std::int64_t id : ids) {
    auto it = rows.find(id);
    if (it == rows.end()) continue;
    for (const auto &[key, p] : it->second) {
      if (kind == RecordKind::Company && key.person_id != 0) continue;
      const double rank = p.rank();
      cols.add(0, Int64GetDatum(p.workspace_id));
      cols.add(1, Int64GetDatum(key.member_id));
      cols.add(2, Int64GetDatum(key.person_id), key.person_id == 0);
      cols.add(3, Int64GetDatum(key.address_key), key.person_id != 0);
      cols.add(4, Int64GetDatum(p.company_id), p.company_id == 0);
      cols.add(5, log_datum(p.log_out), p.log_out == kNothing);
      cols.add(6, log_datum(p.log_in), p.log_in == kNothing);
      cols.add(7, log_datum(p.log_meet), p.log_meet == kNothing);
      cols.add(8, log_datum(rank), rank == kNothing);
      cols.add(9, Int64GetDatum(p.emails_sent));
      cols.add(10, Int64GetDatum(p.emails_received));
      cols.add(11, Int64GetDatum(p.meetings));
      cols.add(12, Int64GetDatum(p.calls));
      cols.add(13, TimestampTzGetDatum(p.first_at), p.first_at == kNoTime);
      cols.add(14, TimestampTzGetDatum(p.last_at), p.last_at == kNoTime);
      cols.add(15, TimestampTzGetDatum(p.next_at), p.next_at == kNoTime);
    }
  }
  static const char *sql =
      "INSERT INTO crm.connection (workspace_id, member_id, person_id, address_key, company_id, "
      "log_out, log_in, log_meet, rank, emails_sent, emails_received, meetings, calls, "
      "first_interaction_at, last_interaction_at, next_interaction_at, as_of) "
      "SELECT *, $17 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
      "$5::bigint[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::bigint[], "
      "$11::bigint[], $12::bigint[], $13::bigint[], $14::timestamptz[], $15::timestamptz[], "
      "$16::timestamptz[])";
  static const Oid types[17] = {
      INT8ARRAYOID,        INT8ARRAYOID,   INT8ARRAYOID,   INT8ARRAYOID,        INT8ARRAYOID,
      FLOAT8ARRAYOID,      FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,      INT8ARRAYOID,
      INT8ARRAYOID,        INT8ARRAYOID,   INT8ARRAYOID,   TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
      TIMESTAMPTZARRAYOID, TIMESTAMPTZOID};
  for (std::size_t start = 0; start < cols.rows(); start += kChunk) {
    const int count = static_cast<int>(std::min(cols.rows(), start + kChunk) - start);
    pg_call([&] {
      Datum args[17];
      cols.arrays(start, count, args);
      args[16] = TimestampTzGetDatum(as_of);
      execute_once(sql, 17, types, args, nullptr, false, SPI_OK_INSERT);
    });
  }
}

namespace {

// Reads pairs; through a cached plan in *slot when given (a primary-key probe), else planned once.
LoadedPairs select_pairs(const char *sql, int nargs, const Oid *types, const Datum *args,
                         bool read_only, Micros now, SPIPlanPtr *slot = nullptr) {
  struct Row {
    std::int64_t company, member;
    CompanyPair pair;
    Micros as_of;
  };
  const std::size_t n = pg_call([&] {
    if (slot)
      execute_plan(kept_plan(slot, sql, nargs, types), args, nullptr, read_only, SPI_OK_SELECT);
    else
      execute_once(sql, nargs, types, args, nullptr, read_only, SPI_OK_SELECT);
    return static_cast<std::size_t>(SPI_processed);
  });
  std::vector<Row> rows(n);
  pg_call([&] {
    TupleDesc d = SPI_tuptable->tupdesc;
    for (uint64 i = 0; i < SPI_processed; ++i) {
      HeapTuple t = SPI_tuptable->vals[i];
      Row &r = rows[i];
      r.company = int8_at(t, d, 1);
      r.member = int8_at(t, d, 2);
      r.pair.workspace_id = int8_at(t, d, 3);
      r.pair.rank = log_at(t, d, 4);
      r.pair.people = int8_at(t, d, 5);
      r.pair.last_at = time_at(t, d, 6);
      r.pair.next_at = time_at(t, d, 7);
      r.as_of = time_at(t, d, 8);
    }
    SPI_freetuptable(SPI_tuptable);
  });
  LoadedPairs out;
  for (const Row &r : rows) {
    if (!connection::mergeable(r.pair.next_at, r.as_of, now)) out.stale.insert(r.company);
    out.rows[r.company].emplace(r.member, r.pair);
  }
  return out;
}

#define CRM_PAIR_SELECT                                                             \
  "SELECT company_id, member_id, workspace_id, rank, people, last_interaction_at, " \
  "next_interaction_at, as_of FROM crm.company_connection"

}  // namespace

LoadedPairs load_company_pairs(const std::vector<std::int64_t> &ids, Micros now) {
  if (ids.empty()) return {};
  static const Oid types[1] = {INT8ARRAYOID};
  const Datum arg = pg_call([&] { return int8_array(ids.data(), static_cast<int>(ids.size())); });
  // Small batches (an application's single-row writes) through a kept plan.
  return select_pairs(CRM_PAIR_SELECT " WHERE company_id = ANY ($1)", 1, types, &arg, false, now,
                      ids.size() <= kSmallBatch ? &small_pair_load_plan : nullptr);
}

LoadedPairs load_all_company_pairs(Micros now) {
  return select_pairs(CRM_PAIR_SELECT, 0, nullptr, nullptr, true, now);
}

void replace_company_pairs(const std::vector<std::int64_t> &ids, const PairsByCompany &rows,
                           Micros as_of, const PairsByCompany *stored, const RecordIds *force) {
  if (stored != nullptr) {
    struct Write {
      bool remove;
      std::int64_t company, member;
      const CompanyPair *pair;
    };
    std::vector<Write> writes;
    static const connection::CompanyPairs kNone;
    for (std::int64_t id : ids) {
      auto w = rows.find(id);
      auto s = stored->find(id);
      const connection::CompanyPairs &want = w == rows.end() ? kNone : w->second;
      const connection::CompanyPairs &have = s == stored->end() ? kNone : s->second;
      const bool all = force && force->contains(id);
      for (const auto &[member, p] : want) {
        auto h = have.find(member);
        if (all || h == have.end() || !(h->second == p)) writes.push_back({false, id, member, &p});
      }
      for (const auto &[member, p] : have)
        if (!want.contains(member)) writes.push_back({true, id, member, nullptr});
    }
    if (writes.size() <= kSmallWrites) {
      for (const Write &w : writes) {
        pg_call([&] {
          static const Oid key_types[2] = {INT8OID, INT8OID};
          Datum key[2] = {Int64GetDatum(w.company), Int64GetDatum(w.member)};
          if (w.remove) {
            execute_plan(kept_plan(&pair_delete_plan,
                                   "DELETE FROM crm.company_connection WHERE company_id = $1 AND "
                                   "member_id = $2",
                                   2, key_types),
                         key, nullptr, false, SPI_OK_DELETE);
            return;
          }
          // An upsert by primary key: the row may or may not exist.
          static const Oid types[8] = {INT8OID, INT8OID,        INT8OID,        FLOAT8OID,
                                       INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
          const CompanyPair &p = *w.pair;
          Datum args[8] = {Int64GetDatum(w.company),       Int64GetDatum(w.member),
                           Int64GetDatum(p.workspace_id),  log_datum(p.rank),
                           Int64GetDatum(p.people),        TimestampTzGetDatum(p.last_at),
                           TimestampTzGetDatum(p.next_at), TimestampTzGetDatum(as_of)};
          char nulls[8] = {' ',
                           ' ',
                           ' ',
                           p.rank == kNothing ? 'n' : ' ',
                           ' ',
                           p.last_at == kNoTime ? 'n' : ' ',
                           p.next_at == kNoTime ? 'n' : ' ',
                           ' '};
          execute_plan(
              kept_plan(&pair_insert_plan,
                        "INSERT INTO crm.company_connection (company_id, member_id, workspace_id, "
                        "rank, people, last_interaction_at, next_interaction_at, as_of) VALUES "
                        "($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (company_id, member_id) DO "
                        "UPDATE SET workspace_id = excluded.workspace_id, rank = excluded.rank, "
                        "people = excluded.people, last_interaction_at = "
                        "excluded.last_interaction_at, next_interaction_at = "
                        "excluded.next_interaction_at, as_of = excluded.as_of",
                        8, types),
              args, nulls, false, SPI_OK_INSERT);
        });
      }
      return;
    }
  }
  delete_by_ids("DELETE FROM crm.company_connection WHERE company_id = ANY ($1)", ids);
  ArrayColumns cols(
      {INT8OID, INT8OID, INT8OID, FLOAT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID});
  for (std::int64_t id : ids) {
    auto it = rows.find(id);
    if (it == rows.end()) continue;
    for (const auto &[member, p] : it->second) {
      cols.add(0, Int64GetDatum(id));
      cols.add(1, Int64GetDatum(member));
      cols.add(2, Int64GetDatum(p.workspace_id));
      cols.add(3, log_datum(p.rank), p.rank == kNothing);
      cols.add(4, Int64GetDatum(p.people));
      cols.add(5, TimestampTzGetDatum(p.last_at), p.last_at == kNoTime);
      cols.add(6, TimestampTzGetDatum(p.next_at), p.next_at == kNoTime);
    }
  }
  static const char *sql =
      "INSERT INTO crm.company_connection (company_id, member_id, workspace_id, rank, people, "
      "last_interaction_at, next_interaction_at, as_of) SELECT *, $8 FROM unnest($1::bigint[], "
      "$2::bigint[], $3::bigint[], $4::float8[], $5::bigint[], $6::timestamptz[], "
      "$7::timestamptz[])";
  static const Oid types[8] = {INT8ARRAYOID,        INT8ARRAYOID,  INT8ARRAYOID,
                               FLOAT8ARRAYOID,      INT8ARRAYOID,  TIMESTAMPTZARRAYOID,
                               TIMESTAMPTZARRAYOID, TIMESTAMPTZOID};
  for (std::size_t start = 0; start < cols.rows(); start += kChunk) {
    const int count = static_cast<int>(std::min(cols.rows(), start + kChunk) - start);
    pg_call([&] {
      Datum args[8];
      cols.arrays(start, count, args);
      args[7] = TimestampTzGetDatum(as_of);
      execute_once(sql, 8, types, args, nullptr, false, SPI_OK_INSERT);
    });
  }
}

void clear_connections() {
  pg_call([] {
    for (const char *sql : {"DELETE FROM crm.connection", "DELETE FROM crm.company_connection"})
      if (SPI_execute(sql, false, 0) != SPI_OK_DELETE)
        elog(ERROR, "crm_hygiene: cannot clear connection state");
  });
}

connection::Model load_model(std::int64_t workspace, bool read_only) {
  connection::Model m;
  pg_call([&] {
    static SPIPlanPtr plan = nullptr;
    static const Oid types[1] = {INT8OID};
    SPIPlanPtr p = kept_plan(&plan,
                             "SELECT outbound_email, inbound_email, meeting, call, role_primary, "
                             "role_cc, role_bcc, max_audience, "
                             "extract(epoch FROM half_life)::float8 * 1e6, scale, very_strong, "
                             "strong, good, weak FROM crm.connection_model WHERE workspace_id = $1",
                             1, types);
    Datum arg = Int64GetDatum(workspace);
    // Writers read in a fresh snapshot (not read-only), after lock_models_shared(): a model
    // committed while they waited is seen.
    execute_plan(p, &arg, nullptr, read_only, SPI_OK_SELECT);
    if (SPI_processed == 1) {
      HeapTuple t = SPI_tuptable->vals[0];
      TupleDesc d = SPI_tuptable->tupdesc;
      bool isnull = false;
      auto f8 = [&](int col) { return DatumGetFloat8(SPI_getbinval(t, d, col, &isnull)); };
      m.outbound_email = f8(1);
      m.inbound_email = f8(2);
      m.meeting = f8(3);
      m.call = f8(4);
      m.role_primary = f8(5);
      m.role_cc = f8(6);
      m.role_bcc = f8(7);
      m.max_audience = DatumGetInt32(SPI_getbinval(t, d, 8, &isnull));
      m.half_life = static_cast<Micros>(f8(9));
      m.scale = f8(10);
      m.very_strong = f8(11);
      m.strong = f8(12);
      m.good = f8(13);
      m.weak = f8(14);
    }
    SPI_freetuptable(SPI_tuptable);
  });
  return m;
}

void lock_models_shared() {
  pg_call([] {
    // Writers of activity share it; a change of the model takes it exclusively
    // (crm._model_changed()), so no statement folds with a model that changes under it.
    LOCKTAG tag = lock_keys::tag(lock_keys::kModelClass, lock_keys::kModelKey);
    (void)LockAcquire(&tag, ShareLock, false, false);
  });
}

}  // namespace crm::pg
