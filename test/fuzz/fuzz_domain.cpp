// Fuzzes registrable_domain (libpsl, ICU UTS #46) and the free-mail and disposable checks that
// build on it: a result is a lower-case ASCII domain that is its own registrable domain, and the
// checks answer exactly when there is a registrable domain.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/match/normalize.hpp"
#include "fuzz_support.hpp"

using crm::fuzz::require;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  crm::fuzz::load_reference();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text = crm::fuzz::as_text(data, size);
  const std::optional<std::string> domain = crm::match::registrable_domain(text);
  const std::optional<bool> free = crm::match::is_free_email_domain(text);
  const std::optional<bool> disposable = crm::match::is_disposable_email_domain(text);
  require(free.has_value() == domain.has_value() && disposable.has_value() == domain.has_value(),
          "the list checks answer exactly when there is a registrable domain", domain.value_or(""));
  if (!domain) return 0;
  crm::fuzz::require_ascii_domain(*domain, "a registrable domain is lower-case ASCII");
  require(crm::match::registrable_domain(*domain) == domain,
          "a registrable domain is its own registrable domain", *domain);
  return 0;
}
