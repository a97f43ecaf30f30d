#include "core/match/model.hpp"

#include <cmath>

#include "core/error.hpp"

namespace crm::match {

std::vector<std::string_view> level_names(Comparator comparator) {
  switch (comparator) {
    case Comparator::GivenName:
      return {"exact", "nickname", "fuzzy", "similar", "initial", "different"};
    case Comparator::Surname:
      return {"exact", "fuzzy", "similar", "different"};
    case Comparator::Email:
      return {"exact", "exact_generic", "same_local_part", "similar_local_part", "different"};
    case Comparator::Phone:
      return {"exact", "same_subscriber", "different"};
    case Comparator::Date:
      return {"exact", "one_edit", "same_year", "different"};
    case Comparator::Street:
    case Comparator::Place:
      return {"exact", "fuzzy", "different"};
    case Comparator::Code:
      return {"exact", "one_edit", "different"};
    case Comparator::SameValue:
      return {"exact", "different"};
    case Comparator::Domains:
      return {"shared", "different"};
    case Comparator::CompanyName:
      return {"exact", "fuzzy", "similar", "different"};
  }
  return {};
}

Model default_model(RecordKind kind) {
  Model model;
  model.kind = kind;
  model.prior = 1e-4;
  model.threshold = 0.9;
  // m: how often true duplicates reach each level (typos, nicknames, moves and missing updates
  // included); u: how often two different records do by chance.
  if (kind == RecordKind::Person) {
    model.fields = {
        {"first_name",
         Comparator::GivenName,
         kFirstName,
         {0.80, 0.04, 0.07, 0.03, 0.02, 0.04},
         {0.004, 0.001, 0.002, 0.02, 0.02, 0.953}},
        {"last_name",
         Comparator::Surname,
         kLastName,
         {0.84, 0.08, 0.03, 0.05},
         {0.0008, 0.0004, 0.01, 0.9888}},
        {"email",
         Comparator::Email,
         kEmails,
         {0.60, 0.02, 0.08, 0.10, 0.20},
         {1e-7, 1e-4, 1e-5, 1e-3, 0.998889}},
        {"phone", Comparator::Phone, kPhone, {0.70, 0.05, 0.25}, {1e-6, 1e-5, 0.999989}},
        {"birth_date",
         Comparator::Date,
         kBirthDate,
         {0.85, 0.08, 0.02, 0.05},
         {5e-5, 6e-4, 0.0125, 0.98685}},
        {"street", Comparator::Street, kStreet, {0.70, 0.15, 0.15}, {1e-4, 1e-3, 0.9989}},
        {"city", Comparator::Place, kCity, {0.80, 0.08, 0.12}, {0.01, 0.004, 0.986}},
        {"postal_code", Comparator::Code, kPostalCode, {0.80, 0.08, 0.12}, {0.002, 0.02, 0.978}},
        {"company_id", Comparator::SameValue, kCompanyId, {0.70, 0.30}, {0.001, 0.999}},
        {"email_domain", Comparator::Domains, kEmailDomains, {0.70, 0.30}, {0.001, 0.999}},
    };
  } else {
    model.fields = {
        {"name",
         Comparator::CompanyName,
         kCompanyName,
         {0.65, 0.15, 0.10, 0.10},
         {5e-5, 1e-4, 2e-3, 0.99785}},
        {"domain", Comparator::SameValue, kDomain, {0.85, 0.15}, {1e-5, 0.99999}},
        {"phone", Comparator::Phone, kCompanyPhone, {0.65, 0.05, 0.30}, {1e-6, 1e-5, 0.999989}},
        {"street", Comparator::Street, kCompanyStreet, {0.65, 0.20, 0.15}, {1e-4, 1e-3, 0.9989}},
        {"city", Comparator::Place, kCompanyCity, {0.80, 0.08, 0.12}, {0.01, 0.004, 0.986}},
        {"postal_code",
         Comparator::Code,
         kCompanyPostalCode,
         {0.80, 0.08, 0.12},
         {0.002, 0.02, 0.978}},
        {"country", Comparator::SameValue, kCountry, {0.95, 0.05}, {0.3, 0.7}},
    };
  }
  return model;
}

void add_attribute_fields(Model &model, const std::vector<std::string> &keys) {
  const int base = model.kind == RecordKind::Person ? static_cast<int>(kPersonFields)
                                                    : static_cast<int>(kCompanyFields);
  model.attributes = keys;
  for (std::size_t i = 0; i < keys.size(); ++i)
    model.fields.push_back({"attributes." + keys[i],
                            Comparator::Code,
                            base + static_cast<int>(i),
                            {0.85, 0.08, 0.07},
                            {1e-4, 1e-3, 0.9989}});
}

double prior_weight(const Model &model) {
  return std::log2(model.prior / (1.0 - model.prior));
}

double level_weight(const FieldModel &field, int level) {
  const auto i = static_cast<std::size_t>(level);
  return std::log2(field.m[i] / field.u[i]);
}

double match_weight(const Model &model, const Levels &levels) {
  double w = prior_weight(model);
  for (std::size_t f = 0; f < model.fields.size() && f < levels.size(); ++f)
    if (levels[f] >= 0) w += level_weight(model.fields[f], levels[f]);
  return w;
}

double field_weight(const FieldModel &field, int level, const Adjustment &adjustment) {
  if (!adjustment.implied_by.empty()) return 0.0;
  return level_weight(field, level) - adjustment.frequency_bits;
}

double match_weight(const Model &model, const Comparison &comparison) {
  double w = prior_weight(model);
  const Levels &levels = comparison.levels;
  for (std::size_t f = 0; f < model.fields.size() && f < levels.size(); ++f) {
    if (levels[f] < 0) continue;
    w += f < comparison.adjustments.size()
             ? field_weight(model.fields[f], levels[f], comparison.adjustments[f])
             : level_weight(model.fields[f], levels[f]);
  }
  return w;
}

double probability(double match_weight) {
  return 1.0 / (1.0 + std::exp2(-match_weight));
}

void validate(const Model &model) {
  auto bad = [](const std::string &what, const std::string &detail) {
    throw Error("22023", "invalid duplicate model: " + what, detail);
  };
  if (!(model.prior > 0.0 && model.prior < 1.0))
    bad("prior must be between 0 and 1", "prior is " + std::to_string(model.prior));
  if (!(model.threshold > 0.0 && model.threshold < 1.0))
    bad("threshold must be between 0 and 1", "threshold is " + std::to_string(model.threshold));
  for (const FieldModel &f : model.fields) {
    const std::size_t levels = level_names(f.comparator).size();
    if (f.m.size() != levels || f.u.size() != levels)
      bad("field \"" + f.name + "\" needs " + std::to_string(levels) + " levels",
          "m has " + std::to_string(f.m.size()) + ", u has " + std::to_string(f.u.size()));
    for (std::size_t i = 0; i < levels; ++i)
      if (!(f.m[i] > 0.0 && f.m[i] <= 1.0 && f.u[i] > 0.0 && f.u[i] <= 1.0))
        bad("field \"" + f.name + "\" has a probability outside (0, 1]",
            "level " + std::string(level_names(f.comparator)[i]));
  }
}

}  // namespace crm::match
