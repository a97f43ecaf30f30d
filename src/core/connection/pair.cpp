#include "core/connection/pair.hpp"

#include <cmath>
#include <cstdio>

#include "core/signals/extremes.hpp"

namespace crm::connection {
namespace {

using signals::kNoTime;
using signals::replace_count;
using signals::replace_min;
using signals::replace_past_max;
using signals::replace_past_min;
using signals::take_max;
using signals::take_min;

// One channel's log sum and count: the count says exactly when nothing is left, which the
// subtraction of logs cannot.
bool replace_channel(double &log_sum, std::int64_t count_after, double removed, double added) {
  if (count_after == 0) {
    log_sum = kNothing;
    return true;
  }
  const double r = log_replace(log_sum, removed, added);
  if (std::isnan(r)) return false;
  log_sum = r;
  return true;
}

std::string render_log(double v) {
  if (v == kNothing) return "(none)";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

}  // namespace

void Pair::fold(const Term &t, Micros now, Micros half_life) {
  workspace_id = t.workspace_id;
  if (company_id == 0 || t.company_id != 0) company_id = t.company_id;
  if (t.at > now) {
    take_min(next_at, t.at);
    return;
  }
  const double term = log_term(t.weight, t.at, half_life);
  switch (t.channel) {
    case Channel::Outbound:
      log_out = log_add(log_out, term);
      ++emails_sent;
      break;
    case Channel::Inbound:
      log_in = log_add(log_in, term);
      ++emails_received;
      break;
    case Channel::Meeting:
      log_meet = log_add(log_meet, term);
      if (t.kind == signals::Kind::Call)
        ++calls;
      else
        ++meetings;
      break;
  }
  take_min(first_at, t.at);
  take_max(last_at, t.at);
}

void Pair::merge(const Pair &o) {
  if (workspace_id == 0) workspace_id = o.workspace_id;
  if (o.company_id != 0) company_id = o.company_id;
  log_out = log_add(log_out, o.log_out);
  log_in = log_add(log_in, o.log_in);
  log_meet = log_add(log_meet, o.log_meet);
  emails_sent += o.emails_sent;
  emails_received += o.emails_received;
  meetings += o.meetings;
  calls += o.calls;
  take_min(first_at, o.first_at);
  take_max(last_at, o.last_at);
  take_min(next_at, o.next_at);
}

bool Pair::replace(const Pair &removed, const Pair &added) {
  Pair r = *this;
  for (const Pair *part : {&removed, &added})
    if (part->company_id != 0 && r.company_id != 0 && part->company_id != r.company_id)
      return false;  // the contact changed company: both companies sum again
  if (r.workspace_id == 0) r.workspace_id = added.workspace_id;
  if (r.company_id == 0) r.company_id = added.company_id;
  // The counts are replaced first (left to right): they say when nothing past is left.
  const bool exact =
      replace_count(r.emails_sent, removed.emails_sent, added.emails_sent) &&
      replace_count(r.emails_received, removed.emails_received, added.emails_received) &&
      replace_count(r.meetings, removed.meetings, added.meetings) &&
      replace_count(r.calls, removed.calls, added.calls) &&
      replace_channel(r.log_out, r.emails_sent, removed.log_out, added.log_out) &&
      replace_channel(r.log_in, r.emails_received, removed.log_in, added.log_in) &&
      replace_channel(r.log_meet, r.meetings + r.calls, removed.log_meet, added.log_meet) &&
      replace_min(r.next_at, removed.next_at, added.next_at) &&
      replace_past_min(r.past_count(), r.first_at, removed.first_at, added.first_at) &&
      replace_past_max(r.past_count(), r.last_at, removed.last_at, added.last_at);
  if (!exact) return false;
  *this = r;
  return true;
}

CompanyPairs roll_up(const Contacts &contacts) {
  CompanyPairs out;
  for (const auto &[key, pair] : contacts) {
    CompanyPair &c = out[key.member_id];
    if (c.workspace_id == 0) c.workspace_id = pair.workspace_id;
    const double r = pair.rank();
    if (r != kNothing) ++c.people;
    c.rank = log_add(c.rank, r);
    take_max(c.last_at, pair.last_at);
    take_min(c.next_at, pair.next_at);
  }
  return out;
}

Strongest strongest_of(const Contacts &contacts) {
  // Per member first: a person has one contact per member, so this is the pair itself.
  Strongest best;
  for (const auto &[key, pair] : contacts) {
    const double r = pair.rank();
    if (r == kNothing) continue;
    if (r > best.rank || (r == best.rank && key.member_id < best.member_id))
      best = {key.member_id, r};
  }
  return best;
}

Strongest strongest_of(const CompanyPairs &pairs) {
  Strongest best;
  for (const auto &[member, pair] : pairs) {
    if (pair.rank == kNothing) continue;
    if (pair.rank > best.rank) best = {member, pair.rank};  // map order: lowest id wins ties
  }
  return best;
}

bool mergeable(Micros next_at, Micros as_of, Micros now) {
  if (as_of != kNoTime && now < as_of) return false;
  return next_at == kNoTime || next_at > now;
}

bool same_rank(double a, double b, double tolerance) {
  if (a == kNothing || b == kNothing) return a == b;
  // R_a / R_b - 1 = 2^(a - b) - 1.
  return std::fabs(std::expm1((a - b) * std::log(2.0))) <= tolerance;
}

std::vector<PairDifference> differences(const Pair &a, const Pair &b,
                                        std::string (*render_time)(Micros)) {
  std::vector<PairDifference> out;
  auto sum = [&](const char *name, double x, double y) {
    if (!same_rank(x, y)) out.push_back({name, render_log(x), render_log(y)});
  };
  auto number = [&](const char *name, std::int64_t x, std::int64_t y) {
    if (x != y) out.push_back({name, std::to_string(x), std::to_string(y)});
  };
  auto time = [&](const char *name, Micros x, Micros y) {
    if (x != y) out.push_back({name, render_time(x), render_time(y)});
  };
  sum("log_out", a.log_out, b.log_out);
  sum("log_in", a.log_in, b.log_in);
  sum("log_meet", a.log_meet, b.log_meet);
  number("emails_sent", a.emails_sent, b.emails_sent);
  number("emails_received", a.emails_received, b.emails_received);
  number("meetings", a.meetings, b.meetings);
  number("calls", a.calls, b.calls);
  number("company_id", a.company_id, b.company_id);
  time("first_interaction_at", a.first_at, b.first_at);
  time("last_interaction_at", a.last_at, b.last_at);
  time("next_interaction_at", a.next_at, b.next_at);
  return out;
}

std::vector<PairDifference> differences(const CompanyPair &a, const CompanyPair &b,
                                        std::string (*render_time)(Micros)) {
  std::vector<PairDifference> out;
  if (!same_rank(a.rank, b.rank)) out.push_back({"rank", render_log(a.rank), render_log(b.rank)});
  if (a.people != b.people)
    out.push_back({"people", std::to_string(a.people), std::to_string(b.people)});
  if (a.last_at != b.last_at)
    out.push_back({"last_interaction_at", render_time(a.last_at), render_time(b.last_at)});
  if (a.next_at != b.next_at)
    out.push_back({"next_interaction_at", render_time(a.next_at), render_time(b.next_at)});
  return out;
}

}  // namespace crm::connection
