#include "core/match/model_json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace crm::match {

using nlohmann::json;

std::string to_json(const Model &model) {
  json fields = json::object();
  for (const FieldModel &f : model.fields) fields[f.name] = {{"m", f.m}, {"u", f.u}};
  json doc = {{"prior", model.prior},
              {"threshold", model.threshold},
              {"default_region", model.default_region},
              {"attributes", model.attributes},
              {"fields", fields}};
  return doc.dump();
}

Model model_from_json(RecordKind kind, std::string_view text) {
  Model model = default_model(kind);
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw Error("22023", "invalid duplicate model: not a JSON object");
  try {
    if (doc.contains("attributes")) {
      std::vector<std::string> keys = doc["attributes"].get<std::vector<std::string>>();
      add_attribute_fields(model, keys);
    }
    if (doc.contains("prior")) model.prior = doc["prior"].get<double>();
    if (doc.contains("threshold")) model.threshold = doc["threshold"].get<double>();
    if (doc.contains("default_region"))
      model.default_region = doc["default_region"].get<std::string>();
    if (doc.contains("fields")) {
      for (const auto &item : doc["fields"].items()) {
        // Not a structured binding: clang before 16 (the fuzzing build) cannot capture one.
        const std::string &name = item.key();
        const json &value = item.value();
        auto it = std::find_if(model.fields.begin(), model.fields.end(),
                               [&](const FieldModel &f) { return f.name == name; });
        if (it == model.fields.end())
          throw Error("22023", "invalid duplicate model: unknown field \"" + name + "\"", "",
                      "custom fields are listed in \"attributes\" and named attributes.<key>");
        if (value.contains("m")) it->m = value["m"].get<std::vector<double>>();
        if (value.contains("u")) it->u = value["u"].get<std::vector<double>>();
      }
    }
  } catch (const json::exception &e) {
    throw Error("22023", "invalid duplicate model", e.what());
  }
  validate(model);
  return model;
}

std::string evidence_json(const Model &model, const Comparison &comparison) {
  // Written by hand rather than through a JSON library: a bulk import writes one per candidate
  // pair. Level names are ours; field names may hold a custom attribute's key, so they are escaped.
  auto number = [](double v, const char *format) {
    char buffer[32];
    snprintf(buffer, sizeof buffer, format, v);
    return std::string(buffer);
  };
  auto rounded = [](double v) { return std::round(v * 100) / 100; };
  const Levels &levels = comparison.levels;
  const double w = match_weight(model, comparison);
  std::string out = "{\"score\": " + number(probability(w), "%.17g") + ", \"fields\": {";
  bool first = true;
  for (std::size_t f = 0; f < model.fields.size() && f < levels.size(); ++f) {
    if (levels[f] < 0) continue;
    const FieldModel &field = model.fields[f];
    const Adjustment adjustment =
        f < comparison.adjustments.size() ? comparison.adjustments[f] : Adjustment{};
    if (!first) out += ", ";
    first = false;
    out += json::string_t(json(field.name).dump()) + ": {\"level\": \"";
    out += level_names(field.comparator)[static_cast<std::size_t>(levels[f])];
    out +=
        "\", \"weight\": " + number(rounded(field_weight(field, levels[f], adjustment)), "%.15g");
    if (adjustment.frequency_bits > 0)
      out += ", \"records\": " + std::to_string(adjustment.records) +
             ", \"frequency_adjustment\": -" + std::to_string(adjustment.frequency_bits);
    if (!adjustment.implied_by.empty())
      out += ", \"implied_by\": \"" + std::string(adjustment.implied_by) + "\"";
    out += "}";
  }
  out += "}, \"match_weight\": " + number(rounded(w), "%.15g") + "}";
  return out;
}

std::string evidence_json(const Model &model, const Levels &levels) {
  return evidence_json(model, Comparison{levels, {}});
}

std::string evidence_summary(const Model &model, const Comparison &comparison) {
  const Levels &levels = comparison.levels;
  std::vector<std::pair<double, std::string>> parts;
  for (std::size_t f = 0; f < model.fields.size() && f < levels.size(); ++f) {
    if (levels[f] < 0) continue;
    const Adjustment adjustment =
        f < comparison.adjustments.size() ? comparison.adjustments[f] : Adjustment{};
    std::string text =
        model.fields[f].name + " " +
        std::string(level_names(model.fields[f].comparator)[static_cast<std::size_t>(levels[f])]);
    if (adjustment.frequency_bits > 0)
      text += " (" + std::to_string(adjustment.records) + " records)";
    if (!adjustment.implied_by.empty())
      text += " (implied by " + std::string(adjustment.implied_by) + ")";
    parts.emplace_back(field_weight(model.fields[f], levels[f], adjustment), std::move(text));
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const auto &a, const auto &b) { return a.first > b.first; });
  std::string out;
  for (const auto &[weight, text] : parts) out += (out.empty() ? "" : ", ") + text;
  return out;
}

std::string evidence_summary(const Model &model, const Levels &levels) {
  return evidence_summary(model, Comparison{levels, {}});
}

}  // namespace crm::match
