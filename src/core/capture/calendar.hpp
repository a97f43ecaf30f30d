// iCalendar files, read with libical: events expanded into instances within a window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.hpp"
#include "core/capture/types.hpp"

namespace crm::capture {

struct Window {
  Micros from = 0;  // inclusive
  Micros to = 0;    // exclusive
};

struct EventInstance {
  std::string uid;
  // For an instance of a recurring series (or a RECURRENCE-ID override): its original start, UTC.
  std::optional<Micros> recurrence_id;
  // uid for a single event; uid + "/" + recurrence id as 20260101T100000Z for instances.
  std::string external_id;
  int sequence = 0;
  std::optional<Micros> dtstamp;
  bool from_override = false;  // came from a component with RECURRENCE-ID
  Micros starts_at = 0;
  std::optional<Micros> ends_at;  // DTEND, or DTSTART + DURATION; all-day: end of the last day
  bool all_day = false;
  std::string subject;  // SUMMARY, UTF-8
  EventStatus status = EventStatus::confirmed;
  // The ORGANIZER (role organizer) then each ATTENDEE (role attendee, response from PARTSTAT);
  // "mailto:" stripped, lower-cased, each address once (the organizer wins).
  std::vector<Participant> participants;
};

// A component left out, with why, e.g. {"malformed", "VEVENT without DTSTART"}.
struct SkippedComponent {
  std::string uid;  // may be empty
  Skip skip;
};

struct ParsedCalendar {
  std::string method;  // METHOD, upper-case; empty when absent
  std::vector<EventInstance> instances;
  // UIDs a METHOD:CANCEL cancels as a whole series (the cancelled VEVENT has no RECURRENCE-ID).
  std::vector<std::string> canceled_series;
  std::vector<SkippedComponent> skipped;
  // Participant addresses left out of the events they were on because the participant trigger
  // would refuse them; `skip` is {"malformed", "dropped attendee address: ..."}. The events are
  // filed without them.
  std::vector<SkippedComponent> dropped;
  // Set when nothing of the file can be read (not iCalendar, no VCALENDAR).
  std::optional<Skip> malformed;
};

// What the caller allows one file.
struct Limits {
  // Most instances the file may yield in all. The events of a UID (a series with its overrides)
  // that would pass it are left out whole, each a policy skip "over <instance_limit>: ..." with
  // the counts; `instance_limit` names the setting the bound comes from.
  std::size_t max_instances = SIZE_MAX;
  std::string instance_limit = "the file's instance limit";
  // Polled in every long loop; when it returns true parsing stops with crm::Canceled.
  CancelCheck cancel = nullptr;
};

// Floating times and all-day dates are read in `floating_zone` (an IANA name; UTC when empty or
// unknown). TZIDs resolve from IANA names, then the file's VTIMEZONE, then Windows zone names.
// RRULE, RDATE and EXDATE are expanded within `window`, RECURRENCE-ID overrides replace their
// instances. An all-day series' instances are days: their RECURRENCE-ID is the day at 00:00 UTC
// whatever `floating_zone` is, and an override or EXDATE names its day as written. Never throws
// for bad input; may throw std::bad_alloc, and crm::Canceled when `limits.cancel` says so.
ParsedCalendar parse_calendar(std::string_view ics, Window window, const std::string &floating_zone,
                              const Limits &limits = {});

// Most instances one series may yield inside the window; a series with more is skipped as policy.
inline constexpr std::size_t kMaxInstancesPerSeries = 5000;

}  // namespace crm::capture
