// RRULE, RDATE and EXDATE of one master VEVENT expanded into the instance starts inside a window.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <vector>

#include <libical/ical.h>

#include "core/capture/calendar.hpp"
#include "core/capture/event_fields.hpp"
#include "core/capture/ical_handles.hpp"
#include "core/capture/timezones.hpp"

namespace crm::capture::ical {

// Most iterator steps one RRULE may take before the window ends; a rule needing more (a
// minutely rule started decades ago, a huge COUNT) is refused rather than spun through.
inline constexpr std::size_t kMaxRecurrenceSteps = 1'000'000;

struct Expansion {
  std::vector<Micros> starts;            // UTC, ascending, unique, inside the window
  std::map<Micros, Micros> period_ends;  // RDATE;VALUE=PERIOD instances carry their own end
  std::optional<Skip> skip;              // the series cannot be expanded (malformed or policy)
};

// The instances of `event` (whose fields are `f`) starting in `window`; more than `limit`
// of them makes a policy skip.
Expansion expand(icalcomponent *event, const EventFields &f, const ZoneContext &ctx, Window window,
                 std::size_t limit);

}  // namespace crm::capture::ical
