// SQL functions over connection strength: the strength of a stored rank, live pairs for due rows,
// the explanation of one pair, and recomputation when a workspace's model changes.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/connection/explain.hpp"
#include "core/connection/maths.hpp"
#include "pg/common/clock.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/id_query.hpp"
#include "pg/signals/record_apply.hpp"
#include "pg/common/spi.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_connection_strength);
PG_FUNCTION_INFO_V1(crm_connection_band);
PG_FUNCTION_INFO_V1(crm_connections_now);
PG_FUNCTION_INFO_V1(crm_explain_connection);
PG_FUNCTION_INFO_V1(crm_recompute_connections);
}

namespace crm::pg {
namespace {

using connection::kNothing;
using signals::kNoTime;
using signals::Micros;
using signals::RecordKind;

Micros interval_micros(const Interval *i) {
  // The model refuses months, so a day is 24 hours here as everywhere in the model.
  return i->time + static_cast<Micros>(i->day) * USECS_PER_DAY;
}

std::string render_time(Micros m) {
  if (m == kNoTime) return "null";
  const char *text = pg_call([m] {
    return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(m)));
  });
  return std::string("\"") + text + "\"";
}

std::int64_t count_rows(const char *sql, std::int64_t id) {
  return pg_call([&] {
    static const Oid types[1] = {INT8OID};
    Datum arg = Int64GetDatum(id);
    execute_once(sql, 1, types, &arg, nullptr, true, SPI_OK_SELECT);
    return static_cast<std::int64_t>(SPI_processed);
  });
}

std::vector<std::int64_t> ids_of(const char *sql, std::int64_t workspace) {
  static const Oid types[1] = {INT8OID};
  const Datum arg = Int64GetDatum(workspace);
  return query_ids(sql, 1, types, &arg, false);
}

}  // namespace
}  // namespace crm::pg

using namespace crm::pg;

extern "C" PGDLLEXPORT Datum crm_connection_strength(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3)) PG_RETURN_NULL();
  crm::connection::Model model;
  model.half_life = interval_micros(PG_GETARG_INTERVAL_P(1));
  model.scale = PG_GETARG_FLOAT8(2);
  if (model.half_life <= 0 || !(model.scale > 0))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("half-life and scale of a connection model must be positive")));
  const double rank = PG_ARGISNULL(0) ? kNothing : PG_GETARG_FLOAT8(0);
  PG_RETURN_FLOAT8(crm::connection::strength(rank, PG_GETARG_TIMESTAMPTZ(3), model));
}

extern "C" PGDLLEXPORT Datum crm_connection_band(PG_FUNCTION_ARGS) {
  for (int i = 0; i < 5; ++i)
    if (PG_ARGISNULL(i)) PG_RETURN_NULL();
  crm::connection::Model model;
  model.very_strong = PG_GETARG_FLOAT8(1);
  model.strong = PG_GETARG_FLOAT8(2);
  model.good = PG_GETARG_FLOAT8(3);
  model.weak = PG_GETARG_FLOAT8(4);
  const std::string_view band = crm::connection::band(PG_GETARG_FLOAT8(0), model);
  PG_RETURN_TEXT_P(cstring_to_text_with_len(band.data(), static_cast<int>(band.size())));
}

extern "C" PGDLLEXPORT Datum crm_connections_now(PG_FUNCTION_ARGS) {
  text *kind_text = PG_GETARG_TEXT_PP(0);
  const std::int64_t record = PG_GETARG_INT64(1);
  const std::string_view kind_view(VARDATA_ANY(kind_text), VARSIZE_ANY_EXHDR(kind_text));
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  const TimestampTz now = current_clock();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  barrier([&] {
    auto kind = crm::signals::parse_record_kind(kind_view);
    if (!kind)
      throw crm::Error("22023",
                       "unknown record kind \"" + std::string(kind_view.substr(0, 64)) + "\"", "",
                       "use 'person' or 'company'");
    Recomputed r = recompute(*kind, RecordIds{record}, now, true);
    const crm::connection::Contacts &contacts = r.contacts[record];
    auto put = [&](Datum *values, bool *nulls) {
      pg_call([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    };
    if (*kind == RecordKind::Person) {
      for (const auto &[key, p] : contacts) {
        const double rank = p.rank();
        Datum v[9] = {Int64GetDatum(key.member_id),
                      Float8GetDatum(rank),
                      Int64GetDatum(p.emails_sent),
                      Int64GetDatum(p.emails_received),
                      Int64GetDatum(p.meetings),
                      Int64GetDatum(p.calls),
                      Int64GetDatum(0),
                      TimestampTzGetDatum(p.first_at),
                      TimestampTzGetDatum(p.last_at)};
        bool n[9] = {false,
                     rank == kNothing,
                     false,
                     false,
                     false,
                     false,
                     true,
                     p.first_at == kNoTime,
                     p.last_at == kNoTime};
        put(v, n);
      }
    } else {
      for (const auto &[member, p] : crm::connection::roll_up(contacts)) {
        Datum v[9] = {Int64GetDatum(member),
                      Float8GetDatum(p.rank),
                      0,
                      0,
                      0,
                      0,
                      Int64GetDatum(p.people),
                      0,
                      TimestampTzGetDatum(p.last_at)};
        bool n[9] = {false, p.rank == kNothing,  true, true, true, true, false,
                     true,  p.last_at == kNoTime};
        put(v, n);
      }
    }
    return Datum(0);
  });
  SPI_finish();
  return Datum(0);
}

extern "C" PGDLLEXPORT Datum crm_explain_connection(PG_FUNCTION_ARGS) {
  const std::int64_t member = PG_GETARG_INT64(0);
  const std::int64_t person = PG_GETARG_INT64(1);
  const TimestampTz now = current_clock();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  char *json_text = nullptr;  // in the caller's memory context: no C++ object outlives the barrier
  barrier([&] {
    if (count_rows("SELECT 1 FROM crm.person WHERE id = $1", person) == 0)
      throw crm::Error("P0002", "person " + std::to_string(person) + " does not exist");
    if (count_rows("SELECT 1 FROM crm.member WHERE id = $1", member) == 0)
      throw crm::Error("P0002", "member " + std::to_string(member) + " does not exist");
    std::vector<crm::connection::Term> terms;
    crm::connection::Model model;
    Recomputed r = recompute(
        RecordKind::Person, RecordIds{person}, now, true, [&](crm::signals::Folder &folder) {
          folder.set_term_sink(
              [&](const crm::connection::Term &t, const crm::connection::Model &m) {
                if (t.member_id != member || t.person_id != person) return;
                terms.push_back(t);
                model = m;
              });
        });
    const auto &contacts = r.contacts[person];
    auto it = contacts.find({member, person, 0});
    const crm::connection::Explanation e = crm::connection::explain(
        std::move(terms), model, now, it == contacts.end() ? nullptr : &it->second);
    const std::string json =
        crm::connection::explanation_json(e, model, member, person, now, render_time);
    json_text = pg_call([&] {
      char *copy = static_cast<char *>(SPI_palloc(json.size() + 1));
      memcpy(copy, json.c_str(), json.size() + 1);
      return copy;
    });
    return Datum(0);
  });
  SPI_finish();
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json_text)));
}

extern "C" PGDLLEXPORT Datum crm_recompute_connections(PG_FUNCTION_ARGS) {
  const std::int64_t workspace = PG_GETARG_INT64(0);
  const TimestampTz now = current_clock();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "crm_hygiene: SPI_connect failed");
  std::int64_t written = 0;
  barrier([&] {
    const auto persons =
        ids_of("SELECT person_id FROM crm.person_signal WHERE workspace_id = $1", workspace);
    const auto companies =
        ids_of("SELECT company_id FROM crm.company_signal WHERE workspace_id = $1", workspace);
    written = apply_both({}, RecordIds(persons.begin(), persons.end()),
                         RecordIds(companies.begin(), companies.end()), now);
    return Datum(0);
  });
  SPI_finish();
  PG_RETURN_INT64(written);
}
