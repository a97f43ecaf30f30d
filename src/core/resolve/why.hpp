// crm.resolve_why's answer: whether a record comes back for a mention, and the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/resolve/score.hpp"

namespace crm::resolve {

struct WhyFacts {
  const char *kind = "person";
  std::int64_t record_id = 0;
  bool exists = false;                      // live in this workspace
  std::optional<std::int64_t> merged_into;  // a tombstone: the live record it resolves to
  bool mention_empty = false;               // nothing in the mention to look up
  bool found = false;                       // a lookup reached it
  bool fuzzy_ran = true;                    // the trigram lookups ran
  bool names_searched = true;               // every person's full name was searched
  std::optional<std::size_t> rank;          // 1-based among every candidate kept
  std::size_t max_results = 5;
  std::optional<Scored> scored;  // when it exists
  bool ambiguous = false;
};

std::string why_json(const WhyFacts &facts);

}  // namespace crm::resolve
