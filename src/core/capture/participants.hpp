// ORGANIZER and ATTENDEE properties as participants.
#pragma once

#include <vector>

#include <libical/ical.h>

#include "core/capture/types.hpp"

namespace crm::capture::ical {

// The organizer, then each attendee; each address once, the organizer's entry kept (with the
// response and name its ATTENDEE line adds).
std::vector<Participant> read_participants(icalcomponent *event);

}  // namespace crm::capture::ical
