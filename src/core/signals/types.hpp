// The vocabulary of activity, as the core sees it: plain values, no Postgres.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace crm::signals {

// Microseconds on Postgres' TimestampTz scale. Infinite timestamps are refused by the schema, so
// the minimum value is free to mean "no time".
using Micros = std::int64_t;
inline constexpr Micros kNoTime = std::numeric_limits<Micros>::min();

enum class Kind : std::uint8_t { Email, Meeting, Call, Message, Note };
enum class Status : std::uint8_t { Confirmed, Tentative, Canceled };
enum class Role : std::uint8_t { From, To, Cc, Bcc, Organizer, Attendee };
enum class Response : std::uint8_t { None, Accepted, Declined, Tentative, NeedsAction };
enum class RecordKind : std::uint8_t { Person, Company };

std::optional<Kind> parse_kind(std::string_view text);
std::optional<Status> parse_status(std::string_view text);
std::optional<Role> parse_role(std::string_view text);
std::optional<Response> parse_response(std::string_view text);  // "" is None
std::optional<RecordKind> parse_record_kind(std::string_view text);
std::string_view to_string(Kind kind);
std::string_view to_string(RecordKind kind);

struct Interaction {
  std::int64_t id = 0;
  std::int64_t workspace_id = 0;
  Micros occurred_at = kNoTime;
  Kind kind = Kind::Email;
  Status status = Status::Confirmed;
};

// One participant row, already resolved. Ids are 0 when absent.
struct Participant {
  std::int64_t person_id = 0;
  std::int64_t company_id = 0;
  std::int64_t member_id = 0;
  // Identifies the participant's canonical address (activity::address_key): tells apart the
  // people behind addresses that no person record owns.
  std::int64_t address_key = 0;
  Role role = Role::To;
  Response response = Response::None;
};

}  // namespace crm::signals
