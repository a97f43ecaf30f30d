// Pairs that share a blocking key, found by sorting (key, record) entries: the whole-workspace
// scan and the trigger's small batches use the same code, so they find the same pairs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/cancel.hpp"

namespace crm::match {

// Records sharing a key beyond this many are not paired through it: such a key (a switchboard
// number, a postal code full of one family) says little and would cost a quadratic block.
inline constexpr std::size_t kMaxBlock = 200;

struct BlockedPairs {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;  // indexes, first < second
  std::size_t oversized_keys = 0;
};

// keys[i]: record i's keys. Only pairs with at least one fresh member are returned (the others
// were compared when they were written).
BlockedPairs blocked_pairs(const std::vector<std::vector<std::int64_t>> &keys,
                           const std::vector<bool> &fresh, CancelCheck cancel,
                           std::size_t max_block = kMaxBlock);

}  // namespace crm::match
