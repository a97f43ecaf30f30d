// What one VEVENT says, read once into plain values: identity, people, status and its times.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <libical/ical.h>

#include "core/capture/timezones.hpp"
#include "core/capture/types.hpp"

namespace crm::capture::ical {

// How an instance's end follows from its start.
struct EndRule {
  enum class Kind { none, days, micros } kind = Kind::none;
  std::int64_t amount = 0;  // days for all-day events, else microseconds
};

struct EventFields {
  std::string uid;  // bounded_identity (identity.hpp): a UID over 512 bytes is hashed
  bool uid_synthesized = false;
  int sequence = 0;
  std::optional<Micros> dtstamp;
  std::optional<std::string> summary;  // absent: an override takes its master's
  EventStatus status = EventStatus::confirmed;
  bool status_cancelled = false;  // STATUS:CANCELLED as written
  std::vector<Participant> participants;
  std::vector<std::string> dropped;     // addresses left out (read_participants), with why
  std::optional<Micros> recurrence_id;  // RECURRENCE-ID, UTC
  icaltimetype recurrence_id_written = icaltime_null_time();  // as written, for all-day series

  icaltimetype dtstart = icaltime_null_time();  // as written; zone attached when it has one
  icaltimezone *zone = nullptr;                 // where dtstart is read; nullptr = UTC
  bool all_day = false;
  Micros starts_at = 0;
  EndRule end;
  bool recurring = false;  // RRULE or RDATE present

  std::optional<Skip> problem;  // set when the VEVENT cannot be used
};

EventFields read_event(icalcomponent *event, const ZoneContext &ctx);

// The time value of a DATE / DATE-TIME property; nullopt when absent or unreadable.
std::optional<icaltimetype> time_value(icalproperty *prop);

// The instance end for a start under `rule`; all-day ends are midnights in `zone`.
std::optional<Micros> end_of(Micros start, const EndRule &rule, icaltimezone *zone);

}  // namespace crm::capture::ical
