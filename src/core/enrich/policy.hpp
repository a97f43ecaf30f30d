// Whether an automated value may be written over what a record field holds (docs/ENRICHMENT.md).
// Pure: crm.enrich gathers the facts in SQL and asks this once per field.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crm::enrich {

// A field's write policy for one source: never | fill_if_empty | overwrite_if_more_confident |
// always. A user's own value stands above every policy.
enum class Policy { never, fill_if_empty, overwrite_if_more_confident, always };

std::optional<Policy> parse_policy(std::string_view text);

// user | import | api | rule | ai | merge
bool valid_source_kind(std::string_view kind);

// What the field holds now, from the record and the field's latest provenance row.
struct Current {
  bool empty = true;                // NULL, JSON null, blank text or an empty array
  std::optional<std::string> kind;  // the latest provenance row's source kind, if any
  double confidence = 1.0;          // that row's confidence
};

struct Proposal {
  std::string kind;  // the source kind of the value offered
  double confidence = 1.0;
  bool same_value = false;       // the field holds this value already
  bool rejected_before = false;  // a user rejected this value from this source
  bool opted_out = false;        // the record refuses automated writes
  bool backward = false;         // an ordered picklist field would move back (or out of its order)
};

enum class Outcome { applied, unchanged, suggested, rejected_before, opted_out };

struct Decision {
  Outcome outcome;
  std::string reason;
};

// A non-empty value without provenance was written by an application or a user before anything
// recorded it: it is treated as the user's, never overwritten blindly.
Decision decide(Policy policy, const Current &current, const Proposal &proposal);

const char *outcome_name(Outcome outcome);

}  // namespace crm::enrich
