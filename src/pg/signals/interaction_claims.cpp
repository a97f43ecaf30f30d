#include "pg/signals/interaction_claims.hpp"

#include <algorithm>
#include <array>

#include "pg/common/lock_keys.hpp"

namespace crm::pg {
void claim_interactions(const std::vector<std::int64_t> &sorted_ids) {
  std::array<bool, kInteractionStripes> wanted{};
  for (std::int64_t id : sorted_ids)
    wanted[static_cast<std::uint64_t>(id) % kInteractionStripes] = true;
  for (std::uint32_t s = 0; s < kInteractionStripes; ++s) {
    if (!wanted[s]) continue;
    LOCKTAG tag = lock_keys::tag(lock_keys::kInteractionClass, s);
    (void)LockAcquire(&tag, ExclusiveLock, false, false);
  }
}

}  // namespace crm::pg
