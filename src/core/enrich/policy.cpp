#include "core/enrich/policy.hpp"

#include <cstdio>

namespace crm::enrich {

std::optional<Policy> parse_policy(std::string_view text) {
  if (text == "never") return Policy::never;
  if (text == "fill_if_empty") return Policy::fill_if_empty;
  if (text == "overwrite_if_more_confident") return Policy::overwrite_if_more_confident;
  if (text == "always") return Policy::always;
  return std::nullopt;
}

bool valid_source_kind(std::string_view kind) {
  return kind == "user" || kind == "import" || kind == "api" || kind == "rule" || kind == "ai" ||
         kind == "merge";
}

const char *outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::applied:
      return "applied";
    case Outcome::unchanged:
      return "unchanged";
    case Outcome::suggested:
      return "suggested";
    case Outcome::rejected_before:
      return "rejected_before";
    case Outcome::opted_out:
      return "opted_out";
  }
  return "unknown";
}

namespace {

std::string confidence_text(double c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", c);
  return buf;
}

// Why the value may not be written, or nothing when it may.
std::optional<std::string> blocked(Policy policy, const Current &current,
                                   const Proposal &proposal) {
  if (proposal.kind == "user") return std::nullopt;  // a user's own write, through crm.enrich
  if (!current.empty && (!current.kind || *current.kind == "user"))
    return std::string(current.kind
                           ? "the field holds a user's value"
                           : "the field holds a value written before provenance (a user's)");
  if (policy == Policy::never) return std::string("the field's policy for this source is never");
  if (proposal.backward)
    return std::string("an automated change only moves an ordered field forward");
  if (current.empty) return std::nullopt;
  switch (policy) {
    case Policy::fill_if_empty:
      return std::string("the field is not empty (policy fill_if_empty)");
    case Policy::overwrite_if_more_confident:
      if (proposal.confidence > current.confidence) return std::nullopt;
      return "confidence " + confidence_text(proposal.confidence) + " is not above the current " +
             confidence_text(current.confidence) + " (" + *current.kind + ")";
    case Policy::always:
    case Policy::never:
      break;
  }
  return std::nullopt;
}

}  // namespace

Decision decide(Policy policy, const Current &current, const Proposal &proposal) {
  if (proposal.same_value) {
    // A user confirming an automated value makes it the user's: the value stays, the lock is new.
    if (proposal.kind == "user" && !current.empty && current.kind && *current.kind != "user")
      return {Outcome::applied, "a user's value (confirmed)"};
    return {Outcome::unchanged, "the field holds this value"};
  }
  if (proposal.opted_out && proposal.kind != "user")
    return {Outcome::opted_out, "the record is opted out of automated writes"};
  // Rejected once, never again from that source: not even into a field emptied since.
  if (proposal.rejected_before && proposal.kind != "user")
    return {Outcome::rejected_before, "a user rejected this value from this source"};
  std::optional<std::string> why = blocked(policy, current, proposal);
  if (!why) {
    if (proposal.kind == "user") return {Outcome::applied, "a user's value"};
    if (current.empty) return {Outcome::applied, "the field was empty"};
    if (policy == Policy::always) return {Outcome::applied, "policy always"};
    return {Outcome::applied, "more confident than the current value"};
  }
  return {Outcome::suggested, *why};
}

}  // namespace crm::enrich
