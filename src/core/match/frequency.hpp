// Term frequencies (Splink's term-frequency adjustment, downward only): agreeing on a value many
// records of the workspace hold ("john", "smith", "london") is weaker evidence than agreeing on a
// rare one. The counts live in crm.match_frequency, kept by the profile writes themselves.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/match/model.hpp"

namespace crm::match {

// A counted profile field: its name in crm.match_frequency.field and its 1-based position in
// crm.match_profile.fields (the SQL that keeps the counts splits the stored profile).
struct FrequencyField {
  int profile_field;
  std::string_view name;
};
std::span<const FrequencyField> frequency_fields(RecordKind kind);

// The name under which a profile field is counted, or "" for a field that is not.
std::string_view frequency_field_name(RecordKind kind, int profile_field);

// How many records hold each value, as high-water marks (crm.match_frequency.peak): a count that
// falls back never raises a score written earlier, so the write path can keep every stored
// pair's score equal to what a scan computes.
class Frequencies {
 public:
  void set(int profile_field, std::string_view value, std::int64_t records);
  std::int64_t records(int profile_field, std::string_view value) const;  // 0: not counted

 private:
  static std::string key(int profile_field, std::string_view value);
  std::unordered_map<std::string, std::int64_t> counts_;
};

// A row of crm.match_frequency read after a statement's own writes.
struct CountedRow {
  int profile_field;
  std::string value;
  std::int64_t records, peak;
};

// The peaks as they were before a statement inserted these profiles, from the rows after it: the
// peak where the statement did not raise it, else the count less the statement's own holders.
// That may be below the true earlier peak (a value once more common than now): the caller then
// re-scores pairs to the scores they already have, never misses one. Linear in rows + inserted.
Frequencies frequencies_before_insert(RecordKind kind, const std::vector<CountedRow> &after,
                                      const std::vector<const Profile *> &inserted);

// The number of records a value may be held by before agreeing on it weighs less: the field's
// chance agreement scaled to the workspace size its prior stands for (u / prior, at least 2).
double frequency_base(const Model &model, const FieldModel &field);

// Bits taken from an exact agreement on a value `records` records hold: one per doubling beyond
// twice the base. Whole bits, so that a stored score changes only when a count doubles.
int frequency_penalty(const Model &model, const FieldModel &field, std::int64_t records);

// A mailbox name spelt from its owner's names and nothing else ("thomas.webb", "twebb",
// "webb_t"; not "twebb70"): two of them agreeing says what the names already say.
bool spelt_from_names(std::string_view local_part, std::string_view given_name,
                      std::string_view surname);

// "last_name:smith": how crm.duplicate_candidate.agreed names a counted value.
std::string agreed_token(RecordKind kind, int profile_field, std::string_view value);

// The counted values a compared pair agrees on exactly, as tokens: a stored pair is scored again
// when one of them grows common.
std::vector<std::string> agreed_tokens(const Model &model, const Profile &a, const Profile &b,
                                       const Levels &levels);

}  // namespace crm::match
