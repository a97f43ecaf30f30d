#include "core/capture/zone_bounds.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include "core/capture/event_fields.hpp"
#include "core/capture/ical_handles.hpp"
#include "core/capture/timezones.hpp"

namespace crm::capture::ical {

namespace {

void note_year(const icaltimetype &t, int &lo, int &hi) {
  if (icaltime_is_null_time(t) || !valid_time(t)) return;
  lo = std::min(lo, t.year);
  hi = std::max(hi, t.year);
}

std::vector<icalcomponent *> children(icalcomponent *parent, icalcomponent_kind kind) {
  std::vector<icalcomponent *> out;
  for (icalcomponent *c = icalcomponent_get_first_component(parent, kind); c != nullptr;
       c = icalcomponent_get_next_component(parent, kind)) {
    out.push_back(c);
  }
  return out;
}

std::vector<icalproperty *> properties(icalcomponent *parent, icalproperty_kind kind) {
  std::vector<icalproperty *> out;
  for (icalproperty *p = icalcomponent_get_first_property(parent, kind); p != nullptr;
       p = icalcomponent_get_next_property(parent, kind)) {
    out.push_back(p);
  }
  return out;
}

// The TZIDs the events name; only those zones are ever expanded.
std::set<std::string> tzids_used(icalcomponent *vcalendar) {
  std::set<std::string> used;
  for (icalcomponent *event : children(vcalendar, ICAL_VEVENT_COMPONENT)) {
    for (icalproperty *p : properties(event, ICAL_ANY_PROPERTY)) {
      icalparameter *param = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
      const char *tzid = param == nullptr ? nullptr : icalparameter_get_tzid(param);
      if (tzid != nullptr) used.insert(tzid);
    }
  }
  return used;
}

std::string rule_text(icalrecurrencetype rule) {
  char *text = icalrecurrencetype_as_string_r(&rule);
  std::string out = text == nullptr ? std::string() : std::string(text);
  icalmemory_free_buffer(text);
  return out;
}

// One STANDARD or DAYLIGHT: its RRULEs expanded over `years` into RDATEs, or why not.
std::optional<std::string> bound_observance(icalcomponent *observance, YearSpan years,
                                            ZoneBudget &budget, CancelCheck cancel) {
  const std::vector<icalproperty *> rules = properties(observance, ICAL_RRULE_PROPERTY);
  if (rules.empty()) return std::nullopt;
  icalproperty *start_prop = icalcomponent_get_first_property(observance, ICAL_DTSTART_PROPERTY);
  icalproperty *to_prop = icalcomponent_get_first_property(observance, ICAL_TZOFFSETTO_PROPERTY);
  icalproperty *from_prop =
      icalcomponent_get_first_property(observance, ICAL_TZOFFSETFROM_PROPERTY);
  // libical ignores an observance without DTSTART or TZOFFSETTO; so can we.
  if (start_prop == nullptr || to_prop == nullptr) return std::nullopt;
  const icaltimetype dtstart = icalproperty_get_dtstart(start_prop);
  if (!valid_time(dtstart) || dtstart.is_date) return "observance DTSTART is not a date-time";
  const int offset_before =
      icalproperty_get_tzoffsetfrom(from_prop != nullptr ? from_prop : to_prop);

  icaltimetype last = icaltime_null_time();
  last.year = years.to;
  last.month = 12;
  last.day = 31;
  last.hour = 23;
  last.minute = 59;
  last.second = 59;

  std::vector<icaltimetype> changes;
  for (icalproperty *prop : rules) {
    icalrecurrencetype rule = icalproperty_get_rrule(prop);
    // Offsets change once or twice a year; anything finer is an attack on the expansion.
    if (rule.freq != ICAL_YEARLY_RECURRENCE) {
      return "observance recurs other than yearly (RRULE:" + rule_text(rule) + ")";
    }
    const int interval = std::max<int>(1, rule.interval);
    // An UNTIL in UTC is read in the offset before the change, as libical reads it.
    icaltimetype until = rule.until;
    if (!icaltime_is_null_time(until) && valid_time(until)) {
      if (icaltime_is_utc(until)) icaltime_adjust(&until, 0, 0, 0, offset_before);
      until.zone = nullptr;
      until.is_date = 0;
      if (icaltime_compare(until, last) < 0) last = until;
    }
    rule.until = last;
    // Without COUNT a yearly rule gives the same dates each year whatever year it started in:
    // start a couple of years before the years needed (keeping the INTERVAL's phase) instead of
    // walking centuries of changes nobody converts a time at.
    icaltimetype start = dtstart;
    if (rule.count == 0 && years.from - 2 > start.year) {
      icaltimetype later = start;
      later.year += (years.from - 2 - start.year) / interval * interval;
      if (valid_time(later)) start = later;
    }
    const std::int64_t span = std::max(1, years.to - start.year + 1);
    if (span > budget.years_left) {
      return "observances need more than " + std::to_string(kMaxZoneYearsPerCalendar) +
             " years of rules in all";
    }
    budget.years_left -= span;

    Iterator it(icalrecur_iterator_new(rule, start));
    if (!it) return "observance RRULE libical cannot expand (" + rule_text(rule) + ")";
    for (icaltimetype t = icalrecur_iterator_next(it.get()); !icaltime_is_null_time(t);
         t = icalrecur_iterator_next(it.get())) {
      poll_cancel(cancel);
      if (t.year > years.to) break;
      if (--budget.changes_left < 0) {
        return "more than " + std::to_string(kMaxZoneChangesPerCalendar) +
               " offset changes in the years the events need";
      }
      if (icaltime_compare(t, dtstart) != 0) changes.push_back(t);  // libical adds DTSTART itself
    }
  }
  for (icalproperty *prop : rules) {
    icalcomponent_remove_property(observance, prop);
    icalproperty_free(prop);
  }
  for (icaltimetype t : changes) {
    icaldatetimeperiodtype value;
    t.zone = nullptr;
    value.time = t;
    value.period = icalperiodtype_null_period();
    icalcomponent_add_property(observance, icalproperty_new_rdate(value));
  }
  return std::nullopt;
}

}  // namespace

YearSpan years_needed(icalcomponent *vcalendar, Micros window_from, Micros window_to) {
  int lo = local_time(window_from, nullptr, false).year;
  int hi = local_time(window_to, nullptr, false).year;
  for (icalcomponent *event : children(vcalendar, ICAL_VEVENT_COMPONENT)) {
    for (icalproperty *p : properties(event, ICAL_ANY_PROPERTY)) {
      switch (icalproperty_isa(p)) {
        case ICAL_RDATE_PROPERTY: {
          const icaldatetimeperiodtype v = icalproperty_get_rdate(p);
          note_year(v.time, lo, hi);
          note_year(v.period.start, lo, hi);
          note_year(v.period.end, lo, hi);
          break;
        }
        case ICAL_EXDATE_PROPERTY:
          note_year(icalproperty_get_exdate(p), lo, hi);
          break;
        case ICAL_RRULE_PROPERTY:
          note_year(icalproperty_get_rrule(p).until, lo, hi);
          break;
        case ICAL_EXRULE_PROPERTY:
          note_year(icalproperty_get_exrule(p).until, lo, hi);
          break;
        default:
          if (auto t = time_value(p)) note_year(*t, lo, hi);
          break;
      }
    }
  }
  YearSpan span{std::clamp(lo - 1, 1, kLastZoneYear), std::clamp(hi + 1, 1, kLastZoneYear)};
  span.from = std::min(span.from, span.to);
  return span;
}

std::optional<std::string> bound_zones(icalcomponent *vcalendar, YearSpan years, ZoneBudget &budget,
                                       CancelCheck cancel) {
  const std::set<std::string> used = tzids_used(vcalendar);
  for (icalcomponent *zone : children(vcalendar, ICAL_VTIMEZONE_COMPONENT)) {
    icalproperty *tzid_prop = icalcomponent_get_first_property(zone, ICAL_TZID_PROPERTY);
    const char *tzid = tzid_prop == nullptr ? nullptr : icalproperty_get_tzid(tzid_prop);
    if (tzid == nullptr || used.count(tzid) == 0 || has_builtin_zone(tzid)) continue;
    for (icalcomponent *observance : children(zone, ICAL_ANY_COMPONENT)) {
      const icalcomponent_kind kind = icalcomponent_isa(observance);
      if (kind != ICAL_XSTANDARD_COMPONENT && kind != ICAL_XDAYLIGHT_COMPONENT) continue;
      if (auto why = bound_observance(observance, years, budget, cancel)) {
        return "VTIMEZONE " + std::string(tzid) + ": " + *why;
      }
    }
  }
  return std::nullopt;
}

}  // namespace crm::capture::ical
