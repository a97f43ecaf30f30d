#include "core/signals/fold.hpp"

#include <algorithm>

#include "core/connection/pair.hpp"
#include "core/signals/extremes.hpp"

namespace crm::signals {
namespace {

bool later(Micros at, std::int64_t id, Micros than_at, std::int64_t than_id) {
  if (than_at == kNoTime) return at != kNoTime;
  return at > than_at || (at == than_at && id > than_id);
}

}  // namespace

void Signals::fold(const Contribution &c, Micros now) {
  if (c.at > now) {
    take_min(next_interaction_at, c.at);
    if (c.kind == Kind::Meeting) take_min(next_meeting_at, c.at);
    return;
  }
  take_min(first_interaction_at, c.at);
  if (later(c.at, c.interaction_id, last_interaction_at, last_interaction_id)) {
    last_interaction_at = c.at;
    last_interaction_id = c.interaction_id;
    last_interaction_kind = c.kind;
    last_interaction_member_id = c.member_id;
  }
  ++interaction_count;
  if (c.kind == Kind::Email) {
    take_min(first_email_at, c.at);
    take_max(last_email_at, c.at);
    if (c.inbound) take_max(last_inbound_email_at, c.at);
    if (c.outbound) take_max(last_outbound_email_at, c.at);
    ++email_count;
  } else if (c.kind == Kind::Meeting) {
    take_min(first_meeting_at, c.at);
    take_max(last_meeting_at, c.at);
    ++meeting_count;
  }
}

void Signals::merge(const Signals &o) {
  take_min(first_interaction_at, o.first_interaction_at);
  if (later(o.last_interaction_at, o.last_interaction_id, last_interaction_at,
            last_interaction_id)) {
    last_interaction_at = o.last_interaction_at;
    last_interaction_id = o.last_interaction_id;
    last_interaction_kind = o.last_interaction_kind;
    last_interaction_member_id = o.last_interaction_member_id;
  }
  take_min(first_email_at, o.first_email_at);
  take_max(last_email_at, o.last_email_at);
  take_max(last_inbound_email_at, o.last_inbound_email_at);
  take_max(last_outbound_email_at, o.last_outbound_email_at);
  take_min(first_meeting_at, o.first_meeting_at);
  take_max(last_meeting_at, o.last_meeting_at);
  take_min(next_meeting_at, o.next_meeting_at);
  take_min(next_interaction_at, o.next_interaction_at);
  email_count += o.email_count;
  meeting_count += o.meeting_count;
  interaction_count += o.interaction_count;
}

bool Signals::replace(const Signals &removed, const Signals &added) {
  Signals r = *this;
  // The last interaction is an argmax over (time, id): the same rules as an extreme, on the pair.
  const bool none_left =
      r.interaction_count - removed.interaction_count + added.interaction_count == 0;
  if (none_left) {
    r.last_interaction_at = kNoTime;
    r.last_interaction_id = 0;
    r.last_interaction_kind = Kind::Email;
    r.last_interaction_member_id = 0;
  } else if (removed.last_interaction_at != kNoTime) {
    if (later(removed.last_interaction_at, removed.last_interaction_id, r.last_interaction_at,
              r.last_interaction_id))
      return false;
    const bool was_last = removed.last_interaction_at == r.last_interaction_at &&
                          removed.last_interaction_id == r.last_interaction_id;
    const bool added_reaches = added.last_interaction_at == r.last_interaction_at &&
                               added.last_interaction_id == r.last_interaction_id;
    if (was_last && !added_reaches &&
        !later(added.last_interaction_at, added.last_interaction_id, r.last_interaction_at,
               r.last_interaction_id))
      return false;
    if (was_last && added_reaches) {  // the same interaction, now with another lead member
      r.last_interaction_kind = added.last_interaction_kind;
      r.last_interaction_member_id = added.last_interaction_member_id;
    }
  }
  if (later(added.last_interaction_at, added.last_interaction_id, r.last_interaction_at,
            r.last_interaction_id)) {
    r.last_interaction_at = added.last_interaction_at;
    r.last_interaction_id = added.last_interaction_id;
    r.last_interaction_kind = added.last_interaction_kind;
    r.last_interaction_member_id = added.last_interaction_member_id;
  }
  if (!replace_count(r.email_count, removed.email_count, added.email_count) ||
      !replace_count(r.meeting_count, removed.meeting_count, added.meeting_count) ||
      !replace_count(r.interaction_count, removed.interaction_count, added.interaction_count))
    return false;
  const bool exact =
      replace_past_min(r.interaction_count, r.first_interaction_at, removed.first_interaction_at,
                       added.first_interaction_at) &&
      replace_past_min(r.email_count, r.first_email_at, removed.first_email_at,
                       added.first_email_at) &&
      replace_past_max(r.email_count, r.last_email_at, removed.last_email_at,
                       added.last_email_at) &&
      replace_past_max(r.email_count, r.last_inbound_email_at, removed.last_inbound_email_at,
                       added.last_inbound_email_at) &&
      replace_past_max(r.email_count, r.last_outbound_email_at, removed.last_outbound_email_at,
                       added.last_outbound_email_at) &&
      replace_past_min(r.meeting_count, r.first_meeting_at, removed.first_meeting_at,
                       added.first_meeting_at) &&
      replace_past_max(r.meeting_count, r.last_meeting_at, removed.last_meeting_at,
                       added.last_meeting_at) &&
      replace_min(r.next_meeting_at, removed.next_meeting_at, added.next_meeting_at) &&
      replace_min(r.next_interaction_at, removed.next_interaction_at, added.next_interaction_at);
  if (!exact) return false;
  *this = r;
  return true;
}

bool Signals::equivalent(const Signals &other) const {
  Signals a = *this, b = other;
  if (!connection::same_rank(a.strongest_rank, b.strongest_rank)) return false;
  a.strongest_rank = b.strongest_rank = 0;
  return a == b;
}

bool mergeable(const Signals &stored, Micros as_of, Micros now) {
  if (as_of != kNoTime && now < as_of) return false;
  return stored.next_interaction_at == kNoTime || stored.next_interaction_at > now;
}

std::vector<FieldDifference> differences(const Signals &a, const Signals &b,
                                         std::string (*render_time)(Micros)) {
  std::vector<FieldDifference> out;
  auto time = [&](const char *name, Micros x, Micros y) {
    if (x != y) out.push_back({name, render_time(x), render_time(y)});
  };
  auto number = [&](const char *name, std::int64_t x, std::int64_t y) {
    if (x != y) out.push_back({name, std::to_string(x), std::to_string(y)});
  };
  time("first_interaction_at", a.first_interaction_at, b.first_interaction_at);
  time("last_interaction_at", a.last_interaction_at, b.last_interaction_at);
  if (a.interaction_count > 0 && b.interaction_count > 0) {
    // Kind and member only mean something when there is a last interaction.
    if (a.last_interaction_kind != b.last_interaction_kind)
      out.push_back({"last_interaction_kind", std::string(to_string(a.last_interaction_kind)),
                     std::string(to_string(b.last_interaction_kind))});
    number("last_interaction_member_id", a.last_interaction_member_id,
           b.last_interaction_member_id);
    // The tie-break for later folds: a wrong id would turn into a wrong kind or member later.
    number("last_interaction_id", a.last_interaction_id, b.last_interaction_id);
  }
  time("first_email_at", a.first_email_at, b.first_email_at);
  time("last_email_at", a.last_email_at, b.last_email_at);
  time("last_inbound_email_at", a.last_inbound_email_at, b.last_inbound_email_at);
  time("last_outbound_email_at", a.last_outbound_email_at, b.last_outbound_email_at);
  time("first_meeting_at", a.first_meeting_at, b.first_meeting_at);
  time("last_meeting_at", a.last_meeting_at, b.last_meeting_at);
  time("next_meeting_at", a.next_meeting_at, b.next_meeting_at);
  time("next_interaction_at", a.next_interaction_at, b.next_interaction_at);
  number("email_count", a.email_count, b.email_count);
  number("meeting_count", a.meeting_count, b.meeting_count);
  number("interaction_count", a.interaction_count, b.interaction_count);
  number("strongest_connection_member_id", a.strongest_member_id, b.strongest_member_id);
  if (!connection::same_rank(a.strongest_rank, b.strongest_rank))
    out.push_back({"strongest_connection_rank", std::to_string(a.strongest_rank),
                   std::to_string(b.strongest_rank)});
  return out;
}

}  // namespace crm::signals
