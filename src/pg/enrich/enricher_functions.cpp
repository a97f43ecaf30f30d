// The built-in enrichers' pure parts as SQL functions (src/sql/78_enrichers.sql): a display name
// split into first and last name, countries by name or code, a country's time zone, a phone
// number's country. No SPI, no catalog lookup by name.
#include <optional>
#include <string>
#include <string_view>

#include "core/enrich/country.hpp"
#include "core/enrich/display_name.hpp"
#include "core/match/text.hpp"
#include "pg/common/utf8_text.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_split_display_name);
PG_FUNCTION_INFO_V1(crm_country_code);
PG_FUNCTION_INFO_V1(crm_country_name);
PG_FUNCTION_INFO_V1(crm_country_time_zone);
PG_FUNCTION_INFO_V1(crm_phone_country);
PG_FUNCTION_INFO_V1(crm_label_key);
}

using namespace crm::pg;

// (display_name) -> (first_name, last_name); NULLs when no name is left.
extern "C" PGDLLEXPORT Datum crm_split_display_name(PG_FUNCTION_ARGS) {
  TupleDesc desc = nullptr;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "crm.split_display_name: must return a record");
  desc = BlessTupleDesc(desc);
  const std::string_view s = utf8_arg(fcinfo, 0);
  Datum values[2] = {0, 0};
  bool nulls[2] = {true, true};
  barrier([&]() -> Datum {
    const std::optional<crm::enrich::PersonName> name = crm::enrich::split_display_name(s);
    if (!name) return 0;
    pg_call([&] {
      values[0] = text_datum(name->first);
      nulls[0] = false;
      if (!name->last.empty()) {
        values[1] = text_datum(name->last);
        nulls[1] = false;
      }
    });
    return 0;
  });
  return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

extern "C" PGDLLEXPORT Datum crm_country_code(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo, [&] { return crm::enrich::country_code(s); });
}

extern "C" PGDLLEXPORT Datum crm_country_name(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo, [&] {
    const std::optional<std::string> code = crm::enrich::country_code(s);
    return code ? crm::enrich::country_name(*code) : std::nullopt;
  });
}

extern "C" PGDLLEXPORT Datum crm_country_time_zone(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo, [&] {
    const std::optional<std::string> code = crm::enrich::country_code(s);
    return code ? crm::enrich::country_time_zone(*code) : std::nullopt;
  });
}

extern "C" PGDLLEXPORT Datum crm_phone_country(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo, [&] { return crm::enrich::phone_country(s); });
}

// crm._label_key(label): what a picklist label is matched by, whatever the database's collation:
// its letters and digits, transliterated to lower-case ASCII (match::fold_compact).
extern "C" PGDLLEXPORT Datum crm_label_key(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo,
                     [&]() -> std::optional<std::string> { return crm::match::fold_compact(s); });
}
