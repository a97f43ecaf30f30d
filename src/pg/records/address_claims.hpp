// Serialises "who owns this address" against "who used this address".
//
// A participant resolved by address and a person or member gaining that address in a concurrent
// transaction would each miss the other. Writers of participants take a shared claim on the
// address (and its domain) before resolving it; writers of records take an exclusive claim before
// re-linking. Claims are transaction advisory locks on one of kStripes stripes, so a bulk import
// holds at most kStripes locks however many addresses it meets.
#pragma once

#include <cstdint>
#include <string_view>

#include "pg/common/pg.hpp"

namespace crm::pg {

inline constexpr std::uint32_t kStripes = 128;

std::uint32_t address_stripe(std::int64_t workspace_id, std::string_view address);

// The stripe of a domain: claimed under "@domain", as a participant writer claims the domain of
// its address (the part of the address from its '@').
std::uint32_t domain_stripe(std::int64_t workspace_id, std::string_view domain);

// Calls Postgres (lock manager): use inside pg_call or in a plain C phase.
void claim_stripe(std::uint32_t stripe, bool exclusive);

// A record writer's claims, all of them or none: stripes are tried in the order given (ascending)
// without waiting; when one is taken, those got so far are let go and the writer waits for that
// one alone, then tries the rest again. So a record writer never waits while holding a claim of
// its own statement, and a participant writer, which claims row by row in no particular order,
// can never be part of a cycle with it. Claims held before the call are kept. `stripes` must be
// sorted and distinct.
void claim_stripes_exclusive(const std::uint32_t *stripes, int count);

}  // namespace crm::pg
