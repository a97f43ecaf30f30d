// A person's first and last name from a display name as mail and calendars carry it
// ("Doe, Jane", "Dr. Jane A. Doe Jr.", "\"Jane Doe (Acme)\""), for the name enricher.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crm::enrich {

struct PersonName {
  std::string first;  // given name(s), middle names included
  std::string last;   // surname, with its particles ("van Beethoven", "de la Cruz")
};

// Quotes, parenthesised and bracketed parts and addresses dropped; "Last, First" read surname
// first; honorifics (Mr, Dr, Prof, ...) dropped in front, generational and professional suffixes
// (Jr, III, PhD, MBA, ...) at the end. A single word is a first name. nullopt when no name is
// left (an address, a role mailbox's "noreply", punctuation). Case is kept as written.
std::optional<PersonName> split_display_name(std::string_view display_name);

}  // namespace crm::enrich
