// Connection strength: the published formula, its reference values, and the properties the
// stored state relies on (arrival order, future meetings, what counts and what does not).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/connection/maths.hpp"
#include "core/connection/pair.hpp"
#include "core/connection/terms.hpp"
#include "core/signals/folder.hpp"

namespace {

using namespace crm::signals;
using namespace crm::connection;

constexpr Micros kDay = kMicrosPerDay;
// Day 0 of the reference scenarios: 2026-01-01 on Postgres' scale (far from the epoch, as real
// data).
constexpr Micros kDay0 = 9497 * kDay;
constexpr std::int64_t kMember = 1, kPerson = 10, kCompany = 100;

struct Row {
  Interaction interaction;
  std::vector<Participant> participants;
};

Participant member(std::int64_t id, Role role, Response response = Response::None) {
  return Participant{.member_id = id, .address_key = 1000 + id, .role = role, .response = response};
}
Participant person(std::int64_t id, Role role, Response response = Response::None) {
  return Participant{.person_id = id,
                     .company_id = kCompany,
                     .address_key = 2000 + id,
                     .role = role,
                     .response = response};
}
Participant stranger(std::int64_t key, Role role) {
  return Participant{.company_id = kCompany, .address_key = key, .role = role};
}

Row email_out(std::int64_t id, Micros at) {
  return {{.id = id, .workspace_id = 1, .occurred_at = at, .kind = Kind::Email},
          {member(kMember, Role::From), person(kPerson, Role::To)}};
}
Row email_in(std::int64_t id, Micros at) {
  return {{.id = id, .workspace_id = 1, .occurred_at = at, .kind = Kind::Email},
          {person(kPerson, Role::From), member(kMember, Role::To)}};
}
Row meeting(std::int64_t id, Micros at, Status status = Status::Confirmed) {
  return {{.id = id, .workspace_id = 1, .occurred_at = at, .kind = Kind::Meeting, .status = status},
          {member(kMember, Role::Organizer), person(kPerson, Role::Attendee)}};
}

Folder fold(const std::vector<Row> &rows, Micros now) {
  Folder f(now);
  for (const Row &r : rows) f.add(r.interaction, r.participants);
  return f;
}

Pair pair_of(Folder &f, std::int64_t person_id = kPerson, std::int64_t member_id = kMember) {
  auto &c = f.contacts(RecordKind::Person)[person_id];
  auto it = c.find({member_id, person_id, 0});
  return it == c.end() ? Pair{} : it->second;
}

double strength_of(const std::vector<Row> &rows, Micros now) {
  Folder f = fold(rows, now);
  return strength(pair_of(f).rank(), now, Model{});
}

// Events at day 0, step, 2 step, ... <= 364, clock at day 364.
std::vector<Row> every(int step, bool out, bool in, bool meet) {
  std::vector<Row> rows;
  std::int64_t id = 1;
  for (int d = 0; d <= 364; d += step) {
    const Micros at = kDay0 + d * kDay;
    if (out) rows.push_back(email_out(id++, at));
    if (in) rows.push_back(email_in(id++, at));
    if (meet) rows.push_back(meeting(id++, at));
  }
  return rows;
}
constexpr Micros kClock = kDay0 + 364 * kDay;

TEST(ConnectionReference, PublishedValues) {
  EXPECT_NEAR(strength_of(every(7, true, true, false), kClock), 0.9511, 0.001);
  EXPECT_NEAR(strength_of(every(30, true, true, false), kClock), 0.5279, 0.001);
  EXPECT_NEAR(strength_of(every(91, true, true, false), kClock), 0.2763, 0.001);
  EXPECT_NEAR(strength_of(every(7, true, false, false), kClock), 0.3617, 0.001);
  EXPECT_NEAR(strength_of(every(30, false, false, true), kClock), 0.6727, 0.001);
}

TEST(ConnectionReference, MatchesTheFormulaInTheLinearDomain) {
  // Weekly outbound with replies, computed directly from the published formula.
  double s_out = 0, s_in = 0;
  for (int d = 0; d <= 364; d += 7) {
    s_out += 1.0 * std::exp2(-(364.0 - d) / 90.0);
    s_in += 0.7 * std::exp2(-(364.0 - d) / 90.0);
  }
  const double rho = 2 * std::sqrt(s_out * s_in) / (s_out + s_in);
  const double r = (s_out + s_in) * (0.25 + 0.75 * rho);
  EXPECT_NEAR(strength_of(every(7, true, true, false), kClock), 1 - std::exp(-r / 10), 1e-12);
}

TEST(ConnectionOrder, ArrivalOrderDoesNotChangeAnyValue) {
  std::vector<Row> rows = every(7, true, true, true);
  const Pair forward = pair_of(*std::make_unique<Folder>(fold(rows, kClock)));
  std::reverse(rows.begin(), rows.end());
  Folder newest_first = fold(rows, kClock);
  std::mt19937 rng(7);
  std::shuffle(rows.begin(), rows.end(), rng);
  Folder shuffled = fold(rows, kClock);
  for (Folder *f : {&newest_first, &shuffled}) {
    const Pair p = pair_of(*f);
    EXPECT_TRUE(same_rank(p.rank(), forward.rank(), 1e-13));
    EXPECT_TRUE(same_rank(p.log_out, forward.log_out, 1e-13));
    EXPECT_EQ(p.emails_sent, forward.emails_sent);
    EXPECT_EQ(p.meetings, forward.meetings);
    EXPECT_EQ(p.first_at, forward.first_at);
    EXPECT_EQ(p.last_at, forward.last_at);
  }
}

TEST(ConnectionOrder, MergingFoldedBatchesEqualsFoldingAll) {
  const std::vector<Row> rows = every(3, true, true, false);
  const std::size_t half = rows.size() / 2;
  Folder a = fold({rows.begin(), rows.begin() + half}, kClock);
  Folder b = fold({rows.begin() + half, rows.end()}, kClock);
  Folder all = fold(rows, kClock);
  Pair merged = pair_of(a);
  merged.merge(pair_of(b));
  EXPECT_TRUE(same_rank(merged.rank(), pair_of(all).rank(), 1e-13));
  EXPECT_EQ(merged.emails_received, pair_of(all).emails_received);
}

TEST(ConnectionTerms, ALargeMeetingAddsNothing) {
  Row big = meeting(1, kDay0);
  for (int i = 0; i < 199; ++i) big.participants.push_back(stranger(5000 + i, Role::Attendee));
  Folder f = fold({big}, kClock);
  EXPECT_TRUE(pair_of(f).empty());
  EXPECT_EQ(pair_of(f).meetings, 0);
}

TEST(ConnectionTerms, AudienceDividesByTheSquareRootOfNonMembers) {
  Row r = email_out(1, kDay0);
  for (int i = 0; i < 3; ++i) r.participants.push_back(stranger(5000 + i, Role::To));
  r.participants.push_back(member(2, Role::Cc));  // members are not audience
  std::vector<Term> ts;
  terms(r.interaction, r.participants, Model{}, ts);
  auto it =
      std::find_if(ts.begin(), ts.end(), [](const Term &t) { return t.person_id == kPerson; });
  ASSERT_NE(it, ts.end());
  EXPECT_DOUBLE_EQ(it->weight, 1.0 / 2.0);  // n = 4
  EXPECT_EQ(it->audience, 4);
}

TEST(ConnectionTerms, CcAndBccHalveAndTheRecipientSideCounts) {
  Row r{{.id = 1, .workspace_id = 1, .occurred_at = kDay0, .kind = Kind::Email},
        {member(kMember, Role::From), person(kPerson, Role::Cc)}};
  std::vector<Term> ts;
  terms(r.interaction, r.participants, Model{}, ts);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].channel, Channel::Outbound);
  EXPECT_DOUBLE_EQ(ts[0].weight, 0.5);

  Row in{{.id = 2, .workspace_id = 1, .occurred_at = kDay0, .kind = Kind::Email},
         {person(kPerson, Role::From), member(kMember, Role::Bcc)}};
  ts.clear();
  terms(in.interaction, in.participants, Model{}, ts);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].channel, Channel::Inbound);
  EXPECT_DOUBLE_EQ(ts[0].weight, 0.35);
}

TEST(ConnectionTerms, EmailBetweenTwoCopiedPartiesGivesNothing) {
  Row r{{.id = 1, .workspace_id = 1, .occurred_at = kDay0, .kind = Kind::Email},
        {person(11, Role::From), person(kPerson, Role::To), member(kMember, Role::Cc)}};
  Folder f = fold({r}, kClock);
  EXPECT_TRUE(pair_of(f).empty());       // kPerson and the member: neither wrote to the other
  EXPECT_FALSE(pair_of(f, 11).empty());  // person 11 wrote to the member (in cc)
}

TEST(ConnectionTerms, CanceledMeetingAndDeclinedAttendeeAddNothing) {
  Folder canceled = fold({meeting(1, kDay0, Status::Canceled)}, kClock);
  EXPECT_TRUE(pair_of(canceled).empty());
  Row declined = meeting(2, kDay0);
  declined.participants[1].response = Response::Declined;
  EXPECT_TRUE(pair_of(*std::make_unique<Folder>(fold({declined}, kClock))).empty());
  Row member_declined = meeting(3, kDay0);
  member_declined.participants[0].response = Response::Declined;
  EXPECT_TRUE(pair_of(*std::make_unique<Folder>(fold({member_declined}, kClock))).empty());
}

TEST(ConnectionTerms, NotesAndMessagesAreNotModelled) {
  Row note = email_out(1, kDay0);
  note.interaction.kind = Kind::Note;
  std::vector<Term> ts;
  terms(note.interaction, note.participants, Model{}, ts);
  EXPECT_TRUE(ts.empty());
}

TEST(ConnectionTime, AFutureMeetingCountsOnlyOnceItHasStarted) {
  const Micros start = kClock + kDay;
  Folder before = fold({meeting(1, start)}, kClock);
  EXPECT_EQ(pair_of(before).rank(), kNothing);
  EXPECT_EQ(pair_of(before).next_at, start);
  EXPECT_FALSE(mergeable(pair_of(before).next_at, kClock, start));
  Folder after = fold({meeting(1, start)}, start);
  EXPECT_NE(pair_of(after).rank(), kNothing);
  EXPECT_EQ(pair_of(after).meetings, 1);
}

TEST(ConnectionTime, RankIsFixedWhileStrengthDecays) {
  Folder f = fold(every(30, true, true, false), kClock);
  const double rank = pair_of(f).rank();
  const double now = strength(rank, kClock, Model{});
  const double later = strength(rank, kClock + 90 * kDay, Model{});
  EXPECT_LT(later, now);
  // One half-life later R has halved.
  EXPECT_NEAR(-std::log1p(-later) * 10, -std::log1p(-now) * 10 / 2, 1e-9);
}

TEST(ConnectionMaths, LogAddAndIncrease) {
  EXPECT_DOUBLE_EQ(log_add(kNothing, 3.0), 3.0);
  EXPECT_DOUBLE_EQ(log_add(3.0, 3.0), 4.0);
  EXPECT_NEAR(log_add(1000.0, 0.0), 1000.0, 1e-12);  // no overflow
  EXPECT_NEAR(log_increase(2.0, 3.0), 2.0, 1e-12);   // 8 - 4 = 4
  EXPECT_EQ(log_increase(3.0, 3.0), kNothing);
  EXPECT_TRUE(std::isnan(log_increase(3.0, 2.0)));
  EXPECT_EQ(strength(kNothing, kClock, Model{}), 0.0);
  EXPECT_EQ(strength(-5000.0, kClock, Model{}), 0.0);  // underflows quietly
}

TEST(ConnectionMaths, Bands) {
  const Model m;
  EXPECT_EQ(band(0.85, m), "very strong");
  EXPECT_EQ(band(0.8, m), "very strong");
  EXPECT_EQ(band(0.6, m), "strong");
  EXPECT_EQ(band(0.45, m), "good");
  EXPECT_EQ(band(0.2, m), "weak");
  EXPECT_EQ(band(1e-9, m), "very weak");
  EXPECT_EQ(band(0.0, m), "none");
}

TEST(ConnectionCompany, SumsRAcrossPeopleAndUnknownAddresses) {
  Row a = email_out(1, kDay0);  // to person 10
  Row b{{.id = 2, .workspace_id = 1, .occurred_at = kDay0, .kind = Kind::Email},
        {member(kMember, Role::From), stranger(777, Role::To)}};
  Folder f = fold({a, b}, kClock);
  const Contacts &company = f.contacts(RecordKind::Company)[kCompany];
  ASSERT_EQ(company.size(), 2u);
  const CompanyPairs pairs = roll_up(company);
  ASSERT_EQ(pairs.count(kMember), 1u);
  EXPECT_EQ(pairs.at(kMember).people, 2);
  // Two identical relationships: twice the R of one.
  EXPECT_NEAR(pairs.at(kMember).rank, pair_of(f).rank() + 1.0, 1e-12);
  EXPECT_EQ(strongest_of(pairs).member_id, kMember);
}

TEST(ConnectionCompany, StrongestPrefersHigherRankThenLowerMemberId) {
  Contacts c;
  Pair weak, strong;
  weak.log_out = 1.0;
  strong.log_out = 2.0;
  c[{3, kPerson, 0}] = strong;
  c[{2, kPerson, 0}] = weak;
  c[{1, kPerson, 0}] = strong;
  EXPECT_EQ(strongest_of(c).member_id, 1);
  EXPECT_EQ(strongest_of(Contacts{}).member_id, 0);
}

}  // namespace

namespace {

// The pair of kMember and kPerson folded from rows.
Pair fold_pair(const std::vector<Row> &rows, Micros now) {
  Folder f = fold(rows, now);
  return pair_of(f);
}

}  // namespace

TEST(ConnectionMaths, LogReplace) {
  EXPECT_NEAR(log_replace(3.0, 1.0, 2.0), std::log2(8.0 - 2.0 + 4.0), 1e-12);
  EXPECT_NEAR(log_replace(3.0, 2.0, kNothing), 2.0, 1e-12);  // 8 - 4 = 4: half may go
  EXPECT_EQ(log_replace(3.0, kNothing, 3.0), 4.0);
  EXPECT_TRUE(std::isnan(log_replace(3.0, 2.5, kNothing))) << "more than half would go";
  EXPECT_TRUE(std::isnan(log_replace(3.0, 3.5, 9.0))) << "more than the sum holds";
  EXPECT_TRUE(std::isnan(log_replace(kNothing, 1.0, 2.0)));
  EXPECT_NEAR(log_replace(3.0, 1.0, 1000.0), 1000.0, 1e-12);  // no overflow
}

TEST(ConnectionReplace, EqualsFoldingTheChangedInteractionsWheneverItAnswers) {
  std::mt19937 rng(11);
  int answered = 0, runs = 0;
  for (int round = 0; round < 100; ++round) {
    std::vector<Row> rows;
    const int n = 2 + round % 30;
    for (int i = 0; i < n; ++i) {
      const Micros at = kDay0 + static_cast<Micros>(rng() % 300) * kDay;
      rows.push_back(i % 3 == 0   ? email_out(i + 1, at)
                     : i % 3 == 1 ? email_in(i + 1, at)
                                  : meeting(i + 1, at));
    }
    for (int i = 0; i < n; i += 2) {
      // The interaction changed: the contact declines it (it gives the pair nothing) or a second
      // contact joins it (a larger audience weighs it less).
      Row changed = rows[i];
      if (round % 2 == 0)
        changed.participants[1].response = Response::Declined;
      else
        changed.participants.push_back(person(kPerson + 1, Role::Cc));
      const Micros now = kDay0 + 320 * kDay;
      Pair stored = fold_pair(rows, now);
      const Pair before_change = stored;
      Folder removed = fold({rows[i]}, now), added = fold({changed}, now);
      auto find = [](Folder &f) {
        auto &c = f.contacts(RecordKind::Person)[kPerson];
        auto it = c.find(ContactKey{.member_id = kMember, .person_id = kPerson});
        return it == c.end() ? Pair{} : it->second;
      };
      std::vector<Row> all = rows;
      all[i] = changed;
      const Pair expected = fold_pair(all, now);
      ++runs;
      if (!stored.replace(find(removed), find(added))) {
        EXPECT_EQ(stored, before_change) << "a refused replace changed the pair";
        continue;
      }
      ++answered;
      EXPECT_TRUE(differences(stored, expected, [](Micros m) { return std::to_string(m); }).empty())
          << "round " << round << " interaction " << i;
    }
  }
  EXPECT_GT(answered, runs / 2);
}

TEST(ConnectionReplace, AnOnlyTermRemovedLeavesAnEmptyPair) {
  const Micros now = kDay0 + 10 * kDay;
  const std::vector<Row> rows = {email_out(1, kDay0)};
  Pair stored = fold_pair(rows, now);
  ASSERT_TRUE(stored.replace(fold_pair(rows, now), Pair{}));
  EXPECT_TRUE(stored.empty());
  EXPECT_EQ(stored.first_at, kNoTime);
  EXPECT_EQ(stored.last_at, kNoTime);
}
