#include "core/enrich/country.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/locid.h>
#include <unicode/timezone.h>
#include <unicode/strenum.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/match/text.hpp"

namespace crm::enrich {

namespace {

// Names people write that ICU's English names and the codes do not cover.
constexpr std::pair<const char *, const char *> kAliases[] = {{"uk", "GB"},
                                                              {"great britain", "GB"},
                                                              {"england", "GB"},
                                                              {"scotland", "GB"},
                                                              {"wales", "GB"},
                                                              {"northern ireland", "GB"},
                                                              {"america", "US"},
                                                              {"united states of america", "US"},
                                                              {"holland", "NL"},
                                                              {"czech republic", "CZ"},
                                                              {"republic of korea", "KR"},
                                                              {"korea", "KR"},
                                                              {"russian federation", "RU"},
                                                              {"uae", "AE"},
                                                              {"ivory coast", "CI"},
                                                              {"turkiye", "TR"}};

std::string upper2(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Folded English name, alpha-2 and alpha-3 (lower case) -> alpha-2; built once.
const std::map<std::string, std::string> &country_keys() {
  // Never destroyed: no destructor may run at backend exit (docs: CPP_IN_POSTGRES).
  static std::map<std::string, std::string> &keys = *new std::map<std::string, std::string>;
  static std::once_flag once;
  std::call_once(once, [] {
    const icu::Locale english = icu::Locale::getEnglish();
    for (const char *const *code = icu::Locale::getISOCountries(); *code != nullptr; ++code) {
      const icu::Locale place("", *code);
      icu::UnicodeString name;
      place.getDisplayCountry(english, name);
      std::string utf8;
      name.toUTF8String(utf8);
      keys.emplace(match::fold_text(utf8), *code);
      std::string lower2(*code);
      for (char &c : lower2) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      keys.emplace(lower2, *code);
      const char *alpha3 = place.getISO3Country();
      if (alpha3 != nullptr && std::strlen(alpha3) == 3) {
        std::string lower3(alpha3);
        for (char &c : lower3) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        keys.emplace(lower3, *code);
      }
    }
    for (const auto &[alias, code] : kAliases) keys.emplace(alias, code);
  });
  return keys;
}

bool known_code(std::string_view code) {
  if (code.size() != 2) return false;
  const std::string upper = upper2(code);
  for (const char *const *c = icu::Locale::getISOCountries(); *c != nullptr; ++c)
    if (upper == *c) return true;
  return false;
}

}  // namespace

std::optional<std::string> country_code(std::string_view country) {
  const std::string key = match::fold_text(country);
  if (key.empty()) return std::nullopt;
  const auto &keys = country_keys();
  const auto it = keys.find(key);
  if (it == keys.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> country_name(std::string_view code) {
  if (!known_code(code)) return std::nullopt;
  icu::UnicodeString name;
  icu::Locale("", upper2(code).c_str()).getDisplayCountry(icu::Locale::getEnglish(), name);
  std::string utf8;
  name.toUTF8String(utf8);
  return utf8;
}

std::optional<std::string> country_time_zone(std::string_view code) {
  if (!known_code(code)) return std::nullopt;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::StringEnumeration> zones(icu::TimeZone::createTimeZoneIDEnumeration(
      UCAL_ZONE_TYPE_CANONICAL_LOCATION, upper2(code).c_str(), nullptr, status));
  if (U_FAILURE(status) || !zones) return std::nullopt;
  std::vector<std::string> ids;
  while (const icu::UnicodeString *id = zones->snext(status)) {
    if (U_FAILURE(status)) return std::nullopt;
    std::string utf8;
    id->toUTF8String(utf8);
    ids.push_back(std::move(utf8));
  }
  if (ids.empty()) return std::nullopt;
  std::sort(ids.begin(), ids.end());
  // Offsets on two fixed days, winter and summer of both hemispheres: the same rules keep the
  // same offsets, and a fixed year keeps the answer the same from one day to the next.
  const UDate january = 1767225600000.0;  // 2026-01-01
  const UDate july = 1782864000000.0;     // 2026-07-01
  int32_t first_raw[2] = {0, 0}, first_dst[2] = {0, 0};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::unique_ptr<icu::TimeZone> zone(
        icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(ids[i])));
    int32_t raw = 0, dst = 0;
    for (int k = 0; k < 2; ++k) {
      status = U_ZERO_ERROR;
      zone->getOffset(k == 0 ? january : july, false, raw, dst, status);
      if (U_FAILURE(status)) return std::nullopt;
      if (i == 0) {
        first_raw[k] = raw;
        first_dst[k] = dst;
      } else if (raw != first_raw[k] || dst != first_dst[k]) {
        return std::nullopt;
      }
    }
  }
  return ids.front();
}

std::optional<std::string> phone_country(std::string_view e164) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil &util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(std::string(e164), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  if (!util.IsValidNumber(number)) return std::nullopt;
  std::string region;
  util.GetRegionCodeForNumber(number, &region);
  if (region.size() != 2 || region == "ZZ" || region == "001") return std::nullopt;
  return region;
}

}  // namespace crm::enrich
