// What one interaction contributes to each person or company: lead_member() and contributions().
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

#include "core/signals/contribution.hpp"

namespace {

using namespace crm::signals;

constexpr Micros kAt = 777'000'000;

Interaction interaction(Kind kind, Status status = Status::Confirmed, std::int64_t id = 42) {
  return Interaction{.id = id, .occurred_at = kAt, .kind = kind, .status = status};
}

Participant member(std::int64_t id, Role role, Response response = Response::None) {
  return Participant{.member_id = id, .role = role, .response = response};
}

Participant person(std::int64_t id, Role role, std::int64_t company = 0,
                   Response response = Response::None) {
  return Participant{.person_id = id, .company_id = company, .role = role, .response = response};
}

// An address nobody in the CRM knows: neither member nor person.
Participant external(Role role) {
  return Participant{.role = role};
}

std::vector<Contribution> contribute(const Interaction &i, const std::vector<Participant> &ps,
                                     RecordKind kind = RecordKind::Person) {
  std::vector<Contribution> out;
  contributions(i, ps, kind, out);
  return out;
}

// The only contribution for record, failing the test when there is not exactly one.
Contribution only_for(const std::vector<Contribution> &out, std::int64_t record) {
  Contribution found;
  int n = 0;
  for (const Contribution &c : out)
    if (c.record_id == record) {
      found = c;
      ++n;
    }
  EXPECT_EQ(n, 1) << "contributions for record " << record;
  return found;
}

auto key(const Contribution &c) {
  return std::tuple(c.record_id, c.interaction_id, c.at, c.kind, c.inbound, c.outbound,
                    c.member_id);
}

std::vector<Contribution> sorted(std::vector<Contribution> v) {
  std::sort(v.begin(), v.end(), [](auto &a, auto &b) { return key(a) < key(b); });
  return v;
}

bool same(const std::vector<Contribution> &a, const std::vector<Contribution> &b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (key(a[i]) != key(b[i])) return false;
  return true;
}

// ---- what is copied ----

TEST(Contributions, CarriesInteractionIdTimeKindAndMember) {
  const auto out = contribute(interaction(Kind::Call, Status::Confirmed, 9),
                              {member(3, Role::From), person(5, Role::To)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record_id, 5);
  EXPECT_EQ(out[0].interaction_id, 9);
  EXPECT_EQ(out[0].at, kAt);
  EXPECT_EQ(out[0].kind, Kind::Call);
  EXPECT_EQ(out[0].member_id, 3);
  EXPECT_FALSE(out[0].inbound);
  EXPECT_FALSE(out[0].outbound);
}

TEST(Contributions, TentativeInteractionsCount) {
  EXPECT_EQ(
      contribute(interaction(Kind::Meeting, Status::Tentative), {person(1, Role::Attendee)}).size(),
      1u);
}

TEST(Contributions, ParticipantsWithoutARecordContributeNothing) {
  EXPECT_TRUE(contribute(interaction(Kind::Email),
                         {member(1, Role::From), member(2, Role::To), external(Role::Cc)})
                  .empty());
  // A person without a company contributes nothing to companies.
  EXPECT_TRUE(
      contribute(interaction(Kind::Email), {person(1, Role::From)}, RecordKind::Company).empty());
}

TEST(Contributions, OnePerDistinctRecord) {
  // The same person appears as sender and in copy; two people of one company take part.
  const auto people =
      contribute(interaction(Kind::Email), {person(1, Role::From, 10), person(1, Role::Cc, 10),
                                            person(2, Role::To, 10), member(7, Role::To)});
  EXPECT_EQ(people.size(), 2u);
  only_for(people, 1);
  only_for(people, 2);
  const auto companies = contribute(interaction(Kind::Email),
                                    {person(1, Role::From, 10), person(1, Role::Cc, 10),
                                     person(2, Role::To, 10), member(7, Role::To)},
                                    RecordKind::Company);
  ASSERT_EQ(companies.size(), 1u);
  EXPECT_EQ(companies[0].record_id, 10);
}

TEST(Contributions, AppendsAfterExistingContentsWithoutMergingIntoThem) {
  std::vector<Contribution> out;
  contributions(interaction(Kind::Email, Status::Confirmed, 1), std::vector{person(5, Role::From)},
                RecordKind::Person, out);
  contributions(interaction(Kind::Meeting, Status::Confirmed, 2),
                std::vector{person(5, Role::Attendee), person(6, Role::Attendee)},
                RecordKind::Person, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].interaction_id, 1);
  EXPECT_EQ(out[0].kind, Kind::Email);
  EXPECT_TRUE(out[0].inbound);
  EXPECT_EQ(out[1].record_id, 5);
  EXPECT_EQ(out[1].interaction_id, 2);
  EXPECT_EQ(out[1].kind, Kind::Meeting);
  EXPECT_FALSE(out[1].inbound);
  EXPECT_EQ(out[2].record_id, 6);
}

// ---- canceled and declined ----

TEST(Contributions, CanceledInteractionContributesNothing) {
  for (Kind kind : {Kind::Email, Kind::Meeting, Kind::Call, Kind::Message, Kind::Note}) {
    for (RecordKind rk : {RecordKind::Person, RecordKind::Company}) {
      std::vector<Contribution> out(1);  // existing contents stay untouched
      out[0].record_id = 99;
      contributions(interaction(kind, Status::Canceled),
                    std::vector{member(1, Role::From), person(2, Role::To, 20),
                                person(3, Role::Organizer, 30)},
                    rk, out);
      ASSERT_EQ(out.size(), 1u) << to_string(kind);
      EXPECT_EQ(out[0].record_id, 99);
    }
  }
}

TEST(Contributions, DeclinedParticipantNeverCounts) {
  const auto out =
      contribute(interaction(Kind::Meeting),
                 {member(1, Role::Organizer), person(2, Role::Attendee, 20, Response::Declined),
                  person(3, Role::Attendee, 30, Response::Accepted),
                  person(4, Role::Attendee, 20, Response::Tentative),
                  person(5, Role::Attendee, 50, Response::NeedsAction)});
  EXPECT_EQ(out.size(), 3u);
  for (const Contribution &c : out) EXPECT_NE(c.record_id, 2);
  // A declined organiser does not count either.
  EXPECT_TRUE(
      contribute(interaction(Kind::Meeting),
                 {person(6, Role::Organizer, 0, Response::Declined), member(1, Role::Attendee)})
          .empty());
}

TEST(Contributions, CompanyCountsOnlyThroughParticipantsWhoDidNotDecline) {
  // Company 20 only through a declined person: nothing.
  EXPECT_TRUE(
      contribute(interaction(Kind::Meeting),
                 {member(1, Role::Organizer), person(2, Role::Attendee, 20, Response::Declined)},
                 RecordKind::Company)
          .empty());
  // Company 20 through a declined and an accepting person: one contribution.
  const auto out =
      contribute(interaction(Kind::Meeting),
                 {member(1, Role::Organizer), person(2, Role::Attendee, 20, Response::Declined),
                  person(4, Role::Attendee, 20, Response::Accepted)},
                 RecordKind::Company);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record_id, 20);
}

// ---- inbound and outbound ----

TEST(Contributions, EmailFromMemberToPersonIsOutbound) {
  for (Role role : {Role::To, Role::Cc, Role::Bcc}) {
    const Contribution c =
        only_for(contribute(interaction(Kind::Email), {member(3, Role::From), person(5, role)}), 5);
    EXPECT_TRUE(c.outbound);
    EXPECT_FALSE(c.inbound);
    EXPECT_EQ(c.member_id, 3);
  }
}

TEST(Contributions, EmailFromPersonToMemberIsInbound) {
  const Contribution c = only_for(
      contribute(interaction(Kind::Email), {person(5, Role::From), member(3, Role::To)}), 5);
  EXPECT_TRUE(c.inbound);
  EXPECT_FALSE(c.outbound);
  EXPECT_EQ(c.member_id, 3);
}

TEST(Contributions, EmailFromExternalNonMemberToPersonIsNeither) {
  const auto out = contribute(interaction(Kind::Email),
                              {external(Role::From), person(5, Role::To), person(6, Role::Cc)});
  ASSERT_EQ(out.size(), 2u);
  for (const Contribution &c : out) {
    EXPECT_FALSE(c.inbound) << c.record_id;
    EXPECT_FALSE(c.outbound) << c.record_id;
    EXPECT_EQ(c.member_id, 0);
  }
}

TEST(Contributions, EmailBetweenContactsIsInboundOnlyForTheSender) {
  const auto out = contribute(interaction(Kind::Email),
                              {person(5, Role::From), person(6, Role::To), member(3, Role::Cc)});
  EXPECT_TRUE(only_for(out, 5).inbound);
  EXPECT_FALSE(only_for(out, 5).outbound);
  // A member in copy did not send it: not outbound for the other contact.
  EXPECT_FALSE(only_for(out, 6).inbound);
  EXPECT_FALSE(only_for(out, 6).outbound);
}

TEST(Contributions, EmailToMemberOnlyInCopyIsNotOutbound) {
  const auto out = contribute(interaction(Kind::Email),
                              {external(Role::From), member(3, Role::To), person(5, Role::Cc)});
  EXPECT_FALSE(only_for(out, 5).outbound);
  EXPECT_FALSE(only_for(out, 5).inbound);
}

TEST(Contributions, MeetingIsNeitherInboundNorOutbound) {
  const auto out =
      contribute(interaction(Kind::Meeting), {member(3, Role::Organizer), person(5, Role::Attendee),
                                              person(6, Role::From), person(7, Role::To)});
  ASSERT_EQ(out.size(), 3u);
  for (const Contribution &c : out) {
    EXPECT_FALSE(c.inbound) << c.record_id;
    EXPECT_FALSE(c.outbound) << c.record_id;
    EXPECT_EQ(c.member_id, 3);
  }
  // Even with email-style roles, a member "sending" a meeting makes nothing outbound.
  const Contribution c = only_for(
      contribute(interaction(Kind::Meeting), {member(3, Role::From), person(5, Role::To)}), 5);
  EXPECT_FALSE(c.outbound);
}

TEST(Contributions, OnlyEmailsAreInboundOrOutbound) {
  for (Kind kind : {Kind::Meeting, Kind::Call, Kind::Message, Kind::Note}) {
    const auto out = contribute(
        interaction(kind), {person(5, Role::From), member(3, Role::From), person(6, Role::To)});
    for (const Contribution &c : out) {
      EXPECT_FALSE(c.inbound) << to_string(kind);
      EXPECT_FALSE(c.outbound) << to_string(kind);
    }
  }
}

TEST(Contributions, CompanyOfRecipientIsOutboundAndCompanyOfSenderInbound) {
  const auto out =
      contribute(interaction(Kind::Email),
                 {member(3, Role::From), person(5, Role::To, 50), person(6, Role::Bcc, 60)},
                 RecordKind::Company);
  EXPECT_TRUE(only_for(out, 50).outbound);
  EXPECT_TRUE(only_for(out, 60).outbound);
  const auto in =
      contribute(interaction(Kind::Email),
                 {person(5, Role::From, 50), person(7, Role::Cc, 50), member(3, Role::To)},
                 RecordKind::Company);
  EXPECT_TRUE(only_for(in, 50).inbound);
  EXPECT_FALSE(only_for(in, 50).outbound);
}

TEST(Contributions, SenderWhoIsAlsoRecipientOfMemberEmailIsBoth) {
  // A person in From next to a member in From (delegated send), the person also in To.
  const Contribution c =
      only_for(contribute(interaction(Kind::Email),
                          {member(3, Role::From), person(5, Role::From), person(5, Role::To)}),
               5);
  EXPECT_TRUE(c.inbound);
  EXPECT_TRUE(c.outbound);
}

// ---- the member involved ----

TEST(LeadMember, SenderWins) {
  EXPECT_EQ(
      lead_member(std::vector{member(1, Role::To), member(9, Role::From), member(4, Role::Cc)}), 9);
}

TEST(LeadMember, OrganizerWins) {
  EXPECT_EQ(lead_member(std::vector{member(2, Role::Attendee), member(8, Role::Organizer)}), 8);
}

TEST(LeadMember, LowestSenderAmongSeveral) {
  EXPECT_EQ(lead_member(std::vector{member(9, Role::From), member(1, Role::To),
                                    member(6, Role::Organizer)}),
            6);
}

TEST(LeadMember, ElseLowestMemberId) {
  EXPECT_EQ(lead_member(std::vector{person(1, Role::From), member(7, Role::To), member(4, Role::Cc),
                                    member(5, Role::Bcc)}),
            4);
}

TEST(LeadMember, DeclinedMembersAreIgnored) {
  EXPECT_EQ(lead_member(std::vector{member(2, Role::Organizer, Response::Declined),
                                    member(7, Role::Attendee),
                                    member(1, Role::Attendee, Response::Declined),
                                    member(5, Role::Attendee, Response::Accepted)}),
            5);
}

TEST(LeadMember, ZeroWhenNoMemberTookPart) {
  EXPECT_EQ(lead_member(std::vector<Participant>{}), 0);
  EXPECT_EQ(lead_member(std::vector{person(1, Role::From), external(Role::To)}), 0);
  EXPECT_EQ(
      lead_member(std::vector{member(3, Role::Attendee, Response::Declined), person(1, Role::To)}),
      0);
}

TEST(LeadMember, IndependentOfRowOrder) {
  std::vector ps{member(9, Role::Attendee),  member(4, Role::Attendee, Response::Declined),
                 member(6, Role::Attendee),  person(1, Role::Organizer),
                 member(8, Role::Organizer), member(7, Role::Organizer, Response::Declined)};
  std::sort(ps.begin(), ps.end(), [](auto &a, auto &b) { return a.member_id < b.member_id; });
  int permutations = 0;
  do {
    ASSERT_EQ(lead_member(ps), 8);
    ++permutations;
  } while (std::next_permutation(ps.begin(), ps.end(),
                                 [](auto &a, auto &b) { return a.member_id < b.member_id; }));
  EXPECT_EQ(permutations, 720);  // all six member ids (0 for the person) are distinct
}

TEST(Contributions, IndependentOfParticipantOrder) {
  std::mt19937 rng(7);
  const Interaction email = interaction(Kind::Email);
  std::vector ps{member(3, Role::Cc),     person(5, Role::From, 50),
                 person(6, Role::To, 50), member(2, Role::From),
                 person(6, Role::Cc, 60), person(7, Role::Bcc, 70, Response::Declined),
                 external(Role::To),      member(1, Role::To, Response::Declined)};
  for (RecordKind rk : {RecordKind::Person, RecordKind::Company}) {
    const auto reference = sorted(contribute(email, ps, rk));
    for (int round = 0; round < 200; ++round) {
      std::shuffle(ps.begin(), ps.end(), rng);
      ASSERT_TRUE(same(sorted(contribute(email, ps, rk)), reference)) << "round " << round;
    }
  }
}

}  // namespace
