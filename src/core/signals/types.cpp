#include "core/signals/types.hpp"

#include <array>
#include <utility>

namespace crm::signals {
namespace {

template <typename E, std::size_t N>
std::optional<E> lookup(const std::array<std::pair<std::string_view, E>, N> &table,
                        std::string_view text) {
  for (const auto &[name, value] : table)
    if (name == text) return value;
  return std::nullopt;
}

constexpr std::array<std::pair<std::string_view, Kind>, 5> kKinds{{{"email", Kind::Email},
                                                                   {"meeting", Kind::Meeting},
                                                                   {"call", Kind::Call},
                                                                   {"message", Kind::Message},
                                                                   {"note", Kind::Note}}};
constexpr std::array<std::pair<std::string_view, Status>, 3> kStatuses{
    {{"confirmed", Status::Confirmed},
     {"tentative", Status::Tentative},
     {"canceled", Status::Canceled}}};
constexpr std::array<std::pair<std::string_view, Role>, 6> kRoles{{{"from", Role::From},
                                                                   {"to", Role::To},
                                                                   {"cc", Role::Cc},
                                                                   {"bcc", Role::Bcc},
                                                                   {"organizer", Role::Organizer},
                                                                   {"attendee", Role::Attendee}}};
constexpr std::array<std::pair<std::string_view, Response>, 5> kResponses{
    {{"", Response::None},
     {"accepted", Response::Accepted},
     {"declined", Response::Declined},
     {"tentative", Response::Tentative},
     {"needs_action", Response::NeedsAction}}};

}  // namespace

std::optional<Kind> parse_kind(std::string_view text) {
  return lookup(kKinds, text);
}
std::optional<Status> parse_status(std::string_view text) {
  return lookup(kStatuses, text);
}
std::optional<Role> parse_role(std::string_view text) {
  return lookup(kRoles, text);
}
std::optional<Response> parse_response(std::string_view text) {
  return lookup(kResponses, text);
}

std::string_view to_string(Kind kind) {
  for (const auto &[name, value] : kKinds)
    if (value == kind) return name;
  return "unknown";
}

std::optional<RecordKind> parse_record_kind(std::string_view text) {
  if (text == "person") return RecordKind::Person;
  if (text == "company") return RecordKind::Company;
  return std::nullopt;
}

std::string_view to_string(RecordKind kind) {
  return kind == RecordKind::Person ? "person" : "company";
}

}  // namespace crm::signals
