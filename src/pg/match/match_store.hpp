// Reading and writing duplicate detection's tables: records as raw text, match profiles, models,
// rules and candidate pairs. Every function here calls Postgres through pg_call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/match/model.hpp"
#include "pg/common/text_rows.hpp"

namespace crm::pg {

using match::RecordKind;

// 'person' or 'company', as crm.duplicate_candidate.kind spells it.
const char *kind_name(RecordKind kind);

// The kind a SQL caller named; crm::Error 22023 for anything else.
RecordKind kind_of(std::string_view text);

struct DuplicateSettings {
  std::int64_t workspace = 0;
  match::Model model;
  std::string action = "allow";  // allow | alert | block
  double action_threshold = 1.0;
};

// The settings of every workspace among ids (defaults where a workspace has no row).
std::vector<DuplicateSettings> load_settings(RecordKind kind,
                                             const std::vector<std::int64_t> &workspaces);

// A row of record_query (pg/record_rows.hpp); attribute_keys are the model's custom attributes,
// read from the jsonb.
match::RawRecord raw_record(RecordKind kind, TextRow &row,
                            const std::vector<std::string> &attribute_keys);

// A record's profile as stored in crm.match_profile.
struct StoredProfile {
  std::int64_t id = 0;
  std::int64_t workspace = 0;
  match::Profile profile;
  std::vector<std::int64_t> keys;
  std::int64_t fingerprint = 0;
};

std::string join_fields(const match::Profile &profile);
match::Profile split_fields(const std::string &joined);

// Profiles of the records sharing at least one of keys (the caller's workspace and kind are in
// the keys' hashes). A key shared by more than match::kMaxBlock records is reported in oversized
// and its records are not all returned. A returned profile's keys are those among keys it was
// found under, not all of its own.
std::vector<StoredProfile> load_blocks(RecordKind kind, std::int64_t workspace,
                                       const std::vector<std::int64_t> &keys,
                                       std::vector<std::int64_t> &oversized);

// Every stored profile of a workspace and kind, in batches. Without fields, only ids, keys and
// fingerprints are read (the profiles' fields are left empty): what a scan compares to know which
// profiles changed.
enum class ProfileColumns { All, WithoutFields };
void stream_profiles(RecordKind kind, std::int64_t workspace,
                     const std::function<void(std::vector<StoredProfile> &)> &visit,
                     ProfileColumns columns = ProfileColumns::All);

// record id → fingerprint of the stored profiles among ids.
std::unordered_map<std::int64_t, std::int64_t> stored_fingerprints(
    RecordKind kind, const std::vector<std::int64_t> &ids);

void write_profiles(RecordKind kind, const std::vector<const StoredProfile *> &profiles);

struct CandidateRow {
  std::int64_t workspace = 0, record_id = 0, other_id = 0;  // record_id < other_id
  double score = 0;
  std::string evidence;
  std::string summary;  // the evidence in one line, for WARNING and ERROR details
  std::int64_t fingerprint = 0;
  // Counted values the pair agrees on exactly ("last_name:smith"): when one grows common, the
  // pair is scored again (crm.duplicate_candidate.agreed).
  std::vector<std::string> agreed;
};

// Inserts new pairs as open and re-scores known ones. A dismissed pair stays dismissed while its
// fingerprint is unchanged and opens again when either record changed; a merged one stays merged.
void upsert_candidates(RecordKind kind, const std::vector<CandidateRow> &rows);

// Ids of the workspace's open and dismissed pairs agreeing on one of these values.
std::vector<std::pair<std::int64_t, std::int64_t>> pairs_agreeing_on(
    RecordKind kind, std::int64_t workspace, const std::vector<std::string> &agreed);

// Stored profiles of these records.
std::vector<StoredProfile> load_profiles(RecordKind kind, const std::vector<std::int64_t> &ids);

// Removes these pairs where they are open (a dismissal stands while its records are unchanged).
void delete_open_pairs(RecordKind kind,
                       const std::vector<std::pair<std::int64_t, std::int64_t>> &pairs);

// Removes the pairs of these records that are no longer candidates (not in keep), except dismissed
// pairs whose records did not change.
void delete_stale_candidates(RecordKind kind, const std::vector<std::int64_t> &records,
                             const std::vector<CandidateRow> &keep);

// The same for a whole workspace (crm.scan_duplicates).
void delete_stale_candidates_in_workspace(RecordKind kind, std::int64_t workspace,
                                          const std::vector<CandidateRow> &keep);

}  // namespace crm::pg
