// SQL functions over duplicate detection that read: crm.find_duplicates, crm._duplicate_sets,
// the model's default and its validation.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/match/model_json.hpp"
#include "core/match/sets.hpp"
#include "pg/match/duplicate_detect.hpp"
#include "pg/common/guard.hpp"
#include "pg/match/match_frequency.hpp"
#include "pg/common/clock.hpp"
#include "pg/match/phonetic.hpp"
#include "pg/common/spi.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_find_duplicates);
PG_FUNCTION_INFO_V1(crm_duplicate_sets);
PG_FUNCTION_INFO_V1(crm_default_duplicate_model);
PG_FUNCTION_INFO_V1(crm_valid_duplicate_model);
}

namespace crm::pg {
namespace {

std::string_view text_arg(FunctionCallInfo fcinfo, int i) {
  text *t = PG_GETARG_TEXT_PP(i);
  return {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
}

// The record's fields read from jsonb by SQL, so the casts (a date, an id) and their errors are
// Postgres' own; columns in record_query's order.
std::string probe_query(RecordKind kind) {
  std::string sql = "SELECT coalesce((r->>'id')::bigint, 0), crm.current_workspace(), ";
  sql += kind == RecordKind::Person
             ? "r->>'first_name', r->>'last_name', r->>'email', r->>'phone', r->>'street', "
               "r->>'city', r->>'postal_code', r->>'country', "
               "to_char((r->>'birth_date')::date, 'YYYY-MM-DD'), "
               "((r->>'company_id')::bigint)::text, "
               "(SELECT string_agg(e, E'\\x1f') FROM jsonb_array_elements_text("
               "CASE WHEN jsonb_typeof(r->'emails') = 'array' THEN r->'emails' END) e)"
             : "r->>'name', r->>'domain', r->>'phone', r->>'street', r->>'city', "
               "r->>'postal_code', r->>'country', NULL::text";
  return sql + ", (r->'attributes')::text FROM (SELECT $1::jsonb AS r) s";
}

struct Found {
  std::int64_t record_id;
  double score;
  std::string evidence;
};

std::vector<Found> find(RecordKind kind, Datum record, int max_results) {
  // The setting itself, not an SPI query planned and run per call only to read it.
  const std::int64_t workspace = pg_call([] { return session_workspace(); });
  // SECURITY DEFINER: the caller must be allowed the workspace (42501 otherwise).
  static SPIPlanPtr allowed = nullptr;
  static const Oid workspace_type[1] = {INT8OID};
  Datum workspace_arg = Int64GetDatum(workspace);
  text_rows_kept(&allowed, "SELECT crm._require_workspace($1), $1", 1, workspace_type,
                 &workspace_arg, true);
  const DuplicateSettings settings = load_settings(kind, {workspace}).at(0);
  prepare_phonetic();
  static const Oid types[1] = {JSONBOID};
  static SPIPlanPtr plans[2] = {nullptr, nullptr};
  const std::string sql = probe_query(kind);
  std::vector<TextRow> rows = text_rows_kept(&plans[kind == RecordKind::Person ? 0 : 1],
                                             sql.c_str(), 1, types, &record, true);
  std::vector<StoredProfile> probe = build_profiles(kind, settings, rows);
  const std::int64_t own_id = probe.at(0).id;
  probe[0].id = 0;  // never an identity value: the probe pairs with every other record
  std::vector<std::int64_t> oversized;
  std::vector<StoredProfile> loaded = load_blocks(kind, workspace, probe[0].keys, oversized);
  std::vector<const StoredProfile *> others;
  for (const StoredProfile &p : loaded)
    if (p.id != own_id) others.push_back(&p);
  // A record not written yet is counted as if it were: what its insert would score.
  const match::Frequencies frequencies = load_frequencies(
      kind, workspace, counted_values(kind, {&probe[0]}), FrequencyRead::Snapshot, own_id == 0);
  const std::vector<CandidateRow> candidates =
      detect(settings, {&probe[0]}, others, oversized, frequencies, interrupt_pending);
  std::vector<Found> found;
  for (const CandidateRow &c : candidates)
    found.push_back({c.record_id == 0 ? c.other_id : c.record_id, c.score, c.evidence});
  std::sort(found.begin(), found.end(), [](const Found &a, const Found &b) {
    return a.score != b.score ? a.score > b.score : a.record_id < b.record_id;
  });
  if (found.size() > static_cast<std::size_t>(max_results)) found.resize(max_results);
  return found;
}

}  // namespace
}  // namespace crm::pg

using crm::pg::barrier;
using crm::pg::pg_call;

extern "C" PGDLLEXPORT Datum crm_find_duplicates(PG_FUNCTION_ARGS) {
  const std::string_view kind_text = crm::pg::text_arg(fcinfo, 0);
  const Datum record = PG_GETARG_DATUM(1);
  const int max_results = PG_GETARG_INT32(2);
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  barrier([&] {
    const auto kind = crm::pg::kind_of(kind_text);
    if (max_results < 1)
      throw crm::Error("22023", "max_results must be at least 1",
                       "max_results is " + std::to_string(max_results));
    const bool is_object = pg_call([&] {
      Jsonb *j = DatumGetJsonbP(record);
      return JB_ROOT_IS_OBJECT(j) && !JB_ROOT_IS_SCALAR(j);
    });
    if (!is_object)
      throw crm::Error("22023", "record must be a JSON object of column names and values", "",
                       "for example {\"first_name\": \"Ada\", \"email\": \"ada@example.com\"}");
    for (const crm::pg::Found &f : crm::pg::find(kind, record, max_results)) {
      pg_call([&] {
        Datum values[3] = {Int64GetDatum(f.record_id), Float8GetDatum(f.score),
                           DirectFunctionCall1(jsonb_in, CStringGetDatum(f.evidence.c_str()))};
        bool nulls[3] = {false, false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
      });
    }
    return Datum(0);
  });
  SPI_finish();
  return Datum(0);
}

extern "C" PGDLLEXPORT Datum crm_duplicate_sets(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  barrier([&] {
    // Grouped by workspace and kind; within a group, coherent sets of the open pairs.
    std::vector<crm::pg::TextRow> rows = crm::pg::text_rows(
        "SELECT record_id, other_id, workspace_id::text, kind, score::text "
        "FROM crm.duplicate_candidate WHERE status = 'open' ORDER BY workspace_id, kind",
        0, nullptr, nullptr, true);
    for (std::size_t begin = 0; begin < rows.size();) {
      std::size_t end = begin;
      std::vector<crm::match::CandidatePair> pairs;
      auto same_group = [&](std::size_t i) {
        return rows[i].columns[0] == rows[begin].columns[0] &&
               rows[i].columns[1] == rows[begin].columns[1];
      };
      while (end < rows.size() && same_group(end)) {
        pairs.push_back({rows[end].id, rows[end].workspace,
                         std::strtod(rows[end].columns[2].value_or("0").c_str(), nullptr)});
        ++end;
      }
      const std::int64_t workspace = std::stoll(rows[begin].columns[0].value_or("0"));
      const std::string kind = rows[begin].columns[1].value_or("");
      for (const crm::match::SetMember &m :
           crm::match::coherent_sets(pairs, crm::pg::interrupt_pending)) {
        pg_call([&] {
          Datum values[4] = {
              Int64GetDatum(workspace),
              PointerGetDatum(cstring_to_text_with_len(kind.data(), static_cast<int>(kind.size()))),
              Int64GetDatum(m.set_id), Int64GetDatum(m.record_id)};
          bool nulls[4] = {false, false, false, false};
          tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        });
      }
      begin = end;
    }
    return Datum(0);
  });
  SPI_finish();
  return Datum(0);
}

extern "C" PGDLLEXPORT Datum crm_default_duplicate_model(PG_FUNCTION_ARGS) {
  const std::string_view kind_text = crm::pg::text_arg(fcinfo, 0);
  return barrier([&] {
    const std::string json =
        crm::match::to_json(crm::match::default_model(crm::pg::kind_of(kind_text)));
    return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.c_str())); });
  });
}

extern "C" PGDLLEXPORT Datum crm_valid_duplicate_model(PG_FUNCTION_ARGS) {
  const std::string_view kind_text = crm::pg::text_arg(fcinfo, 0);
  const Datum model = PG_GETARG_DATUM(1);
  return barrier([&] {
    const auto kind = crm::pg::kind_of(kind_text);
    const char *text =
        pg_call([&] { return DatumGetCString(DirectFunctionCall1(jsonb_out, model)); });
    crm::match::model_from_json(kind, text);  // throws 22023 with the reason
    return BoolGetDatum(true);
  });
}
