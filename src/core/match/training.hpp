// Estimating a workspace's model from its own data, without labels (as Splink does): u from
// random pairs, which are almost all different records; m and the share of duplicates among
// blocked pairs by expectation-maximisation over those pairs.
#pragma once

#include <cstddef>
#include <vector>

#include "core/cancel.hpp"
#include "core/match/model.hpp"

namespace crm::match {

struct TrainingInput {
  std::vector<Levels> blocked;    // comparison levels of pairs sharing a blocking key
  std::vector<Levels> random;     // comparison levels of random pairs
  double blocked_pair_count = 0;  // all blocked pairs (blocked may be a sample of them)
  double total_pair_count = 0;    // n (n - 1) / 2 for n records
};

struct TrainingResult {
  Model model;
  int iterations = 0;
  bool converged = false;
  double blocked_match_share = 0;  // estimated share of duplicates among blocked pairs
};

TrainingResult train(const Model &start, const TrainingInput &input, CancelCheck cancel);

}  // namespace crm::match
