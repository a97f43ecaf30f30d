// A free-text mention of a record ("Acme", "bob at acme", "j.smith@acme.co.uk",
// "+44 20 7946 0958") taken apart into what record resolution can look up: addresses, phone
// numbers and domains by their normalised forms, and the rest as names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm::resolve {

// Longer mentions are refused (54000): a mention names one record, and the normalisers' and the
// trigram searches' costs grow with the text.
inline constexpr std::size_t kMaxMentionBytes = 1000;

// What the caller knows besides the text (crm.resolve's hints); each may be empty.
struct Hints {
  std::string email;
  std::string domain;
  std::string phone;
  std::string company;  // a company's name
};

struct Mention {
  std::vector<std::string> emails;         // normalize_email forms
  std::vector<std::string> phones;         // E.164
  std::vector<std::string> domains;        // registrable domains given as domains or URLs
  std::vector<std::string> email_domains;  // registrable domains of the emails (not free mail)
  std::string person_name;                 // normalize_person_name of the person part, or ""
  std::string first_name;                  // its first token ("" when it has one token)
  std::string last_name;                   // the tokens after the first
  std::string company_name;                // normalize_company_name of the company part, or ""
  std::string deal_name;                   // the name text as written (SQL compares it lower-cased)
  // The text said who and where ("bob at acme", "Bob (Acme)") or gave an address: the mention
  // is about a person, so a company found only by its part ranks below the person.
  bool about_person = false;

  bool empty() const {
    return emails.empty() && phones.empty() && domains.empty() && email_domains.empty() &&
           person_name.empty() && company_name.empty() && deal_name.empty();
  }
};

// Parses text and hints. default_region reads phone numbers written without '+'. Throws
// crm::Error 54000 for a mention over kMaxMentionBytes, 22023 for a hint that is not what it says
// (an email hint that is no address, a phone hint that is no number, a domain hint without a
// registrable domain).
Mention parse_mention(std::string_view text, const Hints &hints, std::string_view default_region);

}  // namespace crm::resolve
