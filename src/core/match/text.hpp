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

// A value that stands for "no value" ("n/a", "unknown", "test", "none", "xxx", "00000"), given
// folded or normalised (lower case, words separated by single spaces). Two records that both say
// "unknown" agree on nothing: the field counts as missing.
bool is_placeholder(std::string_view folded);

}  // namespace crm::match
