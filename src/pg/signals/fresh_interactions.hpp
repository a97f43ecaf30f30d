// Interactions inserted by the current transaction that have no participants yet.
//
// No other transaction can see such an interaction, so when this transaction then inserts its
// participants, they are all of them: the contributions can be folded from the new rows alone,
// with no query. Anything that could break that assumption (an update or delete of interactions
// or participants) forgets the whole registry, and the slow, recomputing path takes over.
#pragma once

#include <cstdint>

#include "pg/common/pg.hpp"

namespace crm::pg {

struct FreshInteraction {
  std::int64_t id;  // hash key
  std::int64_t workspace_id;
  TimestampTz occurred_at;
  std::uint8_t kind;    // crm::signals::Kind
  std::uint8_t status;  // crm::signals::Status
  bool has_participants;
};

// Calls Postgres (dynahash): use inside pg_call or in a plain C phase.
void fresh_remember(const FreshInteraction &interaction);
FreshInteraction *fresh_find(std::int64_t id);
void fresh_forget_all();

// Interactions this transaction is deleting, as they were just before (a BEFORE DELETE row trigger
// remembers them). Their participants go by cascade, and the participants' trigger runs before the
// interaction's statement trigger, when the interaction row is already gone: this is where it
// finds what they contributed, and forgets them. (The cascade's triggers are queued behind the
// interaction's own statement trigger, so that one cannot.)
void deleted_remember(const FreshInteraction &interaction);
const FreshInteraction *deleted_find(std::int64_t id);
void deleted_forget_all();

}  // namespace crm::pg
