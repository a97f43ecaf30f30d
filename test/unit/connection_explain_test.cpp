// crm.explain_connection's arithmetic: the term-by-term sums must agree with the folded pair, so
// that a user who re-adds the shown contributions gets the stored strength.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/connection/explain.hpp"
#include "core/connection/maths.hpp"
#include "core/connection/pair.hpp"
#include "core/connection/terms.hpp"

namespace {

using namespace crm::signals;
using namespace crm::connection;

constexpr Micros kDay = kMicrosPerDay;
constexpr Micros kNow = 9497 * kDay;

std::vector<Term> terms_of(const Model &model) {
  const std::vector<Participant> out = {
      {.member_id = 1, .address_key = 11, .role = Role::From},
      {.person_id = 10, .company_id = 100, .address_key = 12, .role = Role::To}};
  const std::vector<Participant> in = {
      {.person_id = 10, .company_id = 100, .address_key = 12, .role = Role::From},
      {.member_id = 1, .address_key = 11, .role = Role::Cc}};
  std::vector<Term> all;
  terms({.id = 1, .workspace_id = 1, .occurred_at = kNow - 90 * kDay, .kind = Kind::Email}, out,
        model, all);
  terms({.id = 2, .workspace_id = 1, .occurred_at = kNow - 10 * kDay, .kind = Kind::Email}, in,
        model, all);
  terms({.id = 3, .workspace_id = 1, .occurred_at = kNow + 5 * kDay, .kind = Kind::Email}, out,
        model, all);
  return all;
}

Pair fold(const std::vector<Term> &terms, const Model &model) {
  Pair p;
  for (const Term &t : terms) p.fold(t, kNow, model.half_life);
  return p;
}

TEST(ConnectionExplain, SumsAreTheFoldedPairsAndFutureTermsWait) {
  const Model model;
  const std::vector<Term> terms = terms_of(model);
  ASSERT_EQ(terms.size(), 3u);
  const Pair pair = fold(terms, model);
  const Explanation e = explain(terms, model, kNow, &pair);

  ASSERT_EQ(e.terms.size(), 3u);
  // Newest first; the one that has not started shows, but counts for nothing.
  EXPECT_EQ(e.terms[0].term.interaction_id, 3);
  EXPECT_FALSE(e.terms[0].counted);
  EXPECT_EQ(e.terms[0].contribution, 0.0);
  // 90 days old with a 90-day half-life: half its weight.
  EXPECT_EQ(e.terms[2].term.interaction_id, 1);
  EXPECT_NEAR(e.terms[2].decay, 0.5, 1e-12);
  EXPECT_NEAR(e.terms[2].contribution, 0.5 * model.outbound_email, 1e-12);
  EXPECT_NEAR(e.s_out, 0.5, 1e-12);
  EXPECT_NEAR(e.s_in, model.inbound_email * model.role_cc * std::exp2(-10.0 / 90.0), 1e-12);
  EXPECT_EQ(e.s_meet, 0.0);
  // The folded pair's reading: R from the sums with the published reciprocity.
  const double rec = 2 * std::sqrt(e.s_out * e.s_in) / (e.s_out + e.s_in);
  EXPECT_NEAR(e.reciprocity, rec, 1e-9);
  EXPECT_NEAR(e.r_now, (e.s_out + e.s_in) * (0.25 + 0.75 * rec), 1e-9);
  EXPECT_NEAR(e.strength, 1 - std::exp(-e.r_now / model.scale), 1e-12);
  EXPECT_EQ(e.band, band(e.strength, model));
}

TEST(ConnectionExplain, NoPairMeansNoStrength) {
  const Model model;
  const Explanation e = explain({}, model, kNow, nullptr);
  EXPECT_TRUE(e.terms.empty());
  EXPECT_EQ(e.strength, 0.0);
  EXPECT_EQ(e.reciprocity, 0.0);
  EXPECT_EQ(e.half_life_days, 90.0);
}

TEST(ConnectionExplain, JsonShowsEveryFactorAndTheNote) {
  const Model model;
  const std::vector<Term> terms = terms_of(model);
  const Pair pair = fold(terms, model);
  const Explanation e = explain(terms, model, kNow, &pair);
  const std::string json = explanation_json(
      e, model, 1, 10, kNow, [](Micros m) { return "\"t" + std::to_string(m / kDay) + "\""; });
  EXPECT_NE(json.find("\"member_id\": 1, \"person_id\": 10, \"clock\": \"t9497\""),
            std::string::npos);
  EXPECT_NE(json.find("\"occurred_at\": \"t9407\""), std::string::npos);
  EXPECT_NE(json.find("\"decay\": 0.5, \"contribution\": 0.5, \"counted\": true"),
            std::string::npos);
  EXPECT_NE(json.find("\"counted\": false, \"note\": \"has not started"), std::string::npos);
  EXPECT_NE(json.find("\"half_life_days\": 90"), std::string::npos);
  EXPECT_NE(json.find("\"band\": \"" + std::string(e.band) + "\"}"), std::string::npos);
}

}  // namespace
