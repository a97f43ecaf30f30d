#include "pg/match/duplicate_claims.hpp"

#include <algorithm>

namespace crm::pg {
namespace {

// 'crmd': duplicate detection's advisory locks (address claims use 'crmh').
constexpr std::uint32_t kLockClass = 0x63726d64;
constexpr uint16 kKeySpace = 3;
constexpr uint16 kWorkspaceSpace = 4;

void lock(std::uint32_t high, std::uint32_t low, uint16 space, LOCKMODE mode) {
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, high, low, space);
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
    if (stripes[s]) lock(kLockClass, s, kKeySpace, ExclusiveLock);
}

void claim_workspace_for_write(std::int64_t workspace) {
  lock(static_cast<std::uint32_t>(static_cast<std::uint64_t>(workspace) >> 32),
       static_cast<std::uint32_t>(workspace), kWorkspaceSpace, ShareLock);
}

void claim_workspace_for_scan(std::int64_t workspace) {
  lock(static_cast<std::uint32_t>(static_cast<std::uint64_t>(workspace) >> 32),
       static_cast<std::uint32_t>(workspace), kWorkspaceSpace, ExclusiveLock);
}

}  // namespace crm::pg
