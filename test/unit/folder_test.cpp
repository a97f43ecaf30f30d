// Folder: folds a stream of interactions with their participants into per-record signals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/signals/folder.hpp"

namespace {

using namespace crm::signals;
using crm::signals::Folder;

constexpr Micros kNow = 5'000'000'000;

struct Row {
  Interaction interaction;
  std::vector<Participant> participants;
};

Row row(std::int64_t id, Micros when, Kind kind, std::vector<Participant> ps,
        Status status = Status::Confirmed) {
  return Row{Interaction{.id = id, .occurred_at = when, .kind = kind, .status = status},
             std::move(ps)};
}

Participant member(std::int64_t id, Role role) {
  return Participant{.member_id = id, .role = role};
}

Participant person(std::int64_t id, std::int64_t company, Role role,
                   Response response = Response::None) {
  return Participant{.person_id = id, .company_id = company, .role = role, .response = response};
}

// Ordered copies, so that results compare and print deterministically.
std::map<std::int64_t, Signals> snapshot(Folder &f, RecordKind kind) {
  const auto &m = f.result(kind);
  return {m.begin(), m.end()};
}

// Folds rows by hand: contributions() then Signals::fold, the reference for Folder.
std::map<std::int64_t, Signals> by_hand(const std::vector<Row> &rows, RecordKind kind, Micros now) {
  std::map<std::int64_t, Signals> out;
  for (const Row &r : rows) {
    std::vector<Contribution> cs;
    contributions(r.interaction, r.participants, kind, cs);
    for (const Contribution &c : cs) out[c.record_id].fold(c, now);
  }
  return out;
}

std::vector<Row> random_rows(std::mt19937 &rng, int n) {
  std::uniform_int_distribution<Micros> when(kNow - 1000, kNow + 300);
  std::uniform_int_distribution<int> kind(0, 4), roles(0, 5), count(1, 6), who(0, 9),
      response(0, 4), status(0, 9);
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i) {
    std::vector<Participant> ps;
    for (int k = count(rng); k > 0; --k) {
      const int w = who(rng);
      Participant p;
      if (w < 3) {
        p.member_id = 1 + w;
      } else if (w < 9) {
        p.person_id = 100 + w;
        p.company_id = 1000 + w % 3;
      }  // else: an address nobody knows
      p.role = static_cast<Role>(roles(rng));
      p.response = static_cast<Response>(response(rng));
      ps.push_back(p);
    }
    const int s = status(rng);
    rows.push_back(row(10'000 + i, when(rng), static_cast<Kind>(kind(rng)), std::move(ps),
                       s == 0   ? Status::Canceled
                       : s == 1 ? Status::Tentative
                                : Status::Confirmed));
  }
  return rows;
}

void add_all(Folder &f, const std::vector<Row> &rows) {
  for (const Row &r : rows) f.add(r.interaction, r.participants);
}

// ---- folding ----

TEST(Folder, FoldsPersonsAndCompaniesFromOneAdd) {
  Folder f(kNow);
  const Row r = row(1, kNow - 10, Kind::Email,
                    {member(3, Role::From), person(5, 50, Role::To), person(6, 50, Role::Cc),
                     person(7, 70, Role::Bcc)});
  f.add(r.interaction, r.participants);
  const auto persons = snapshot(f, RecordKind::Person);
  const auto companies = snapshot(f, RecordKind::Company);
  ASSERT_EQ(persons.size(), 3u);
  ASSERT_EQ(companies.size(), 2u);
  for (std::int64_t id : {5, 6, 7}) {
    const Signals &s = persons.at(id);
    EXPECT_EQ(s.interaction_count, 1);
    EXPECT_EQ(s.email_count, 1);
    EXPECT_EQ(s.last_outbound_email_at, kNow - 10);
    EXPECT_EQ(s.last_interaction_member_id, 3);
  }
  // Two people of company 50 on one email: one interaction for the company.
  EXPECT_EQ(companies.at(50).interaction_count, 1);
  EXPECT_EQ(companies.at(70).interaction_count, 1);
}

TEST(Folder, CanceledAndDeclinedAreLeftOut) {
  Folder f(kNow);
  for (const Row &r :
       {row(1, kNow - 5, Kind::Meeting, {member(1, Role::Organizer), person(5, 50, Role::Attendee)},
            Status::Canceled),
        row(2, kNow - 4, Kind::Meeting,
            {member(1, Role::Organizer), person(6, 60, Role::Attendee, Response::Declined),
             person(5, 50, Role::Attendee, Response::Accepted)})})
    f.add(r.interaction, r.participants);
  const auto persons = snapshot(f, RecordKind::Person);
  ASSERT_EQ(persons.size(), 1u);
  EXPECT_EQ(persons.at(5).interaction_count, 1);
  EXPECT_EQ(persons.at(5).last_interaction_id, 2);
  EXPECT_EQ(snapshot(f, RecordKind::Company).count(60), 0u);
}

TEST(Folder, SameAsContributionsFoldedByHand) {
  std::mt19937 rng(31337);
  const auto rows = random_rows(rng, 500);
  Folder f(kNow);
  add_all(f, rows);
  for (RecordKind kind : {RecordKind::Person, RecordKind::Company}) {
    const auto expected = by_hand(rows, kind, kNow);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(snapshot(f, kind), expected) << to_string(kind);
  }
}

TEST(Folder, IndependentOfInteractionAndParticipantOrder) {
  std::mt19937 rng(8675309);
  auto rows = random_rows(rng, 400);
  Folder reference(kNow);
  add_all(reference, rows);
  for (int round = 0; round < 6; ++round) {
    std::shuffle(rows.begin(), rows.end(), rng);
    for (Row &r : rows) std::shuffle(r.participants.begin(), r.participants.end(), rng);
    Folder f(kNow);
    add_all(f, rows);
    for (RecordKind kind : {RecordKind::Person, RecordKind::Company})
      ASSERT_EQ(snapshot(f, kind), snapshot(reference, kind)) << "round " << round;
  }
}

TEST(Folder, SplitStreamsMergedEqualOneStream) {
  std::mt19937 rng(555);
  const auto rows = random_rows(rng, 600);
  Folder whole(kNow), first(kNow), second(kNow);
  add_all(whole, rows);
  for (std::size_t i = 0; i < rows.size(); ++i)
    (i % 3 == 0 ? first : second).add(rows[i].interaction, rows[i].participants);
  for (RecordKind kind : {RecordKind::Person, RecordKind::Company}) {
    auto merged = snapshot(first, kind);
    for (const auto &[id, s] : snapshot(second, kind)) merged[id].merge(s);
    EXPECT_EQ(merged, snapshot(whole, kind));
  }
}

TEST(Folder, NoAddsNoResults) {
  Folder f(kNow);
  EXPECT_TRUE(f.result(RecordKind::Person).empty());
  EXPECT_TRUE(f.result(RecordKind::Company).empty());
}

// ---- restrict_to ----

TEST(Folder, RestrictToFoldsOnlyTheseRecords) {
  std::mt19937 rng(2024);
  const auto rows = random_rows(rng, 300);
  Folder all(kNow), some(kNow);
  some.restrict_to(RecordKind::Person, {103, 105, 999});
  add_all(all, rows);
  add_all(some, rows);
  const auto persons = snapshot(some, RecordKind::Person);
  ASSERT_EQ(persons.size(), 2u);  // 999 never appears
  EXPECT_EQ(persons.at(103), all.result(RecordKind::Person).at(103));
  EXPECT_EQ(persons.at(105), all.result(RecordKind::Person).at(105));
  // Companies are not restricted by a person restriction.
  EXPECT_EQ(snapshot(some, RecordKind::Company), snapshot(all, RecordKind::Company));
}

TEST(Folder, RestrictToCompaniesLeavesPersonsAlone) {
  std::mt19937 rng(2025);
  const auto rows = random_rows(rng, 300);
  Folder all(kNow), some(kNow);
  some.restrict_to(RecordKind::Company, {1001});
  add_all(all, rows);
  add_all(some, rows);
  const auto companies = snapshot(some, RecordKind::Company);
  ASSERT_EQ(companies.size(), 1u);
  EXPECT_EQ(companies.at(1001), all.result(RecordKind::Company).at(1001));
  EXPECT_EQ(snapshot(some, RecordKind::Person), snapshot(all, RecordKind::Person));
}

TEST(Folder, RestrictToEmptySetFoldsNothing) {
  std::mt19937 rng(2026);
  const auto rows = random_rows(rng, 100);
  Folder f(kNow);
  f.restrict_to(RecordKind::Person, {});
  f.restrict_to(RecordKind::Company, {});
  add_all(f, rows);
  EXPECT_TRUE(f.result(RecordKind::Person).empty());
  EXPECT_TRUE(f.result(RecordKind::Company).empty());
}

TEST(Folder, RestrictToAgainReplacesTheSet) {
  Folder f(kNow);
  f.restrict_to(RecordKind::Person, {5});
  f.restrict_to(RecordKind::Person, {6});
  const Row r = row(1, kNow - 1, Kind::Call, {person(5, 0, Role::To), person(6, 0, Role::To)});
  f.add(r.interaction, r.participants);
  const auto persons = snapshot(f, RecordKind::Person);
  ASSERT_EQ(persons.size(), 1u);
  EXPECT_EQ(persons.count(6), 1u);
}

// ---- clocks ----

TEST(Folder, OneClockSplitsPastAndFutureAtExactlyNow) {
  Folder f(kNow);
  for (const Row &r : {row(1, kNow, Kind::Meeting, {person(5, 0, Role::Attendee)}),
                       row(2, kNow + 1, Kind::Meeting, {person(5, 0, Role::Attendee)})})
    f.add(r.interaction, r.participants);
  const Signals &s = f.result(RecordKind::Person).at(5);
  EXPECT_EQ(s.meeting_count, 1);
  EXPECT_EQ(s.last_meeting_at, kNow);
  EXPECT_EQ(s.next_meeting_at, kNow + 1);
}

TEST(Folder, PerRecordClock) {
  std::vector<std::pair<RecordKind, std::int64_t>> asked;
  Folder f([&](RecordKind kind, std::int64_t id) {
    asked.emplace_back(kind, id);
    if (kind == RecordKind::Company) return kNow + 1000;
    return id == 5 ? kNow - 100 : kNow + 100;
  });
  const Row r = row(
      1, kNow, Kind::Meeting,
      {member(1, Role::Organizer), person(5, 50, Role::Attendee), person(6, 50, Role::Attendee)});
  f.add(r.interaction, r.participants);
  // Person 5 is folded at a clock before the meeting: it is still ahead of them.
  const Signals &five = f.result(RecordKind::Person).at(5);
  EXPECT_EQ(five.meeting_count, 0);
  EXPECT_EQ(five.next_meeting_at, kNow);
  // Person 6 and company 50 are folded after it: it is past.
  const Signals &six = f.result(RecordKind::Person).at(6);
  EXPECT_EQ(six.meeting_count, 1);
  EXPECT_EQ(six.next_meeting_at, kNoTime);
  EXPECT_EQ(f.result(RecordKind::Company).at(50).meeting_count, 1);
  // The clock is asked about each folded record with its kind (attributes and connections).
  std::sort(asked.begin(), asked.end());
  asked.erase(std::unique(asked.begin(), asked.end()), asked.end());
  EXPECT_EQ(asked,
            (std::vector<std::pair<RecordKind, std::int64_t>>{
                {RecordKind::Person, 5}, {RecordKind::Person, 6}, {RecordKind::Company, 50}}));
}

TEST(Folder, PerRecordClockEqualsFoldingEachRecordAtItsClock) {
  std::mt19937 rng(404);
  const auto rows = random_rows(rng, 400);
  auto clock = [](RecordKind kind, std::int64_t id) {
    return kNow - 500 + (id * 37 + (kind == RecordKind::Company ? 11 : 0)) % 700;
  };
  Folder f(clock);
  add_all(f, rows);
  for (RecordKind kind : {RecordKind::Person, RecordKind::Company}) {
    const auto got = snapshot(f, kind);
    ASSERT_FALSE(got.empty());
    for (const auto &[id, s] : got) {
      const auto expected = by_hand(rows, kind, clock(kind, id));
      EXPECT_EQ(s, expected.at(id)) << to_string(kind) << " " << id;
    }
  }
}

TEST(Folder, RestrictedRecordsAreNotAskedForAClock) {
  int calls = 0;
  Folder f([&](RecordKind, std::int64_t) {
    ++calls;
    return kNow;
  });
  f.restrict_to(RecordKind::Person, {5});
  f.restrict_to(RecordKind::Company, {});
  const Row r = row(1, kNow, Kind::Call, {person(5, 50, Role::To), person(6, 60, Role::To)});
  f.add(r.interaction, r.participants);
  EXPECT_EQ(calls, 1);
}

// ---- cancellation ----

int g_cancel_calls = 0;
bool cancel_now() {
  ++g_cancel_calls;
  return true;
}
bool never_cancel() {
  ++g_cancel_calls;
  return false;
}

TEST(Folder, CancelThrowsByThe4096thAdd) {
  g_cancel_calls = 0;
  Folder f(kNow, cancel_now);
  const Row r = row(1, kNow - 1, Kind::Call, {person(5, 50, Role::To)});
  int added = 0;
  try {
    for (; added < 5000; ++added) f.add(r.interaction, r.participants);
    FAIL() << "add() never threw crm::Canceled";
  } catch (const crm::Canceled &) {
  }
  EXPECT_LE(added + 1, 4096) << "threw on add number " << added + 1;
  EXPECT_EQ(g_cancel_calls, 1);
  // What was added before the cancellation was folded.
  EXPECT_EQ(f.result(RecordKind::Person).at(5).interaction_count, added);
}

TEST(Folder, CancelCheckIsPolledOncePer4096Adds) {
  g_cancel_calls = 0;
  Folder f(kNow, never_cancel);
  const Row r = row(1, kNow - 1, Kind::Call, {person(5, 50, Role::To)});
  for (int i = 0; i < 3 * 4096 + 100; ++i) f.add(r.interaction, r.participants);
  EXPECT_EQ(g_cancel_calls, 3);
  EXPECT_EQ(f.result(RecordKind::Person).at(5).interaction_count, 3 * 4096 + 100);
}

TEST(Folder, CanceledIsAStdException) {
  Folder f(kNow, cancel_now);
  const Row r = row(1, kNow - 1, Kind::Call, {});
  EXPECT_THROW(
      {
        for (int i = 0; i < 4096; ++i) f.add(r.interaction, r.participants);
      },
      std::exception);
}

TEST(Folder, NoCancelCheckNeverThrows) {
  Folder f(kNow);
  const Row r = row(1, kNow - 1, Kind::Call, {person(5, 50, Role::To)});
  EXPECT_NO_THROW({
    for (int i = 0; i < 10'000; ++i) f.add(r.interaction, r.participants);
  });
}

TEST(Folder, PerRecordClockFolderAlsoPollsCancel) {
  Folder f([](RecordKind, std::int64_t) { return kNow; }, cancel_now);
  const Row r = row(1, kNow - 1, Kind::Call, {person(5, 50, Role::To)});
  EXPECT_THROW(
      {
        for (int i = 0; i < 4096; ++i) f.add(r.interaction, r.participants);
      },
      crm::Canceled);
}

}  // namespace
