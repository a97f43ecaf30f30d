// SQL functions over the normalisers of src/core/match/normalize.hpp. Arguments are read and
// converted to UTF-8 first (plain Postgres phase), the core runs inside barrier, and results are
// turned into Datums through pg_call.
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/match/normalize.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/reference_dir.hpp"
#include "pg/common/utf8_text.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(crm_normalize_email);
PG_FUNCTION_INFO_V1(crm_normalize_phone);
PG_FUNCTION_INFO_V1(crm_registrable_domain);
PG_FUNCTION_INFO_V1(crm_is_free_email_domain);
PG_FUNCTION_INFO_V1(crm_is_disposable_email_domain);
PG_FUNCTION_INFO_V1(crm_normalize_company_name);
PG_FUNCTION_INFO_V1(crm_normalize_person_name);
PG_FUNCTION_INFO_V1(crm_given_name_forms);
}

namespace crm::pg {
namespace {

template <typename Compute>
Datum bool_result(FunctionCallInfo fcinfo, Compute compute) {
  bool is_null = false;
  const Datum result = barrier([&]() -> Datum {
    use_installed_reference_data();
    const std::optional<bool> out = compute();
    if (!out) {
      is_null = true;
      return 0;
    }
    return BoolGetDatum(*out);
  });
  if (is_null) PG_RETURN_NULL();
  return result;
}

}  // namespace
}  // namespace crm::pg

using namespace crm::pg;

extern "C" PGDLLEXPORT Datum crm_normalize_email(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo, [&] { return crm::match::normalize_email(s); });
}

extern "C" PGDLLEXPORT Datum crm_normalize_phone(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  const std::string_view region = utf8_arg(fcinfo, 1);
  return text_result(fcinfo, [&] { return crm::match::normalize_phone(s, region); });
}

extern "C" PGDLLEXPORT Datum crm_registrable_domain(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo, [&] { return crm::match::registrable_domain(s); });
}

extern "C" PGDLLEXPORT Datum crm_is_free_email_domain(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return bool_result(fcinfo, [&] { return crm::match::is_free_email_domain(s); });
}

extern "C" PGDLLEXPORT Datum crm_is_disposable_email_domain(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return bool_result(fcinfo, [&] { return crm::match::is_disposable_email_domain(s); });
}

extern "C" PGDLLEXPORT Datum crm_normalize_company_name(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo, [&] { return crm::match::normalize_company_name(s); });
}

extern "C" PGDLLEXPORT Datum crm_normalize_person_name(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  return text_result(fcinfo, [&] { return crm::match::normalize_person_name(s); });
}

extern "C" PGDLLEXPORT Datum crm_given_name_forms(PG_FUNCTION_ARGS) {
  const std::string_view s = utf8_arg(fcinfo, 0);
  bool is_null = false;
  const Datum result = barrier([&]() -> Datum {
    use_installed_reference_data();
    const std::vector<std::string> forms = crm::match::given_name_forms(s);
    if (forms.empty()) {
      is_null = true;
      return 0;
    }
    return pg_call([&] {
      Datum *items = static_cast<Datum *>(palloc(sizeof(Datum) * forms.size()));
      for (std::size_t i = 0; i < forms.size(); ++i) items[i] = text_datum(forms[i]);
      return PointerGetDatum(
          construct_array(items, static_cast<int>(forms.size()), TEXTOID, -1, false, TYPALIGN_INT));
    });
  });
  if (is_null) PG_RETURN_NULL();
  return result;
}
