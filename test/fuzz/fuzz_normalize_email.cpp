// Fuzzes normalize_email: any bytes give nullopt or "local@domain" with the domain in lower-case
// ASCII, and normalising a result again gives it back (two spellings of one mailbox share one
// form, so the form itself must be a fixed point).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/match/normalize.hpp"
#include "fuzz_support.hpp"

using crm::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::optional<std::string> email =
      crm::match::normalize_email(crm::fuzz::as_text(data, size));
  if (!email) return 0;
  const std::size_t at = email->find('@');
  require(at != std::string::npos && at > 0 && email->find('@', at + 1) == std::string::npos,
          "one '@' after a non-empty local part", *email);
  crm::fuzz::require_ascii_domain(std::string_view(*email).substr(at + 1),
                                  "the domain is lower-case ASCII");
  require(crm::match::normalize_email(*email) == email, "normalize_email is idempotent", *email);
  return 0;
}
