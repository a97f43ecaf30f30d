// Plain text folding shared by the field normalisers: any script to ASCII (ICU), lower case,
// punctuation to spaces, apostrophes dropped, runs of spaces collapsed.
#pragma once

#include <string>
#include <string_view>

namespace crm::match {

// "Rue du Fossé-Neuf" → "rue du fosse neuf", "O'Brien" → "obrien". Empty for empty, invalid or
// over-long (more than 64 KiB) input: field values beyond that are not names or addresses.
std::string fold_text(std::string_view text);

// fold_text with the spaces removed: postal codes, identifiers.
std::string fold_compact(std::string_view text);

}  // namespace crm::match
