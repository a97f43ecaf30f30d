// Text arguments and results of SQL functions over the core, in UTF-8 whatever the server
// encoding (src/pg/match/normalize_functions.cpp, src/pg/enrich/enricher_functions.cpp).
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "pg/common/guard.hpp"
#include "pg/common/reference_dir.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace crm::pg {

// An argument's text in UTF-8, which the core expects: converted from the server encoding when
// that is another one (may ereport, so only before any C++ object exists). A SQL_ASCII database
// promises nothing about its bytes; they go to the core as they are, which copes with invalid
// UTF-8.
inline std::string_view utf8_arg(FunctionCallInfo fcinfo, int n) {
  text *t = PG_GETARG_TEXT_PP(n);
  char *data = VARDATA_ANY(t);
  const int length = static_cast<int>(VARSIZE_ANY_EXHDR(t));
  if (GetDatabaseEncoding() == PG_SQL_ASCII) return {data, static_cast<std::size_t>(length)};
  char *converted = pg_server_to_any(data, length, PG_UTF8);
  if (converted == data) return {data, static_cast<std::size_t>(length)};
  return {converted, std::strlen(converted)};
}

// A text Datum of UTF-8 s in the server encoding. Calls Postgres: only inside pg_call.
inline Datum text_datum(const std::string &s) {
  const char *server = pg_any_to_server(s.c_str(), static_cast<int>(s.size()), PG_UTF8);
  const int length =
      server == s.c_str() ? static_cast<int>(s.size()) : static_cast<int>(std::strlen(server));
  return PointerGetDatum(cstring_to_text_with_len(server, length));
}

// Runs compute over the UTF-8 arguments inside the barrier; nullopt becomes SQL NULL, and so
// does a result the database encoding cannot hold (NFKC turns LATIN1's '½' in an address into
// U+2044): like any other input without a normal form, not an error.
template <typename Compute>
Datum text_result(FunctionCallInfo fcinfo, Compute compute) {
  bool is_null = false;
  const Datum result = barrier([&]() -> Datum {
    use_installed_reference_data();
    const std::optional<std::string> out = compute();
    if (out) {
      try {
        return pg_call([&] { return text_datum(*out); });
      } catch (const PgError &e) {
        if (e.data()->sqlerrcode != ERRCODE_UNTRANSLATABLE_CHARACTER) throw;
      }
    }
    is_null = true;
    return 0;
  });
  if (is_null) PG_RETURN_NULL();
  return result;
}

}  // namespace crm::pg
