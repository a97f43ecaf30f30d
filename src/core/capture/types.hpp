// What activity capture reads out of a raw message or calendar file, before any database lookup.
// Times are microseconds since the Unix epoch, UTC (the Postgres layer shifts them to its epoch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crm::capture {

using Micros = std::int64_t;

enum class Role { from, to, cc, bcc, organizer, attendee };
enum class Response { none, accepted, declined, tentative, needs_action };
enum class EventStatus { confirmed, tentative, canceled };

// One address as written, with its decoded (UTF-8) display name. `address` is trimmed and
// ASCII-lower-cased; it always contains one '@' with text on both sides.
struct Participant {
  std::string address;
  std::string display_name;
  Role role = Role::to;
  Response response = Response::none;
};

// Why an item is not filed. `category` is one of automated, bulk, internal, blocked, policy,
// malformed; `cause` says which rule, e.g. {"bulk", "List-Unsubscribe header"}.
struct Skip {
  std::string category;
  std::string cause;
  std::string reason() const { return category + ": " + cause; }
};

const char *role_name(Role role);
const char *response_name(Response response);  // nullptr for Response::none
const char *status_name(EventStatus status);

}  // namespace crm::capture
