// The Fellegi-Sunter model: for each compared field, the probability of each agreement level
// among true duplicates (m) and among pairs of different records (u). A pair's match weight is the
// prior log-odds plus log2(m/u) of every known field's level; its score is the probability.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/match/profile.hpp"

namespace crm::match {

// How a field's values are compared; each comparator has its own fixed list of levels.
enum class Comparator : std::uint8_t {
  GivenName,   // exact, nickname, fuzzy, similar, initial, different
  Surname,     // exact, fuzzy, similar, different
  Email,       // exact, exact_generic, same_local_part, similar_local_part, different
  Phone,       // exact, same_subscriber, different
  Date,        // exact, one_edit, same_year, different
  Street,      // exact, fuzzy, different
  Place,       // exact, fuzzy, different (city)
  Code,        // exact, one_edit, different (postal code, custom identifiers)
  SameValue,   // exact, different (company id, country)
  Domains,     // shared, different
  CompanyName  // exact, fuzzy, similar, different
};

std::vector<std::string_view> level_names(Comparator comparator);

struct FieldModel {
  std::string name;  // the column (or "attributes.<key>") it reads
  Comparator comparator;
  int field;  // index into Profile::fields
  std::vector<double> m, u;
};

struct Model {
  RecordKind kind = RecordKind::Person;
  double prior = 1e-4;                // probability that two records of a workspace are the same
  double threshold = 0.9;             // a pair is a candidate at or above this probability
  std::string default_region = "US";  // phone numbers without a country code, records without one
  std::vector<FieldModel> fields;
  std::vector<std::string> attributes;  // custom attribute keys compared as Code fields
};

// Level of each model field for a pair; -1 where either side is unknown.
using Levels = std::vector<std::int8_t>;

// What else a field's agreement weighs, beyond its level's m and u.
struct Adjustment {
  std::int64_t records = 0;        // records holding the agreed value (term frequency), 0: none
  std::int8_t frequency_bits = 0;  // taken from the level's weight for a common value
  // Another field's evidence that already says this ("company_id", "names"): weight 0.
  std::string_view implied_by;
  bool operator==(const Adjustment &) const = default;
};

// A pair compared: each field's level and its adjustment (one per model field).
struct Comparison {
  Levels levels;
  std::vector<Adjustment> adjustments;
};

// Defaults that serve any CRM: chosen from how often values agree by chance in typical contact
// data, before a workspace trains its own (crm.train_duplicate_model).
Model default_model(RecordKind kind);

// Adds a Code field per custom attribute; the profile holds them after the kind's base fields.
void add_attribute_fields(Model &model, const std::vector<std::string> &keys);

double prior_weight(const Model &model);  // log2(prior / (1 - prior))
double level_weight(const FieldModel &field, int level);
double match_weight(const Model &model, const Levels &levels);
double field_weight(const FieldModel &field, int level, const Adjustment &adjustment);
double match_weight(const Model &model, const Comparison &comparison);
double probability(double match_weight);

// Refuses a model a writer could not score with: wrong level counts, probabilities outside (0, 1],
// a threshold outside (0, 1). Throws crm::Error 22023 naming the field.
void validate(const Model &model);

}  // namespace crm::match
