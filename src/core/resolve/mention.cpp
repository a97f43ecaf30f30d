#include "core/resolve/mention.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/match/normalize.hpp"

namespace crm::resolve {
namespace {

struct Token {
  std::string text;
  bool consumed = false;
};

std::vector<Token> tokens_of(std::string_view text) {
  std::vector<Token> out;
  std::size_t i = 0;
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (i < text.size()) {
    while (i < text.size() && space(text[i])) ++i;
    std::size_t j = i;
    while (j < text.size() && !space(text[j])) ++j;
    if (j > i) out.push_back({std::string(text.substr(i, j - i))});
    i = j;
  }
  return out;
}

// Brackets and punctuation around an address or a domain ("<bob@acme.com>," "(acme.com)").
std::string_view strip_wrapping(std::string_view s) {
  constexpr std::string_view kWrap = "<>()[]{},;:\"'";
  while (!s.empty() && kWrap.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  while (!s.empty() && kWrap.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return s;
}

bool phone_token(std::string_view s) {
  constexpr std::string_view kPhoneChars = "+0123456789()-./";
  return !s.empty() && s.find_first_not_of(kPhoneChars) == std::string_view::npos &&
         s.find_first_of("0123456789") != std::string_view::npos;
}

std::size_t digits(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
}

// A domain or URL: a host whose last label is letters ("acme.co.uk", "https://acme.com/x"),
// never a bare word or an initial ("J.").
bool looks_like_host(std::string_view s) {
  if (s.starts_with("http://") || s.starts_with("https://")) return true;
  const std::size_t dot = s.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 2 > s.size()) return false;
  const std::string_view tld = s.substr(dot + 1);
  return std::all_of(tld.begin(), tld.end(),
                     [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
}

void add_unique(std::vector<std::string> &values, std::string value) {
  if (std::find(values.begin(), values.end(), value) == values.end())
    values.push_back(std::move(value));
}

void add_email(Mention &m, const std::string &email) {
  add_unique(m.emails, email);
  const std::optional<std::string> domain = match::registrable_domain(email);
  if (domain && !match::is_free_email_domain(*domain).value_or(false) &&
      !match::is_disposable_email_domain(*domain).value_or(false))
    add_unique(m.email_domains, *domain);
}

// Runs of number-like tokens with enough digits for a phone number ("+44 20 7946 0958").
void take_phones(std::vector<Token> &tokens, Mention &m, std::string_view region) {
  constexpr std::size_t kMinPhoneDigits = 7;
  for (std::size_t i = 0; i < tokens.size();) {
    if (!phone_token(tokens[i].text)) {
      ++i;
      continue;
    }
    std::size_t j = i;
    std::string run;
    while (j < tokens.size() && phone_token(tokens[j].text)) {
      if (!run.empty()) run.push_back(' ');
      run += tokens[j].text;
      ++j;
    }
    if (digits(run) >= kMinPhoneDigits && run.size() <= match::kMaxPhoneInput) {
      if (std::optional<std::string> phone = match::normalize_phone(run, region)) {
        add_unique(m.phones, *phone);
        for (std::size_t k = i; k < j; ++k) tokens[k].consumed = true;
      }
    }
    i = j;
  }
}

void take_addresses_and_domains(std::vector<Token> &tokens, Mention &m) {
  for (Token &t : tokens) {
    if (t.consumed) continue;
    const std::string_view bare = strip_wrapping(t.text);
    if (bare.find('@') != std::string_view::npos) {
      if (std::optional<std::string> email = match::normalize_email(bare)) {
        add_email(m, *email);
        t.consumed = true;
      }
    } else if (looks_like_host(bare)) {
      if (std::optional<std::string> domain = match::registrable_domain(bare)) {
        add_unique(m.domains, *domain);
        t.consumed = true;
      }
    }
  }
}

std::string join(const std::vector<Token> &tokens, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) {
    if (tokens[i].consumed) continue;
    if (!out.empty()) out.push_back(' ');
    out += tokens[i].text;
  }
  return out;
}

bool is_connector(std::string_view word) {
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "at" || lower == "from" || lower == "@";
}

// "Doe, Jane" as "Jane Doe": a person's name written surname first.
std::string surname_first_swapped(const std::string &name) {
  const std::size_t comma = name.find(',');
  if (comma == std::string::npos || name.find(',', comma + 1) != std::string::npos) return name;
  const std::string_view before = std::string_view(name).substr(0, comma);
  const std::string_view after = std::string_view(name).substr(comma + 1);
  if (before.find_first_not_of(' ') == std::string_view::npos ||
      after.find_first_not_of(' ') == std::string_view::npos)
    return name;
  // "Acme Corporation, Inc.": what follows the comma is a legal form, not a given name.
  if (match::normalize_company_name(name) == match::normalize_company_name(before)) return name;
  return std::string(after) + " " + std::string(before);
}

void set_person(Mention &m, const std::string &text) {
  const std::optional<std::string> name = match::normalize_person_name(surname_first_swapped(text));
  if (!name) return;
  m.person_name = *name;
  const std::size_t first_space = name->find(' ');
  if (first_space == std::string::npos) return;
  m.first_name = name->substr(0, first_space);
  m.last_name = name->substr(first_space + 1);
}

void set_company(Mention &m, const std::string &text) {
  if (std::optional<std::string> name = match::normalize_company_name(text)) m.company_name = *name;
}

// The words left once addresses, numbers and domains are taken: "bob at acme" and "Bob (Acme)"
// name a person and a company, anything else may name a record of any kind.
void take_names(const std::vector<Token> &tokens, Mention &m) {
  std::vector<Token> words;
  for (const Token &t : tokens)
    if (!t.consumed) words.push_back(t);
  // "bob at acme.com": the company was the domain, the connector is left over.
  const bool company_given_apart = words.size() > 1 && is_connector(words.back().text);
  if (company_given_apart) {
    words.pop_back();
    m.about_person = true;
  }
  const std::string all = join(words, 0, words.size());
  if (all.empty()) return;
  m.deal_name = all;
  for (std::size_t i = 1; i + 1 < words.size(); ++i) {
    if (!is_connector(words[i].text)) continue;
    set_person(m, join(words, 0, i));
    set_company(m, join(words, i + 1, words.size()));
    if (!m.person_name.empty() && !m.company_name.empty()) {
      m.about_person = true;
      return;
    }
    m.person_name = m.first_name = m.last_name = m.company_name = {};
  }
  const std::size_t open = all.find('(');
  if (open != std::string::npos && open > 0 && all.back() == ')') {
    set_person(m, all.substr(0, open));
    set_company(m, all.substr(open + 1, all.size() - open - 2));
    if (!m.person_name.empty() && !m.company_name.empty()) {
      m.about_person = true;
      return;
    }
    m.person_name = m.first_name = m.last_name = m.company_name = {};
  }
  set_person(m, all);
  if (!company_given_apart) set_company(m, all);
}

void apply_hints(const Hints &hints, Mention &m, std::string_view region) {
  if (!hints.email.empty()) {
    const std::optional<std::string> email = hints.email.size() <= match::kMaxEmailInput
                                                 ? match::normalize_email(hints.email)
                                                 : std::nullopt;
    if (!email) throw Error("22023", "hint \"email\" is not an email address");
    add_email(m, *email);
  }
  if (!hints.domain.empty()) {
    const std::optional<std::string> domain = match::registrable_domain(hints.domain);
    if (!domain)
      throw Error("22023", "hint \"domain\" has no registrable domain", "",
                  "give a domain such as acme.com, a host name or a URL");
    add_unique(m.domains, *domain);
  }
  if (!hints.phone.empty()) {
    const std::optional<std::string> phone = hints.phone.size() <= match::kMaxPhoneInput
                                                 ? match::normalize_phone(hints.phone, region)
                                                 : std::nullopt;
    if (!phone)
      throw Error("22023", "hint \"phone\" is not a phone number", "",
                  "write it with its country code, e.g. +44 20 7946 0958");
    add_unique(m.phones, *phone);
  }
  if (!hints.company.empty()) {
    const std::optional<std::string> company = match::normalize_company_name(hints.company);
    if (!company) throw Error("22023", "hint \"company\" is not a company name");
    // The text then names a person or a deal of that company.
    m.company_name = *company;
    m.about_person = !m.person_name.empty();
  }
  if (!m.emails.empty()) m.about_person = true;
}

}  // namespace

Mention parse_mention(std::string_view text, const Hints &hints, std::string_view default_region) {
  if (text.size() > kMaxMentionBytes)
    throw Error("54000", "mention is too long",
                "a mention has " + std::to_string(text.size()) + " bytes, at most " +
                    std::to_string(kMaxMentionBytes) + " are read",
                "pass a name, an email address, a phone number or a domain");
  Mention m;
  std::vector<Token> tokens = tokens_of(text);
  take_addresses_and_domains(tokens, m);
  take_phones(tokens, m, default_region);
  take_names(tokens, m);
  // Punctuation alone names nothing: a deal search for it would read every deal name (pg_trgm
  // searches the whole index for text without a trigram).
  if (m.person_name.empty() && m.company_name.empty()) m.deal_name.clear();
  apply_hints(hints, m, default_region);
  return m;
}

}  // namespace crm::resolve
