// Fuzzes normalize_company_name and company_name_tokens (ICU transliteration, cleanco legal
// terms): a result is space-separated lower-case ASCII tokens, never empty.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/match/normalize.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  crm::fuzz::load_reference();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text = crm::fuzz::as_text(data, size);
  if (const std::optional<std::string> name = crm::match::normalize_company_name(text))
    crm::fuzz::require_tokens(*name, "a company name is lower-case ASCII tokens");
  for (const std::string &token : crm::match::company_name_tokens(text))
    crm::fuzz::require_tokens(token, "a company name token is lower-case ASCII");
  return 0;
}
