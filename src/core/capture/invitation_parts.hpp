// The calendar parts of a message that make it an invitation (iMIP, RFC 6047).
#pragma once

#include <gmime/gmime.h>

#include <string>
#include <vector>

namespace crm::capture::gmime {

// The decoded (transfer encoding undone, converted to UTF-8) text of each text/calendar part that
// carries a METHOD, in document order, each distinct text once. Attached messages are not
// entered. Never throws for bad input; may throw std::bad_alloc.
std::vector<std::string> find_invitations(GMimeMessage *message);

}  // namespace crm::capture::gmime
