#include "core/capture/timezones.hpp"

#include <cstdio>
#include <string_view>

#include <unicode/timezone.h>
#include <unicode/unistr.h>

namespace crm::capture::ical {

namespace {

constexpr Micros kMicrosPerSecond = 1'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), so that
// conversions work for any year libical accepts, not only time_t's comfortable range.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

icaltimezone *builtin(const std::string &name) {
  if (name.empty()) return nullptr;
  if (name == "UTC" || name == "GMT" || name == "Etc/UTC" || name == "Z") {
    return icaltimezone_get_utc_timezone();
  }
  if (icaltimezone *zone = icaltimezone_get_builtin_timezone(name.c_str())) return zone;
  // libical's own TZIDs ("/freeassociation.sourceforge.net/Europe/Berlin") and Mozilla's
  // ("/mozilla.org/20050126_1/Europe/Berlin") end in an IANA name.
  for (std::size_t slash = name.find('/'); slash != std::string::npos;
       slash = name.find('/', slash + 1)) {
    const std::string tail = name.substr(slash + 1);
    if (tail.find('/') == std::string::npos && tail != "UTC") continue;
    if (icaltimezone *zone = icaltimezone_get_builtin_timezone(tail.c_str())) return zone;
  }
  return nullptr;
}

// Outlook writes Windows zone names ("FLE Standard Time"); ICU's CLDR table maps them to the
// IANA zone of the territory "001".
icaltimezone *windows_zone(const std::string &name) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString iana;
  icu::TimeZone::getIDForWindowsID(icu::UnicodeString::fromUTF8(name), nullptr, iana, status);
  if (U_FAILURE(status) || iana.isEmpty()) return nullptr;
  std::string utf8;
  iana.toUTF8String(utf8);
  return builtin(utf8);
}

}  // namespace

icaltimezone *zone_by_name(const std::string &name) {
  icaltimezone *zone = builtin(name);
  if (zone == nullptr) zone = windows_zone(name);
  return zone == icaltimezone_get_utc_timezone() ? nullptr : zone;
}

bool has_builtin_zone(const std::string &tzid) {
  return builtin(tzid) != nullptr;
}

icaltimezone *resolve_tzid(const char *tzid, const ZoneContext &ctx) {
  if (tzid == nullptr || *tzid == '\0') return ctx.floating;
  // An IANA name names the zone: the file's VTIMEZONE is the sender's copy of its rules. libical's
  // own zone is expanded once per backend and shared, while a VTIMEZONE is expanded again for
  // every file (2-3 ms for the usual Google or Outlook one), so the IANA zone comes first.
  std::string name(tzid);
  if (icaltimezone *zone = builtin(name)) return zone;
  if (ctx.vcalendar != nullptr) {
    if (icaltimezone *zone = icalcomponent_get_timezone(ctx.vcalendar, tzid)) return zone;
  }
  if (icaltimezone *zone = windows_zone(name)) return zone;
  return ctx.floating;
}

icaltimezone *zone_of(icalproperty *prop, const icaltimetype &value, const ZoneContext &ctx) {
  if (icaltime_is_utc(value)) return nullptr;
  // RFC 5545 3.3.4: a DATE has no zone, whatever TZID a client attached.
  if (value.is_date || prop == nullptr) return ctx.floating;
  icalparameter *param = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
  if (param == nullptr) return ctx.floating;
  return resolve_tzid(icalparameter_get_tzid(param), ctx);
}

Micros to_micros(icaltimetype local, icaltimezone *zone) {
  local.is_date = 0;
  icaltimezone *utc = icaltimezone_get_utc_timezone();
  if (zone != nullptr && zone != utc) icaltimezone_convert_time(&local, zone, utc);
  const std::int64_t days = days_from_civil(local.year, static_cast<unsigned>(local.month),
                                            static_cast<unsigned>(local.day));
  const std::int64_t seconds =
      days * kSecondsPerDay + local.hour * 3600LL + local.minute * 60LL + local.second;
  return seconds * kMicrosPerSecond;
}

icaltimetype local_time(Micros at, icaltimezone *zone, bool is_date) {
  // Floor division, so that instants before 1970 land on the right second.
  std::int64_t seconds = at / kMicrosPerSecond;
  if (at % kMicrosPerSecond < 0) --seconds;
  icaltimetype t =
      icaltime_from_timet_with_zone(static_cast<time_t>(seconds), is_date ? 1 : 0, zone);
  t.zone = zone;
  return t;
}

bool valid_time(const icaltimetype &t) {
  if (t.year < 1 || t.year > 9999 || t.month < 1 || t.month > 12) return false;
  if (t.day < 1 || t.day > icaltime_days_in_month(t.month, t.year)) return false;
  if (t.is_date) return true;
  return t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59 && t.second >= 0 &&
         t.second <= 60;
}

std::string format_utc(Micros at) {
  const icaltimetype t = local_time(at, nullptr, false);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", t.year, t.month, t.day, t.hour,
                t.minute, t.second);
  return buf;
}

}  // namespace crm::capture::ical
