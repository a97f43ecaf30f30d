#include "core/capture/recurrence.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>

namespace crm::capture::ical {

namespace {

constexpr Micros kDay = 86'400LL * 1'000'000;

struct Collector {
  const Window window;
  const std::size_t limit;
  // Each EXDATE removes at most one start, so more than limit + EXDATEs can never fit.
  std::size_t hard_limit = 0;
  std::set<Micros> starts;
  std::map<Micros, Micros> period_ends;

  bool in_window(Micros t) const { return t >= window.from && t < window.to; }
};

Skip too_many(std::size_t limit) {
  return Skip{"policy", "recurring series with more than " + std::to_string(limit) +
                            " instances in the window"};
}

std::size_t count_exdates(icalcomponent *event) {
  std::size_t n = 0;
  for (icalproperty *p = icalcomponent_get_first_property(event, ICAL_EXDATE_PROPERTY);
       p != nullptr; p = icalcomponent_get_next_property(event, ICAL_EXDATE_PROPERTY)) {
    ++n;
  }
  return n;
}

std::string rule_text(const icalrecurrencetype &rule) {
  char *text = icalrecurrencetype_as_string_r(const_cast<icalrecurrencetype *>(&rule));
  std::string out = text == nullptr ? std::string() : std::string(text);
  icalmemory_free_buffer(text);
  return out;
}

// libical searches for the next match up to year 2582 inside one icalrecur_iterator_next call,
// which a rule that never matches (FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30) turns into minutes of
// CPU. An UNTIL just past the window bounds that search; instances after it are not wanted.
void bound_until(icalrecurrencetype &rule, const EventFields &f, Window window) {
  const Micros bound = window.to + 2 * kDay;
  if (!icaltime_is_null_time(rule.until) && valid_time(rule.until)) {
    icaltimezone *until_zone = icaltime_is_utc(rule.until) ? nullptr : f.zone;
    if (to_micros(rule.until, until_zone) <= bound) return;
  }
  icaltimetype until = local_time(bound, f.zone, f.all_day);
  until.zone = f.dtstart.zone;
  rule.until = until;
}

// Walks one RRULE (or EXRULE) from DTSTART into `into`. Only HOURLY and MINUTELY rules jump
// ahead with icalrecur_iterator_set_start: walking them is what costs, and libical 3.0.16's
// set_start yields wrong days for some YEARLY rules (BYWEEKNO=1,2,-1,-2;BYDAY=TU gives a
// Wednesday); the other frequencies walk at most a few thousand steps a decade.
// `remove` is for EXRULE: its instances leave the collected starts.
std::optional<Skip> expand_rule(icalrecurrencetype rule, const EventFields &f, Collector &out,
                                bool remove) {
  if (rule.freq == ICAL_SECONDLY_RECURRENCE) {
    return Skip{"policy", "RRULE with FREQ=SECONDLY is not a meeting"};
  }
  const std::string text = rule_text(rule);
  bound_until(rule, f, out.window);
  Iterator it(icalrecur_iterator_new(rule, f.dtstart));
  if (!it) return Skip{"malformed", "RRULE libical cannot expand: " + text};
  const bool fast = rule.freq == ICAL_HOURLY_RECURRENCE || rule.freq == ICAL_MINUTELY_RECURRENCE;
  if (fast && rule.count == 0 && out.window.from - kDay > f.starts_at) {
    icaltimetype start = local_time(out.window.from - kDay, f.zone, f.all_day);
    start.zone = f.dtstart.zone;
    icalrecur_iterator_set_start(it.get(), start);
  }
  std::size_t steps = 0;
  for (icaltimetype t = icalrecur_iterator_next(it.get()); !icaltime_is_null_time(t);
       t = icalrecur_iterator_next(it.get())) {
    if (++steps > kMaxRecurrenceSteps) {
      return Skip{"policy", "RRULE needs more than " + std::to_string(kMaxRecurrenceSteps) +
                                " steps to reach the end of the window: " + text};
    }
    if (!valid_time(t)) break;
    const Micros at = to_micros(t, f.zone);
    if (at >= out.window.to) break;
    if (!out.in_window(at)) continue;
    if (remove) {
      out.starts.erase(at);
      out.period_ends.erase(at);
    } else {
      out.starts.insert(at);
      if (out.starts.size() > out.hard_limit) return too_many(out.limit);
    }
  }
  return std::nullopt;
}

void add_rdates(icalcomponent *event, const EventFields &f, const ZoneContext &ctx,
                Collector &out) {
  for (icalproperty *p = icalcomponent_get_first_property(event, ICAL_RDATE_PROPERTY); p != nullptr;
       p = icalcomponent_get_next_property(event, ICAL_RDATE_PROPERTY)) {
    const icaldatetimeperiodtype value = icalproperty_get_rdate(p);
    if (!icaltime_is_null_time(value.time)) {
      if (!valid_time(value.time)) continue;
      const Micros at =
          to_micros(value.time, value.time.is_date ? ctx.floating : zone_of(p, value.time, ctx));
      if (out.in_window(at)) out.starts.insert(at);
      continue;
    }
    const icalperiodtype &period = value.period;
    if (icaltime_is_null_time(period.start) || !valid_time(period.start)) continue;
    const Micros at = to_micros(period.start, zone_of(p, period.start, ctx));
    if (!out.in_window(at)) continue;
    out.starts.insert(at);
    if (!icaltime_is_null_time(period.end) && valid_time(period.end)) {
      out.period_ends[at] = to_micros(period.end, zone_of(p, period.end, ctx));
    } else if (!icaldurationtype_is_null_duration(period.duration)) {
      out.period_ends[at] = at + icaldurationtype_as_int(period.duration) * 1'000'000LL;
    }
  }
  (void)f;
}

// EXDATE as an instant; a DATE EXDATE on a timed series removes every start on that local day.
void remove_exdates(icalcomponent *event, const EventFields &f, const ZoneContext &ctx,
                    Collector &out) {
  std::set<std::tuple<int, int, int>> days;
  for (icalproperty *p = icalcomponent_get_first_property(event, ICAL_EXDATE_PROPERTY);
       p != nullptr; p = icalcomponent_get_next_property(event, ICAL_EXDATE_PROPERTY)) {
    const icaltimetype t = icalproperty_get_exdate(p);
    if (icaltime_is_null_time(t) || !valid_time(t)) continue;
    if (t.is_date && !f.all_day) {
      days.emplace(t.year, t.month, t.day);
      continue;
    }
    const Micros at = to_micros(t, t.is_date ? ctx.floating : zone_of(p, t, ctx));
    out.starts.erase(at);
    out.period_ends.erase(at);
  }
  if (days.empty()) return;
  for (auto it = out.starts.begin(); it != out.starts.end();) {
    const icaltimetype local = local_time(*it, f.zone, false);
    if (days.count({local.year, local.month, local.day}) != 0) {
      out.period_ends.erase(*it);
      it = out.starts.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

Expansion expand(icalcomponent *event, const EventFields &f, const ZoneContext &ctx, Window window,
                 std::size_t limit) {
  Expansion result;
  Collector out{window, limit, limit + count_exdates(event), {}, {}};
  icalproperty *rrule = icalcomponent_get_first_property(event, ICAL_RRULE_PROPERTY);
  // With an RRULE, DTSTART counts only when the rule yields it, as libical's own
  // icalcomponent_foreach_recurrence does; without one it is the first instance.
  if (rrule == nullptr && out.in_window(f.starts_at)) out.starts.insert(f.starts_at);
  for (; rrule != nullptr; rrule = icalcomponent_get_next_property(event, ICAL_RRULE_PROPERTY)) {
    if (auto skip = expand_rule(icalproperty_get_rrule(rrule), f, out, false)) {
      result.skip = std::move(skip);
      return result;
    }
  }
  add_rdates(event, f, ctx, out);
  remove_exdates(event, f, ctx, out);
  // EXRULE is deprecated (RFC 5545 dropped it) but older exports still write it.
  for (icalproperty *p = icalcomponent_get_first_property(event, ICAL_EXRULE_PROPERTY);
       p != nullptr; p = icalcomponent_get_next_property(event, ICAL_EXRULE_PROPERTY)) {
    if (auto skip = expand_rule(icalproperty_get_exrule(p), f, out, true)) {
      result.skip = std::move(skip);
      return result;
    }
  }
  if (out.starts.size() > limit) {
    result.skip = too_many(limit);
    return result;
  }
  result.starts.assign(out.starts.begin(), out.starts.end());
  result.period_ends = std::move(out.period_ends);
  return result;
}

}  // namespace crm::capture::ical
