// SQL functions over a whole workspace: crm.scan_duplicates (profiles and candidates rebuilt from
// the records) and crm.train_duplicate_model (the model estimated from the records).
#include <algorithm>
#include <cinttypes>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "core/match/blocking.hpp"
#include "core/match/compare.hpp"
#include "core/match/keys.hpp"
#include "core/match/model_json.hpp"
#include "core/match/training.hpp"
#include "core/match/training_sample.hpp"
#include "pg/match/duplicate_claims.hpp"
#include "pg/match/duplicate_detect.hpp"
#include "pg/common/guard.hpp"
#include "pg/match/match_frequency.hpp"
#include "pg/common/id_query.hpp"
#include "pg/match/phonetic.hpp"
#include "pg/match/record_rows.hpp"
#include "pg/common/spi.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_scan_duplicates);
PG_FUNCTION_INFO_V1(crm_train_duplicate_model);
}

namespace crm::pg {
namespace {

constexpr long kReadBatch = 20000;

const char *table_of(RecordKind kind) {
  return kind == RecordKind::Person ? "crm.person" : "crm.company";
}

void progress(const std::string &message) {
  pg_call([&] { ereport(NOTICE, (errmsg("%s", message.c_str()))); });
}

std::int64_t current_workspace() {
  // These run with the owner's rights: the boundary is checked for the role they act for.
  return query_ids("SELECT crm._require_workspace(crm.current_workspace())", 0, nullptr, nullptr,
                   true)
      .at(0);
}

// Every record of the workspace and kind, profiled.
std::vector<StoredProfile> profile_records(RecordKind kind, const DuplicateSettings &settings,
                                           const char *verb) {
  const std::string sql =
      record_query(kind, std::string(table_of(kind)) + " WHERE workspace_id = $1");
  static const Oid types[1] = {INT8OID};
  const Datum ws = Int64GetDatum(settings.workspace);
  std::vector<StoredProfile> all;
  std::size_t reported = 0;
  stream_text_rows(sql.c_str(), 1, types, &ws, false, kReadBatch, [&](std::vector<TextRow> &rows) {
    std::vector<StoredProfile> batch = build_profiles(kind, settings, rows);
    std::move(batch.begin(), batch.end(), std::back_inserter(all));
    if (all.size() - reported >= 100000) {
      reported = all.size();
      progress(std::string(verb) + ": " + std::to_string(all.size()) + " " + kind_name(kind) +
               " records profiled");
    }
  });
  return all;
}

std::int64_t scan(RecordKind kind) {
  const std::int64_t workspace = current_workspace();
  pg_call([&] { claim_workspace_for_scan(workspace); });
  const DuplicateSettings settings = load_settings(kind, {workspace}).at(0);
  prepare_phonetic();
  std::vector<StoredProfile> all = profile_records(kind, settings, "scan_duplicates");

  // Profiles the triggers did not keep (they were disabled, or the records predate the model's
  // attributes) are written; profiles of records deleted meanwhile are removed.
  // A profile is written again when its fields changed, or its keys did (a release that adds a
  // blocking rule): the write path finds blocks through the stored keys.
  struct Stored {
    std::int64_t fingerprint, keys;
  };
  auto keys_digest = [](const std::vector<std::int64_t> &keys) {
    std::uint64_t h = 1469598103934665603ULL;
    for (std::int64_t k : keys) h = (h ^ static_cast<std::uint64_t>(k)) * 1099511628211ULL;
    return static_cast<std::int64_t>(h);
  };
  std::unordered_map<std::int64_t, Stored> stored;
  stream_profiles(
      kind, workspace,
      [&](std::vector<StoredProfile> &batch) {
        for (const StoredProfile &p : batch)
          stored.emplace(p.id, Stored{p.fingerprint, keys_digest(p.keys)});
      },
      ProfileColumns::WithoutFields);
  std::vector<const StoredProfile *> changed;
  std::unordered_set<std::int64_t> present;
  for (const StoredProfile &p : all) {
    present.insert(p.id);
    auto it = stored.find(p.id);
    if (it == stored.end() || it->second.fingerprint != p.fingerprint ||
        it->second.keys != keys_digest(p.keys))
      changed.push_back(&p);
  }
  std::vector<std::int64_t> orphans;
  for (const auto &[id, profile] : stored)
    if (!present.count(id)) orphans.push_back(id);
  progress("scan_duplicates: " + std::to_string(all.size()) + " records, " +
           std::to_string(changed.size()) + " profiles to write, " +
           std::to_string(orphans.size()) + " to remove");
  write_profiles(kind, changed);
  if (!orphans.empty()) {
    static const Oid types[2] = {TEXTOID, INT8ARRAYOID};
    pg_call([&] {
      const Datum args[2] = {PointerGetDatum(cstring_to_text(kind_name(kind))),
                             int8_array(orphans.data(), static_cast<int>(orphans.size()))};
      execute_once(
          "DELETE FROM crm.duplicate_candidate WHERE kind = $1 "
          "AND (record_id = ANY ($2) OR other_id = ANY ($2))",
          2, types, args, nullptr, false, SPI_OK_DELETE);
      execute_once("DELETE FROM crm.match_profile WHERE kind = $1 AND record_id = ANY ($2)", 2,
                   types, args, nullptr, false, SPI_OK_DELETE);
    });
  }

  std::vector<const StoredProfile *> fresh;
  fresh.reserve(all.size());
  for (const StoredProfile &p : all) fresh.push_back(&p);
  progress("scan_duplicates: comparing the records that share a blocking key");
  const match::Frequencies frequencies = load_workspace_frequencies(kind, workspace);
  const std::vector<CandidateRow> candidates =
      detect(settings, fresh, {}, {}, frequencies, interrupt_pending);
  progress("scan_duplicates: " + std::to_string(candidates.size()) + " candidate pairs; writing");
  upsert_candidates(kind, candidates);
  delete_stale_candidates_in_workspace(kind, workspace, candidates);

  static const Oid types[2] = {INT8OID, TEXTOID};
  const Datum args[2] = {Int64GetDatum(workspace), pg_call([&] {
                           return PointerGetDatum(cstring_to_text(kind_name(kind)));
                         })};
  return static_cast<std::int64_t>(
      query_ids("SELECT count(*) FROM crm.duplicate_candidate "
                "WHERE workspace_id = $1 AND kind = $2 AND status = 'open'",
                2, types, args, false)
          .at(0));
}

std::string train(RecordKind kind) {
  const std::int64_t workspace = current_workspace();
  const DuplicateSettings settings = load_settings(kind, {workspace}).at(0);
  prepare_phonetic();
  const std::vector<StoredProfile> all = profile_records(kind, settings, "train_duplicate_model");
  const std::size_t n = all.size();
  if (n < 2)
    throw Error("22023", "too few records to train on",
                "workspace " + std::to_string(workspace) + " has " + std::to_string(n) + " " +
                    kind_name(kind) + " records");

  std::vector<const match::Profile *> profiles(n);
  for (std::size_t i = 0; i < n; ++i) profiles[i] = &all[i].profile;
  const match::TrainingInput input = match::training_input(
      kind, settings.model, profiles, workspace, double_metaphone, interrupt_pending);
  progress("train_duplicate_model: " + std::to_string(input.sessions.size()) + " sessions and " +
           std::to_string(input.random.size()) + " random pairs compared");
  const match::TrainingResult result =
      match::train(match::training_start(kind, settings.model), input, interrupt_pending);
  match::validate(result.model);
  const std::string model_json = match::to_json(result.model);

  static const Oid types[3] = {INT8OID, TEXTOID, TEXTOID};
  pg_call([&] {
    const Datum args[3] = {Int64GetDatum(workspace),
                           PointerGetDatum(cstring_to_text(kind_name(kind))),
                           PointerGetDatum(cstring_to_text(model_json.c_str()))};
    execute_once(
        "INSERT INTO crm.duplicate_model (workspace_id, kind, model, trained_at) "
        "VALUES ($1, $2, $3::jsonb, crm.now()) ON CONFLICT (workspace_id, kind) "
        "DO UPDATE SET model = excluded.model, trained_at = excluded.trained_at",
        3, types, args, nullptr, false, SPI_OK_INSERT);
  });
  return match::training_report(result.model, n, input, result);
}

}  // namespace
}  // namespace crm::pg

extern "C" PGDLLEXPORT Datum crm_scan_duplicates(PG_FUNCTION_ARGS) {
  text *kind_text = PG_GETARG_TEXT_PP(0);
  const std::string_view kind_view(VARDATA_ANY(kind_text), VARSIZE_ANY_EXHDR(kind_text));
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  const Datum result =
      crm::pg::barrier([&] { return Int64GetDatum(crm::pg::scan(crm::pg::kind_of(kind_view))); });
  SPI_finish();
  return result;
}

extern "C" PGDLLEXPORT Datum crm_train_duplicate_model(PG_FUNCTION_ARGS) {
  text *kind_text = PG_GETARG_TEXT_PP(0);
  const std::string_view kind_view(VARDATA_ANY(kind_text), VARSIZE_ANY_EXHDR(kind_text));
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  char *json = nullptr;
  crm::pg::barrier([&] {
    const std::string doc = crm::pg::train(crm::pg::kind_of(kind_view));
    char *copy = static_cast<char *>(crm::pg::pg_call([&] { return SPI_palloc(doc.size() + 1); }));
    memcpy(copy, doc.c_str(), doc.size() + 1);
    json = copy;
    return Datum(0);
  });
  SPI_finish();
  return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}
