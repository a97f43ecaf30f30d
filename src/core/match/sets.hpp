// Connected sets of candidate pairs (union-find): A~B and B~C put A, B and C in one set.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace crm::match {

struct SetMember {
  std::int64_t set_id;  // the smallest record id of the set
  std::int64_t record_id;
};

// Members of every set with at least two records, ordered by set then record.
std::vector<SetMember> connected_sets(
    const std::vector<std::pair<std::int64_t, std::int64_t>> &pairs);

}  // namespace crm::match
