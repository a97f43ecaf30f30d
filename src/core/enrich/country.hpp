// Countries for the built-in enrichers, from ICU's and libphonenumber's data (offline): a country
// named in any usual way as its ISO 3166 code, its English name, the time zone it keeps, and the
// country of a phone number.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crm::enrich {

// "DE", "deu", "Germany", "germany ", "Côte d'Ivoire", "USA", "UK" -> the ISO 3166 alpha-2 code.
// nullopt for anything else ("Bavaria", "n/a").
std::optional<std::string> country_code(std::string_view country);

// The English name ICU gives a code ("US" -> "United States"); nullopt for an unknown code.
std::optional<std::string> country_name(std::string_view code);

// The time zone of a country that keeps one: its canonical zones all have the same offsets in
// January and July (DE: Europe/Berlin, the first of Berlin and Busingen). nullopt for a country
// with several (US, ES with the Canaries) or none.
std::optional<std::string> country_time_zone(std::string_view code);

// The country (alpha-2) a phone number in E.164 belongs to, by libphonenumber; nullopt when it
// is not a valid number or belongs to no single country (+800).
std::optional<std::string> phone_country(std::string_view e164);

}  // namespace crm::enrich
