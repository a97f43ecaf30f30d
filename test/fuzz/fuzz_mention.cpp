// Fuzzes parse_mention (crm.resolve's reading of free text and hints): input lines are the
// mention, then the email, domain, phone and company hints. Bad hints and overlong mentions are
// refused with 22023 and nothing else; whatever is read is in normal form.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/resolve/mention.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  crm::fuzz::load_reference();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::vector<std::string_view> parts =
      crm::fuzz::split_lines(crm::fuzz::as_text(data, size), 5);
  crm::resolve::Hints hints{std::string(parts[1]), std::string(parts[2]), std::string(parts[3]),
                            std::string(parts[4])};
  crm::resolve::Mention m;
  try {
    m = crm::resolve::parse_mention(parts[0], hints, "US");
  } catch (const crm::Error &e) {
    crm::fuzz::require(std::strcmp(e.sqlstate(), "22023") == 0, "a refused mention is 22023",
                       e.what());
    return 0;
  }
  for (const std::string &email : m.emails)
    crm::fuzz::require(email.find('@') != std::string::npos, "an email has an @", email);
  for (const std::string &phone : m.phones)
    crm::fuzz::require(phone.size() > 1 && phone[0] == '+' &&
                           phone.find_first_not_of("0123456789", 1) == std::string::npos,
                       "a phone is E.164", phone);
  for (const std::string &domain : m.domains)
    crm::fuzz::require_ascii_domain(domain, "a domain is lower-case ASCII");
  for (const std::string &domain : m.email_domains)
    crm::fuzz::require_ascii_domain(domain, "an email's domain is lower-case ASCII");
  if (!m.person_name.empty()) crm::fuzz::require_tokens(m.person_name, "a person's name is tokens");
  if (!m.company_name.empty())
    crm::fuzz::require_tokens(m.company_name, "a company's name is tokens");
  crm::fuzz::require(m.first_name.empty() || m.person_name.starts_with(m.first_name + " "),
                     "the first name starts the name", m.person_name);
  return 0;
}
