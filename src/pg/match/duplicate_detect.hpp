// The detection step shared by the write trigger, crm.scan_duplicates and crm.find_duplicates:
// profiles from record rows, then candidate pairs among fresh profiles and their blocks.
#pragma once

#include <vector>

#include "core/cancel.hpp"
#include "core/match/scoring.hpp"
#include "pg/match/match_store.hpp"

namespace crm::pg {

// Profiles, keys and fingerprints of rows read with record_query (under settings' attributes).
std::vector<StoredProfile> build_profiles(RecordKind kind, const DuplicateSettings &settings,
                                          std::vector<TextRow> &rows);

// Candidate pairs with at least one fresh member, among fresh and others (records loaded through
// the fresh records' keys, or everything). Keys in oversized are ignored, as are keys the fresh
// records do not hold (others' blocks may have been loaded only in part). frequencies must hold
// the fresh records' counted values (a pair agrees exactly only on a value a fresh record holds).
std::vector<CandidateRow> detect(const DuplicateSettings &settings,
                                 const std::vector<const StoredProfile *> &fresh,
                                 const std::vector<const StoredProfile *> &others,
                                 const std::vector<std::int64_t> &oversized,
                                 const match::Frequencies &frequencies, CancelCheck cancel);

// A candidate's evidence and score for a scored pair.
CandidateRow candidate_of(const DuplicateSettings &settings, const StoredProfile &a,
                          const StoredProfile &b, const match::ScoredPair &scored);

}  // namespace crm::pg
