// Text out of iCalendar properties: libical hands bytes through as they were in the file, and
// older exports (Thunderbird's importLatin1.ics) are Latin-1.
#pragma once

#include <string>
#include <string_view>

namespace crm::capture::ical {

// `bytes` when it is valid UTF-8, else read as Windows-1252/Latin-1 and re-encoded.
std::string to_utf8(std::string_view bytes);

// A cal-address ("mailto:Ann@Example.com") as a bare lower-case address; empty unless it has
// exactly one '@' with text on both sides.
std::string mail_address(std::string_view cal_address);

// ASCII upper-case.
std::string upper(std::string_view text);

}  // namespace crm::capture::ical
