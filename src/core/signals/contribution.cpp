#include "core/signals/contribution.hpp"

#include <algorithm>

namespace crm::signals {
namespace {

bool sends(Role role) {
  return role == Role::From || role == Role::Organizer;
}
bool receives(Role role) {
  return role == Role::To || role == Role::Cc || role == Role::Bcc;
}

std::int64_t record_of(const Participant &p, RecordKind kind) {
  return kind == RecordKind::Person ? p.person_id : p.company_id;
}

}  // namespace

std::int64_t lead_member(std::span<const Participant> participants) {
  std::int64_t sender = 0, lowest = 0;
  for (const Participant &p : participants) {
    if (p.member_id == 0 || p.response == Response::Declined) continue;
    if (sends(p.role) && (sender == 0 || p.member_id < sender)) sender = p.member_id;
    if (lowest == 0 || p.member_id < lowest) lowest = p.member_id;
  }
  return sender != 0 ? sender : lowest;
}

void contributions(const Interaction &interaction, std::span<const Participant> participants,
                   RecordKind record_kind, std::vector<Contribution> &out) {
  if (interaction.status == Status::Canceled) return;
  const bool email = interaction.kind == Kind::Email;
  const bool member_sent = std::any_of(participants.begin(), participants.end(), [](auto &p) {
    return p.role == Role::From && p.member_id != 0;
  });
  const std::int64_t member = lead_member(participants);
  const std::size_t first = out.size();

  for (const Participant &p : participants) {
    const std::int64_t record = record_of(p, record_kind);
    if (record == 0 || p.response == Response::Declined) continue;
    // An interaction has a handful of participants: a linear search beats any map here.
    auto it = std::find_if(out.begin() + first, out.end(),
                           [record](const Contribution &c) { return c.record_id == record; });
    if (it == out.end()) {
      out.push_back({record, interaction.id, interaction.occurred_at, interaction.kind, false,
                     false, member});
      it = out.end() - 1;
    }
    if (email && p.role == Role::From) it->inbound = true;
    if (email && member_sent && receives(p.role)) it->outbound = true;
  }
}

}  // namespace crm::signals
