#include "pg/match/match_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <unordered_set>

#include "core/error.hpp"
#include "core/match/blocking.hpp"
#include "core/match/model_json.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/spi.hpp"

namespace crm::pg {
namespace {

constexpr char kFieldSeparator = '\x1f';
constexpr long kBatch = 20000;
// Rows per INSERT when writing profiles or candidates: bounds the arrays built in memory.
constexpr std::size_t kWriteBatch = 50000;

Datum kind_datum(RecordKind kind) {
  return pg_call([kind] { return PointerGetDatum(cstring_to_text(kind_name(kind))); });
}

Datum float8_array(const std::vector<double> &values) {
  const int n = static_cast<int>(values.size());
  Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; ++i) elems[i] = Float8GetDatum(values[i]);
  ArrayType *array = construct_array(elems, n, FLOAT8OID, 8, true, TYPALIGN_DOUBLE);
  pfree(elems);
  return PointerGetDatum(array);
}

std::string keys_literal(const std::vector<std::int64_t> &keys) {
  std::string out = "{";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(keys[i]);
  }
  out.push_back('}');
  return out;
}

StoredProfile stored_of(TextRow &row) {
  StoredProfile p;
  p.id = row.id;
  p.workspace = row.workspace;
  if (row.columns.size() >= 3) {
    p.profile = split_fields(row.columns[0].value_or(""));
    p.keys = parse_int8_array(row.columns[1].value_or(""));
    p.fingerprint = std::strtoll(row.columns[2].value_or("0").c_str(), nullptr, 10);
  }
  return p;
}

}  // namespace

const char *kind_name(RecordKind kind) {
  return signals::to_string(kind).data();  // a literal: NUL-terminated
}

RecordKind kind_of(std::string_view text) {
  auto kind = signals::parse_record_kind(text);
  if (!kind)
    throw Error("22023", "unknown record kind \"" + std::string(text.substr(0, 64)) + "\"", "",
                "use 'person' or 'company'");
  return *kind;
}

std::vector<DuplicateSettings> load_settings(RecordKind kind,
                                             const std::vector<std::int64_t> &workspaces) {
  static const char *sql =
      "SELECT w.ws, w.ws, m.model::text, r.action, r.threshold::text "
      "FROM unnest($2::bigint[]) AS w(ws) "
      "LEFT JOIN crm.duplicate_model m ON m.workspace_id = w.ws AND m.kind = $1 "
      "LEFT JOIN crm.duplicate_rule r ON r.workspace_id = w.ws AND r.kind = $1 "
      // The caller walks its rows by workspace in this order; a hash join would return another.
      "ORDER BY w.ws";
  static const Oid types[2] = {TEXTOID, INT8ARRAYOID};
  const Datum args[2] = {
      kind_datum(kind),
      pg_call([&] { return int8_array(workspaces.data(), static_cast<int>(workspaces.size())); })};
  static SPIPlanPtr plan = nullptr;
  std::vector<TextRow> rows = text_rows_kept(&plan, sql, 2, types, args, false);
  std::vector<DuplicateSettings> out;
  out.reserve(rows.size());
  for (TextRow &row : rows) {
    DuplicateSettings s;
    s.workspace = row.id;
    s.model =
        row.columns[0] ? match::model_from_json(kind, *row.columns[0]) : match::default_model(kind);
    if (row.columns[1]) {
      s.action = *row.columns[1];
      s.action_threshold = std::strtod(row.columns[2].value_or("1").c_str(), nullptr);
    }
    out.push_back(std::move(s));
  }
  return out;
}

match::RawRecord raw_record(RecordKind kind, TextRow &row,
                            const std::vector<std::string> &attribute_keys) {
  match::RawRecord raw;
  const std::size_t sources = match::source_columns(kind).size();
  for (std::size_t c = 0; c < sources && c < row.columns.size(); ++c)
    raw.columns.push_back(std::move(row.columns[c]));
  if (row.columns.size() > sources && row.columns[sources]) {
    const std::string &joined = *row.columns[sources];
    std::size_t i = 0;
    while (i <= joined.size()) {
      std::size_t j = joined.find(kFieldSeparator, i);
      if (j == std::string::npos) j = joined.size();
      if (j > i) raw.extra_emails.emplace_back(joined, i, j - i);
      i = j + 1;
    }
  }
  if (!attribute_keys.empty()) {
    const std::size_t at = sources + 1;
    raw.attributes = match::attribute_values(
        at < row.columns.size() && row.columns[at] ? *row.columns[at] : std::string(),
        attribute_keys);
  }
  return raw;
}

std::string join_fields(const match::Profile &profile) {
  std::string out;
  for (std::size_t i = 0; i < profile.fields.size(); ++i) {
    if (i) out.push_back(kFieldSeparator);
    out += profile.fields[i];
  }
  return out;
}

match::Profile split_fields(const std::string &joined) {
  match::Profile p;
  std::size_t i = 0;
  for (;;) {
    std::size_t j = joined.find(kFieldSeparator, i);
    if (j == std::string::npos) {
      p.fields.emplace_back(joined, i);
      break;
    }
    p.fields.emplace_back(joined, i, j - i);
    i = j + 1;
  }
  return p;
}

std::vector<StoredProfile> load_blocks(RecordKind kind, std::int64_t workspace,
                                       const std::vector<std::int64_t> &keys,
                                       std::vector<std::int64_t> &oversized) {
  oversized.clear();
  if (keys.empty()) return {};
  // One GIN probe per key, each stopped one row past the block limit: a key shared by half the
  // workspace costs what a small block does.
  static SPIPlanPtr plan = nullptr;
  static const Oid types[3] = {INT8ARRAYOID, TEXTOID, INT8OID};
  const std::string sql =
      "SELECT b.record_id, b.workspace_id, b.fields, NULL::text, b.fingerprint::text, k::text "
      "FROM unnest($1::bigint[]) AS k CROSS JOIN LATERAL ("
      " SELECT p.record_id, p.workspace_id, p.fields, p.fingerprint"
      " FROM crm.match_profile p WHERE p.keys @> ARRAY[k]"
      // Only a recheck (keys hash the workspace and kind): kept out of the index conditions, so a
      // plan made while the table was small never prefers the workspace index to the key index.
      " AND p.kind || '' = $2 AND p.workspace_id + 0 = $3"
      " LIMIT " +
      std::to_string(match::kMaxBlock + 1) + ") b";
  const Datum args[3] = {
      pg_call([&] { return int8_array(keys.data(), static_cast<int>(keys.size())); }),
      kind_datum(kind), Int64GetDatum(workspace)};
  pg_call([&] {
    SPIPlanPtr p = kept_plan(&plan, sql.c_str(), 3, types);
    execute_plan(p, args, nullptr, false, SPI_OK_SELECT);
  });
  std::vector<TextRow> rows = take_spi_rows();
  // A member's keys are those it was found under: the only ones it can share with the probes
  // (a block cut at the limit is oversized, and no pair is made through it).
  std::unordered_map<std::int64_t, std::size_t> per_key;
  std::unordered_map<std::int64_t, std::size_t> position;
  std::vector<StoredProfile> out;
  for (TextRow &row : rows) {
    const std::int64_t key = std::strtoll(row.columns[3].value_or("0").c_str(), nullptr, 10);
    ++per_key[key];
    auto [at, added] = position.emplace(row.id, out.size());
    if (added) out.push_back(stored_of(row));
    out[at->second].keys.push_back(key);
  }
  for (StoredProfile &p : out) std::sort(p.keys.begin(), p.keys.end());
  for (const auto &[key, count] : per_key)
    if (count > match::kMaxBlock) oversized.push_back(key);
  std::sort(oversized.begin(), oversized.end());
  return out;
}

std::vector<StoredProfile> load_profiles(RecordKind kind, const std::vector<std::int64_t> &ids) {
  static const char *sql =
      "SELECT record_id, workspace_id, fields, keys::text, fingerprint::text "
      "FROM crm.match_profile WHERE kind = $1 AND record_id = ANY ($2)";
  static const Oid types[2] = {TEXTOID, INT8ARRAYOID};
  const Datum args[2] = {kind_datum(kind), pg_call([&] {
                           return int8_array(ids.data(), static_cast<int>(ids.size()));
                         })};
  std::vector<StoredProfile> out;
  for (TextRow &row : text_rows(sql, 2, types, args, false)) out.push_back(stored_of(row));
  return out;
}

std::vector<std::pair<std::int64_t, std::int64_t>> pairs_agreeing_on(
    RecordKind kind, std::int64_t workspace, const std::vector<std::string> &agreed) {
  static const char *sql =
      "SELECT record_id, other_id FROM crm.duplicate_candidate "
      "WHERE agreed && $3::text[] AND workspace_id = $1 AND kind = $2 AND status <> 'merged'";
  static const Oid types[3] = {INT8OID, TEXTOID, TEXTARRAYOID};
  const std::vector<std::string_view> views(agreed.begin(), agreed.end());
  const Datum args[3] = {Int64GetDatum(workspace), kind_datum(kind),
                         pg_call([&] { return text_array(views); })};
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  // text_rows reads the first two bigint columns as id and workspace: here the pair.
  for (TextRow &row : text_rows(sql, 3, types, args, false))
    out.emplace_back(row.id, row.workspace);
  return out;
}

void delete_open_pairs(RecordKind kind,
                       const std::vector<std::pair<std::int64_t, std::int64_t>> &pairs) {
  if (pairs.empty()) return;
  std::vector<std::int64_t> records, others;
  for (const auto &[r, o] : pairs) {
    records.push_back(r);
    others.push_back(o);
  }
  static const Oid types[3] = {TEXTOID, INT8ARRAYOID, INT8ARRAYOID};
  pg_call([&] {
    const Datum args[3] = {PointerGetDatum(cstring_to_text(kind_name(kind))),
                           int8_array(records.data(), static_cast<int>(records.size())),
                           int8_array(others.data(), static_cast<int>(others.size()))};
    execute_once(
        "DELETE FROM crm.duplicate_candidate c USING unnest($2::bigint[], $3::bigint[]) AS p(r, o) "
        "WHERE c.kind = $1 AND c.record_id = p.r AND c.other_id = p.o AND c.status = 'open'",
        3, types, args, nullptr, false, SPI_OK_DELETE);
  });
}

void stream_profiles(RecordKind kind, std::int64_t workspace,
                     const std::function<void(std::vector<StoredProfile> &)> &visit,
                     ProfileColumns columns) {
  const char *sql = columns == ProfileColumns::All
                        ? "SELECT record_id, workspace_id, fields, keys::text, fingerprint::text "
                          "FROM crm.match_profile WHERE workspace_id = $1 AND kind = $2"
                        : "SELECT record_id, workspace_id, ''::text, keys::text, fingerprint::text "
                          "FROM crm.match_profile WHERE workspace_id = $1 AND kind = $2";
  static const Oid types[2] = {INT8OID, TEXTOID};
  const Datum args[2] = {Int64GetDatum(workspace), kind_datum(kind)};
  std::vector<StoredProfile> profiles;
  stream_text_rows(sql, 2, types, args, false, kBatch, [&](std::vector<TextRow> &rows) {
    profiles.clear();
    profiles.reserve(rows.size());
    for (TextRow &row : rows) profiles.push_back(stored_of(row));
    visit(profiles);
  });
}

std::unordered_map<std::int64_t, std::int64_t> stored_fingerprints(
    RecordKind kind, const std::vector<std::int64_t> &ids) {
  static const char *sql =
      "SELECT record_id, workspace_id, fingerprint::text FROM crm.match_profile "
      "WHERE kind = $1 AND record_id = ANY ($2)";
  static const Oid types[2] = {TEXTOID, INT8ARRAYOID};
  const Datum args[2] = {kind_datum(kind), pg_call([&] {
                           return int8_array(ids.data(), static_cast<int>(ids.size()));
                         })};
  std::unordered_map<std::int64_t, std::int64_t> out;
  static SPIPlanPtr plan = nullptr;
  for (TextRow &row : text_rows_kept(&plan, sql, 2, types, args, false))
    out[row.id] = std::strtoll(row.columns[0].value_or("0").c_str(), nullptr, 10);
  return out;
}

void write_profiles(RecordKind kind, const std::vector<const StoredProfile *> &profiles) {
  static const char *sql =
      "INSERT INTO crm.match_profile AS p (workspace_id, kind, record_id, fields, keys, "
      "fingerprint) "
      "SELECT u.w, $1, u.r, u.f, u.k::bigint[], u.fp "
      "FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) AS u(r, w, f, "
      "k, fp) "
      "ON CONFLICT (kind, record_id) DO UPDATE SET workspace_id = excluded.workspace_id, "
      "fields = excluded.fields, keys = excluded.keys, fingerprint = excluded.fingerprint";
  static const Oid types[6] = {TEXTOID,      INT8ARRAYOID, INT8ARRAYOID,
                               TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID};
  static SPIPlanPtr plan = nullptr;
  for (std::size_t begin = 0; begin < profiles.size(); begin += kWriteBatch) {
    const std::size_t end = std::min(profiles.size(), begin + kWriteBatch);
    std::vector<std::int64_t> ids, workspaces, fingerprints;
    std::vector<std::string> fields, keys;
    for (std::size_t i = begin; i < end; ++i) {
      ids.push_back(profiles[i]->id);
      workspaces.push_back(profiles[i]->workspace);
      fingerprints.push_back(profiles[i]->fingerprint);
      fields.push_back(join_fields(profiles[i]->profile));
      keys.push_back(keys_literal(profiles[i]->keys));
    }
    const std::vector<std::string_view> field_views(fields.begin(), fields.end());
    const std::vector<std::string_view> key_views(keys.begin(), keys.end());
    const int n = static_cast<int>(ids.size());
    pg_call([&] {
      const Datum args[6] = {PointerGetDatum(cstring_to_text(kind_name(kind))),
                             int8_array(ids.data(), n),
                             int8_array(workspaces.data(), n),
                             text_array(field_views),
                             text_array(key_views),
                             int8_array(fingerprints.data(), n)};
      execute_plan(kept_plan(&plan, sql, 6, types), args, nullptr, false, SPI_OK_INSERT);
    });
  }
}

void upsert_candidates(RecordKind kind, const std::vector<CandidateRow> &rows) {
  static const char *sql =
      "INSERT INTO crm.duplicate_candidate AS c "
      "(workspace_id, kind, record_id, other_id, score, evidence, fingerprint, status, "
      "detected_at, agreed) "
      "SELECT u.w, $1, u.r, u.o, u.s, u.e::jsonb, u.fp, 'open', crm.now(), "
      "  CASE WHEN u.a = '' THEN '{}'::text[] ELSE string_to_array(u.a, E'\\x1f') END "
      "FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::text[], "
      "$7::bigint[], $8::text[]) "
      "AS u(w, r, o, s, e, fp, a) "
      "ON CONFLICT (kind, record_id, other_id) DO UPDATE SET "
      "score = excluded.score, evidence = excluded.evidence, "
      "status = CASE WHEN c.status = 'merged' THEN 'merged' "
      "  WHEN c.status = 'dismissed' AND c.fingerprint = excluded.fingerprint THEN 'dismissed' "
      "  ELSE 'open' END, "
      "detected_at = CASE WHEN c.status = 'dismissed' AND c.fingerprint <> excluded.fingerprint "
      "  THEN excluded.detected_at ELSE c.detected_at END, "
      "fingerprint = excluded.fingerprint, agreed = excluded.agreed "
      "WHERE c.score <> excluded.score OR c.fingerprint <> excluded.fingerprint "
      "   OR c.evidence <> excluded.evidence OR c.agreed <> excluded.agreed";
  static const Oid types[8] = {TEXTOID,        INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
                               FLOAT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID};
  static SPIPlanPtr plan = nullptr;
  for (std::size_t begin = 0; begin < rows.size(); begin += kWriteBatch) {
    const std::size_t end = std::min(rows.size(), begin + kWriteBatch);
    std::vector<std::int64_t> workspaces, records, others, fingerprints;
    std::vector<double> scores;
    std::vector<std::string_view> evidence;
    std::vector<std::string> agreed_joined;
    for (std::size_t i = begin; i < end; ++i) {
      std::string joined;
      for (const std::string &a : rows[i].agreed) joined += (joined.empty() ? "" : "\x1f") + a;
      agreed_joined.push_back(std::move(joined));
      workspaces.push_back(rows[i].workspace);
      records.push_back(rows[i].record_id);
      others.push_back(rows[i].other_id);
      scores.push_back(rows[i].score);
      evidence.push_back(rows[i].evidence);
      fingerprints.push_back(rows[i].fingerprint);
    }
    const int n = static_cast<int>(records.size());
    pg_call([&] {
      const Datum args[8] = {
          PointerGetDatum(cstring_to_text(kind_name(kind))),
          int8_array(workspaces.data(), n),
          int8_array(records.data(), n),
          int8_array(others.data(), n),
          float8_array(scores),
          text_array(evidence),
          int8_array(fingerprints.data(), n),
          text_array(std::vector<std::string_view>(agreed_joined.begin(), agreed_joined.end()))};
      execute_plan(kept_plan(&plan, sql, 8, types), args, nullptr, false, SPI_OK_INSERT);
    });
  }
}

namespace {

// Pairs not in keep, of these records (or of the whole workspace when records is empty).
void delete_stale(RecordKind kind, const std::vector<std::int64_t> &records, std::int64_t workspace,
                  const std::vector<CandidateRow> &keep) {
  const std::string scope =
      records.empty() ? "c.workspace_id = $5" : "(c.record_id = ANY ($2) OR c.other_id = ANY ($2))";
  const std::string sql =
      "DELETE FROM crm.duplicate_candidate c WHERE c.kind = $1 AND " + scope +
      " AND c.status <> 'merged'"
      " AND (c.record_id, c.other_id) NOT IN (SELECT u.r, u.o FROM unnest($3::bigint[], "
      "$4::bigint[]) AS u(r, o))"
      " AND (c.status = 'open' OR c.fingerprint IS DISTINCT FROM ("
      "   SELECT a.fingerprint # b.fingerprint FROM crm.match_profile a, crm.match_profile b"
      "   WHERE a.kind = $1 AND a.record_id = c.record_id AND b.kind = $1 AND b.record_id = "
      "c.other_id))";
  std::vector<std::int64_t> kept_records, kept_others;
  for (const CandidateRow &r : keep) {
    kept_records.push_back(r.record_id);
    kept_others.push_back(r.other_id);
  }
  static const Oid types[5] = {TEXTOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8OID};
  pg_call([&] {
    const Datum args[5] = {PointerGetDatum(cstring_to_text(kind_name(kind))),
                           int8_array(records.data(), static_cast<int>(records.size())),
                           int8_array(kept_records.data(), static_cast<int>(kept_records.size())),
                           int8_array(kept_others.data(), static_cast<int>(kept_others.size())),
                           Int64GetDatum(workspace)};
    execute_once(sql.c_str(), 5, types, args, nullptr, false, SPI_OK_DELETE);
  });
}

}  // namespace

void delete_stale_candidates(RecordKind kind, const std::vector<std::int64_t> &records,
                             const std::vector<CandidateRow> &keep) {
  if (records.empty()) return;
  delete_stale(kind, records, 0, keep);
}

void delete_stale_candidates_in_workspace(RecordKind kind, std::int64_t workspace,
                                          const std::vector<CandidateRow> &keep) {
  delete_stale(kind, {}, workspace, keep);
}

}  // namespace crm::pg
