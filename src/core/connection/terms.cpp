#include "core/connection/terms.hpp"

#include <algorithm>
#include <cmath>

namespace crm::connection {
namespace {

using signals::Kind;
using signals::Participant;
using signals::Response;
using signals::Role;

bool sends(Role r) {
  return r == Role::From || r == Role::Organizer;
}
bool receives(Role r) {
  return r == Role::To || r == Role::Cc || r == Role::Bcc;
}
double role_factor(Role r, const Model &m) {
  if (r == Role::Cc) return m.role_cc;
  if (r == Role::Bcc) return m.role_bcc;
  return m.role_primary;
}
bool is_contact(const Participant &p) {
  return p.member_id == 0 && p.response != Response::Declined &&
         (p.person_id != 0 || p.company_id != 0);
}

// The non-member audience: distinct addresses of participants who are not members and did not
// decline.
int audience_of(std::span<const Participant> participants) {
  std::vector<std::int64_t> keys;
  for (const Participant &p : participants)
    if (p.member_id == 0 && p.response != Response::Declined)
      keys.push_back(p.person_id != 0 ? p.person_id : p.address_key);
  std::sort(keys.begin(), keys.end());
  return static_cast<int>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

}  // namespace

void terms(const signals::Interaction &interaction, std::span<const Participant> participants,
           const Model &model, std::vector<Term> &out) {
  if (interaction.status == signals::Status::Canceled) return;
  double kind_weight = 0;
  switch (interaction.kind) {
    case Kind::Email:
      kind_weight = 1;
      break;  // direction decides: outbound or inbound
    case Kind::Meeting:
      kind_weight = model.meeting;
      break;
    case Kind::Call:
      kind_weight = model.call;
      break;
    default:
      return;
  }
  const int n = audience_of(participants);
  if (n == 0 || n > model.max_audience) return;
  const double audience = 1.0 / std::sqrt(static_cast<double>(n));
  const std::size_t first = out.size();

  for (const Participant &member : participants) {
    if (member.member_id == 0 || member.response == Response::Declined) continue;
    for (const Participant &contact : participants) {
      if (!is_contact(contact)) continue;
      Term t;
      t.workspace_id = interaction.workspace_id;
      t.member_id = member.member_id;
      t.person_id = contact.person_id;
      t.address_key = contact.person_id != 0 ? 0 : contact.address_key;
      t.company_id = contact.company_id;
      t.interaction_id = interaction.id;
      t.at = interaction.occurred_at;
      t.kind = interaction.kind;
      t.audience = n;
      t.audience_factor = audience;
      if (interaction.kind == Kind::Email) {
        if (member.role == Role::From && receives(contact.role)) {
          t.channel = Channel::Outbound;
          t.kind_factor = model.outbound_email;
          t.role_factor = role_factor(contact.role, model);
        } else if (contact.role == Role::From && receives(member.role)) {
          t.channel = Channel::Inbound;
          t.kind_factor = model.inbound_email;
          t.role_factor = role_factor(member.role, model);
        } else {
          continue;  // neither wrote to the other
        }
      } else {
        t.channel = Channel::Meeting;
        t.kind_factor = kind_weight;
        // The recipient side is whoever did not organise (the contact when neither did).
        const Role recipient =
            sends(member.role) || !sends(contact.role) ? contact.role : member.role;
        t.role_factor = role_factor(recipient, model);
      }
      t.weight = t.kind_factor * t.role_factor * t.audience_factor;
      if (!(t.weight > 0)) continue;
      // A handful of participants: a linear search for the same pair and channel.
      auto same = std::find_if(out.begin() + first, out.end(), [&](const Term &o) {
        return o.member_id == t.member_id && o.person_id == t.person_id &&
               o.address_key == t.address_key && o.channel == t.channel;
      });
      if (same == out.end())
        out.push_back(t);
      else if (t.weight > same->weight)
        *same = t;
    }
  }
}

}  // namespace crm::connection
