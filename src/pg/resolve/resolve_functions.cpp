// crm.resolve and crm.resolve_why (src/sql/75_resolve.sql, docs/RESOLVE.md).
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/resolve/why.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/spi.hpp"
#include "pg/common/text_rows.hpp"
#include "pg/resolve/resolve_run.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_resolve);
PG_FUNCTION_INFO_V1(crm_resolve_why);
}

namespace crm::pg {
namespace {

// Results crm.resolve returns at most: a mention names one record, a picker shows a handful.
constexpr int kMaxResults = 100;
// crm.resolve's default number of results: what crm.resolve_why ranks against.
constexpr std::size_t kDefaultResults = 5;

std::vector<std::string> text_array_arg(Datum array) {
  std::vector<std::string> out;
  Datum *elements = nullptr;
  bool *nulls = nullptr;
  int count = 0;
  pg_call([&] {
    deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT, &elements,
                      &nulls, &count);
  });
  for (int i = 0; i < count; ++i) {
    if (nulls[i]) throw Error("22004", "kinds must not contain NULL");
    const Datum element = elements[i];
    const text *t = pg_call([element] {
      return reinterpret_cast<const text *>(
          pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(element))));
    });
    out.emplace_back(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
  }
  return out;
}

std::vector<resolve::Kind> kinds_of(const std::vector<std::string> &names) {
  if (names.empty())
    throw Error("22023", "kinds must name at least one kind", "",
                "use some of 'person', 'company' and 'deal'");
  std::vector<resolve::Kind> kinds;
  for (const std::string &name : names) {
    const resolve::Kind kind = resolve_kind(name);
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
  }
  return kinds;
}

// Whether the record exists in this workspace, and the live record a tombstone resolves to.
struct RecordState {
  bool exists = false;
  std::optional<std::int64_t> merged_into;
};

RecordState record_state(resolve::Kind kind, std::int64_t id, std::int64_t workspace) {
  static SPIPlanPtr plans[3] = {nullptr, nullptr, nullptr};
  static const char *const queries[3] = {
      "SELECT r.id, r.workspace_id, (r.merged_into IS NOT NULL)::text, "
      "crm.resolve_id('person', r.id)::text FROM crm.person r WHERE r.id = $1",
      "SELECT r.id, r.workspace_id, (r.merged_into IS NOT NULL)::text, "
      "crm.resolve_id('company', r.id)::text FROM crm.company r WHERE r.id = $1",
      "SELECT r.id, r.workspace_id, (r.merged_into IS NOT NULL)::text, "
      "crm.resolve_id('deal', r.id)::text FROM crm.deal r WHERE r.id = $1"};
  static const Oid types[1] = {INT8OID};
  const int k = static_cast<int>(kind);
  Datum arg = Int64GetDatum(id);
  std::vector<TextRow> rows = text_rows_kept(&plans[k], queries[k], 1, types, &arg, true);
  RecordState state;
  if (rows.empty() || rows[0].workspace != workspace) return state;
  state.exists = true;
  if (rows[0].columns[0] == "true" && rows[0].columns[1])
    state.merged_into = std::stoll(*rows[0].columns[1]);
  return state;
}

}  // namespace
}  // namespace crm::pg

using crm::pg::barrier;
using crm::pg::pg_call;

extern "C" PGDLLEXPORT Datum crm_resolve(PG_FUNCTION_ARGS) {
  const std::string_view mention = crm::pg::text_view(PG_GETARG_DATUM(0));
  const Datum hints = PG_GETARG_DATUM(1);
  const Datum kinds = PG_GETARG_DATUM(2);
  const int max_results = PG_GETARG_INT32(3);
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  barrier([&] {
    if (max_results < 1 || max_results > crm::pg::kMaxResults)
      throw crm::Error("22023", "max_results must be between 1 and 100",
                       "max_results is " + std::to_string(max_results));
    crm::pg::ResolveRequest request;
    request.mention = std::string(mention);
    request.hints = hints;
    request.kinds = crm::pg::kinds_of(crm::pg::text_array_arg(kinds));
    crm::pg::Resolution r =
        crm::pg::resolve_mention(request, static_cast<std::size_t>(max_results));
    if (r.ranked.size() > static_cast<std::size_t>(max_results)) r.ranked.resize(max_results);
    for (const crm::resolve::Scored &s : r.ranked) {
      const std::string evidence = crm::resolve::evidence_json(s);
      const char *kind = crm::pg::kind_name(s.evidence.kind);
      const char *level = crm::resolve::level_name(s.level);
      pg_call([&] {
        Datum values[7] = {CStringGetTextDatum(kind),
                           Int64GetDatum(s.evidence.record_id),
                           Float8GetDatum(s.score),
                           CStringGetTextDatum(level),
                           CStringGetTextDatum(s.key.c_str()),
                           DirectFunctionCall1(jsonb_in, CStringGetDatum(evidence.c_str())),
                           BoolGetDatum(s.ambiguous)};
        bool nulls[7] = {false, false, false, false, false, false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
      });
    }
    return Datum(0);
  });
  SPI_finish();
  return Datum(0);
}

extern "C" PGDLLEXPORT Datum crm_resolve_why(PG_FUNCTION_ARGS) {
  const std::string_view mention = crm::pg::text_view(PG_GETARG_DATUM(0));
  const Datum hints = PG_GETARG_DATUM(1);
  const std::string_view kind_text = crm::pg::text_view(PG_GETARG_DATUM(2));
  const std::int64_t record_id = PG_GETARG_INT64(3);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  Datum result = barrier([&] {
    const crm::resolve::Kind kind = crm::pg::resolve_kind(kind_text);
    crm::pg::ResolveRequest request;
    request.mention = std::string(mention);
    request.hints = hints;
    request.kinds = {crm::resolve::Kind::Person, crm::resolve::Kind::Company,
                     crm::resolve::Kind::Deal};
    const crm::pg::Resolution r = crm::pg::resolve_mention(request, crm::pg::kDefaultResults);
    crm::resolve::WhyFacts facts;
    facts.kind = crm::pg::kind_name(kind);
    facts.record_id = record_id;
    facts.max_results = crm::pg::kDefaultResults;
    const crm::pg::RecordState state = crm::pg::record_state(kind, record_id, r.workspace);
    facts.exists = state.exists;
    facts.merged_into = state.merged_into;
    facts.mention_empty = r.mention.empty();
    if (facts.exists && !facts.merged_into && !facts.mention_empty) {
      facts.found = r.found.count({kind, record_id}) > 0;
      facts.fuzzy_ran = r.fuzzy_ran;
      facts.names_searched = r.names_searched;
      for (std::size_t i = 0; i < r.ranked.size(); ++i) {
        const crm::resolve::Scored &s = r.ranked[i];
        if (s.evidence.kind == kind && s.evidence.record_id == record_id) {
          facts.rank = i + 1;
          facts.ambiguous = s.ambiguous;
          facts.scored = s;
        }
      }
      if (!facts.scored) {
        bool exists = false;
        facts.scored = crm::pg::score_record(r, kind, record_id, exists);
      }
    }
    const std::string json = crm::resolve::why_json(facts);
    return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.c_str())); });
  });
  // Out of SPI's memory, which SPI_finish frees.
  result = SPI_datumTransfer(result, false, -1);
  SPI_finish();
  return result;
}
