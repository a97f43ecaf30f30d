// Double Metaphone codes from fuzzystrmatch (a dependency of the extension), for the phonetic
// blocking keys: the well-kept implementation Postgres ships, rather than one of our own.
#pragma once

#include <string>
#include <string_view>

namespace crm::pg {

// Finds fuzzystrmatch's dmetaphone(text). Call once per statement, before double_metaphone.
void prepare_phonetic();

// The primary Double Metaphone code of a word; "" for a word without one. Calls Postgres.
std::string double_metaphone(std::string_view word);

}  // namespace crm::pg
