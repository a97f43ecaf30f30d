// Thunderbird's invitation test mails (real Exchange, Teams, Google and Thunderbird output) and a
// sweep over every .ics in the shared calendar data.
#include <gtest/gtest.h>

#include <string>

#include "calendar_test_support.hpp"
#include "core/capture/calendar.hpp"

namespace {

using namespace calendar_test;
using crm::capture::EventStatus;
using crm::capture::parse_calendar;
using crm::capture::ParsedCalendar;
using crm::capture::Response;
using crm::capture::Role;

const fs::path kInvites = kCalendarData / "calendar-invites-thunderbird" / "calendar" / "test" /
                          "browser" / "invitations" / "data";

std::string invite(const std::string &name) {
  const std::string ics = calendar_part(slurp(kInvites / name));
  EXPECT_NE(ics.find("BEGIN:VCALENDAR"), std::string::npos) << name;
  return ics;
}

ParsedCalendar parse_invite(const std::string &name) {
  return parse_calendar(invite(name), kWide, "UTC");
}

TEST(CalendarInvites, SingleEventRequest) {
  SKIP_WITHOUT_CALENDAR_DATA();
  const auto p = parse_invite("single-event.eml");
  EXPECT_EQ(p.method, "REQUEST");
  ASSERT_EQ(p.instances.size(), 1u);
  const auto &i = p.instances[0];
  EXPECT_EQ(i.uid, "02e79b96");
  EXPECT_EQ(i.external_id, "02e79b96");
  EXPECT_FALSE(i.recurrence_id);
  EXPECT_EQ(i.starts_at, utc(2022, 3, 16, 11));
  EXPECT_EQ(i.ends_at, utc(2022, 3, 16, 11, 30));
  EXPECT_EQ(i.subject, "Single Event");
  EXPECT_EQ(i.status, EventStatus::confirmed);
  ASSERT_FALSE(i.participants.empty());
  EXPECT_EQ(i.participants[0].role, Role::organizer);
  EXPECT_EQ(i.participants[0].address, "sender@example.com");
  EXPECT_EQ(i.participants[0].display_name, "Sender");
  // The organizer is also an ATTENDEE line: one entry, organizer, with that line's PARTSTAT.
  int sender = 0;
  for (const auto &p : i.participants) sender += p.address == "sender@example.com";
  EXPECT_EQ(sender, 1);
}

TEST(CalendarInvites, CancelSingleEvent) {
  SKIP_WITHOUT_CALENDAR_DATA();
  const auto p = parse_invite("cancel-single-event.eml");
  EXPECT_EQ(p.method, "CANCEL");
  ASSERT_EQ(p.instances.size(), 1u);
  EXPECT_EQ(p.instances[0].status, EventStatus::canceled);
  EXPECT_EQ(p.instances[0].sequence, 1);
  EXPECT_EQ(p.canceled_series, std::vector<std::string>{"02e79b96"});
}

// Thunderbird's own file notes "This is missing DTSTART": the series is still cancelled.
TEST(CalendarInvites, CancelRepeatEventWithoutDtstart) {
  SKIP_WITHOUT_CALENDAR_DATA();
  const auto p = parse_invite("cancel-repeat-event.eml");
  EXPECT_EQ(p.method, "CANCEL");
  EXPECT_TRUE(p.instances.empty());
  EXPECT_EQ(p.canceled_series, std::vector<std::string>{"02e79b96"});
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].uid, "02e79b96");
  EXPECT_EQ(p.skipped[0].skip.reason(), "malformed: VEVENT without DTSTART");
}

TEST(CalendarInvites, RepeatEventExpands) {
  SKIP_WITHOUT_CALENDAR_DATA();
  const auto p = parse_invite("repeat-event.eml");
  ASSERT_EQ(p.instances.size(), 3u);
  for (int d = 0; d < 3; ++d) {
    const auto &i = p.instances[static_cast<std::size_t>(d)];
    EXPECT_EQ(i.starts_at, utc(2022, 3, 16 + static_cast<unsigned>(d), 11));
    EXPECT_EQ(i.ends_at, utc(2022, 3, 16 + static_cast<unsigned>(d), 11, 30));
    EXPECT_EQ(i.recurrence_id, i.starts_at);
    EXPECT_FALSE(i.from_override);
  }
  EXPECT_EQ(p.instances[1].external_id, "02e79b96/20220317T110000Z");
}

// An exception sent alone: the override's own time, keyed by the original start.
TEST(CalendarInvites, ExceptionGivesTheOverridesTime) {
  SKIP_WITHOUT_CALENDAR_DATA();
  for (const char *name : {"exception-major.eml", "exception-minor.eml"}) {
    const auto p = parse_invite(name);
    ASSERT_EQ(p.instances.size(), 1u) << name;
    const auto &i = p.instances[0];
    EXPECT_TRUE(i.from_override);
    EXPECT_EQ(i.recurrence_id, utc(2022, 3, 17, 11)) << name;
    EXPECT_EQ(i.external_id, "02e79b96/20220317T110000Z");
    if (std::string(name) == "exception-major.eml") {
      EXPECT_EQ(i.starts_at, utc(2022, 3, 17, 5));
      EXPECT_EQ(i.ends_at, utc(2022, 3, 17, 5, 30));
      EXPECT_EQ(i.sequence, 2);
    }
  }
}

// The series and its exception in one input: the exception replaces the 17th.
TEST(CalendarInvites, SeriesWithExceptionReplacesTheInstance) {
  SKIP_WITHOUT_CALENDAR_DATA();
  const auto p =
      parse_calendar(invite("repeat-event.eml") + invite("exception-major.eml"), kWide, "UTC");
  ASSERT_EQ(p.instances.size(), 3u);
  EXPECT_EQ(p.instances[0].starts_at, utc(2022, 3, 16, 11));
  EXPECT_EQ(p.instances[1].starts_at, utc(2022, 3, 17, 5));
  EXPECT_TRUE(p.instances[1].from_override);
  EXPECT_EQ(p.instances[2].starts_at, utc(2022, 3, 18, 11));
}

TEST(CalendarInvites, UpdatesCarryTheHigherSequence) {
  SKIP_WITHOUT_CALENDAR_DATA();
  const auto major = parse_invite("update-major.eml");
  const auto minor = parse_invite("update-minor.eml");
  ASSERT_EQ(major.instances.size(), 1u);
  ASSERT_EQ(minor.instances.size(), 1u);
  EXPECT_EQ(major.instances[0].sequence, 2);
  EXPECT_EQ(major.instances[0].starts_at, utc(2022, 3, 16, 5));
  EXPECT_EQ(minor.instances[0].subject, "Updated Event");
  // Both copies in one input: the higher SEQUENCE wins, the other is reported.
  const auto both =
      parse_calendar(invite("single-event.eml") + invite("update-major.eml"), kWide, "UTC");
  ASSERT_EQ(both.instances.size(), 1u);
  EXPECT_EQ(both.instances[0].sequence, 2);
  EXPECT_EQ(both.instances[0].starts_at, utc(2022, 3, 16, 5));
  ASSERT_EQ(both.skipped.size(), 1u);
  EXPECT_EQ(both.skipped[0].skip.category, "policy");
  const auto repeat = parse_invite("repeat-update-major.eml");
  ASSERT_EQ(repeat.instances.size(), 3u);
  EXPECT_EQ(repeat.instances[0].sequence, 2);
  EXPECT_EQ(repeat.instances[0].starts_at, utc(2022, 3, 16, 5));
}

// Exchange writes its own VTIMEZONE named "FLE Standard Time" (Helsinki, +02:00 in winter).
TEST(CalendarInvites, OutlookWindowsZoneFromVtimezone) {
  SKIP_WITHOUT_CALENDAR_DATA();
  const auto outlook = parse_invite("outlook-test-invite.eml");
  ASSERT_EQ(outlook.instances.size(), 1u);
  EXPECT_EQ(outlook.instances[0].starts_at, utc(2021, 11, 27, 7));
  EXPECT_EQ(outlook.instances[0].ends_at, utc(2021, 11, 27, 7, 30));
  EXPECT_EQ(outlook.instances[0].subject, "Testaus");
  const auto teams = parse_invite("teams-meeting-invite.eml");
  ASSERT_EQ(teams.instances.size(), 1u);
  EXPECT_EQ(teams.instances[0].starts_at, utc(2020, 12, 2, 17));
  EXPECT_EQ(teams.instances[0].ends_at, utc(2020, 12, 2, 19));
}

// The same invitations with their VTIMEZONE cut out: the Windows name alone resolves (ICU).
TEST(CalendarInvites, OutlookWindowsZoneWithoutVtimezone) {
  SKIP_WITHOUT_CALENDAR_DATA();
  for (const char *name : {"outlook-test-invite.eml", "teams-meeting-invite.eml"}) {
    std::string ics = invite(name);
    const auto begin = ics.find("BEGIN:VTIMEZONE");
    const auto end = ics.find("END:VTIMEZONE");
    ASSERT_NE(begin, std::string::npos);
    ics.erase(begin, end + 13 - begin);
    const auto p = parse_calendar(ics, kWide, "America/New_York");
    ASSERT_EQ(p.instances.size(), 1u) << name;
    EXPECT_EQ(p.instances[0].starts_at, std::string(name).rfind("outlook", 0) == 0
                                            ? utc(2021, 11, 27, 7)
                                            : utc(2020, 12, 2, 17));
  }
}

TEST(CalendarInvites, GoogleMeetInvite) {
  SKIP_WITHOUT_CALENDAR_DATA();
  const auto p = parse_invite("meet-meeting-invite.eml");
  EXPECT_EQ(p.method, "REQUEST");
  ASSERT_EQ(p.instances.size(), 1u);
  EXPECT_FALSE(p.instances[0].participants.empty());
  for (const auto &part : p.instances[0].participants) {
    EXPECT_EQ(part.address, lower(part.address));
    EXPECT_EQ(part.address.find("mailto:"), std::string::npos);
  }
}

TEST(CalendarInvites, EveryInvitationParses) {
  SKIP_WITHOUT_CALENDAR_DATA();
  int parsed = 0;
  for (const auto &entry : fs::directory_iterator(kInvites)) {
    const std::string ics = calendar_part(slurp(entry.path()));
    if (ics.find("BEGIN:VCALENDAR") == std::string::npos) continue;
    const auto p = parse_calendar(ics, kWide, "UTC");
    EXPECT_FALSE(p.malformed) << entry.path();
    EXPECT_FALSE(p.instances.empty() && p.canceled_series.empty()) << entry.path();
    ++parsed;
  }
  EXPECT_GE(parsed, 14);
}

// Every .ics of the shared data, whatever it holds (broken files on purpose): no exception,
// and everything returned keeps the documented shape.
TEST(CalendarSweep, EveryIcsParsesWithoutThrowing) {
  SKIP_WITHOUT_CALENDAR_DATA();
  int files = 0, malformed = 0, instances = 0;
  for (const auto &entry : fs::recursive_directory_iterator(kCalendarData)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".ics") continue;
    ++files;
    const std::string ics = slurp(entry.path());
    ParsedCalendar p;
    ASSERT_NO_THROW(p = parse_calendar(ics, {utc(1990, 1, 1), utc(2040, 1, 1)}, "Europe/Berlin"))
        << entry.path();
    malformed += p.malformed.has_value();
    instances += static_cast<int>(p.instances.size());
    for (const auto &i : p.instances) {
      EXPECT_FALSE(i.uid.empty()) << entry.path();
      EXPECT_GE(i.starts_at, utc(1990, 1, 1)) << entry.path();
      EXPECT_LT(i.starts_at, utc(2040, 1, 1)) << entry.path();
      if (i.ends_at) EXPECT_GE(*i.ends_at, i.starts_at) << entry.path();
      for (const auto &part : i.participants) {
        EXPECT_EQ(std::count(part.address.begin(), part.address.end(), '@'), 1) << entry.path();
      }
    }
    for (const auto &s : p.skipped) EXPECT_FALSE(s.skip.category.empty()) << entry.path();
  }
  std::cout << files << " .ics files, " << malformed << " unreadable, " << instances
            << " instances\n";
  EXPECT_GT(files, 150);
  EXPECT_GT(instances, 100);
}

}  // namespace
