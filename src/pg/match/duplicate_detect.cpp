#include "pg/match/duplicate_detect.hpp"

#include <algorithm>
#include <unordered_set>

#include "core/match/blocking.hpp"
#include "core/match/keys.hpp"
#include "core/match/model_json.hpp"
#include "pg/match/match_frequency.hpp"
#include "pg/match/phonetic.hpp"
#include "pg/common/reference_dir.hpp"

namespace crm::pg {

std::vector<StoredProfile> build_profiles(RecordKind kind, const DuplicateSettings &settings,
                                          std::vector<TextRow> &rows) {
  use_installed_reference_data();
  std::vector<StoredProfile> out;
  out.reserve(rows.size());
  for (TextRow &row : rows) {
    StoredProfile p;
    p.id = row.id;
    p.workspace = row.workspace;
    const match::RawRecord raw = raw_record(kind, row, settings.model.attributes);
    p.profile = match::build_profile(kind, raw, settings.model.default_region);
    p.keys = match::blocking_keys(kind, p.profile, row.workspace, double_metaphone);
    p.fingerprint = match::fingerprint(p.profile);
    out.push_back(std::move(p));
  }
  return out;
}

CandidateRow candidate_of(const DuplicateSettings &settings, const StoredProfile &a,
                          const StoredProfile &b, const match::ScoredPair &scored) {
  CandidateRow row;
  row.workspace = a.workspace;
  row.record_id = std::min(a.id, b.id);
  row.other_id = std::max(a.id, b.id);
  row.score = scored.score;
  row.evidence = match::evidence_json(settings.model, scored.comparison);
  row.summary = match::evidence_summary(settings.model, scored.comparison);
  row.fingerprint = a.fingerprint ^ b.fingerprint;
  row.agreed = match::agreed_tokens(settings.model, a.profile, b.profile, scored.comparison.levels);
  return row;
}

std::vector<CandidateRow> detect(const DuplicateSettings &settings,
                                 const std::vector<const StoredProfile *> &fresh,
                                 const std::vector<const StoredProfile *> &others,
                                 const std::vector<std::int64_t> &oversized,
                                 const match::Frequencies &frequencies, CancelCheck cancel) {
  use_installed_reference_data();
  std::vector<const StoredProfile *> all(fresh.begin(), fresh.end());
  std::unordered_set<std::int64_t> fresh_ids;
  for (const StoredProfile *p : fresh) fresh_ids.insert(p->id);
  for (const StoredProfile *p : others)
    if (!fresh_ids.count(p->id)) all.push_back(p);

  // When everything is fresh (a scan), every block is whole and every key counts.
  const bool whole = others.empty() && oversized.empty();
  std::unordered_set<std::int64_t> usable;
  if (!whole)
    for (const StoredProfile *p : fresh)
      for (std::int64_t k : p->keys)
        if (!std::binary_search(oversized.begin(), oversized.end(), k)) usable.insert(k);
  std::vector<std::vector<std::int64_t>> keys(all.size());
  std::vector<bool> is_fresh(all.size(), false);
  std::vector<const match::Profile *> profiles(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    is_fresh[i] = i < fresh.size();
    profiles[i] = &all[i]->profile;
    if (whole) {
      keys[i] = all[i]->keys;
      continue;
    }
    for (std::int64_t k : all[i]->keys)
      if (usable.count(k)) keys[i].push_back(k);
  }
  const match::BlockedPairs blocked = match::blocked_pairs(keys, is_fresh, cancel);
  const std::vector<match::ScoredPair> scored = match::score_pairs(
      settings.model, profiles, blocked.pairs, settings.model.threshold, frequencies, cancel);
  std::vector<CandidateRow> out;
  out.reserve(scored.size());
  for (const match::ScoredPair &s : scored)
    out.push_back(candidate_of(settings, *all[s.first], *all[s.second], s));
  return out;
}

}  // namespace crm::pg
