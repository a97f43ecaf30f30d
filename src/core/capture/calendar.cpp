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

void emit_group(const std::string &uid, const Group &g, Window window, ical::StepBudget &budget,
                ParsedCalendar &out) {
  std::vector<EventInstance> instances;
  const Entry *m = g.master;
  if (m != nullptr && !m->fields.recurring) {
    if (in_window(m->fields.starts_at, window)) {
      instances.push_back(instance_of(
          *m, nullptr, m->fields.starts_at,
          ical::end_of(m->fields.starts_at, m->fields.end, m->fields.zone), std::nullopt));
    }
  } else if (m != nullptr) {
    ical::Expansion x =
        ical::expand(m->event, m->fields, m->ctx, window, kMaxInstancesPerSeries, budget);
    if (x.skip) {
      out.skipped.push_back({uid, *x.skip});
      return;
    }
    for (Micros start : x.starts) {
      if (g.overrides.count(start) != 0) continue;
      auto period_end = x.period_ends.find(start);
      std::optional<Micros> end = period_end != x.period_ends.end()
                                      ? std::optional<Micros>(period_end->second)
                                      : ical::end_of(start, m->fields.end, m->fields.zone);
      instances.push_back(instance_of(*m, nullptr, start, end, start));
    }
  }
  for (const auto &[rid, e] : g.overrides) {
    if (override_in_window(*e, window)) instances.push_back(override_instance(*e, m));
  }
  std::stable_sort(
      instances.begin(), instances.end(),
      [](const EventInstance &a, const EventInstance &b) { return a.starts_at < b.starts_at; });
  for (auto &i : instances) out.instances.push_back(std::move(i));
}

void add_canceled_series(ParsedCalendar &out, const std::string &uid) {
  if (std::find(out.canceled_series.begin(), out.canceled_series.end(), uid) ==
      out.canceled_series.end()) {
    out.canceled_series.push_back(uid);
  }
}

}  // namespace

ParsedCalendar parse_calendar(std::string_view ics, Window window,
                              const std::string &floating_zone) {
  ParsedCalendar out;
  std::vector<ical::Component> components = ical::read_components(ics);
  icaltimezone *floating = ical::zone_by_name(floating_zone);

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

  std::vector<std::string> order;
  std::map<std::string, Group> groups;
  for (Entry &e : entries) {
    auto [it, fresh] = groups.try_emplace(e.fields.uid);
    if (fresh) order.push_back(e.fields.uid);
    if (e.fields.recurrence_id) {
      keep_newest(it->second.overrides[*e.fields.recurrence_id], &e, out);
    } else {
      keep_newest(it->second.master, &e, out);
    }
  }
  ical::StepBudget budget;
  for (const std::string &uid : order) emit_group(uid, groups[uid], window, budget, out);
  return out;
}

}  // namespace crm::capture
