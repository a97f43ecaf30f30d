#include "pg/signals/interaction_claims.hpp"

#include <algorithm>
#include <array>

namespace crm::pg {
namespace {

// 'crmi': apart from the address stripes ('crmh') and from applications' advisory locks.
constexpr std::uint32_t kLockClass = 0x63726d69;

}  // namespace

void claim_interactions(const std::vector<std::int64_t> &sorted_ids) {
  std::array<bool, kInteractionStripes> wanted{};
  for (std::int64_t id : sorted_ids)
    wanted[static_cast<std::uint64_t>(id) % kInteractionStripes] = true;
  for (std::uint32_t s = 0; s < kInteractionStripes; ++s) {
    if (!wanted[s]) continue;
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kLockClass, s, 2);
    (void)LockAcquire(&tag, ExclusiveLock, false, false);
  }
}

}  // namespace crm::pg
