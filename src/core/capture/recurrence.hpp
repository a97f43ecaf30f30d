// RRULE, RDATE and EXDATE of one master VEVENT expanded into the instance starts inside a window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include <libical/ical.h>

#include "core/cancel.hpp"
#include "core/capture/calendar.hpp"
#include "core/capture/event_fields.hpp"
#include "core/capture/ical_handles.hpp"
#include "core/capture/timezones.hpp"

namespace crm::capture::ical {

// libical walks an RRULE one FREQ period at a time (minute, hour, day, ...), also inside a single
// icalrecur_iterator_next call when periods do not match. Most periods one RRULE may walk to
// reach the end of the window; a rule needing more (a minutely rule started months before the
// window and bound by COUNT, a daily one from year 1) is refused rather than spun through.
inline constexpr std::int64_t kMaxRecurrencePeriods = 100'000;
// Most instances one RRULE may yield on the way (BYHOUR/BYMINUTE/BYSECOND multiply them).
inline constexpr std::size_t kMaxRecurrenceYields = 200'000;
// Periods all RRULEs of one calendar may walk together: a file of many costly series is cut off.
inline constexpr std::int64_t kMaxPeriodsPerCalendar = 1'000'000;

struct StepBudget {
  std::int64_t periods_left = kMaxPeriodsPerCalendar;
};

struct Expansion {
  std::vector<Micros> starts;            // UTC, ascending, unique, inside the window
  std::map<Micros, Micros> period_ends;  // RDATE;VALUE=PERIOD instances carry their own end
  std::optional<Skip> skip;              // the series cannot be expanded (malformed or policy)
};

// The instances of `event` (whose fields are `f`) starting in `window`; more than `limit`
// of them makes a policy skip. Throws crm::Canceled when `cancel` says so.
Expansion expand(icalcomponent *event, const EventFields &f, const ZoneContext &ctx, Window window,
                 std::size_t limit, StepBudget &budget, CancelCheck cancel);

}  // namespace crm::capture::ical
