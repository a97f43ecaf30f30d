// The write policy of enrichment: every policy against an empty field, a user's value, and a
// less and a more confident automated value (docs/ENRICHMENT.md).
#include <gtest/gtest.h>

#include "core/enrich/policy.hpp"

namespace {

using namespace crm::enrich;

Current empty_field() {
  return Current{};
}
Current users_value() {
  return Current{false, std::string("user"), 1.0};
}
Current unrecorded_value() {
  return Current{false, std::nullopt, 1.0};
}
Current automated_value(double confidence) {
  return Current{false, std::string("api"), confidence};
}
Proposal offer(double confidence, std::string kind = "api") {
  Proposal p;
  p.kind = std::move(kind);
  p.confidence = confidence;
  return p;
}

Outcome outcome(Policy policy, const Current &current, const Proposal &proposal) {
  return decide(policy, current, proposal).outcome;
}

TEST(EnrichPolicy, ParsesPolicyNamesAndNothingElse) {
  EXPECT_EQ(parse_policy("never"), Policy::never);
  EXPECT_EQ(parse_policy("fill_if_empty"), Policy::fill_if_empty);
  EXPECT_EQ(parse_policy("overwrite_if_more_confident"), Policy::overwrite_if_more_confident);
  EXPECT_EQ(parse_policy("always"), Policy::always);
  EXPECT_FALSE(parse_policy("Always"));
  EXPECT_FALSE(parse_policy(""));
  EXPECT_TRUE(valid_source_kind("ai"));
  EXPECT_FALSE(valid_source_kind("robot"));
}

TEST(EnrichPolicy, EmptyFieldIsFilledUnlessThePolicyIsNever) {
  EXPECT_EQ(outcome(Policy::fill_if_empty, empty_field(), offer(0.1)), Outcome::applied);
  EXPECT_EQ(outcome(Policy::overwrite_if_more_confident, empty_field(), offer(0.1)),
            Outcome::applied);
  EXPECT_EQ(outcome(Policy::always, empty_field(), offer(0.1)), Outcome::applied);
  EXPECT_EQ(outcome(Policy::never, empty_field(), offer(1.0)), Outcome::suggested);
}

TEST(EnrichPolicy, UsersValueIsNeverOverwrittenWhateverThePolicy) {
  for (Policy p : {Policy::never, Policy::fill_if_empty, Policy::overwrite_if_more_confident,
                   Policy::always}) {
    EXPECT_EQ(outcome(p, users_value(), offer(1.0)), Outcome::suggested);
    // A value written before anything recorded who wrote it counts as a user's.
    EXPECT_EQ(outcome(p, unrecorded_value(), offer(1.0)), Outcome::suggested);
  }
}

TEST(EnrichPolicy, ClearedUserValueIsReleased) {
  Current cleared{true, std::string("user"), 1.0};
  EXPECT_EQ(outcome(Policy::fill_if_empty, cleared, offer(0.5)), Outcome::applied);
}

TEST(EnrichPolicy, AutomatedValueAgainstLessAndMoreConfidentOffers) {
  const Current current = automated_value(0.7);
  EXPECT_EQ(outcome(Policy::fill_if_empty, current, offer(0.9)), Outcome::suggested);
  EXPECT_EQ(outcome(Policy::overwrite_if_more_confident, current, offer(0.9)), Outcome::applied);
  EXPECT_EQ(outcome(Policy::overwrite_if_more_confident, current, offer(0.7)), Outcome::suggested);
  EXPECT_EQ(outcome(Policy::overwrite_if_more_confident, current, offer(0.5)), Outcome::suggested);
  EXPECT_EQ(outcome(Policy::always, current, offer(0.5)), Outcome::applied);
  EXPECT_EQ(outcome(Policy::never, current, offer(0.9)), Outcome::suggested);
}

TEST(EnrichPolicy, SameValueIsUnchangedBeforeAnythingElse) {
  Proposal same = offer(0.1);
  same.same_value = true;
  same.opted_out = true;
  same.rejected_before = true;
  EXPECT_EQ(outcome(Policy::never, users_value(), same), Outcome::unchanged);
}

TEST(EnrichPolicy, UserConfirmingAnAutomatedValueMakesItTheUsers) {
  Proposal confirm = offer(1.0, "user");
  confirm.same_value = true;
  EXPECT_EQ(outcome(Policy::fill_if_empty, automated_value(0.4), confirm), Outcome::applied);
  EXPECT_EQ(outcome(Policy::fill_if_empty, users_value(), confirm), Outcome::unchanged);
}

TEST(EnrichPolicy, RejectedValueIsNotSuggestedAgain) {
  Proposal p = offer(0.9);
  p.rejected_before = true;
  EXPECT_EQ(outcome(Policy::fill_if_empty, users_value(), p), Outcome::rejected_before);
  // Rejected as a suggestion, and the field emptied since: still not from this source.
  EXPECT_EQ(outcome(Policy::fill_if_empty, empty_field(), p), Outcome::rejected_before);
}

TEST(EnrichPolicy, OptedOutRecordTakesNoAutomatedValueButAUsersOwn) {
  Proposal p = offer(1.0);
  p.opted_out = true;
  EXPECT_EQ(outcome(Policy::always, empty_field(), p), Outcome::opted_out);
  Proposal user = offer(1.0, "user");
  user.opted_out = true;
  EXPECT_EQ(outcome(Policy::never, users_value(), user), Outcome::applied);
}

TEST(EnrichPolicy, AutomatedChangesOnlyMoveAnOrderedFieldForward) {
  Proposal back = offer(1.0);
  back.backward = true;
  EXPECT_EQ(outcome(Policy::always, automated_value(0.2), back), Outcome::suggested);
  EXPECT_EQ(decide(Policy::always, automated_value(0.2), back).reason,
            "an automated change only moves an ordered field forward");
  Proposal user = offer(1.0, "user");
  user.backward = true;
  EXPECT_EQ(outcome(Policy::never, automated_value(0.2), user), Outcome::applied);
}

TEST(EnrichPolicy, ReasonNamesTheConfidences) {
  const Decision d = decide(Policy::overwrite_if_more_confident, automated_value(0.9), offer(0.5));
  EXPECT_EQ(d.reason, "confidence 0.5 is not above the current 0.9 (api)");
}

}  // namespace
