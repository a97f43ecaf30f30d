// crm.explain_connection's arithmetic: one member-person pair's strength re-derived term by term,
// from the interactions that make it, with every factor shown.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/connection/model.hpp"
#include "core/connection/pair.hpp"
#include "core/connection/terms.hpp"

namespace crm::connection {

struct ExplainedTerm {
  Term term;
  double age_days = 0;
  double decay = 0;  // 2^(-age / half-life); 0 for an interaction that has not started
  double contribution = 0;
  bool counted = false;  // started at the clock: joins the sums
};

struct Explanation {
  std::vector<ExplainedTerm> terms;  // newest first
  double half_life_days = 0;
  double s_out = 0, s_in = 0, s_meet = 0;
  double reciprocity = 0, r_now = 0, strength = 0;
  std::string_view band;
};

// terms: the pair's terms (any order); stored: the pair as folded at the same clock, or nullptr
// when the pair has none. The sums are taken term by term; reciprocity, R and strength from the
// folded pair, so the explanation shows both and they can be compared.
Explanation explain(std::vector<Term> terms, const Model &model, Micros now, const Pair *stored);

// The explanation as crm.explain_connection returns it (a JSON object); render_time writes a
// timestamp as a JSON value.
std::string explanation_json(const Explanation &e, const Model &model, std::int64_t member_id,
                             std::int64_t person_id, Micros now,
                             const std::function<std::string(Micros)> &render_time);

}  // namespace crm::connection
