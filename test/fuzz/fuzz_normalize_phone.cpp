// Fuzzes normalize_phone (libphonenumber). Input: a default region, a newline, the number (no
// newline: the whole input is the number, with region "US"). A result is E.164 ('+' and digits) and
// normalises to itself without a region.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/match/normalize.hpp"
#include "fuzz_support.hpp"

using crm::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text = crm::fuzz::as_text(data, size);
  const std::size_t nl = text.find('\n');
  const std::string_view region = nl == std::string_view::npos ? "US" : text.substr(0, nl);
  const std::string_view number = nl == std::string_view::npos ? text : text.substr(nl + 1);
  const std::optional<std::string> phone = crm::match::normalize_phone(number, region);
  if (!phone) return 0;
  // libphonenumber's E.164 form: a country code of 1 to 3 digits and a national number of up to
  // 17 (its kMaxLengthForNsn; some Japanese and Austrian numbers have more than ITU's 15 in all).
  require(phone->size() >= 3 && phone->size() <= 21 && phone->front() == '+',
          "E.164 is '+' and 2 to 20 digits", *phone);
  for (std::size_t i = 1; i < phone->size(); ++i)
    require((*phone)[i] >= '0' && (*phone)[i] <= '9', "E.164 holds digits only", *phone);
  require(crm::match::normalize_phone(*phone, "ZZ") == phone, "E.164 normalises to itself", *phone);
  return 0;
}
