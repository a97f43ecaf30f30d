#include "pg/match/match_frequency.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <utility>

#include "pg/common/guard.hpp"
#include "pg/common/spi.hpp"

namespace crm::pg {
namespace {

// No value held by fewer records weighs less (frequency_base is at least 2).
constexpr std::int64_t kLeastCommon = 4;

int profile_field_named(RecordKind kind, const std::string &name) {
  for (const match::FrequencyField &f : match::frequency_fields(kind))
    if (f.name == name) return f.profile_field;
  return -1;
}

// Rows (0, peak, field, value, records) read as TextRow: id 0, workspace = peak.
void add_rows(RecordKind kind, std::vector<TextRow> &rows, bool plus_one, match::Frequencies &out) {
  for (TextRow &row : rows) {
    const int field = profile_field_named(kind, row.columns[0].value_or(""));
    if (field < 0) continue;
    std::int64_t peak = row.workspace;
    if (plus_one)
      peak = std::max<std::int64_t>(
          peak, std::strtoll(row.columns[2].value_or("0").c_str(), nullptr, 10) + 1);
    out.set(field, row.columns[1].value_or(""), peak);
  }
}

}  // namespace

std::vector<CountedValue> counted_values(RecordKind kind,
                                         const std::vector<const StoredProfile *> &profiles) {
  std::set<std::pair<int, std::string>> seen;
  for (const StoredProfile *p : profiles)
    for (const match::FrequencyField &f : match::frequency_fields(kind)) {
      const std::string &value = p->profile[f.profile_field];
      if (value.empty()) continue;
      seen.emplace(f.profile_field, value);
      if (kind == RecordKind::Person && f.profile_field == match::kFirstName)
        seen.emplace(match::kLastName, value);
      if (kind == RecordKind::Person && f.profile_field == match::kLastName)
        seen.emplace(match::kFirstName, value);
    }
  std::vector<CountedValue> out;
  out.reserve(seen.size());
  for (const auto &[field, value] : seen) out.push_back({field, value});
  return out;
}

namespace {

// Rows (0, peak, field, value, records) of these values, in the caller's snapshot, as of now, or
// as of now FOR SHARE.
std::vector<TextRow> read_counts(RecordKind kind, std::int64_t workspace,
                                 const std::vector<CountedValue> &values, FrequencyRead read) {
  const bool lock = read == FrequencyRead::Locked;
  std::vector<std::string_view> fields, texts;
  for (const CountedValue &v : values) {
    fields.push_back(match::frequency_field_name(kind, v.profile_field));
    texts.push_back(v.value);
  }
  static SPIPlanPtr plans[2] = {nullptr, nullptr};
  // One primary-key probe per value (LATERAL, OFFSET 0): a plan made while the table was empty
  // never turns into a scan of it. Values in sorted order, as the writers' upserts lock them.
  static const char *sql[2] = {
      "SELECT 0::bigint, f.peak::bigint, f.field, f.value, f.records::text "
      "FROM (SELECT * FROM unnest($3::text[], $4::text[]) ORDER BY 1, 2) AS v(field, value) "
      "CROSS JOIN LATERAL (SELECT * FROM crm.match_frequency f WHERE f.workspace_id = $1 "
      " AND f.kind = $2 AND f.field = v.field AND f.value = v.value OFFSET 0) f",
      "SELECT 0::bigint, f.peak::bigint, f.field, f.value, f.records::text "
      "FROM (SELECT * FROM unnest($3::text[], $4::text[]) ORDER BY 1, 2) AS v(field, value) "
      "CROSS JOIN LATERAL (SELECT * FROM crm.match_frequency f WHERE f.workspace_id = $1 "
      " AND f.kind = $2 AND f.field = v.field AND f.value = v.value FOR SHARE) f"};
  static const Oid types[4] = {INT8OID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID};
  const Datum args[4] = {Int64GetDatum(workspace),
                         pg_call([&] { return PointerGetDatum(cstring_to_text(kind_name(kind))); }),
                         pg_call([&] { return text_array(fields); }),
                         pg_call([&] { return text_array(texts); })};
  return text_rows_kept(&plans[lock ? 1 : 0], sql[lock ? 1 : 0], 4, types, args,
                        read == FrequencyRead::Snapshot);
}

}  // namespace

match::Frequencies load_frequencies(RecordKind kind, std::int64_t workspace,
                                    const std::vector<CountedValue> &values, FrequencyRead read,
                                    bool plus_one) {
  match::Frequencies out;
  if (values.empty()) return out;
  std::vector<TextRow> rows = read_counts(kind, workspace, values, read);
  add_rows(kind, rows, false, out);
  if (plus_one) {
    // Values no record holds yet count 1; the rest one more than they do now.
    for (const CountedValue &v : values)
      if (out.records(v.profile_field, v.value) == 0) out.set(v.profile_field, v.value, 1);
    add_rows(kind, rows, true, out);
  }
  return out;
}

FrequenciesAround load_frequencies_around_insert(
    RecordKind kind, std::int64_t workspace, const std::vector<CountedValue> &values,
    const std::vector<const StoredProfile *> &written) {
  FrequenciesAround out;
  if (values.empty()) return out;
  std::vector<TextRow> rows = read_counts(kind, workspace, values, FrequencyRead::Locked);
  add_rows(kind, rows, false, out.after);
  std::vector<match::CountedRow> after;
  after.reserve(rows.size());
  for (TextRow &row : rows) {
    const int field = profile_field_named(kind, row.columns[0].value_or(""));
    if (field < 0) continue;
    after.push_back({field, row.columns[1].value_or(""),
                     std::strtoll(row.columns[2].value_or("0").c_str(), nullptr, 10),
                     row.workspace});
  }
  std::vector<const match::Profile *> inserted;
  inserted.reserve(written.size());
  for (const StoredProfile *p : written) inserted.push_back(&p->profile);
  out.before = match::frequencies_before_insert(kind, after, inserted);
  return out;
}

match::Frequencies load_workspace_frequencies(RecordKind kind, std::int64_t workspace) {
  static const char *sql =
      "SELECT 0::bigint, peak::bigint, field, value, records::text FROM crm.match_frequency "
      "WHERE workspace_id = $1 AND kind = $2 AND peak >= $3";
  static const Oid types[3] = {INT8OID, TEXTOID, INT8OID};
  const Datum args[3] = {Int64GetDatum(workspace),
                         pg_call([&] { return PointerGetDatum(cstring_to_text(kind_name(kind))); }),
                         Int64GetDatum(kLeastCommon)};
  match::Frequencies out;
  stream_text_rows(sql, 3, types, args, false, 20000,
                   [&](std::vector<TextRow> &rows) { add_rows(kind, rows, false, out); });
  return out;
}

std::vector<CountedValue> values_grown_common(const match::Model &model,
                                              const std::vector<CountedValue> &values,
                                              const match::Frequencies &before,
                                              const match::Frequencies &after) {
  std::vector<CountedValue> out;
  for (const CountedValue &v : values)
    for (const match::FieldModel &field : model.fields) {
      if (field.field != v.profile_field || field.m.empty()) continue;
      if (match::frequency_penalty(model, field, after.records(v.profile_field, v.value)) >
          match::frequency_penalty(model, field, before.records(v.profile_field, v.value)))
        out.push_back(v);
      break;
    }
  return out;
}

}  // namespace crm::pg
