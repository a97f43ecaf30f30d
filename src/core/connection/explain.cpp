#include "core/connection/explain.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/connection/maths.hpp"

namespace crm::connection {
namespace {

// Ten significant digits: what a reader compares by eye, and stable across platforms.
std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.10g", v);
  return buffer;
}

std::string_view channel_name(Channel c) {
  switch (c) {
    case Channel::Outbound:
      return "outbound email";
    case Channel::Inbound:
      return "inbound email";
    case Channel::Meeting:
      return "meeting";
  }
  return "";
}

}  // namespace

Explanation explain(std::vector<Term> terms, const Model &model, Micros now, const Pair *stored) {
  std::sort(terms.begin(), terms.end(), [](const Term &a, const Term &b) {
    return a.at != b.at ? a.at > b.at : a.interaction_id > b.interaction_id;
  });
  Explanation e;
  const double day = static_cast<double>(kMicrosPerDay);
  e.half_life_days = static_cast<double>(model.half_life) / day;
  e.terms.reserve(terms.size());
  for (const Term &t : terms) {
    ExplainedTerm x;
    x.term = t;
    x.age_days = static_cast<double>(now - t.at) / day;
    x.counted = t.at <= now;
    x.decay = x.counted ? std::exp2(-x.age_days / e.half_life_days) : 0.0;
    x.contribution = t.weight * x.decay;
    if (x.counted) {
      (t.channel == Channel::Outbound  ? e.s_out
       : t.channel == Channel::Inbound ? e.s_in
                                       : e.s_meet) += x.contribution;
    }
    e.terms.push_back(x);
  }
  const double rank = stored == nullptr ? kNothing : stored->rank();
  e.reciprocity =
      stored == nullptr ? 0.0 : reciprocity(stored->log_out, stored->log_in, stored->log_meet);
  e.r_now = value_at(rank, now, model.half_life);
  e.strength = strength(rank, now, model);
  e.band = band(e.strength, model);
  return e;
}

std::string explanation_json(const Explanation &e, const Model &model, std::int64_t member_id,
                             std::int64_t person_id, Micros now,
                             const std::function<std::string(Micros)> &render_time) {
  std::string items;
  for (const ExplainedTerm &x : e.terms) {
    const Term &t = x.term;
    if (!items.empty()) items += ", ";
    items +=
        "{\"interaction_id\": " + std::to_string(t.interaction_id) +
        ", \"occurred_at\": " + render_time(t.at) + ", \"kind\": \"" +
        std::string(signals::to_string(t.kind)) + "\", \"counts_as\": \"" +
        std::string(channel_name(t.channel)) + "\", \"kind_weight\": " + number(t.kind_factor) +
        ", \"role_weight\": " + number(t.role_factor) +
        ", \"audience\": " + std::to_string(t.audience) +
        ", \"audience_weight\": " + number(t.audience_factor) +
        ", \"weight\": " + number(t.weight) + ", \"age_days\": " + number(x.age_days) +
        ", \"decay\": " + number(x.decay) + ", \"contribution\": " + number(x.contribution) +
        ", \"counted\": " + (x.counted ? "true" : "false") +
        (x.counted ? "" : ", \"note\": \"has not started: joins the sums when it does\"") + "}";
  }
  return "{\"member_id\": " + std::to_string(member_id) +
         ", \"person_id\": " + std::to_string(person_id) + ", \"clock\": " + render_time(now) +
         ", \"formula\": \"w = kind_weight * role_weight * audience_weight; S = sum of w * "
         "decay, decay = 2^(-age_days / half_life_days); reciprocity = 2 sqrt(S_out S_in) / "
         "(S_out + S_in), or 1 after any meeting or call; R = (S_out + S_in + S_meet) * (0.25 "
         "+ 0.75 reciprocity); strength = 1 - exp(-R / scale)\"" +
         ", \"model\": {\"outbound_email\": " + number(model.outbound_email) +
         ", \"inbound_email\": " + number(model.inbound_email) +
         ", \"meeting\": " + number(model.meeting) + ", \"call\": " + number(model.call) +
         ", \"to_organizer_attendee\": " + number(model.role_primary) +
         ", \"cc\": " + number(model.role_cc) + ", \"bcc\": " + number(model.role_bcc) +
         ", \"max_audience\": " + std::to_string(model.max_audience) +
         ", \"half_life_days\": " + number(e.half_life_days) +
         ", \"scale\": " + number(model.scale) + "}, \"interactions\": [" + items +
         "], \"sums\": {\"S_out\": " + number(e.s_out) + ", \"S_in\": " + number(e.s_in) +
         ", \"S_meet\": " + number(e.s_meet) + "}, \"reciprocity\": " + number(e.reciprocity) +
         ", \"R\": " + number(e.r_now) + ", \"strength\": " + number(e.strength) +
         ", \"band\": \"" + std::string(e.band) + "\"}";
}

}  // namespace crm::connection
