// String similarities for comparing normalised field values. Inputs are the ASCII, lower-case
// values the normalisers produce; other bytes are compared as bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace crm::match {

// Jaro-Winkler similarity in [0, 1] (prefix scale 0.1, prefix up to 4), 1 for equal strings and 0
// when either is empty.
double jaro_winkler(std::string_view a, std::string_view b);

// Levenshtein distance, stopping early: returns limit + 1 once the distance must exceed limit.
std::size_t levenshtein(std::string_view a, std::string_view b, std::size_t limit);

// Space-separated tokens compared as sets, tolerating typos: each token of the shorter side is
// matched to its most similar token of the other side by Jaro-Winkler, and the sum is divided by
// the longer side's token count.
// Word order does not matter ("smith john" = "john smith"); 0 when either side has no token.
double token_set_similarity(std::string_view a, std::string_view b);

// Whether every token of the side with fewer tokens has a token of the other side at Jaro-Winkler
// 0.92 or more: "mifune" is contained in "mifune japan center", "102 5th ave" in "102 5th ave
// between 15th and 16th sts". False when either side has no token.
bool tokens_contained(std::string_view a, std::string_view b);

}  // namespace crm::match
