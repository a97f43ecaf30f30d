// Duplicate sets from candidate pairs, without chaining: a set never hangs together by a single
// pair between two groups of two or more records, so one weak link cannot merge two groups and a
// chain of records, each like the next, is cut into short pieces.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cancel.hpp"

namespace crm::match {

struct SetMember {
  std::int64_t set_id;  // the smallest record id of the set
  std::int64_t record_id;
};

struct CandidatePair {
  std::int64_t record_id;
  std::int64_t other_id;
  double score;
};

// Connected components of the pairs, after cutting, weakest first (score, then the larger ids),
// every bridge (a pair whose removal disconnects its set) with two or more records on each side,
// until none is left. A record linked to a set by one pair stays in it (a star of copies of one
// record is one set); two groups linked by one pair are two sets. The result does not depend on
// the order of the pairs. Members of every set with at least two records, ordered by set then
// record.
std::vector<SetMember> coherent_sets(const std::vector<CandidatePair> &pairs,
                                     CancelCheck cancel = nullptr);

}  // namespace crm::match
