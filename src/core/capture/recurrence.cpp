#include "core/capture/recurrence.hpp"

#include <algorithm>
#include <cstdint>
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

// The shortest FREQ period: an upper bound on how many periods fit in a span.
Micros period_of(const icalrecurrencetype &rule) {
  constexpr Micros kMinute = 60'000'000;
  Micros unit = kDay;
  switch (rule.freq) {
    case ICAL_MINUTELY_RECURRENCE:
      unit = kMinute;
      break;
    case ICAL_HOURLY_RECURRENCE:
      unit = 60 * kMinute;
      break;
    case ICAL_DAILY_RECURRENCE:  // a day may be 23 hours long (DST), likewise below
      unit = kDay - 60 * kMinute;
      break;
    case ICAL_WEEKLY_RECURRENCE:
      unit = 7 * kDay - 60 * kMinute;
      break;
    case ICAL_MONTHLY_RECURRENCE:
      unit = 28 * kDay - 60 * kMinute;
      break;
    case ICAL_YEARLY_RECURRENCE:
      unit = 365 * kDay - 60 * kMinute;
      break;
    default:
      break;
  }
  return unit * std::max<Micros>(1, rule.interval);
}

// libical's UNTIL, in UTC; nullopt when the rule has none.
std::optional<Micros> until_of(const icalrecurrencetype &rule, const EventFields &f) {
  if (icaltime_is_null_time(rule.until) || !valid_time(rule.until)) return std::nullopt;
  return to_micros(rule.until, icaltime_is_utc(rule.until) ? nullptr : f.zone);
}

// Without a bound, libical searches for the next match up to year 2582 inside one
// icalrecur_iterator_next call, which a rule that never matches (FREQ=MINUTELY;BYMONTH=2;
// BYMONTHDAY=30) turns into minutes of CPU. An UNTIL at `stop` bounds that search.
void bound_until(icalrecurrencetype &rule, const EventFields &f, Micros stop) {
  if (auto until = until_of(rule, f); until && *until <= stop) return;
  icaltimetype until = local_time(stop, f.zone, f.all_day);
  until.zone = f.dtstart.zone;
  rule.until = until;
}

// Walks one RRULE (or EXRULE) from DTSTART. Only HOURLY and MINUTELY rules without COUNT jump
// ahead with icalrecur_iterator_set_start: walking them is what costs, and libical 3.0.16's
// set_start yields wrong days for some YEARLY rules (BYWEEKNO=1,2,-1,-2;BYDAY=TU gives a
// Wednesday); the other frequencies walk a few thousand periods a decade.
// `remove` is for EXRULE: its instances leave the collected starts.
std::optional<Skip> expand_rule(icalrecurrencetype rule, const EventFields &f, Collector &out,
                                StepBudget &budget, bool remove, CancelCheck cancel) {
  if (rule.freq == ICAL_SECONDLY_RECURRENCE) {
    return Skip{"policy", "RRULE with FREQ=SECONDLY is not a meeting"};
  }
  const std::string text = rule_text(rule);
  const bool fast = rule.freq == ICAL_HOURLY_RECURRENCE || rule.freq == ICAL_MINUTELY_RECURRENCE;
  const bool jump = fast && rule.count == 0 && out.window.from - kDay > f.starts_at;
  const Micros walk_from = jump ? out.window.from - kDay : f.starts_at;
  const Micros horizon = out.window.to + 2 * kDay;
  const Micros unit = period_of(rule);
  // Where kMaxRecurrencePeriods periods end, saturating instead of overflowing.
  const Micros reach = unit > (INT64_MAX - std::max<Micros>(walk_from, 0)) / kMaxRecurrencePeriods
                           ? INT64_MAX
                           : walk_from + unit * kMaxRecurrencePeriods;
  const Micros stop = std::min(horizon, reach);
  const std::optional<Micros> until = until_of(rule, f);
  const Micros end = until ? std::min(stop, *until) : stop;
  const std::int64_t periods = end > walk_from ? (end - walk_from) / unit + 1 : 1;
  if (periods > budget.periods_left) {
    return Skip{"policy", "calendar needs more than " + std::to_string(kMaxPeriodsPerCalendar) +
                              " recurrence steps in all"};
  }
  budget.periods_left -= periods;

  bound_until(rule, f, stop);
  Iterator it(icalrecur_iterator_new(rule, f.dtstart));
  if (!it) return Skip{"malformed", "RRULE libical cannot expand: " + text};
  if (jump) {
    icaltimetype start = local_time(walk_from, f.zone, f.all_day);
    start.zone = f.dtstart.zone;
    icalrecur_iterator_set_start(it.get(), start);
  }
  const Skip too_long{"policy", "RRULE needs more than " + std::to_string(kMaxRecurrencePeriods) +
                                    " steps to reach the end of the window: " + text};
  std::size_t yields = 0;
  for (icaltimetype t = icalrecur_iterator_next(it.get());; t = icalrecur_iterator_next(it.get())) {
    if (icaltime_is_null_time(t)) {
      // The series ended: by its COUNT or UNTIL, or at the bound set here short of the window.
      const bool counted_out = rule.count > 0 && yields >= static_cast<std::size_t>(rule.count);
      const bool until_reached = until && *until <= stop;
      if (stop < horizon && !counted_out && !until_reached) return too_long;
      break;
    }
    poll_cancel(cancel);
    if (++yields > kMaxRecurrenceYields) return too_long;
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

// RDATE as DATE-TIME, DATE (local midnight in the floating zone) or PERIOD (with its own end).
void add_rdates(icalcomponent *event, const ZoneContext &ctx, Collector &out) {
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
}

// EXDATE as an instant; a DATE EXDATE on a timed series removes every start on that local day;
// on an all-day series every EXDATE is a day.
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
    Micros at = 0;
    if (f.all_day) {
      // An all-day series' EXDATE names a day, whatever time and TZID a client wrote with it
      // (Outlook writes EXDATE;TZID=...:20261110T000000): read in another zone it would miss.
      icaltimetype day = t;
      day.is_date = 1;
      day.zone = nullptr;
      at = to_micros(day, f.zone);
    } else {
      at = to_micros(t, t.is_date ? ctx.floating : zone_of(p, t, ctx));
    }
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
                 std::size_t limit, StepBudget &budget, CancelCheck cancel) {
  Expansion result;
  Collector out{window, limit, limit + count_exdates(event), {}, {}};
  icalproperty *rrule = icalcomponent_get_first_property(event, ICAL_RRULE_PROPERTY);
  // With an RRULE, DTSTART counts only when the rule yields it, as libical's own
  // icalcomponent_foreach_recurrence does; without one it is the first instance.
  if (rrule == nullptr && out.in_window(f.starts_at)) out.starts.insert(f.starts_at);
  for (; rrule != nullptr; rrule = icalcomponent_get_next_property(event, ICAL_RRULE_PROPERTY)) {
    const icalrecurrencetype rule = icalproperty_get_rrule(rrule);
    // A rule that ends before it starts yields nothing in libical, but RFC 5545 (3.8.5.3) makes
    // DTSTART the first instance of every series: the event happens once.
    if (const auto until = until_of(rule, f); until && *until < f.starts_at) {
      if (out.in_window(f.starts_at)) out.starts.insert(f.starts_at);
      continue;
    }
    if (auto skip = expand_rule(rule, f, out, budget, false, cancel)) {
      result.skip = std::move(skip);
      return result;
    }
  }
  add_rdates(event, ctx, out);
  remove_exdates(event, f, ctx, out);
  // EXRULE is deprecated (RFC 5545 dropped it) but older exports still write it.
  for (icalproperty *p = icalcomponent_get_first_property(event, ICAL_EXRULE_PROPERTY);
       p != nullptr; p = icalcomponent_get_next_property(event, ICAL_EXRULE_PROPERTY)) {
    if (auto skip = expand_rule(icalproperty_get_exrule(p), f, out, budget, true, cancel)) {
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
