// A file's own VTIMEZONEs, made safe to hand to libical. libical 3.0 expands a VTIMEZONE's
// recurring observances (STANDARD, DAYLIGHT) from their DTSTART to a few years past the latest
// time it converts, one change per RRULE instance, in one uninterruptible loop: a 367-byte zone
// repeating FREQ=SECONDLY from 1601 takes it minutes and gigabytes. Here each observance a file's
// events actually use is expanded first, by us, only over the years the file needs, under a
// budget, polling for cancellation, and written back as DTSTART + RDATEs (no RRULE) so that
// libical's own expansion is a copy of a bounded list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <libical/ical.h>

#include "core/cancel.hpp"
#include "core/capture/types.hpp"

namespace crm::capture::ical {

// The years whose wall-clock times the file's events can be converted at (inclusive).
struct YearSpan {
  int from = 0;
  int to = 0;
};

// Years of observance rules one calendar file may walk in all. A usual zone costs a handful of
// years per observance (its walk starts just before the years needed); a rule bound by COUNT must
// be walked from its own DTSTART (Outlook writes 1601), some 430 years.
inline constexpr std::int64_t kMaxZoneYearsPerCalendar = 10'000;
// Offset changes one calendar file's zones may have inside those years in all (two a year is the
// norm; a zone changing its offset every day is not a zone).
inline constexpr std::int64_t kMaxZoneChangesPerCalendar = 20'000;
// No zone rule is expanded past this year: libical itself stops its own expansion at 2582.
inline constexpr int kLastZoneYear = 2590;

struct ZoneBudget {
  std::int64_t years_left = kMaxZoneYearsPerCalendar;
  std::int64_t changes_left = kMaxZoneChangesPerCalendar;
};

// The years the VEVENTs of `vcalendar` need: every date and time they carry (DTSTART, DTEND,
// RECURRENCE-ID, RDATE, EXDATE, an RRULE's UNTIL, ...) and the capture window, one year either
// side.
YearSpan years_needed(icalcomponent *vcalendar, Micros window_from, Micros window_to);

// Rewrites, in place, every VTIMEZONE of `vcalendar` that an event's TZID names and that libical
// has no built-in zone for. Returns why the file is unusable ("VTIMEZONE Evil: ...") when a zone
// needs more than the budget allows or recurs other than yearly; throws crm::Canceled when `cancel`
// says so.
std::optional<std::string> bound_zones(icalcomponent *vcalendar, YearSpan years, ZoneBudget &budget,
                                       CancelCheck cancel);

}  // namespace crm::capture::ical
