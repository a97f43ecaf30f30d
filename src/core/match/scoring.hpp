// Scoring blocked pairs: the pairs whose match probability reaches a threshold, with their levels.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/cancel.hpp"
#include "core/match/frequency.hpp"
#include "core/match/model.hpp"

namespace crm::match {

struct ScoredPair {
  std::uint32_t first, second;  // indexes into the profiles
  double score;
  Comparison comparison;
};

std::vector<ScoredPair> score_pairs(
    const Model &model, const std::vector<const Profile *> &profiles,
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> &pairs, double min_score,
    const Frequencies &frequencies, CancelCheck cancel);

}  // namespace crm::match
