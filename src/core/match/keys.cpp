#include "core/match/keys.hpp"

#include <algorithm>

#include "core/match/compare.hpp"
#include "core/match/frequency.hpp"
#include "core/match/reference.hpp"

namespace crm::match {
namespace {

// The blocking rules. Each catches duplicates the others miss: typos in names (dates, addresses,
// sounds), swapped names (sorted tokens), nicknames (name groups), moves (email, phone).
enum class Rule : std::uint8_t {
  Email = 1,
  Phone,
  NameTokens,
  GivenGroupSurnameSound,
  BirthDate,
  PostalSurnameSound,  // retired: PostalSurnameInitial holds its blocks
  PostalStreetNumber,
  Domain,
  CompanyName,
  CompanyNameSoundCity,
  StreetNumberPlace,
  SurnameSoundBirthYear,
  StreetNumberName,
  CompanyNameSoundStreetNumber,
  EmailLocalPart,
  NamePrefixes,  // retired: 12 million pairs to compare at 1,000,000 people
  PostalSurnameInitial,
  GivenBirthYear,
};

class KeyBuilder {
 public:
  KeyBuilder(std::int64_t workspace, RecordKind kind) : workspace_(workspace), kind_(kind) {}

  void add(Rule rule, std::string_view value, std::string_view second = {}) {
    if (value.empty()) return;
    std::uint64_t h = 1469598103934665603ULL;
    auto mix = [&h](unsigned char c) {
      h ^= c;
      h *= 1099511628211ULL;
    };
    for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(workspace_ >> (8 * i)));
    mix(static_cast<unsigned char>(kind_));
    mix(static_cast<unsigned char>(rule));
    for (unsigned char c : value) mix(c);
    mix(0x1f);
    for (unsigned char c : second) mix(c);
    keys_.push_back(h == 0 ? 1 : static_cast<std::int64_t>(h));
    rules_.push_back(static_cast<std::uint8_t>(rule));
  }

  std::vector<RuleKey> take_by_rule() {
    std::vector<RuleKey> out;
    for (std::size_t i = 0; i < keys_.size(); ++i) out.push_back({rules_[i], keys_[i]});
    return out;
  }

  std::vector<std::int64_t> take() {
    std::sort(keys_.begin(), keys_.end());
    keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
    return std::move(keys_);
  }

 private:
  std::int64_t workspace_;
  RecordKind kind_;
  std::vector<std::int64_t> keys_;
  std::vector<std::uint8_t> rules_;
};

// Shorter mailbox names ("jd", "e.e") are shared by strangers.
constexpr std::size_t kMinLocalPart = 4;

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

std::string sorted_tokens(std::string_view a, std::string_view b) {
  std::vector<std::string_view> tokens = split(a);
  for (std::string_view t : split(b)) tokens.push_back(t);
  std::sort(tokens.begin(), tokens.end());
  std::string out;
  for (std::string_view t : tokens) {
    if (!out.empty()) out.push_back(' ');
    out += t;
  }
  return out;
}

std::string_view first_token(std::string_view s) {
  return s.substr(0, s.find(' '));
}

void person_keys(KeyBuilder &keys, const Profile &p, Phonetic phonetic) {
  for (std::string_view email : split(p[kEmails])) keys.add(Rule::Email, email);
  keys.add(Rule::Phone, p[kPhone]);
  const std::string &first = p[kFirstName], &last = p[kLastName];
  const std::string surname_sound = last.empty() ? std::string() : phonetic(first_token(last));
  if (!first.empty() && !last.empty()) keys.add(Rule::NameTokens, sorted_tokens(first, last));
  // Every key below pairs two values: one alone (a given name, a postal code) is a block of
  // thousands.
  if (!first.empty() && !surname_sound.empty()) {
    const std::string_view given = first_token(first);
    const auto groups = reference().given_name_groups(given);
    if (groups.empty()) keys.add(Rule::GivenGroupSurnameSound, given, surname_sound);
    for (std::uint32_t g : groups)
      keys.add(Rule::GivenGroupSurnameSound, std::to_string(g), surname_sound);
  }
  // A typo in the day or month of birth, or a date known to the year only: the surname's sound
  // and the year. A year alone is no key (a block of everyone born that year).
  if (!surname_sound.empty() && p[kBirthDate].size() >= 4)
    keys.add(Rule::SurnameSoundBirthYear, surname_sound,
             std::string_view(p[kBirthDate]).substr(0, 4));
  if (p[kBirthDate].size() == 8) keys.add(Rule::BirthDate, p[kBirthDate]);
  const std::string_view number = street_number(p[kStreet]);
  if (!p[kPostalCode].empty() && !number.empty())
    keys.add(Rule::PostalStreetNumber, p[kPostalCode], number);
  // A mailbox kept at another provider, or at a mistyped domain. Not one spelt from the names
  // (thomas.webb@): the name keys block those, and namesakes everywhere share them.
  for (std::string_view email : split(p[kEmails])) {
    const std::string_view local = email.substr(0, email.find('@'));
    if (local.size() >= kMinLocalPart && !is_generic_local_part(local) &&
        !spelt_from_names(local, first, last))
      keys.add(Rule::EmailLocalPart, local);
  }
  // A nickname and a mistyped surname at the same postal code: the surname's initial, one key a
  // record (the given name's nickname groups made up to three, and every key is a probe a write).
  if (!p[kPostalCode].empty() && !last.empty())
    keys.add(Rule::PostalSurnameInitial, p[kPostalCode], std::string_view(last).substr(0, 1));
  // A surname missing (a historical record, a form left half filled) or changed: the given name
  // with the birth year. Both sides must make a key to share it, so records with a surname make
  // it too: the name as written, not its nickname groups (one key a record, small blocks: at
  // 1,000,000 people the groups made find_duplicates' p99 7 ms).
  if (!first.empty() && p[kBirthDate].size() >= 4)
    keys.add(Rule::GivenBirthYear, std::string_view(p[kBirthDate]).substr(0, 4),
             first_token(first));
}

void company_keys(KeyBuilder &keys, const Profile &p, Phonetic phonetic) {
  keys.add(Rule::Domain, p[kDomain]);
  keys.add(Rule::Phone, p[kCompanyPhone]);
  const std::string &name = p[kCompanyName];
  if (!name.empty()) {
    keys.add(Rule::CompanyName, sorted_tokens(name, {}));
    const std::string_view place =
        p[kCompanyCity].empty() ? std::string_view(p[kCompanyPostalCode]) : p[kCompanyCity];
    const std::string sound = phonetic(first_token(name));
    if (!place.empty() && !sound.empty()) keys.add(Rule::CompanyNameSoundCity, sound, place);
  }
  const std::string_view number = street_number(p[kCompanyStreet]);
  if (!number.empty()) {
    const std::string_view place =
        p[kCompanyPostalCode].empty() ? std::string_view(p[kCompanyCity]) : p[kCompanyPostalCode];
    if (!place.empty()) keys.add(Rule::StreetNumberPlace, number, place);
    // The same building when the city is written differently ("new york", "new york city").
    const std::string_view word = street_name_word(p[kCompanyStreet]);
    if (!word.empty()) keys.add(Rule::StreetNumberName, number, word);
    if (!name.empty()) {
      const std::string sound = phonetic(first_token(name));
      if (!sound.empty()) keys.add(Rule::CompanyNameSoundStreetNumber, sound, number);
    }
  }
}

}  // namespace

std::vector<std::int64_t> blocking_keys(RecordKind kind, const Profile &profile,
                                        std::int64_t workspace, Phonetic phonetic) {
  KeyBuilder keys(workspace, kind);
  if (kind == RecordKind::Person)
    person_keys(keys, profile, phonetic);
  else
    company_keys(keys, profile, phonetic);
  return keys.take();
}

std::vector<RuleKey> blocking_keys_by_rule(RecordKind kind, const Profile &profile,
                                           std::int64_t workspace, Phonetic phonetic) {
  KeyBuilder keys(workspace, kind);
  if (kind == RecordKind::Person)
    person_keys(keys, profile, phonetic);
  else
    company_keys(keys, profile, phonetic);
  return keys.take_by_rule();
}

std::vector<BlockingRule> blocking_rules(RecordKind kind) {
  using R = Rule;
  auto id = [](R r) { return static_cast<std::uint8_t>(r); };
  if (kind == RecordKind::Person)
    return {{id(R::Email), {"email", "email_domain"}},
            {id(R::Phone), {"phone"}},
            {id(R::NameTokens), {"first_name", "last_name"}},
            {id(R::GivenGroupSurnameSound), {"first_name", "last_name"}},
            {id(R::BirthDate), {"birth_date"}},
            {id(R::PostalStreetNumber), {"postal_code", "street"}},
            {id(R::SurnameSoundBirthYear), {"last_name", "birth_date"}},
            {id(R::EmailLocalPart), {"email"}},
            {id(R::PostalSurnameInitial), {"postal_code"}},
            {id(R::GivenBirthYear), {"first_name", "birth_date"}}};
  return {{id(R::Domain), {"domain"}},
          {id(R::Phone), {"phone"}},
          {id(R::CompanyName), {"name"}},
          {id(R::CompanyNameSoundCity), {"name", "city", "postal_code"}},
          {id(R::StreetNumberPlace), {"street", "postal_code", "city"}},
          {id(R::StreetNumberName), {"street"}},
          {id(R::CompanyNameSoundStreetNumber), {"name", "street"}}};
}

}  // namespace crm::match
