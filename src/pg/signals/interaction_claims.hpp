// Serialises statements that change who takes part in the same interaction.
//
// The audience of an interaction (its non-member participants) weighs every connection in it, so
// a statement that adds, changes or removes participants of an existing interaction recomputes
// everyone in it, and two such statements must see each other's participants. Each claims the
// interaction's stripe (one of kInteractionStripes transaction advisory locks, in stripe order)
// after its own row changes and before it reads who takes part; the second then reads after the
// first has committed. Row locks on the interaction itself would deadlock with an interaction
// delete, which locks the interaction before its participants.
#pragma once

#include <cstdint>
#include <vector>

#include "pg/common/pg.hpp"

namespace crm::pg {

inline constexpr std::uint32_t kInteractionStripes = 128;

// Calls Postgres (lock manager): use inside pg_call.
void claim_interactions(const std::vector<std::int64_t> &sorted_ids);

}  // namespace crm::pg
