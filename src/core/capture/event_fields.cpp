#include "core/capture/event_fields.hpp"

#include <cstdio>
#include <string_view>

#include "core/capture/ical_text.hpp"
#include "core/capture/identity.hpp"
#include "core/capture/participants.hpp"

namespace crm::capture::ical {

namespace {

constexpr Micros kMicrosPerSecond = 1'000'000;

std::string text_of(const char *value) {
  return value == nullptr ? std::string() : to_utf8(value);
}

// A stable stand-in for a missing UID: the same event exported twice gets the same id, so a
// re-import updates rather than duplicates.
std::string synthesized_uid(icalcomponent *event) {
  std::string key;
  for (icalproperty_kind kind :
       {ICAL_DTSTART_PROPERTY, ICAL_SUMMARY_PROPERTY, ICAL_ORGANIZER_PROPERTY}) {
    icalproperty *prop = icalcomponent_get_first_property(event, kind);
    const char *value = prop == nullptr ? nullptr : icalproperty_get_value_as_string(prop);
    key += value == nullptr ? "" : value;
    key += '\x1f';
  }
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64: fixed across builds and platforms
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "no-uid-%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

// libical drops a property it cannot read and leaves an X-LIC-ERROR naming it. With
// `ignore_empty`, a property written without a value ("RRULE:", which some exporters emit for a
// non-recurring event) is no error: dropping it is all there is to do.
std::optional<std::string> parse_error_about(icalcomponent *event, std::string_view property,
                                             bool ignore_empty = false) {
  const std::string empty = "No value for " + std::string(property) + " property";
  for (icalproperty *p = icalcomponent_get_first_property(event, ICAL_XLICERROR_PROPERTY);
       p != nullptr; p = icalcomponent_get_next_property(event, ICAL_XLICERROR_PROPERTY)) {
    const char *text = icalproperty_get_xlicerror(p);
    if (text == nullptr) continue;
    std::string_view message(text);
    if (ignore_empty && message.starts_with(empty)) continue;
    if (message.find(std::string(property) + " property") != std::string_view::npos) {
      return to_utf8(message);
    }
  }
  return std::nullopt;
}

EventStatus status_of(icalcomponent *event, bool &cancelled) {
  cancelled = false;
  icalproperty *prop = icalcomponent_get_first_property(event, ICAL_STATUS_PROPERTY);
  if (prop == nullptr) return EventStatus::confirmed;
  switch (icalproperty_get_status(prop)) {
    case ICAL_STATUS_CANCELLED:
      cancelled = true;
      return EventStatus::canceled;
    case ICAL_STATUS_TENTATIVE:
      return EventStatus::tentative;
    default:
      return EventStatus::confirmed;
  }
}

// DTEND, else DURATION; an all-day event without either lasts its one day (RFC 5545 3.6.1).
EndRule end_rule(icalcomponent *event, const EventFields &f, const ZoneContext &ctx) {
  EndRule rule;
  if (icalproperty *prop = icalcomponent_get_first_property(event, ICAL_DTEND_PROPERTY)) {
    if (auto end = time_value(prop); end && valid_time(*end)) {
      if (f.all_day) {
        const Micros local_start = to_micros(f.dtstart, nullptr);
        const Micros local_end = to_micros(*end, nullptr);
        rule = {EndRule::Kind::days, (local_end - local_start) / (86'400 * kMicrosPerSecond)};
      } else {
        rule = {EndRule::Kind::micros, to_micros(*end, zone_of(prop, *end, ctx)) - f.starts_at};
      }
    }
  } else if (icalproperty *dur = icalcomponent_get_first_property(event, ICAL_DURATION_PROPERTY)) {
    const icaldurationtype d = icalproperty_get_duration(dur);
    if (!icaldurationtype_is_bad_duration(d)) {
      if (f.all_day && d.hours == 0 && d.minutes == 0 && d.seconds == 0) {
        const std::int64_t days = static_cast<std::int64_t>(d.weeks) * 7 + d.days;
        rule = {EndRule::Kind::days, d.is_neg ? -days : days};
      } else {
        rule = {EndRule::Kind::micros, icaldurationtype_as_int(d) * kMicrosPerSecond};
      }
    }
  } else if (f.all_day) {
    rule = {EndRule::Kind::days, 1};
  }
  // An end before the start is a broken export; say nothing rather than something wrong.
  if (rule.amount < 0) rule = {};
  return rule;
}

}  // namespace

std::optional<icaltimetype> time_value(icalproperty *prop) {
  if (prop == nullptr) return std::nullopt;
  icalvalue *value = icalproperty_get_value(prop);
  if (value == nullptr) return std::nullopt;
  switch (icalvalue_isa(value)) {
    case ICAL_DATE_VALUE:
      return icalvalue_get_date(value);
    case ICAL_DATETIME_VALUE:
      return icalvalue_get_datetime(value);
    case ICAL_DATETIMEDATE_VALUE:
      return icalvalue_get_datetimedate(value);
    default:
      return std::nullopt;
  }
}

std::optional<Micros> end_of(Micros start, const EndRule &rule, icaltimezone *zone) {
  switch (rule.kind) {
    case EndRule::Kind::none:
      return std::nullopt;
    case EndRule::Kind::micros:
      return start + rule.amount;
    case EndRule::Kind::days: {
      icaltimetype day = local_time(start, zone, true);
      icaltime_adjust(&day, static_cast<int>(rule.amount), 0, 0, 0);
      return to_micros(day, zone);
    }
  }
  return std::nullopt;
}

EventFields read_event(icalcomponent *event, const ZoneContext &ctx) {
  EventFields f;
  f.uid = text_of(icalcomponent_get_uid(event));
  if (f.uid.empty()) {
    f.uid = synthesized_uid(event);
    f.uid_synthesized = true;
  }
  f.uid = bounded_identity(f.uid);
  if (icalproperty *p = icalcomponent_get_first_property(event, ICAL_SEQUENCE_PROPERTY)) {
    f.sequence = icalproperty_get_sequence(p);
  }
  if (icalproperty *p = icalcomponent_get_first_property(event, ICAL_DTSTAMP_PROPERTY)) {
    if (auto t = time_value(p); t && valid_time(*t)) f.dtstamp = to_micros(*t, zone_of(p, *t, ctx));
  }
  if (icalproperty *p = icalcomponent_get_first_property(event, ICAL_SUMMARY_PROPERTY)) {
    f.summary = text_of(icalproperty_get_summary(p));
  }
  f.status = status_of(event, f.status_cancelled);
  f.participants = read_participants(event, f.dropped);
  f.recurring = icalcomponent_get_first_property(event, ICAL_RRULE_PROPERTY) != nullptr ||
                icalcomponent_get_first_property(event, ICAL_RDATE_PROPERTY) != nullptr;

  if (icalproperty *p = icalcomponent_get_first_property(event, ICAL_RECURRENCEID_PROPERTY)) {
    auto t = time_value(p);
    if (!t || !valid_time(*t)) {
      f.problem = Skip{"malformed", "unreadable RECURRENCE-ID"};
      return f;
    }
    f.recurrence_id = to_micros(*t, zone_of(p, *t, ctx));
    f.recurrence_id_written = *t;
  }

  icalproperty *start = icalcomponent_get_first_property(event, ICAL_DTSTART_PROPERTY);
  auto dtstart = time_value(start);
  if (!dtstart) {
    auto error = parse_error_about(event, "DTSTART");
    f.problem = Skip{"malformed", error ? "unreadable DTSTART (" + *error + ")"
                                        : std::string("VEVENT without DTSTART")};
    return f;
  }
  if (!valid_time(*dtstart)) {
    f.problem = Skip{"malformed", "DTSTART is not a real date"};
    return f;
  }
  f.dtstart = *dtstart;
  f.all_day = dtstart->is_date != 0;
  f.zone = zone_of(start, *dtstart, ctx);
  // The recurrence iterator reads zones from the time itself: attach the resolved zone to
  // times that carried a TZID, and leave floating times and dates floating (as libical's own
  // regression tests run them).
  if (!icaltime_is_utc(f.dtstart) && !f.all_day &&
      icalproperty_get_first_parameter(start, ICAL_TZID_PARAMETER) != nullptr &&
      f.zone != ctx.floating) {
    f.dtstart.zone = f.zone;
  }
  f.starts_at = to_micros(f.dtstart, f.zone);
  f.end = end_rule(event, f, ctx);
  if (auto error = parse_error_about(event, "RRULE", /*ignore_empty=*/true)) {
    f.problem = Skip{"malformed", "RRULE libical cannot read (" + *error + ")"};
  }
  return f;
}

}  // namespace crm::capture::ical
