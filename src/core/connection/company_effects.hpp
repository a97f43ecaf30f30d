// How the contacts of people and companies change when activity changes, as arithmetic on
// stored pairs: a delta taken into a record's contacts, and what the people's changes make of
// their companies' pairs. Pure logic; src/pg/signals/record_apply.cpp reads and writes the rows.
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/connection/pair.hpp"
#include "core/signals/types.hpp"

namespace crm::connection {

// What the people written in a statement changed in their companies' pairs, for the company pass
// of the same statement. A company pair is a sum over people: what their R gained is added, what
// it lost subtracted while that stays exact (log_replace); any other change makes the company
// recompute.
struct CompanyEffects {
  struct Change {
    std::int64_t workspace_id = 0;
    double log_gained = kNothing;  // log2 of the R gained at the epoch
    double log_lost = kNothing;    // log2 of the R lost
    std::int64_t people = 0;       // net change of contacts with a positive R
    // Extremes over the changed contacts, before and after.
    signals::Micros last_before = signals::kNoTime, last_after = signals::kNoTime;
    signals::Micros next_before = signals::kNoTime, next_after = signals::kNoTime;
  };
  std::unordered_map<std::int64_t, std::map<std::int64_t, Change>> changes;  // company, member
  std::unordered_set<std::int64_t> recompute;
};

// One contact's pair before and after a change, for its company's pair.
struct ContactChange {
  std::int64_t member_id = 0;
  Pair before, after;  // empty when there was none, or is none left
};

// Notes how a contact's pair changed into its company's pair change.
void note_change(const ContactChange &c, CompanyEffects &effects);

// Applies a company's pair changes to its stored pairs; false when one cannot be taken exactly.
bool apply_changes(const std::map<std::int64_t, CompanyEffects::Change> &changes,
                   CompanyPairs &pairs);

// The stored contacts of a record with a delta taken in: removed replaced by added where given,
// added merged otherwise. The changes of each contact are appended to changed. False when a pair
// cannot take its delta exactly (the record is then recomputed).
bool take_delta(signals::RecordKind kind, Contacts &contacts, const Contacts *removed,
                const Contacts *added, std::vector<ContactChange> &changed);

// Every contact of a recomputed record, before and after, for its companies.
void note_recomputed(const Contacts *before, const Contacts *after, CompanyEffects &effects);

}  // namespace crm::connection
