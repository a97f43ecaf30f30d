#include "core/match/scoring.hpp"

#include "core/match/compare.hpp"

namespace crm::match {

std::vector<ScoredPair> score_pairs(
    const Model &model, const std::vector<const Profile *> &profiles,
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> &pairs, double min_score,
    const Frequencies &frequencies, CancelCheck cancel) {
  std::vector<ScoredPair> out;
  std::size_t done = 0;
  for (const auto &[a, b] : pairs) {
    if ((++done & 0xffff) == 0) poll_cancel(cancel);
    Comparison comparison = compare(model, *profiles[a], *profiles[b], frequencies);
    const double score = probability(match_weight(model, comparison));
    if (score >= min_score) out.push_back({a, b, score, std::move(comparison)});
  }
  return out;
}

}  // namespace crm::match
