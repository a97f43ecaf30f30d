#include "core/capture/calendar.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "core/capture/event_fields.hpp"
#include "core/capture/ical_reader.hpp"
#include "core/capture/ical_text.hpp"
#include "core/capture/recurrence.hpp"
#include "core/capture/timezones.hpp"
#include "core/capture/zone_bounds.hpp"

namespace crm::capture {

namespace {

using ical::EventFields;
using ical::ZoneContext;

struct Entry {
  icalcomponent *event = nullptr;
  ZoneContext ctx;
  bool cancel_method = false;  // carried by a METHOD:CANCEL calendar
  EventFields fields;
};

// One UID: its master (if the file has it) and its RECURRENCE-ID overrides.
struct Group {
  Entry *master = nullptr;
  std::map<Micros, Entry *> overrides;
};

bool newer(const Entry &a, const Entry &b) {
  return std::make_tuple(a.fields.sequence, a.fields.dtstamp.value_or(0)) >
         std::make_tuple(b.fields.sequence, b.fields.dtstamp.value_or(0));
}

// The same event twice in one input (a forwarded update under the original): the later
// SEQUENCE, then DTSTAMP, wins.
void keep_newest(Entry *&slot, Entry *candidate, ParsedCalendar &out) {
  if (slot == nullptr) {
    slot = candidate;
    return;
  }
  Entry *older = newer(*candidate, *slot) ? std::exchange(slot, candidate) : candidate;
  out.skipped.push_back(
      {older->fields.uid, {"policy", "superseded by a later copy of the same VEVENT"}});
}

std::string method_of(icalcomponent *vcalendar) {
  icalproperty *prop = icalcomponent_get_first_property(vcalendar, ICAL_METHOD_PROPERTY);
  const char *value = prop == nullptr ? nullptr : icalproperty_get_value_as_string(prop);
  return value == nullptr ? std::string() : ical::upper(value);
}

bool in_window(Micros t, Window w) {
  return t >= w.from && t < w.to;
}

// An all-day series' instance identity: its day at 00:00 UTC. Reading the day in the session's
// zone would give each TimeZone setting its own identities for the same instance.
Micros day_key(icaltimetype written) {
  written.is_date = 1;
  written.zone = nullptr;
  return ical::to_micros(written, nullptr);
}

// The day key of an instance starting at `start`, a midnight in `zone`.
Micros day_key_of(Micros start, icaltimezone *zone) {
  return day_key(ical::local_time(start, zone, true));
}

// Events of one UID left out because the file passed its instance limit.
struct Cut {
  std::string uid;
  std::size_t instances = 0;
};

EventInstance instance_of(const Entry &e, const Entry *master, Micros start,
                          std::optional<Micros> end, std::optional<Micros> recurrence_id) {
  const EventFields &f = e.fields;
  EventInstance i;
  i.uid = f.uid;
  i.recurrence_id = recurrence_id;
  i.external_id = recurrence_id ? f.uid + "/" + ical::format_utc(*recurrence_id) : f.uid;
  i.sequence = f.sequence;
  i.dtstamp = f.dtstamp;
  i.from_override = f.recurrence_id.has_value();
  i.starts_at = start;
  i.ends_at = end;
  i.all_day = f.all_day;
  // Some clients write overrides with only what changed; the rest comes from the master.
  const EventFields *base = master == nullptr ? nullptr : &master->fields;
  if (f.summary) {
    i.subject = *f.summary;
  } else if (base != nullptr && base->summary) {
    i.subject = *base->summary;
  }
  i.participants = f.participants.empty() && base != nullptr ? base->participants : f.participants;
  i.status = f.status;
  if (e.cancel_method || (base != nullptr && (base->status_cancelled || master->cancel_method))) {
    i.status = EventStatus::canceled;
  }
  return i;
}

EventInstance override_instance(const Entry &e, const Entry *master) {
  const EventFields &f = e.fields;
  return instance_of(e, master, f.starts_at, ical::end_of(f.starts_at, f.end, f.zone),
                     f.recurrence_id);
}

// An override belongs to the window when it was or now is inside it: moved in, or moved out.
bool override_in_window(const Entry &e, Window w) {
  return in_window(e.fields.starts_at, w) || in_window(*e.fields.recurrence_id, w);
}

// The group's instances are appended to `out` when they fit in what the limits leave, else
// counted in `cuts`.
void emit_group(const std::string &uid, const Group &g, Window window, ical::StepBudget &budget,
                const Limits &limits, std::vector<Cut> &cuts, ParsedCalendar &out) {
  poll_cancel(limits.cancel);
  std::vector<EventInstance> instances;
  const Entry *m = g.master;
  if (m != nullptr && !m->fields.recurring) {
    if (in_window(m->fields.starts_at, window)) {
      instances.push_back(instance_of(
          *m, nullptr, m->fields.starts_at,
          ical::end_of(m->fields.starts_at, m->fields.end, m->fields.zone), std::nullopt));
    }
  } else if (m != nullptr) {
    ical::Expansion x = ical::expand(m->event, m->fields, m->ctx, window, kMaxInstancesPerSeries,
                                     budget, limits.cancel);
    if (x.skip) {
      out.skipped.push_back({uid, *x.skip});
      return;
    }
    for (Micros start : x.starts) {
      const Micros rid = m->fields.all_day ? day_key_of(start, m->fields.zone) : start;
      if (g.overrides.count(rid) != 0) continue;
      auto period_end = x.period_ends.find(start);
      std::optional<Micros> end = period_end != x.period_ends.end()
                                      ? std::optional<Micros>(period_end->second)
                                      : ical::end_of(start, m->fields.end, m->fields.zone);
      instances.push_back(instance_of(*m, nullptr, start, end, rid));
    }
  }
  for (const auto &[rid, e] : g.overrides) {
    if (override_in_window(*e, window)) instances.push_back(override_instance(*e, m));
  }
  // A group is filed whole or not at all: part of a series would read, next time the whole
  // series comes, as instances it no longer has.
  if (instances.size() >
      limits.max_instances - std::min(limits.max_instances, out.instances.size())) {
    cuts.push_back({uid, instances.size()});
    return;
  }
  std::stable_sort(
      instances.begin(), instances.end(),
      [](const EventInstance &a, const EventInstance &b) { return a.starts_at < b.starts_at; });
  for (auto &i : instances) out.instances.push_back(std::move(i));
}

// One policy skip per UID left out, each with the counts of what the limit cut from the file.
void report_cuts(const std::vector<Cut> &cuts, const Limits &limits, ParsedCalendar &out) {
  std::size_t total = 0;
  for (const Cut &c : cuts) total += c.instances;
  const std::string counts = std::to_string(total) + " instances of " +
                             std::to_string(cuts.size()) +
                             (cuts.size() == 1 ? " event" : " events") + " in all; " +
                             std::to_string(out.instances.size()) + " filed, at most " +
                             std::to_string(limits.max_instances) + ")";
  for (const Cut &c : cuts) {
    out.skipped.push_back(
        {c.uid,
         {"policy", "over " + limits.instance_limit + ": " + std::to_string(c.instances) +
                        " instances of this event left out (" + counts}});
  }
}

// Whether a UID's RECURRENCE-IDs name days: its series is all-day, or, when the file has no
// series (an update of one instance), the override itself is written as a day.
bool names_days(const Group &g, const Entry &override) {
  if (g.master != nullptr) return g.master->fields.all_day;
  return override.fields.recurrence_id_written.is_date != 0 || override.fields.all_day;
}

// A VEVENT outside any VCALENDAR (pasted after END:VCALENDAR, or a bare VEVENT next to a
// calendar) is no part of the file's calendar; it is reported rather than dropped unseen.
// (A file of nothing but such VEVENTs is malformed as a whole.)
void skip_stray_events(const std::vector<ical::Component> &components, ParsedCalendar &out) {
  for (const ical::Component &c : components) {
    if (icalcomponent_isa(c.get()) != ICAL_VEVENT_COMPONENT) continue;
    const char *uid = icalcomponent_get_uid(c.get());
    out.skipped.push_back({uid == nullptr ? std::string() : ical::to_utf8(uid),
                           {"malformed", "VEVENT outside a VCALENDAR"}});
  }
}

void add_canceled_series(ParsedCalendar &out, const std::string &uid) {
  if (std::find(out.canceled_series.begin(), out.canceled_series.end(), uid) ==
      out.canceled_series.end()) {
    out.canceled_series.push_back(uid);
  }
}

}  // namespace

ParsedCalendar parse_calendar(std::string_view ics, Window window, const std::string &floating_zone,
                              const Limits &limits) {
  ParsedCalendar out;
  std::vector<ical::Component> components = ical::read_components(ics);
  poll_cancel(limits.cancel);
  icaltimezone *floating = ical::zone_by_name(floating_zone);

  // The file's own zones are bounded before libical may expand any of them.
  ical::ZoneBudget zone_budget;
  for (const ical::Component &c : components) {
    if (icalcomponent_isa(c.get()) != ICAL_VCALENDAR_COMPONENT) continue;
    const ical::YearSpan years = ical::years_needed(c.get(), window.from, window.to);
    if (auto why = ical::bound_zones(c.get(), years, zone_budget, limits.cancel)) {
      out.malformed = Skip{"malformed", *why};
      return out;
    }
  }

  std::vector<Entry> entries;
  bool any_calendar = false;
  for (const ical::Component &c : components) {
    if (icalcomponent_isa(c.get()) != ICAL_VCALENDAR_COMPONENT) continue;
    any_calendar = true;
    const std::string method = method_of(c.get());
    if (out.method.empty()) out.method = method;
    const ZoneContext ctx{c.get(), floating};
    for (icalcomponent *ev = icalcomponent_get_first_component(c.get(), ICAL_VEVENT_COMPONENT);
         ev != nullptr; ev = icalcomponent_get_next_component(c.get(), ICAL_VEVENT_COMPONENT)) {
      poll_cancel(limits.cancel);
      Entry e{ev, ctx, method == "CANCEL", ical::read_event(ev, ctx)};
      for (const std::string &why : e.fields.dropped)
        out.dropped.push_back({e.fields.uid_synthesized ? "" : e.fields.uid, {"malformed", why}});
      // A cancellation needs no readable times to cancel its series.
      if (e.cancel_method && !e.fields.recurrence_id && !e.fields.uid_synthesized) {
        add_canceled_series(out, e.fields.uid);
      }
      if (e.fields.problem) {
        out.skipped.push_back({e.fields.uid_synthesized ? "" : e.fields.uid, *e.fields.problem});
        continue;
      }
      entries.push_back(std::move(e));
    }
  }
  if (!any_calendar) {
    out.malformed =
        Skip{"malformed", components.empty() ? "no iCalendar data" : "no VCALENDAR component"};
    return out;
  }
  skip_stray_events(components, out);

  std::vector<std::string> order;
  std::map<std::string, Group> groups;
  for (Entry &e : entries) {
    auto [it, fresh] = groups.try_emplace(e.fields.uid);
    if (fresh) order.push_back(e.fields.uid);
    if (!e.fields.recurrence_id) keep_newest(it->second.master, &e, out);
  }
  // Overrides once every series is known: an all-day series' overrides name days.
  for (Entry &e : entries) {
    if (!e.fields.recurrence_id) continue;
    Group &g = groups[e.fields.uid];
    if (names_days(g, e)) e.fields.recurrence_id = day_key(e.fields.recurrence_id_written);
    keep_newest(g.overrides[*e.fields.recurrence_id], &e, out);
  }
  ical::StepBudget budget;
  std::vector<Cut> cuts;
  for (const std::string &uid : order) {
    emit_group(uid, groups[uid], window, budget, limits, cuts, out);
  }
  report_cuts(cuts, limits, out);
  return out;
}

}  // namespace crm::capture
