#include "core/resolve/score.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/match/similarity.hpp"

namespace crm::resolve {
namespace {

// Name similarity (pg_trgm) counts from 0.25, below which unrelated names share trigrams by
// chance; linear above, so that the name itself beats a name it is part of.
double name_strength(double similarity) {
  return std::clamp((similarity - 0.25) / 0.75, 0.0, 1.0);
}

// One minus the chance that every piece of evidence is wrong, each taken as independent.
class NoisyOr {
 public:
  void add(double weight) { miss_ *= 1.0 - std::clamp(weight, 0.0, 1.0); }
  double value() const { return 1.0 - miss_; }

 private:
  double miss_ = 1.0;
};

constexpr double kAgreedName = 0.8;      // a name this similar counts as the same name
constexpr double kAgreedCompany = 0.8;   // and a company's
constexpr double kPartialCompany = 0.5;  // a company this similar supports a name
constexpr double kRecencyDays = 90;      // the half-weight of recent activity every ~62 days

double text_score(const Evidence &e, double name) {
  NoisyOr text;
  if (e.email) text.add(0.99);
  if (e.phone) text.add(0.95);
  const bool company = e.kind == Kind::Company;
  if (e.domain) text.add(company ? 0.9 : 0.45);
  if (e.email_domain) text.add(company ? 0.75 : 0.35);
  if (name >= 0) text.add((company ? 0.85 : 0.8) * name_strength(name));
  if (e.company >= 0) text.add(0.6 * name_strength(e.company));
  double value = text.value();
  // A name given that is not this record's: the record matched on something else only.
  if (name >= 0 && name_strength(name) == 0) value *= 0.75;
  // "bob at acme": Acme itself is a lesser answer than Bob.
  if (company && e.about_person) value *= 0.8;
  return value;
}

double context_score(const Evidence &e) {
  NoisyOr context;
  if (e.days_since_interaction)
    context.add(0.5 * std::exp(-std::max(0.0, *e.days_since_interaction) / kRecencyDays));
  context.add(0.6 * std::clamp(e.strength, 0.0, 1.0));
  if (e.open_deals > 0) context.add(0.3);
  if (e.owned) context.add(0.3);
  return context.value();
}

}  // namespace

double letter_similarity(std::string_view mention_name, std::string_view record_name) {
  const double jw = match::token_set_similarity(mention_name, record_name);
  return std::clamp((jw - 0.75) / 0.25, 0.0, 1.0);
}

const char *level_name(Level level) {
  switch (level) {
    case Level::Exact:
      return "exact";
    case Level::Strong:
      return "strong";
    case Level::Possible:
      return "possible";
    case Level::NameOnly:
      break;
  }
  return "name_only";
}

Scored score(const Evidence &e) {
  Scored s;
  s.evidence = e;
  // Nicknames agree as a name does ("bob smith", "Robert Smith").
  const double name = e.nickname ? std::max(e.name, kAgreedName) : e.name;
  s.text = text_score(e, name);
  s.context = context_score(e);
  s.score = s.text * (1.0 - kContextShare + kContextShare * s.context);

  const bool name_agrees = name >= kAgreedName;
  const bool company_agrees = e.company >= kAgreedCompany;
  if (e.email) s.key += "+EMAIL";
  if (e.phone) s.key += "+PHONE";
  if (e.domain || e.email_domain) s.key += "+DOMAIN";
  if (name_agrees)
    s.key += e.nickname && e.name < kAgreedName ? "+NICKNAME" : "+NAME";
  else if (name_strength(name) > 0)
    s.key += "+PART_NAME";
  if (company_agrees)
    s.key += "+COMPANY";
  else if (e.company >= kPartialCompany)
    s.key += "+PART_COMPANY";

  const int agreements =
      (name_agrees ? 1 : 0) + (e.domain || e.email_domain ? 1 : 0) + (company_agrees ? 1 : 0);
  if (e.email || e.phone || (e.kind == Kind::Company && e.domain))
    s.level = Level::Exact;
  else if (agreements >= 2 || (e.kind == Kind::Company && e.email_domain))
    s.level = Level::Strong;
  else if (e.domain || e.email_domain || e.company >= kPartialCompany)
    s.level = Level::Possible;
  else
    s.level = Level::NameOnly;
  return s;
}

std::size_t contenders(const std::vector<Scored> &by_text, std::size_t max_results) {
  if (by_text.empty() || max_results == 0) return 0;
  const double last = by_text[std::min(max_results, by_text.size()) - 1].text;
  const double reach = std::max(kMinTextScore, last * (1.0 - kContextShare) - kAmbiguityMargin);
  std::size_t n = 0;
  while (n < by_text.size() && by_text[n].text >= reach) ++n;
  return n;
}

std::string evidence_json(const Scored &s) {
  using nlohmann::json;
  const Evidence &e = s.evidence;
  auto rounded = [](double v) { return std::round(v * 10000) / 10000; };
  json agreed = json::object();
  if (e.email) agreed["email"] = true;
  if (e.phone) agreed["phone"] = true;
  if (e.domain) agreed["domain"] = true;
  if (e.email_domain) agreed["email_domain"] = true;
  if (e.name >= 0) agreed["name_similarity"] = rounded(e.name);
  if (e.nickname) agreed["nickname"] = true;
  if (e.company >= 0) agreed["company_similarity"] = rounded(e.company);
  json context = json::object();
  context["days_since_interaction"] =
      e.days_since_interaction ? json(rounded(*e.days_since_interaction)) : json(nullptr);
  context["connection_strength"] = rounded(e.strength);
  context["open_deals"] = e.open_deals;
  context["owner"] = e.owned;
  json doc = {{"text", agreed},
              {"context", context},
              {"text_score", rounded(s.text)},
              {"context_score", rounded(s.context)}};
  if (e.about_person && e.kind == Kind::Company) doc["found_by_company_part"] = true;
  return doc.dump();
}

std::vector<Scored> rank(std::vector<Scored> scored, std::size_t max_results) {
  std::erase_if(scored, [](const Scored &s) { return s.text < kMinTextScore; });
  std::sort(scored.begin(), scored.end(), [](const Scored &a, const Scored &b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.evidence.kind != b.evidence.kind) return a.evidence.kind < b.evidence.kind;
    return a.evidence.record_id < b.evidence.record_id;
  });
  // Before the cut: one result asked for is still ambiguous when a second is as good.
  if (scored.size() >= 2 && scored[0].score - scored[1].score < kAmbiguityMargin)
    for (Scored &s : scored)
      if (scored[0].score - s.score < kAmbiguityMargin) s.ambiguous = true;
  if (scored.size() > max_results) scored.resize(max_results);
  return scored;
}

}  // namespace crm::resolve
