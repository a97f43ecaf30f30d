#include "core/signals/columns.hpp"

#include <stdexcept>

#include "core/connection/pair.hpp"

namespace crm::signals {
namespace {

// The field of each column, in kSignalColumns' order; one of the two pointers is set for times
// and numbers, neither for the kind and the rank.
struct Field {
  Micros Signals::*time;
  std::int64_t Signals::*number;
};
constexpr std::array<Field, kSignalColumns.size()> kFields = {{
    {&Signals::first_interaction_at, nullptr},
    {&Signals::last_interaction_at, nullptr},
    {nullptr, &Signals::last_interaction_id},
    {nullptr, nullptr},  // last_interaction_kind
    {nullptr, &Signals::last_interaction_member_id},
    {&Signals::first_email_at, nullptr},
    {&Signals::last_email_at, nullptr},
    {&Signals::last_inbound_email_at, nullptr},
    {&Signals::last_outbound_email_at, nullptr},
    {&Signals::first_meeting_at, nullptr},
    {&Signals::last_meeting_at, nullptr},
    {&Signals::next_meeting_at, nullptr},
    {&Signals::next_interaction_at, nullptr},
    {nullptr, &Signals::email_count},
    {nullptr, &Signals::meeting_count},
    {nullptr, &Signals::interaction_count},
    {nullptr, &Signals::strongest_member_id},
    {nullptr, nullptr},  // strongest_rank
}};

const Field &field(std::size_t column) {
  if (column >= kFields.size()) throw std::out_of_range("signal column out of range");
  return kFields[column];
}

// The columns that describe the last interaction: meaningless without one.
bool about_last_interaction(std::size_t column) {
  const std::string_view name = kSignalColumns[column].name;
  return name == "last_interaction_id" || name == "last_interaction_kind" ||
         name == "last_interaction_member_id";
}

}  // namespace

SignalValue stored_value(const Signals &s, std::size_t column) {
  const Field &f = field(column);
  SignalValue v;
  const bool no_last = s.last_interaction_at == kNoTime;
  switch (kSignalColumns[column].type) {
    case SignalType::Time:
      v.time = s.*f.time;
      v.null = v.time == kNoTime;
      break;
    case SignalType::Id:
      v.number = s.*f.number;
      // The last interaction's id is stored whenever there is one, even 0; a member id never is 0.
      v.null = (about_last_interaction(column) && no_last) ||
               (kSignalColumns[column].name != "last_interaction_id" && v.number == 0);
      break;
    case SignalType::Kind:
      v.kind = s.last_interaction_kind;
      v.null = no_last;
      break;
    case SignalType::Count:
      v.number = s.*f.number;
      v.null = false;
      break;
    case SignalType::Rank:
      v.rank = s.strongest_rank;
      v.null = v.rank == connection::kNothing;
      break;
  }
  return v;
}

void set_stored_value(Signals &s, std::size_t column, const SignalValue &v) {
  const Field &f = field(column);
  switch (kSignalColumns[column].type) {
    case SignalType::Time:
      s.*f.time = v.null ? kNoTime : v.time;
      break;
    case SignalType::Id:
    case SignalType::Count:
      s.*f.number = v.null ? 0 : v.number;
      break;
    case SignalType::Kind:
      s.last_interaction_kind = v.null ? Kind::Email : v.kind;
      break;
    case SignalType::Rank:
      s.strongest_rank = v.null ? connection::kNothing : v.rank;
      break;
  }
}

SignalValue empty_value(std::size_t column) {
  (void)field(column);  // the range check
  SignalValue v;
  v.null = kSignalColumns[column].type != SignalType::Count;
  return v;
}

}  // namespace crm::signals
