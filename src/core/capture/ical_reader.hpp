// Turns raw iCalendar text into libical components: one per top-level BEGIN/END block.
#pragma once

#include <string_view>
#include <vector>

#include "core/capture/ical_handles.hpp"

namespace crm::capture::ical {

// Every top-level component of `text` (normally VCALENDARs), in order. Tolerates CRLF, LF and
// lone CR line ends, byte-order marks, blank lines and a missing final END. Never throws but
// std::bad_alloc.
std::vector<Component> read_components(std::string_view text);

}  // namespace crm::capture::ical
