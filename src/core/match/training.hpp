// Estimating a workspace's model from its own data, without labels, as Splink does:
//  - u from random pairs, which are almost all different records;
//  - m by expectation-maximisation in sessions, one per blocking rule: over the pairs a rule
//    finds, with u held, estimating m of every field except those the rule paired on (their
//    agreement was forced by the blocking and says nothing about duplicates);
//  - each field's m averaged over the sessions that estimated it, weighted by expected duplicates;
//  - the prior from the session that finds the most duplicates, rescaled to all pairs.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/cancel.hpp"
#include "core/match/model.hpp"

namespace crm::match {

struct TrainingSession {
  std::string name;                    // the blocking rule, for reporting
  std::vector<std::string> paired_on;  // model fields not estimated in this session
  std::vector<Levels> pairs;           // comparison levels of (a sample of) the rule's pairs
  double pair_count = 0;               // all of the rule's pairs
};

struct TrainingInput {
  std::vector<TrainingSession> sessions;
  std::vector<Levels> random;   // comparison levels of random pairs
  double total_pair_count = 0;  // n (n - 1) / 2 for n records
};

struct SessionResult {
  std::string name;
  int iterations = 0;
  bool converged = false;
  double match_share = 0;  // estimated share of duplicates among the session's pairs
};

struct TrainingResult {
  Model model;
  std::vector<SessionResult> sessions;
};

TrainingResult train(const Model &start, const TrainingInput &input, CancelCheck cancel);

}  // namespace crm::match
