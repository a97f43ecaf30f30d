#include "core/match/compare.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "core/match/frequency.hpp"
#include "core/match/reference.hpp"
#include "core/match/similarity.hpp"

namespace crm::match {
namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string_view local_part(std::string_view email) {
  return email.substr(0, email.find('@'));
}
std::string_view domain_part(std::string_view email) {
  const std::size_t at = email.find('@');
  return at == std::string_view::npos ? std::string_view() : email.substr(at + 1);
}

int given_name_level(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  if (reference().nickname_equivalent(a, b)) return 1;
  const double jw = jaro_winkler(a, b);
  if (jw >= 0.92) return 2;
  if (jw >= 0.80) return 3;
  // "J" against "John": an initial that fits.
  if ((a.size() == 1 || b.size() == 1) && a[0] == b[0]) return 4;
  return 5;
}

int surname_level(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  const double jw = std::max(jaro_winkler(a, b), token_set_similarity(a, b));
  if (jw >= 0.92) return 1;
  if (jw >= 0.80) return 2;
  return 3;
}

// A personal mailbox provider's domain (gmail.com, mail.yahoo.co.jp): its parents are looked up
// too.
bool free_mail(std::string_view domain) {
  const Reference &ref = reference();
  while (!domain.empty()) {
    if (ref.is_free_domain(domain)) return true;
    const std::size_t dot = domain.find('.');
    if (dot == std::string_view::npos) break;
    domain.remove_prefix(dot + 1);
  }
  return false;
}

// Two strings that are the same but for their numbers: "priya.ferrari63" and "priya.ferrari21",
// "office1.acme.com" and "office2.acme.com". Numbered mailboxes and hosts are distinct ones.
bool differ_in_numbers_only(std::string_view a, std::string_view b) {
  auto letters = [](std::string_view s) {
    std::string out;
    for (char c : s)
      if (c < '0' || c > '9') out.push_back(c);
    return out;
  };
  return a != b && letters(a) == letters(b);
}

// Two mailbox names whose numbers differ ("abbey.white28", "abby_white71"): numbered apart.
bool numbered_apart(std::string_view a, std::string_view b) {
  auto digits = [](std::string_view s) {
    std::string out;
    for (char c : s)
      if (c >= '0' && c <= '9') out.push_back(c);
    return out;
  };
  const std::string da = digits(a), db = digits(b);
  return differ_in_numbers_only(a, b) || (!da.empty() && !db.empty() && da != db);
}

// Two spellings of one domain ("brooks-sawyer.com", "brooks-sawer.com"): at most two edits apart
// and close overall, which two companies' names ("summitmotors.com", "summitfoods.com") are not.
bool mistyped_domain(std::string_view a, std::string_view b) {
  return a != b && !differ_in_numbers_only(a, b) && levenshtein(a, b, 2) <= 2 &&
         jaro_winkler(a, b) >= 0.92;
}

int email_level(std::string_view a, std::string_view b) {
  int best = 4;
  for (std::string_view x : split(a)) {
    for (std::string_view y : split(b)) {
      int level = 4;
      if (x == y) {
        level = is_generic_local_part(local_part(x)) ? 1 : 0;
      } else if (local_part(x) == local_part(y) && !is_generic_local_part(local_part(x)) &&
                 (free_mail(domain_part(x)) || free_mail(domain_part(y)) ||
                  mistyped_domain(domain_part(x), domain_part(y)))) {
        // The same mailbox name with two providers is someone's habit, and with a mistyped
        // domain the same address. At two companies' domains it is the companies' pattern
        // (first.last@), which namesakes share.
        level = 2;
      } else if (domain_part(x) == domain_part(y) && !free_mail(domain_part(x)) &&
                 !numbered_apart(local_part(x), local_part(y)) &&
                 jaro_winkler(local_part(x), local_part(y)) >= 0.88) {
        // Two spellings at one company (thomas.webb@, thomas_webb@). At a mail provider, two
        // mailbox names are two mailboxes, however alike.
        level = 3;
      }
      best = std::min(best, level);
    }
  }
  return best;
}

int phone_level(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  if (a.size() >= 7 && b.size() >= 7 && a.substr(a.size() - 7) == b.substr(b.size() - 7)) return 1;
  return 2;
}

int date_level(std::string_view a, std::string_view b) {
  // A date known to the year only ('yyyy', profile.cpp) agrees only as far as the year.
  if (a.size() == 4 || b.size() == 4) return a.substr(0, 4) == b.substr(0, 4) ? 2 : 3;
  if (a == b) return 0;
  // A typo in one digit, or day and month swapped (US against European order).
  const bool swapped = a.size() == 8 && b.size() == 8 && a.substr(0, 4) == b.substr(0, 4) &&
                       a.substr(4, 2) == b.substr(6, 2) && a.substr(6, 2) == b.substr(4, 2);
  if (swapped || levenshtein(a, b, 1) <= 1) return 1;
  if (a.substr(0, 4) == b.substr(0, 4)) return 2;
  return 3;
}

int street_level(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  // The number must agree when both have one: 12 Main St is not 21 Main St.
  const std::string_view na = street_number(a), nb = street_number(b);
  if (!na.empty() && !nb.empty() && na != nb) return 2;
  // The same building written longer ("at 10th st", "suite 4") or with typos.
  if (token_set_similarity(a, b) >= 0.85 || jaro_winkler(a, b) >= 0.92 ||
      (!na.empty() && na == nb && tokens_contained(a, b)))
    return 1;
  return 2;
}

int place_level(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  return jaro_winkler(a, b) >= 0.90 ? 1 : 2;
}

int code_level(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  return levenshtein(a, b, 1) <= 1 ? 1 : 2;
}

int domains_level(std::string_view a, std::string_view b) {
  for (std::string_view x : split(a))
    for (std::string_view y : split(b))
      if (x == y) return 0;
  return 1;
}

int company_name_level(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  const double tokens = token_set_similarity(a, b);
  const double jw = jaro_winkler(a, b);
  if (jw >= 0.94 || tokens >= 0.90) return 1;
  // A short name inside a longer one: "four seasons" and "four seasons grill room".
  if (jw >= 0.85 || tokens >= 0.75 || tokens_contained(a, b)) return 2;
  return 3;
}

int level_of(Comparator comparator, std::string_view a, std::string_view b) {
  switch (comparator) {
    case Comparator::GivenName:
      return given_name_level(a, b);
    case Comparator::Surname:
      return surname_level(a, b);
    case Comparator::Email:
      return email_level(a, b);
    case Comparator::Phone:
      return phone_level(a, b);
    case Comparator::Date:
      return date_level(a, b);
    case Comparator::Street:
      return street_level(a, b);
    case Comparator::Place:
      return place_level(a, b);
    case Comparator::Code:
      return code_level(a, b);
    case Comparator::SameValue:
      return a == b ? 0 : 1;
    case Comparator::Domains:
      return domains_level(a, b);
    case Comparator::CompanyName:
      return company_name_level(a, b);
  }
  return -1;
}

double name_alignment(std::string_view f1, std::string_view l1, std::string_view f2,
                      std::string_view l2) {
  return jaro_winkler(f1, f2) + jaro_winkler(l1, l2);
}

}  // namespace

bool is_generic_local_part(std::string_view local) {
  static constexpr std::array<std::string_view, 28> kGeneric = {
      "accounts",  "admin",   "billing", "careers",   "contact", "enquiries", "hello",
      "help",      "hr",      "info",    "inquiries", "invoice", "jobs",      "mail",
      "marketing", "media",   "office",  "orders",    "press",   "reception", "sales",
      "service",   "support", "team",    "hi",        "noreply", "no-reply",  "webmaster"};
  return std::find(kGeneric.begin(), kGeneric.end(), local) != kGeneric.end();
}

namespace {

// Every address of the record is a mailbox spelt from its own names or the other record's (a
// typo in one record's names leaves the mailbox spelt from the other's).
bool mailboxes_spelt_from_names(const Profile &p, const Profile &other) {
  const std::vector<std::string_view> emails = split(p[kEmails]);
  if (emails.empty()) return false;
  for (std::string_view e : emails)
    if (!spelt_from_names(local_part(e), p[kFirstName], p[kLastName]) &&
        !spelt_from_names(local_part(e), other[kFirstName], other[kLastName]))
      return false;
  return true;
}

int field_index(const Model &model, int profile_field, Comparator comparator) {
  for (std::size_t i = 0; i < model.fields.size(); ++i)
    if (model.fields[i].field == profile_field && model.fields[i].comparator == comparator)
      return static_cast<int>(i);
  return -1;
}

// Fellegi-Sunter adds the fields' evidence as if independent; where one field's agreement follows
// from another's, the dependent one is counted as said already.
void mark_dependent_fields(const Model &model, const Profile &a, const Profile &b,
                           Comparison &out) {
  const bool person = model.kind == RecordKind::Person;
  // One building is in one town: with the street address the same, the same city and postal code
  // say nothing more (a different one still says something).
  const int street =
      field_index(model, person ? int{kStreet} : int{kCompanyStreet}, Comparator::Street);
  if (street >= 0 && out.levels[static_cast<std::size_t>(street)] == 0) {
    for (const int place :
         {field_index(model, person ? int{kCity} : int{kCompanyCity}, Comparator::Place),
          field_index(model, person ? int{kPostalCode} : int{kCompanyPostalCode},
                      Comparator::Code)})
      if (place >= 0 && out.levels[static_cast<std::size_t>(place)] == 0)
        out.adjustments[static_cast<std::size_t>(place)].implied_by = "street";
  }
  if (!person) return;
  const int company = field_index(model, kCompanyId, Comparator::SameValue);
  const int domains = field_index(model, kEmailDomains, Comparator::Domains);
  if (company >= 0 && domains >= 0) {
    const int c = out.levels[static_cast<std::size_t>(company)];
    const int d = out.levels[static_cast<std::size_t>(domains)];
    // Colleagues share the company's mail domain; people at two companies use two domains.
    if (c >= 0 && d >= 0 && (c == 0) == (d == 0))
      out.adjustments[static_cast<std::size_t>(domains)].implied_by = "company_id";
  }
  const int email = field_index(model, kEmails, Comparator::Email);
  if (email >= 0) {
    const int e = out.levels[static_cast<std::size_t>(email)];
    if ((e == 2 || e == 3) && mailboxes_spelt_from_names(a, b) && mailboxes_spelt_from_names(b, a))
      out.adjustments[static_cast<std::size_t>(email)].implied_by = "names";
  }
}

}  // namespace

Comparison compare(const Model &model, const Profile &first, const Profile &second,
                   const Frequencies &frequencies) {
  // In a fixed order, so that a pair scores the same whichever record was written last (the
  // trigger) or comes first in a scan: swapped names compare across fields.
  const bool in_order = !(second.fields < first.fields);
  const Profile &a = in_order ? first : second;
  const Profile &b = in_order ? second : first;
  Comparison out;
  out.levels.assign(model.fields.size(), -1);
  out.adjustments.assign(model.fields.size(), {});
  // People sometimes arrive with given name and surname swapped: compare in the better order.
  bool swap_names = false;
  if (model.kind == RecordKind::Person) {
    const std::string &f1 = a[kFirstName], &l1 = a[kLastName], &f2 = b[kFirstName],
                      &l2 = b[kLastName];
    if (!f1.empty() && !l1.empty() && !f2.empty() && !l2.empty())
      swap_names = name_alignment(f1, l1, l2, f2) > name_alignment(f1, l1, f2, l2) + 0.2;
  }
  int email = -1;
  for (std::size_t i = 0; i < model.fields.size(); ++i) {
    const FieldModel &field = model.fields[i];
    int fb = field.field;
    if (swap_names && field.field == kFirstName) fb = kLastName;
    if (swap_names && field.field == kLastName) fb = kFirstName;
    if (static_cast<std::size_t>(field.field) >= a.fields.size() ||
        static_cast<std::size_t>(fb) >= b.fields.size())
      continue;
    const std::string &x = a[field.field], &y = b[fb];
    if (x.empty() || y.empty()) continue;
    // Sharing an address already counts the domain; counting it again would double the evidence.
    if (field.comparator == Comparator::Domains && (email == 0 || email == 1)) continue;
    const int level = level_of(field.comparator, x, y);
    out.levels[i] = static_cast<std::int8_t>(level);
    if (field.comparator == Comparator::Email) email = level;
    if (level == 0 && !frequency_field_name(model.kind, field.field).empty()) {
      // x == y; counted under the model field's own column even when the names were swapped, so
      // that the count that moves a score is the one whose growth re-scores it.
      const std::int64_t records = frequencies.records(field.field, x);
      const int bits = frequency_penalty(model, field, records);
      if (bits > 0) out.adjustments[i] = {records, static_cast<std::int8_t>(bits), {}};
    }
  }
  mark_dependent_fields(model, a, b, out);
  return out;
}

Levels compare(const Model &model, const Profile &first, const Profile &second) {
  static const Frequencies kNone;
  return compare(model, first, second, kNone).levels;
}

}  // namespace crm::match
