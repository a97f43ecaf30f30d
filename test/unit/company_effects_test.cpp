// The arithmetic of contacts and company pairs under a delta (core/connection/company_effects):
// what the people pass hands the company pass, and when a record must recompute instead.
#include <gtest/gtest.h>

#include <cmath>

#include "core/connection/company_effects.hpp"

namespace {

using crm::connection::CompanyEffects;
using crm::connection::CompanyPair;
using crm::connection::CompanyPairs;
using crm::connection::ContactChange;
using crm::connection::Contacts;
using crm::connection::kNothing;
using crm::connection::Pair;

Pair pair_at(std::int64_t company, double log_out, std::int64_t last_at) {
  Pair p;
  p.workspace_id = 1;
  p.company_id = company;
  p.log_out = log_out;
  p.emails_sent = 1;
  p.first_at = p.last_at = last_at;
  return p;
}

TEST(CompanyEffects, AContactThatChangedCompanyRecomputesBoth) {
  CompanyEffects effects;
  crm::connection::note_change({7, pair_at(10, 1.0, 5), pair_at(11, 1.0, 5)}, effects);
  EXPECT_TRUE(effects.recompute.contains(10));
  EXPECT_TRUE(effects.recompute.contains(11));
  EXPECT_TRUE(effects.changes.empty());
}

TEST(CompanyEffects, ANewContactAddsItsRankAndAPerson) {
  CompanyEffects effects;
  crm::connection::note_change({7, Pair{}, pair_at(10, 2.0, 5)}, effects);
  const CompanyEffects::Change &ch = effects.changes.at(10).at(7);
  EXPECT_EQ(ch.people, 1);
  EXPECT_EQ(ch.log_lost, kNothing);
  EXPECT_NE(ch.log_gained, kNothing);
  EXPECT_EQ(ch.last_after, 5);

  CompanyPairs pairs;  // the company had no pair with member 7
  ASSERT_TRUE(crm::connection::apply_changes(effects.changes.at(10), pairs));
  ASSERT_TRUE(pairs.contains(7));
  EXPECT_EQ(pairs.at(7).people, 1);
  EXPECT_EQ(pairs.at(7).rank, ch.log_gained);
  EXPECT_EQ(pairs.at(7).last_at, 5);
}

TEST(CompanyEffects, TheLastContactGoneRemovesThePair) {
  CompanyEffects effects;
  crm::connection::note_change({7, pair_at(10, 2.0, 5), Pair{}}, effects);
  CompanyPairs pairs;
  pairs[7] = CompanyPair{1, 2.0, 1, 5, crm::signals::kNoTime};
  ASSERT_TRUE(crm::connection::apply_changes(effects.changes.at(10), pairs));
  EXPECT_FALSE(pairs.contains(7));
}

TEST(CompanyEffects, MorePeopleLostThanStoredIsNotExact) {
  CompanyEffects effects;
  crm::connection::note_change({7, pair_at(10, 2.0, 5), Pair{}}, effects);
  CompanyPairs pairs;  // nobody stored: the stored state cannot take the loss
  EXPECT_FALSE(crm::connection::apply_changes(effects.changes.at(10), pairs));
}

TEST(CompanyEffects, ADeltaMergesIntoContactsAndIsReported) {
  Contacts contacts;
  Contacts added;
  added[{7, 42, 0}] = pair_at(10, 1.0, 5);
  std::vector<ContactChange> changed;
  ASSERT_TRUE(crm::connection::take_delta(crm::signals::RecordKind::Person, contacts, nullptr,
                                          &added, changed));
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].member_id, 7);
  EXPECT_TRUE(changed[0].before.empty());
  EXPECT_EQ(contacts.at({7, 42, 0}), added.at({7, 42, 0}));

  // The same contribution taken out again leaves nothing.
  changed.clear();
  ASSERT_TRUE(crm::connection::take_delta(crm::signals::RecordKind::Person, contacts, &added,
                                          nullptr, changed));
  EXPECT_TRUE(contacts.empty());
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_TRUE(changed[0].after.empty());
}

TEST(CompanyEffects, ACompanyPassLeavesItsPeopleToThePersonPass) {
  Contacts contacts;
  Contacts added;
  added[{7, 42, 0}] = pair_at(10, 1.0, 5);  // a person of the company: stored under the person
  added[{7, 0, 99}] = pair_at(10, 1.0, 6);  // an address no person owns: the company's own
  std::vector<ContactChange> changed;
  ASSERT_TRUE(crm::connection::take_delta(crm::signals::RecordKind::Company, contacts, nullptr,
                                          &added, changed));
  EXPECT_EQ(contacts.size(), 1u);
  EXPECT_TRUE(contacts.contains({7, 0, 99}));
}

TEST(CompanyEffects, RecomputedContactsAreNotedBothWays) {
  Contacts before, after;
  before[{7, 42, 0}] = pair_at(10, 1.0, 5);
  after[{8, 42, 0}] = pair_at(10, 1.0, 6);
  CompanyEffects effects;
  crm::connection::note_recomputed(&before, &after, effects);
  EXPECT_EQ(effects.changes.at(10).at(7).people, -1);
  EXPECT_EQ(effects.changes.at(10).at(8).people, 1);
}

}  // namespace
