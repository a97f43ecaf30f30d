#include "pg/match/duplicate_claims.hpp"

#include <algorithm>

#include "pg/common/lock_keys.hpp"

namespace crm::pg {
namespace {

void lock(std::uint32_t high, std::uint32_t low, uint16 space, LOCKMODE mode) {
  LOCKTAG tag = lock_keys::tag(high, low, space);
  (void)LockAcquire(&tag, mode, false, false);
}

}  // namespace

void claim_keys(const std::vector<std::int64_t> &sorted_keys) {
  // In stripe order, so two writers never wait for each other in a cycle. A stripe this
  // transaction already holds is granted from the local lock table without the lock manager.
  bool stripes[kKeyStripes] = {};
  for (std::int64_t key : sorted_keys)
    stripes[static_cast<std::uint64_t>(key) % kKeyStripes] = true;
  for (std::uint32_t s = 0; s < kKeyStripes; ++s)
    if (stripes[s])
      lock(lock_keys::kDuplicateClass, s, lock_keys::kDuplicateKeySpace, ExclusiveLock);
}

void claim_workspace_for_write(std::int64_t workspace) {
  lock(static_cast<std::uint32_t>(static_cast<std::uint64_t>(workspace) >> 32),
       static_cast<std::uint32_t>(workspace), lock_keys::kWorkspaceSpace, ShareLock);
}

void claim_workspace_for_scan(std::int64_t workspace) {
  lock(static_cast<std::uint32_t>(static_cast<std::uint64_t>(workspace) >> 32),
       static_cast<std::uint32_t>(workspace), lock_keys::kWorkspaceSpace, ExclusiveLock);
}

}  // namespace crm::pg
