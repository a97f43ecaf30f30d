// ORGANIZER and ATTENDEE properties as participants.
#pragma once

#include <string>
#include <vector>

#include <libical/ical.h>

#include "core/capture/types.hpp"

namespace crm::capture::ical {

// The organizer, then each attendee; each address once, the organizer's entry kept (with the
// response and name its ATTENDEE line adds). An address the participant trigger would refuse
// (crm::activity::refusal) is left out and its reason appended to `dropped`.
std::vector<Participant> read_participants(icalcomponent *event, std::vector<std::string> &dropped);

}  // namespace crm::capture::ical
