// Fuzzes normalize_person_name (ICU transliteration): a result is space-separated lower-case
// ASCII tokens, and normalising it again gives it back.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/match/normalize.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::optional<std::string> name =
      crm::match::normalize_person_name(crm::fuzz::as_text(data, size));
  if (!name) return 0;
  crm::fuzz::require_tokens(*name, "a person's name is lower-case ASCII tokens");
  crm::fuzz::require(crm::match::normalize_person_name(*name) == name,
                     "normalize_person_name is idempotent", *name);
  return 0;
}
