// Fuzzes the built-in enrichers' readers of free text (src/core/enrich): split_display_name over
// the first line, country_code and country_time_zone over the second. A name is words without
// leading, trailing or doubled spaces, and never an address; a country is two capital letters;
// a time zone an IANA identifier.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/enrich/country.hpp"
#include "core/enrich/display_name.hpp"
#include "fuzz_support.hpp"

namespace {

void require_words(const std::string &s, const char *what) {
  crm::fuzz::require(s.front() != ' ' && s.back() != ' ' && s.find("  ") == std::string::npos, what,
                     s);
  crm::fuzz::require(s.find('@') == std::string::npos, "a name part is no address", s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::vector<std::string_view> parts =
      crm::fuzz::split_lines(crm::fuzz::as_text(data, size), 2);
  if (const std::optional<crm::enrich::PersonName> name =
          crm::enrich::split_display_name(parts[0])) {
    crm::fuzz::require(!name->first.empty(), "a name has a first name", parts[0]);
    require_words(name->first, "a first name is words");
    if (!name->last.empty()) require_words(name->last, "a last name is words");
  }
  if (const std::optional<std::string> code = crm::enrich::country_code(parts[1])) {
    crm::fuzz::require(code->size() == 2 && std::isupper(static_cast<unsigned char>((*code)[0])) &&
                           std::isupper(static_cast<unsigned char>((*code)[1])),
                       "a country code is two capitals", *code);
    crm::fuzz::require(crm::enrich::country_name(*code).has_value(), "a code has a name", *code);
    if (const std::optional<std::string> zone = crm::enrich::country_time_zone(*code))
      crm::fuzz::require(zone->find('/') != std::string::npos, "a zone is Area/Location", *zone);
  }
  return 0;
}
