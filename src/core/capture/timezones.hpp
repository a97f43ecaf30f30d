// Where an iCalendar time is read: TZIDs resolve from libical's built-in IANA zones, then the
// file's VTIMEZONE, then Windows zone names (Outlook) through ICU; times without a zone are read in
// the caller's floating zone.
#pragma once

#include <string>

#include <libical/ical.h>

#include "core/capture/types.hpp"

namespace crm::capture::ical {

// The zones one VCALENDAR's times are read against. A null zone means UTC throughout.
struct ZoneContext {
  icalcomponent *vcalendar = nullptr;  // holds the VTIMEZONEs; owned by the caller
  icaltimezone *floating = nullptr;    // for floating times and DATE values
};

// The libical zone for an IANA (or Windows) name; nullptr when unknown or UTC.
icaltimezone *zone_by_name(const std::string &name);

// Whether a TZID names one of libical's built-in zones, which wins over the file's VTIMEZONE.
bool has_builtin_zone(const std::string &tzid);

// The zone a TZID names; falls back to ctx.floating when no source knows it.
icaltimezone *resolve_tzid(const char *tzid, const ZoneContext &ctx);

// The zone `value` (of `prop`, which may carry TZID) is read in: UTC for ...Z, the TZID's zone,
// or the floating zone for floating times and DATE values.
icaltimezone *zone_of(icalproperty *prop, const icaltimetype &value, const ZoneContext &ctx);

// A wall-clock time in `zone` (nullptr = UTC) as microseconds since the epoch, UTC. DATE values
// mean local midnight.
Micros to_micros(icaltimetype local, icaltimezone *zone);

// The inverse: the wall-clock time of `at` in `zone`, carrying `zone` (nullptr: floating).
icaltimetype local_time(Micros at, icaltimezone *zone, bool is_date);

// Whether libical's fields form a real date (and time), so conversions stay meaningful.
bool valid_time(const icaltimetype &t);

// 20260101T100000Z, the form used in external ids.
std::string format_utc(Micros at);

}  // namespace crm::capture::ical
