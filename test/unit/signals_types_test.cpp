// The activity vocabulary: parsing the text the schema stores, and rendering it back.
#include <gtest/gtest.h>

#include <optional>
#include <string_view>

#include "core/signals/types.hpp"

namespace {

using namespace crm::signals;

TEST(SignalsTypes, KindRoundTrips) {
  for (Kind k : {Kind::Email, Kind::Meeting, Kind::Call, Kind::Message, Kind::Note}) {
    const std::optional<Kind> parsed = parse_kind(to_string(k));
    ASSERT_TRUE(parsed.has_value()) << to_string(k);
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_EQ(to_string(Kind::Email), "email");
  EXPECT_EQ(to_string(Kind::Meeting), "meeting");
  EXPECT_EQ(to_string(Kind::Call), "call");
  EXPECT_EQ(to_string(Kind::Message), "message");
  EXPECT_EQ(to_string(Kind::Note), "note");
}

TEST(SignalsTypes, UnknownKindValueRendersUnknown) {
  EXPECT_EQ(to_string(static_cast<Kind>(200)), "unknown");
}

TEST(SignalsTypes, ParseStatus) {
  EXPECT_EQ(parse_status("confirmed"), Status::Confirmed);
  EXPECT_EQ(parse_status("tentative"), Status::Tentative);
  EXPECT_EQ(parse_status("canceled"), Status::Canceled);
  EXPECT_EQ(parse_status("cancelled"), std::nullopt);
  EXPECT_EQ(parse_status(""), std::nullopt);
}

TEST(SignalsTypes, ParseRole) {
  EXPECT_EQ(parse_role("from"), Role::From);
  EXPECT_EQ(parse_role("to"), Role::To);
  EXPECT_EQ(parse_role("cc"), Role::Cc);
  EXPECT_EQ(parse_role("bcc"), Role::Bcc);
  EXPECT_EQ(parse_role("organizer"), Role::Organizer);
  EXPECT_EQ(parse_role("attendee"), Role::Attendee);
  EXPECT_EQ(parse_role("sender"), std::nullopt);
  EXPECT_EQ(parse_role(""), std::nullopt);
}

TEST(SignalsTypes, ParseResponseEmptyIsNone) {
  EXPECT_EQ(parse_response(""), Response::None);
  EXPECT_EQ(parse_response("accepted"), Response::Accepted);
  EXPECT_EQ(parse_response("declined"), Response::Declined);
  EXPECT_EQ(parse_response("tentative"), Response::Tentative);
  EXPECT_EQ(parse_response("needs_action"), Response::NeedsAction);
  EXPECT_EQ(parse_response("needs-action"), std::nullopt);
  EXPECT_EQ(parse_response("none"), std::nullopt);
}

TEST(SignalsTypes, RecordKindRoundTrips) {
  EXPECT_EQ(parse_record_kind("person"), RecordKind::Person);
  EXPECT_EQ(parse_record_kind("company"), RecordKind::Company);
  EXPECT_EQ(to_string(RecordKind::Person), "person");
  EXPECT_EQ(to_string(RecordKind::Company), "company");
  EXPECT_EQ(parse_record_kind("deal"), std::nullopt);
  EXPECT_EQ(parse_record_kind(""), std::nullopt);
}

TEST(SignalsTypes, ParsingIsExactAndCaseSensitive) {
  // The schema's CHECK constraints store lower-case values; anything else is not a known value.
  EXPECT_EQ(parse_kind("Email"), std::nullopt);
  EXPECT_EQ(parse_kind("EMAIL"), std::nullopt);
  EXPECT_EQ(parse_kind(" email"), std::nullopt);
  EXPECT_EQ(parse_kind("email "), std::nullopt);
  EXPECT_EQ(parse_kind("emai"), std::nullopt);
  EXPECT_EQ(parse_kind(""), std::nullopt);
  EXPECT_EQ(parse_role("From"), std::nullopt);
  EXPECT_EQ(parse_record_kind("Person"), std::nullopt);
  // A string_view that is a prefix of a longer buffer parses on its own length.
  constexpr std::string_view buffer = "meetings";
  EXPECT_EQ(parse_kind(buffer.substr(0, 7)), Kind::Meeting);
}

TEST(SignalsTypes, DefaultsAreNoTimeAndZeroIds) {
  const Interaction i;
  EXPECT_EQ(i.occurred_at, kNoTime);
  EXPECT_EQ(i.status, Status::Confirmed);
  const Participant p;
  EXPECT_EQ(p.person_id, 0);
  EXPECT_EQ(p.company_id, 0);
  EXPECT_EQ(p.member_id, 0);
  EXPECT_EQ(p.response, Response::None);
}

}  // namespace
