// The statement-level AFTER trigger on crm.person and crm.company that keeps match profiles and
// duplicate candidates as records are written, and applies the workspace's duplicate rule.
#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "core/match/compare.hpp"
#include "pg/match/duplicate_claims.hpp"
#include "pg/match/duplicate_detect.hpp"
#include "pg/common/guard.hpp"
#include "pg/records/merge_guard.hpp"
#include "pg/match/match_frequency.hpp"
#include "pg/match/phonetic.hpp"
#include "pg/match/record_rows.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/restore_mode.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_duplicates_written);
}

namespace crm::pg {
namespace {

// Beyond this many changed records in one statement (a bulk import), the whole workspace's
// profiles are read once instead of probing the key index record by record.
constexpr std::size_t kProbeLimit = 5000;

struct PairKey {
  std::int64_t a, b;
  bool operator==(const PairKey &) const = default;
};
struct PairHash {
  std::size_t operator()(const PairKey &k) const {
    return std::hash<std::int64_t>()(k.a * 1000003 ^ k.b);
  }
};

constexpr std::int64_t kMerged = std::numeric_limits<std::int64_t>::min();

// Pairs among these records that are dismissed (with the fingerprint they were dismissed at) or
// merged: a rule never fires for them.
std::unordered_map<PairKey, std::int64_t, PairHash> settled_pairs(
    RecordKind kind, const std::vector<std::int64_t> &ids) {
  static const char *sql =
      "SELECT record_id, other_id, status, fingerprint::text FROM crm.duplicate_candidate "
      "WHERE kind = $1 AND (record_id = ANY ($2) OR other_id = ANY ($2)) AND status <> 'open'";
  static const Oid types[2] = {TEXTOID, INT8ARRAYOID};
  const Datum args[2] = {
      pg_call([kind] { return PointerGetDatum(cstring_to_text(kind_name(kind))); }),
      pg_call([&] { return int8_array(ids.data(), static_cast<int>(ids.size())); })};
  std::unordered_map<PairKey, std::int64_t, PairHash> out;
  // text_rows reads the first two bigint columns as id and workspace: here the pair.
  for (TextRow &r : text_rows(sql, 2, types, args, false)) {
    const bool merged = r.columns[0].value_or("") == "merged";
    out[{r.id, r.workspace}] =
        merged ? kMerged : std::strtoll(r.columns[1].value_or("0").c_str(), nullptr, 10);
  }
  return out;
}

void apply_rule(RecordKind kind, const DuplicateSettings &settings,
                const std::vector<CandidateRow> &candidates,
                const std::unordered_set<std::int64_t> &written, bool is_update) {
  if (settings.action == "allow") return;
  // A merge joins duplicates and an unmerge gives back records that existed side by side: the
  // pairs are kept, but neither is refused or warned about.
  if (pg_call([] { return merge_writing(); })) return;
  std::vector<const CandidateRow *> firing;
  for (const CandidateRow &c : candidates)
    if (c.score >= settings.action_threshold) firing.push_back(&c);
  if (firing.empty()) return;
  if (is_update) {
    std::vector<std::int64_t> ids(written.begin(), written.end());
    const auto settled = settled_pairs(kind, ids);
    std::erase_if(firing, [&](const CandidateRow *c) {
      auto it = settled.find({c->record_id, c->other_id});
      return it != settled.end() && (it->second == kMerged || it->second == c->fingerprint);
    });
  }
  // Best first; equal scores (a probability saturates at 1) by the records' ids, so that the
  // messages, and which record a block names, do not depend on the order pairs were found in.
  std::sort(firing.begin(), firing.end(), [](const CandidateRow *x, const CandidateRow *y) {
    if (x->score != y->score) return x->score > y->score;
    return std::pair(x->record_id, x->other_id) < std::pair(y->record_id, y->other_id);
  });
  const std::string name = kind_name(kind);
  constexpr std::size_t kMaxWarnings = 10;
  for (std::size_t i = 0; i < firing.size(); ++i) {
    const CandidateRow &c = *firing[i];
    const bool record_written = written.count(c.record_id) > 0;
    const std::int64_t mine = record_written ? c.record_id : c.other_id;
    const std::int64_t theirs = record_written ? c.other_id : c.record_id;
    char score[64];
    snprintf(score, sizeof score, "%.4f", c.score);
    char threshold[64];
    snprintf(threshold, sizeof threshold, "%.4g", settings.action_threshold);
    const std::string message = name + " " + std::to_string(mine) + " is probably a duplicate of " +
                                name + " " + std::to_string(theirs);
    const std::string detail = std::string("Score ") + score + " reaches the " + settings.action +
                               " threshold " + threshold + " of workspace " +
                               std::to_string(settings.workspace) + "; evidence: " + c.summary +
                               ".";
    if (settings.action == "block")
      throw Error("23505", message, detail,
                  "Update " + name + " " + std::to_string(theirs) +
                      " instead, or change the rule with crm.set_duplicate_rule('" + name +
                      "', 'alert', " + threshold + ").");
    if (i == kMaxWarnings) {
      const std::string more = std::to_string(firing.size() - kMaxWarnings) +
                               " more probable duplicates in this statement";
      pg_call([&] { ereport(WARNING, (errmsg("%s", more.c_str()))); });
      break;
    }
    pg_call([&] {
      ereport(WARNING, (errcode(ERRCODE_UNIQUE_VIOLATION), errmsg("%s", message.c_str()),
                        errdetail("%s", detail.c_str()),
                        errhint("crm.duplicate_candidate lists the pair.")));
    });
  }
}

// The fresh records compared with the records sharing their keys (the whole workspace for a
// bulk statement).
std::vector<CandidateRow> compare_with_blocks(RecordKind kind, const DuplicateSettings &settings,
                                              const std::vector<const StoredProfile *> &fresh,
                                              const std::vector<std::int64_t> &keys,
                                              const std::unordered_set<std::int64_t> &written,
                                              const match::Frequencies &frequencies) {
  std::vector<StoredProfile> loaded;
  std::vector<std::int64_t> oversized;
  if (fresh.size() > kProbeLimit) {
    stream_profiles(kind, settings.workspace, [&](std::vector<StoredProfile> &batch) {
      for (StoredProfile &p : batch)
        if (!written.count(p.id)) loaded.push_back(std::move(p));
    });
  } else {
    loaded = load_blocks(kind, settings.workspace, keys, oversized);
  }
  std::vector<const StoredProfile *> others;
  for (const StoredProfile &p : loaded) others.push_back(&p);
  return detect(settings, fresh, others, oversized, frequencies, interrupt_pending);
}

// A value that grew common weighs less in every stored pair agreeing on it exactly: those pairs
// are scored again. Scores only fall (the counts used are high-water marks), so no new pair can
// appear; a pair that falls below the threshold is removed unless it was dismissed.
void rescore_pairs_agreeing_on(RecordKind kind, const DuplicateSettings &settings,
                               const std::vector<CountedValue> &grown,
                               const std::unordered_set<std::int64_t> &written) {
  std::vector<std::string> tokens;
  for (const CountedValue &v : grown)
    tokens.push_back(match::agreed_token(kind, v.profile_field, v.value));
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs =
      pairs_agreeing_on(kind, settings.workspace, tokens);
  // The statement's own pairs were just scored with the new counts.
  std::erase_if(pairs,
                [&](const auto &p) { return written.count(p.first) || written.count(p.second); });
  if (pairs.empty()) return;
  std::vector<std::int64_t> ids;
  for (const auto &[r, o] : pairs) {
    ids.push_back(r);
    ids.push_back(o);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const std::vector<StoredProfile> profiles = load_profiles(kind, ids);
  std::unordered_map<std::int64_t, const StoredProfile *> by_id;
  std::vector<const StoredProfile *> all;
  for (const StoredProfile &p : profiles) {
    by_id[p.id] = &p;
    all.push_back(&p);
  }
  const match::Frequencies frequencies =
      load_frequencies(kind, settings.workspace, counted_values(kind, all), FrequencyRead::Current);
  std::vector<CandidateRow> kept;
  std::vector<std::pair<std::int64_t, std::int64_t>> fallen;
  for (const auto &[r, o] : pairs) {
    auto x = by_id.find(r), y = by_id.find(o);
    if (x == by_id.end() || y == by_id.end()) continue;
    match::Comparison comparison =
        match::compare(settings.model, x->second->profile, y->second->profile, frequencies);
    const double score = match::probability(match::match_weight(settings.model, comparison));
    if (score >= settings.model.threshold)
      kept.push_back(
          candidate_of(settings, *x->second, *y->second, {0, 0, score, std::move(comparison)}));
    else
      fallen.emplace_back(r, o);
  }
  pg_call([&] {
    ereport(DEBUG1, (errmsg("crm_hygiene: %zu values grew common; %zu pairs re-scored, %zu fell "
                            "below the threshold",
                            grown.size(), kept.size(), fallen.size())));
  });
  upsert_candidates(kind, kept);
  delete_open_pairs(kind, fallen);
}

void records_written(RecordKind kind, bool is_update, TriggerData *td) {
  // The written rows straight from the transition table (no statement planned per write),
  // grouped by workspace: each is compared under its own workspace's model and rule.
  const TupleDesc desc = RelationGetDescr(td->tg_relation);
  std::vector<TextRow> all_rows = transition_records(kind, td->tg_newtable, desc);
  if (is_update && td->tg_oldtable != nullptr) {
    // Rows whose read columns are all as they were (a title, a stage) change no profile: they
    // cost no query at all.
    std::unordered_map<std::int64_t, std::vector<std::optional<std::string>>> before;
    for (TextRow &r : transition_records(kind, td->tg_oldtable, desc))
      before.emplace(r.id, std::move(r.columns));
    std::erase_if(all_rows, [&](const TextRow &r) {
      auto it = before.find(r.id);
      return it != before.end() && it->second == r.columns;
    });
  }
  if (all_rows.empty()) return;
  std::vector<std::int64_t> workspaces;
  for (const TextRow &r : all_rows)
    if (workspaces.empty() || workspaces.back() != r.workspace) workspaces.push_back(r.workspace);
  const std::vector<DuplicateSettings> all_settings = load_settings(kind, workspaces);
  prepare_phonetic();
  std::size_t next = 0;
  for (const DuplicateSettings &settings : all_settings) {
    std::vector<TextRow> rows;
    while (next < all_rows.size() && all_rows[next].workspace == settings.workspace)
      rows.push_back(std::move(all_rows[next++]));
    std::vector<StoredProfile> profiles = build_profiles(kind, settings, rows);

    if (is_update) {
      // A write that changes nothing a comparison reads (a title, a stage) changes no candidate.
      std::vector<std::int64_t> ids;
      for (const StoredProfile &p : profiles) ids.push_back(p.id);
      const auto stored = stored_fingerprints(kind, ids);
      std::erase_if(profiles, [&](const StoredProfile &p) {
        auto it = stored.find(p.id);
        return it != stored.end() && it->second == p.fingerprint;
      });
    }
    if (profiles.empty()) continue;

    std::vector<std::int64_t> keys;
    std::vector<const StoredProfile *> fresh;
    std::vector<std::int64_t> fresh_ids;
    std::unordered_set<std::int64_t> written;
    for (const StoredProfile &p : profiles) {
      keys.insert(keys.end(), p.keys.begin(), p.keys.end());
      fresh.push_back(&p);
      fresh_ids.push_back(p.id);
      written.insert(p.id);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    pg_call([&] {
      claim_workspace_for_write(settings.workspace);
      claim_keys(keys);
    });
    const std::vector<CountedValue> values = counted_values(kind, fresh);
    // An update's counts are read before its write as well (its old values are not at hand); an
    // insert's earlier counts follow from the later ones.
    FrequenciesAround counts;
    if (is_update)
      counts.before = load_frequencies(kind, settings.workspace, values, FrequencyRead::Current);
    write_profiles(kind, fresh);  // its trigger counts the values
    if (is_update)
      counts.after = load_frequencies(kind, settings.workspace, values, FrequencyRead::Locked);
    else
      counts = load_frequencies_around_insert(kind, settings.workspace, values, fresh);
    const match::Frequencies &before = counts.before, &after = counts.after;

    const std::vector<CandidateRow> candidates =
        compare_with_blocks(kind, settings, fresh, keys, written, after);
    apply_rule(kind, settings, candidates, written, is_update);
    upsert_candidates(kind, candidates);
    if (is_update) delete_stale_candidates(kind, fresh_ids, candidates);

    // A value this statement made common weighs less in every stored pair agreeing on it: those
    // pairs are scored again, as a scan would score them now.
    const std::vector<CountedValue> grown =
        values_grown_common(settings.model, values, before, after);
    if (!grown.empty()) rescore_pairs_agreeing_on(kind, settings, grown, written);
  }
}

}  // namespace
}  // namespace crm::pg

extern "C" PGDLLEXPORT Datum crm_duplicates_written(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo)) elog(ERROR, "crm_duplicates_written: not called as a trigger");
  TriggerData *td = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
      td->tg_trigger->tgnargs != 1 || td->tg_newtable == nullptr)
    elog(ERROR,
         "crm_duplicates_written: must fire AFTER ... FOR EACH STATEMENT with a kind and a new "
         "table");
  if (crm::pg::restoring()) return PointerGetDatum(nullptr);  // profiles and pairs as dumped
  const bool is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  crm::pg::RecordKind kind{};
  crm::pg::barrier([&] {
    kind = crm::pg::kind_of(td->tg_trigger->tgargs[0]);
    return Datum(0);
  });
  // An update that left every column a profile reads byte for byte as it was (a title, a stage)
  // is done here, before SPI or any text conversion.
  if (is_update && td->tg_oldtable != nullptr &&
      crm::pg::read_columns_unchanged(kind, td->tg_oldtable, td->tg_newtable,
                                      RelationGetDescr(td->tg_relation)))
    return PointerGetDatum(nullptr);
  // The transition tables are read from their tuplestores: no query names them.
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  crm::pg::barrier([&] {
    crm::pg::records_written(kind, is_update, td);
    return Datum(0);
  });
  SPI_finish();
  return PointerGetDatum(nullptr);
}
