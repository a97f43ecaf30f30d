#include "pg/records/address_claims.hpp"

#include <algorithm>
#include <cstring>

#include "core/activity/address.hpp"
#include "pg/common/lock_keys.hpp"

extern "C" {
#include "common/hashfn.h"
}

namespace crm::pg {
namespace {

// What this (sub)transaction already holds, so a bulk import asks the lock manager once a stripe.
std::uint8_t held[kStripes];  // 0 none, 1 shared, 2 exclusive
LocalTransactionId held_xact = InvalidLocalTransactionId;
SubTransactionId held_subxact = InvalidSubTransactionId;

LOCKTAG stripe_tag(std::uint32_t stripe) {
  return lock_keys::tag(lock_keys::kAddressClass, stripe);
}

// Locks taken in a subtransaction are released when it aborts: start over in each one.
void claim_stripe_reset_if_stale() {
  if (held_xact != MyProc->lxid || held_subxact != GetCurrentSubTransactionId()) {
    std::memset(held, 0, sizeof held);
    held_xact = MyProc->lxid;
    held_subxact = GetCurrentSubTransactionId();
  }
}

}  // namespace

std::uint32_t address_stripe(std::int64_t workspace_id, std::string_view address) {
  const std::uint64_t h =
      hash_bytes_extended(reinterpret_cast<const unsigned char *>(address.data()),
                          static_cast<int>(address.size()), static_cast<uint64>(workspace_id));
  return static_cast<std::uint32_t>(h % kStripes);
}

std::uint32_t domain_stripe(std::int64_t workspace_id, std::string_view domain) {
  char buffer[crm::activity::kMaxAddressLength + 2];
  const std::size_t n = std::min(domain.size(), sizeof buffer - 2);
  buffer[0] = '@';
  std::memcpy(buffer + 1, domain.data(), n);
  return address_stripe(workspace_id, std::string_view(buffer, n + 1));
}

void claim_stripe(std::uint32_t stripe, bool exclusive) {
  claim_stripe_reset_if_stale();
  const std::uint8_t wanted = exclusive ? 2 : 1;
  if (held[stripe] >= wanted) return;
  LOCKTAG tag = stripe_tag(stripe);
  (void)LockAcquire(&tag, exclusive ? ExclusiveLock : ShareLock, false, false);
  held[stripe] = wanted;
}

void claim_stripes_exclusive(const std::uint32_t *stripes, int count) {
  claim_stripe_reset_if_stale();
  std::uint32_t got[kStripes];  // taken by this call, released again when one must be waited for
  int n_got = 0;
  int waited = -1;  // the stripe waited for last, held since
  for (int i = 0; i < count; ++i) {
    const std::uint32_t s = stripes[i];
    if (held[s] == 2 || static_cast<int>(s) == waited) continue;
    LOCKTAG tag = stripe_tag(s);
    if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL) {
      got[n_got++] = s;
      continue;
    }
    // Taken: let go of what this call holds, wait for this stripe alone, then start again.
    for (int j = 0; j < n_got; ++j) {
      LOCKTAG held_tag = stripe_tag(got[j]);
      LockRelease(&held_tag, ExclusiveLock, false);
    }
    n_got = 0;
    (void)LockAcquire(&tag, ExclusiveLock, false, false);
    got[n_got++] = s;
    waited = static_cast<int>(s);
    i = -1;
  }
  for (int j = 0; j < n_got; ++j) held[got[j]] = 2;
}

}  // namespace crm::pg
