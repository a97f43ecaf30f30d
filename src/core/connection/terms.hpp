// What one interaction gives each member-contact pair: the weight w = kind x role x audience.
//
// A contact is a person record, or, for a participant no person record owns whose domain belongs
// to a company, the address itself (it counts towards that company as a person would).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/connection/model.hpp"
#include "core/signals/types.hpp"

namespace crm::connection {

enum class Channel : std::uint8_t { Outbound, Inbound, Meeting };  // calls count as meetings

struct Term {
  std::int64_t workspace_id = 0;
  std::int64_t member_id = 0;
  std::int64_t person_id = 0;    // 0 for an address contact
  std::int64_t address_key = 0;  // 0 for a person contact
  std::int64_t company_id = 0;   // the contact's company, 0 when none
  std::int64_t interaction_id = 0;
  Micros at = signals::kNoTime;
  signals::Kind kind = signals::Kind::Email;
  Channel channel = Channel::Outbound;
  // w and its factors, kept for crm.explain_connection.
  double weight = 0;
  double kind_factor = 0, role_factor = 0, audience_factor = 0;
  int audience = 0;
};

// Appends one term per member-contact pair and channel that the interaction gives a positive
// weight; the largest when several participant rows of the same pair qualify. Canceled
// interactions, declined participants, kinds other than email, meeting and call, and audiences
// beyond model.max_audience give nothing. Independent of row order.
void terms(const signals::Interaction &interaction,
           std::span<const signals::Participant> participants, const Model &model,
           std::vector<Term> &out);

}  // namespace crm::connection
