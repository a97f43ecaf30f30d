#include "core/match/profile.hpp"

#include <algorithm>
#include <array>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/match/normalize.hpp"
#include "core/match/reference.hpp"
#include "core/match/text.hpp"

namespace crm::match {
namespace {

constexpr std::array<std::string_view, 10> kPersonColumns = {
    "first_name", "last_name",   "email",   "phone",      "street",
    "city",       "postal_code", "country", "birth_date", "company_id"};
enum PersonColumn : int {
  kColFirst,
  kColLast,
  kColEmail,
  kColPhone,
  kColStreet,
  kColCity,
  kColPostal,
  kColCountry,
  kColBirth,
  kColCompany
};

constexpr std::array<std::string_view, 7> kCompanyColumns = {
    "name", "domain", "phone", "street", "city", "postal_code", "country"};
enum CompanyColumn : int {
  kColName,
  kColDomain,
  kColCompanyPhone,
  kColCompanyStreet,
  kColCompanyCity,
  kColCompanyPostal,
  kColCompanyCountry
};

std::string_view column(const RawRecord &raw, int i) {
  const auto index = static_cast<std::size_t>(i);
  if (index >= raw.columns.size() || !raw.columns[index]) return {};
  return *raw.columns[index];
}

std::string joined(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::string out;
  for (const std::string &v : values) {
    if (v.empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out += v;
  }
  return out;
}

std::string region_of(std::string_view country, std::string_view fallback) {
  const std::string folded = fold_compact(country);
  if (folded.size() == 2)
    return {static_cast<char>(folded[0] - 'a' + 'A'), static_cast<char>(folded[1] - 'a' + 'A')};
  return std::string(fallback);
}

// 'YYYY-MM-DD' (Postgres' ISO date output) → 'yyyymmdd'; anything else is unknown. 1 January
// is how year-only dates are stored (a birth year typed into a date column): it becomes 'yyyy',
// which agrees with another date only as far as the year.
std::string compact_date(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return {};
  std::string out;
  for (char c : date)
    if (c != '-') out.push_back(c);
  if (!std::all_of(out.begin(), out.end(), [](char c) { return c >= '0' && c <= '9'; })) return {};
  if (out.compare(4, 4, "0101") == 0) out.resize(4);
  return out;
}

std::string unless_placeholder(std::string value) {
  return is_placeholder(value) ? std::string() : value;
}

// An address that names nobody: "none@none.com", "noemail@...", "test@...". (Not the reserved
// example domains: staging data and documentation use them for real people.)
bool placeholder_email(std::string_view email) {
  std::string local(email.substr(0, email.find('@')));
  for (char &c : local)
    if (c == '.' || c == '_' || c == '-' || c == '+') c = ' ';
  static constexpr std::array<std::string_view, 8> kNobody = {
      "noemail", "no email", "nomail",     "no mail",
      "noreply", "no reply", "donotreply", "do not reply"};
  return is_placeholder(local) || std::find(kNobody.begin(), kNobody.end(), local) != kNobody.end();
}

std::string domain_unless_free(std::string_view address_or_host) {
  std::optional<std::string> domain = registrable_domain(address_or_host);
  if (!domain) return {};
  const Reference &ref = reference();
  if (ref.is_free_domain(*domain) || ref.is_disposable_domain(*domain)) return {};
  return *domain;
}

Profile person_profile(const RawRecord &raw, std::string_view default_region) {
  Profile p;
  p.fields.resize(kPersonFields);
  p.fields[kFirstName] =
      unless_placeholder(normalize_person_name(column(raw, kColFirst)).value_or(""));
  p.fields[kLastName] =
      unless_placeholder(normalize_person_name(column(raw, kColLast)).value_or(""));
  std::vector<std::string> emails, domains;
  auto add_email = [&](std::string_view text) {
    std::optional<std::string> e = normalize_email(text);
    if (e && !placeholder_email(*e)) {
      domains.push_back(domain_unless_free(*e));
      emails.push_back(std::move(*e));
    }
  };
  add_email(column(raw, kColEmail));
  for (const std::string &e : raw.extra_emails) add_email(e);
  p.fields[kEmails] = joined(std::move(emails));
  p.fields[kEmailDomains] = joined(std::move(domains));
  const std::string region = region_of(column(raw, kColCountry), default_region);
  p.fields[kPhone] = normalize_phone(column(raw, kColPhone), region).value_or("");
  p.fields[kBirthDate] = compact_date(column(raw, kColBirth));
  p.fields[kStreet] = unless_placeholder(normalize_street(column(raw, kColStreet)));
  p.fields[kCity] = unless_placeholder(fold_text(column(raw, kColCity)));
  p.fields[kPostalCode] = unless_placeholder(fold_compact(column(raw, kColPostal)));
  p.fields[kCompanyId] = std::string(column(raw, kColCompany));
  return p;
}

Profile company_profile(const RawRecord &raw, std::string_view default_region) {
  Profile p;
  p.fields.resize(kCompanyFields);
  p.fields[kCompanyName] =
      unless_placeholder(normalize_company_name(column(raw, kColName)).value_or(""));
  p.fields[kDomain] = domain_unless_free(column(raw, kColDomain));
  const std::string region = region_of(column(raw, kColCompanyCountry), default_region);
  p.fields[kCompanyPhone] = normalize_phone(column(raw, kColCompanyPhone), region).value_or("");
  p.fields[kCompanyStreet] = unless_placeholder(normalize_street(column(raw, kColCompanyStreet)));
  p.fields[kCompanyCity] = unless_placeholder(fold_text(column(raw, kColCompanyCity)));
  p.fields[kCompanyPostalCode] = unless_placeholder(fold_compact(column(raw, kColCompanyPostal)));
  p.fields[kCountry] = unless_placeholder(fold_text(column(raw, kColCompanyCountry)));
  return p;
}

}  // namespace

std::span<const std::string_view> source_columns(RecordKind kind) {
  if (kind == RecordKind::Person) return kPersonColumns;
  return kCompanyColumns;
}

Profile build_profile(RecordKind kind, const RawRecord &raw, std::string_view default_region) {
  Profile p = kind == RecordKind::Person ? person_profile(raw, default_region)
                                         : company_profile(raw, default_region);
  for (const std::optional<std::string> &a : raw.attributes)
    p.fields.push_back(a ? fold_text(*a) : std::string());
  return p;
}

std::vector<std::optional<std::string>> attribute_values(const std::string &json,
                                                         const std::vector<std::string> &keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto it = doc.find(keys[i]);
    if (it == doc.end() || it->is_null()) continue;
    out[i] = it->is_string() ? it->get<std::string>() : it->dump();
  }
  return out;
}

std::int64_t fingerprint(const Profile &profile) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  for (const std::string &f : profile.fields) {
    for (unsigned char c : f) mix(c);
    mix(0x1f);  // unit separator: ("ab","c") differs from ("a","bc")
  }
  return static_cast<std::int64_t>(h);
}

std::string normalize_street(std::string_view street) {
  // USPS-style street words, so "Boulevard", "Blvd." and "Blv." agree; a few directions too.
  static const std::unordered_map<std::string_view, std::string_view> kAbbreviations = {
      {"street", "st"},      {"str", "st"},       {"avenue", "ave"},    {"av", "ave"},
      {"boulevard", "blvd"}, {"blv", "blvd"},     {"road", "rd"},       {"drive", "dr"},
      {"lane", "ln"},        {"place", "pl"},     {"court", "ct"},      {"crescent", "cres"},
      {"circuit", "cct"},    {"parkway", "pkwy"}, {"highway", "hwy"},   {"square", "sq"},
      {"terrace", "tce"},    {"north", "n"},      {"south", "s"},       {"east", "e"},
      {"west", "w"},         {"suite", "ste"},    {"apartment", "apt"}, {"floor", "fl"},
      {"first", "1st"},      {"second", "2nd"},   {"third", "3rd"},     {"fourth", "4th"},
      {"fifth", "5th"},      {"sixth", "6th"},    {"seventh", "7th"},   {"eighth", "8th"},
      {"ninth", "9th"},      {"tenth", "10th"}};
  const std::string folded = fold_text(street);
  std::string out;
  std::size_t i = 0;
  while (i < folded.size()) {
    std::size_t j = folded.find(' ', i);
    if (j == std::string::npos) j = folded.size();
    std::string_view token(folded.data() + i, j - i);
    auto it = kAbbreviations.find(token);
    if (!out.empty()) out.push_back(' ');
    out += it == kAbbreviations.end() ? token : it->second;
    i = j + 1;
  }
  return out;
}

std::string_view street_name_word(std::string_view normalized_street) {
  const std::string_view number = street_number(normalized_street);
  std::size_t i = 0;
  while (i < normalized_street.size()) {
    std::size_t j = normalized_street.find(' ', i);
    if (j == std::string_view::npos) j = normalized_street.size();
    std::string_view token = normalized_street.substr(i, j - i);
    // Skip the number and a one-letter direction ("w", "n") before the name.
    if (!token.empty() && token != number && token.size() > 1) return token;
    i = j + 1;
  }
  return {};
}

std::string_view street_number(std::string_view normalized_street) {
  std::size_t i = 0;
  while (i < normalized_street.size()) {
    std::size_t j = normalized_street.find(' ', i);
    if (j == std::string_view::npos) j = normalized_street.size();
    std::string_view token = normalized_street.substr(i, j - i);
    if (!token.empty() &&
        std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return token;
    i = j + 1;
  }
  return {};
}

}  // namespace crm::match
