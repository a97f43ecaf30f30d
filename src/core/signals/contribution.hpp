// What one interaction contributes to each person or company taking part in it.
//
// The rules live here and only here; triggers, rebuilds, live reads and verify_signals all use
// them, so the stored state and its from-scratch recomputation cannot drift apart.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/signals/types.hpp"

namespace crm::signals {

struct Contribution {
  std::int64_t record_id = 0;
  std::int64_t interaction_id = 0;
  Micros at = kNoTime;
  Kind kind = Kind::Email;
  bool inbound = false;        // email whose sender is this record (the contact wrote to us)
  bool outbound = false;       // email from a team member with this record among its recipients
  std::int64_t member_id = 0;  // the team member involved, 0 when none took part
};

// The member involved in an interaction: a member who sent or organised it, else the lowest
// member id among members who did not decline. Independent of row order.
std::int64_t lead_member(std::span<const Participant> participants);

// Appends one contribution per distinct record (person or company) that took part without
// declining. A canceled interaction contributes nothing.
void contributions(const Interaction &interaction, std::span<const Participant> participants,
                   RecordKind record_kind, std::vector<Contribution> &out);

}  // namespace crm::signals
