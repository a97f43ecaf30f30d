#include "core/match/frequency.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace crm::match {
namespace {

// Positions must match crm._match_frequency_values (src/sql/55_duplicates.sql).
constexpr std::array<FrequencyField, 4> kPersonFrequencyFields = {{
    {kFirstName, "first_name"},
    {kLastName, "last_name"},
    {kCity, "city"},
    {kPostalCode, "postal_code"},
}};
constexpr std::array<FrequencyField, 4> kCompanyFrequencyFields = {{
    {kCompanyName, "name"},
    {kCompanyStreet, "street"},
    {kCompanyCity, "city"},
    {kCompanyPostalCode, "postal_code"},
}};

constexpr int kMaxPenaltyBits = 30;

std::string letters_only(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c >= 'a' && c <= 'z') out.push_back(c);
  return out;
}

}  // namespace

std::span<const FrequencyField> frequency_fields(RecordKind kind) {
  if (kind == RecordKind::Person) return kPersonFrequencyFields;
  return kCompanyFrequencyFields;
}

std::string_view frequency_field_name(RecordKind kind, int profile_field) {
  for (const FrequencyField &f : frequency_fields(kind))
    if (f.profile_field == profile_field) return f.name;
  return {};
}

std::string Frequencies::key(int profile_field, std::string_view value) {
  std::string k(1, static_cast<char>(profile_field));
  k += value;
  return k;
}

void Frequencies::set(int profile_field, std::string_view value, std::int64_t records) {
  counts_[key(profile_field, value)] = records;
}

std::int64_t Frequencies::records(int profile_field, std::string_view value) const {
  auto it = counts_.find(key(profile_field, value));
  return it == counts_.end() ? 0 : it->second;
}

Frequencies frequencies_before_insert(RecordKind kind, const std::vector<CountedRow> &after,
                                      const std::vector<const Profile *> &inserted) {
  Frequencies own;
  for (const Profile *p : inserted)
    for (const FrequencyField &f : frequency_fields(kind)) {
      const std::string &value = (*p)[f.profile_field];
      if (!value.empty()) own.set(f.profile_field, value, own.records(f.profile_field, value) + 1);
    }
  Frequencies before;
  for (const CountedRow &row : after) {
    const std::int64_t mine = own.records(row.profile_field, row.value);
    before.set(row.profile_field, row.value,
               row.peak > row.records ? row.peak : std::max<std::int64_t>(row.records - mine, 0));
  }
  return before;
}

double frequency_base(const Model &model, const FieldModel &field) {
  return std::max(2.0, field.u.at(0) / model.prior);
}

int frequency_penalty(const Model &model, const FieldModel &field, std::int64_t records) {
  const double base = frequency_base(model, field);
  if (static_cast<double>(records) < 2.0 * base) return 0;
  const int bits = static_cast<int>(std::floor(std::log2(static_cast<double>(records) / base)));
  return std::clamp(bits, 0, kMaxPenaltyBits);
}

bool spelt_from_names(std::string_view local_part, std::string_view given_name,
                      std::string_view surname) {
  // Digits make a mailbox its owner's own ("rthompson1970"), not a pattern namesakes share.
  if (std::any_of(local_part.begin(), local_part.end(),
                  [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  const std::string local = letters_only(local_part);
  const std::string given = letters_only(given_name), family = letters_only(surname);
  if (local.empty() || (given.empty() && family.empty())) return false;
  if (local == given || local == family) return true;
  if (given.empty() || family.empty()) return false;
  const std::string g1(1, given[0]), f1(1, family[0]);
  for (const std::string &spelling :
       {given + family, family + given, g1 + family, family + g1, given + f1, f1 + given})
    if (local == spelling) return true;
  return false;
}

std::string agreed_token(RecordKind kind, int profile_field, std::string_view value) {
  std::string token(frequency_field_name(kind, profile_field));
  token += ':';
  token += value;
  return token;
}

std::vector<std::string> agreed_tokens(const Model &model, const Profile &a, const Profile &b,
                                       const Levels &levels) {
  std::vector<std::string> out;
  for (std::size_t f = 0; f < model.fields.size() && f < levels.size(); ++f) {
    const int field = model.fields[f].field;
    if (levels[f] != 0 || frequency_field_name(model.kind, field).empty()) continue;
    // Names compared swapped agree on a value only one side holds in this field: both are kept.
    out.push_back(agreed_token(model.kind, field, a[field]));
    if (b[field] != a[field]) out.push_back(agreed_token(model.kind, field, b[field]));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace crm::match
