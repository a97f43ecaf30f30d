#include "core/match/training_sample.hpp"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>

#include "core/match/blocking.hpp"
#include "core/match/compare.hpp"
#include "core/match/model_json.hpp"

namespace crm::match {

TrainingInput training_input(RecordKind kind, const Model &model,
                             const std::vector<const Profile *> &profiles, std::int64_t workspace,
                             Phonetic phonetic, CancelCheck cancel, SampleLimits limits) {
  const std::size_t n = profiles.size();
  TrainingInput input;
  input.total_pair_count = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  // Keys with the rule that made each: every rule is a training session of its own.
  std::vector<std::vector<RuleKey>> rule_keys(n);
  for (std::size_t i = 0; i < n; ++i)
    rule_keys[i] = blocking_keys_by_rule(kind, *profiles[i], workspace, phonetic);
  const std::vector<bool> everyone(n, true);
  for (const BlockingRule &rule : blocking_rules(kind)) {
    std::vector<std::vector<std::int64_t>> keys(n);
    for (std::size_t i = 0; i < n; ++i)
      for (const RuleKey &k : rule_keys[i])
        if (k.rule == rule.rule) keys[i].push_back(k.key);
    const BlockedPairs blocked = blocked_pairs(keys, everyone, cancel);
    TrainingSession session;
    for (const std::string &f : rule.fields) session.name += (session.name.empty() ? "" : "+") + f;
    session.paired_on = rule.fields;
    session.pair_count = static_cast<double>(blocked.pairs.size());
    const std::size_t stride =
        std::max<std::size_t>(1, blocked.pairs.size() / limits.session_pairs);
    for (std::size_t i = 0; i < blocked.pairs.size(); i += stride) {
      const auto &[a, b] = blocked.pairs[i];
      session.pairs.push_back(compare(model, *profiles[a], *profiles[b]));
    }
    input.sessions.push_back(std::move(session));
  }
  if (input.total_pair_count <= static_cast<double>(limits.random_pairs)) {
    for (std::size_t a = 0; a < n; ++a)
      for (std::size_t b = a + 1; b < n; ++b)
        input.random.push_back(compare(model, *profiles[a], *profiles[b]));
  } else {
    std::mt19937_64 random(0x63726d);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    while (input.random.size() < limits.random_pairs) {
      const std::size_t a = pick(random), b = pick(random);
      if (a != b) input.random.push_back(compare(model, *profiles[a], *profiles[b]));
      if ((input.random.size() & 0xffff) == 0) poll_cancel(cancel);
    }
  }
  return input;
}

Model training_start(RecordKind kind, const Model &current) {
  Model start = default_model(kind);
  add_attribute_fields(start, current.attributes);
  start.threshold = current.threshold;
  start.default_region = current.default_region;
  return start;
}

std::string training_report(const Model &trained, std::size_t records, const TrainingInput &input,
                            const TrainingResult &result) {
  nlohmann::json doc = nlohmann::json::parse(to_json(trained));
  nlohmann::json sessions = nlohmann::json::array();
  for (std::size_t i = 0; i < result.sessions.size() && i < input.sessions.size(); ++i)
    sessions.push_back({{"paired_on", result.sessions[i].name},
                        {"pairs", input.sessions[i].pair_count},
                        {"pairs_compared", input.sessions[i].pairs.size()},
                        {"iterations", result.sessions[i].iterations},
                        {"converged", result.sessions[i].converged},
                        {"match_share", result.sessions[i].match_share}});
  doc["training"] = {
      {"records", records}, {"random_pairs_compared", input.random.size()}, {"sessions", sessions}};
  return doc.dump();
}

}  // namespace crm::match
