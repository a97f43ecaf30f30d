#include "pg/address_claims.hpp"

#include <cstring>

extern "C" {
#include "common/hashfn.h"
}

namespace crm::pg {
namespace {

// 'crmh': the first key of every advisory lock this extension takes.
constexpr std::uint32_t kLockClass = 0x63726d68;

// What this (sub)transaction already holds, so a bulk import asks the lock manager once a stripe.
std::uint8_t held[kStripes];  // 0 none, 1 shared, 2 exclusive
LocalTransactionId held_xact = InvalidLocalTransactionId;
SubTransactionId held_subxact = InvalidSubTransactionId;

}  // namespace

std::uint32_t address_stripe(std::int64_t workspace_id, std::string_view address) {
  const std::uint64_t h =
      hash_bytes_extended(reinterpret_cast<const unsigned char *>(address.data()),
                          static_cast<int>(address.size()), static_cast<uint64>(workspace_id));
  return static_cast<std::uint32_t>(h % kStripes);
}

void claim_stripe(std::uint32_t stripe, bool exclusive) {
  // Locks taken in a subtransaction are released when it aborts: start over in each one.
  if (held_xact != MyProc->lxid || held_subxact != GetCurrentSubTransactionId()) {
    std::memset(held, 0, sizeof held);
    held_xact = MyProc->lxid;
    held_subxact = GetCurrentSubTransactionId();
  }
  const std::uint8_t wanted = exclusive ? 2 : 1;
  if (held[stripe] >= wanted) return;
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kLockClass, stripe, 2);
  (void)LockAcquire(&tag, exclusive ? ExclusiveLock : ShareLock, false, false);
  held[stripe] = wanted;
}

}  // namespace crm::pg
