// parse_calendar on small hand-written calendars: zones, all-day events, DURATION, RDATE and
// EXDATE, overrides, window clipping, the limits, and input it must refuse without throwing.
#include <gtest/gtest.h>

#include <string>

#include "calendar_test_support.hpp"
#include "core/capture/calendar.hpp"

namespace {

using namespace calendar_test;
using crm::capture::EventStatus;
using crm::capture::kMaxInstancesPerSeries;
using crm::capture::parse_calendar;
using crm::capture::ParsedCalendar;
using crm::capture::Response;
using crm::capture::Role;
using crm::capture::Window;

ParsedCalendar parse(const std::string &event_lines, Window window = kWide,
                     const std::string &floating = "UTC") {
  return parse_calendar(calendar({event_lines}), window, floating);
}

std::vector<Micros> starts(const ParsedCalendar &p) {
  std::vector<Micros> out;
  for (const auto &i : p.instances) out.push_back(i.starts_at);
  return out;
}

TEST(Calendar, IanaTzidAndUtcAndFloating) {
  auto p = parse(
      "UID:a\r\nDTSTART;TZID=Europe/Berlin:20260701T100000\r\n"
      "DTEND;TZID=America/New_York:20260701T050000\r\n");
  ASSERT_EQ(p.instances.size(), 1u);
  EXPECT_EQ(p.instances[0].starts_at, utc(2026, 7, 1, 8));
  EXPECT_EQ(p.instances[0].ends_at, utc(2026, 7, 1, 9));
  p = parse("UID:b\r\nDTSTART:20260101T100000Z\r\n");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 1, 1, 10)});
  EXPECT_FALSE(p.instances[0].ends_at);
  // Floating: read in the caller's zone (CET in winter).
  p = parse("UID:c\r\nDTSTART:20260101T100000\r\n", kWide, "Europe/Berlin");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 1, 1, 9)});
  // An unknown floating zone is UTC.
  p = parse("UID:c\r\nDTSTART:20260101T100000\r\n", kWide, "Nowhere/Special");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 1, 1, 10)});
}

TEST(Calendar, TzidPrefixesAndWindowsNamesAndUnknown) {
  auto p = parse("UID:a\r\nDTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260701T100000\r\n");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 7, 1, 8)});
  p = parse("UID:a\r\nDTSTART;TZID=Pacific Standard Time:20260701T100000\r\n");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 7, 1, 17)});
  p = parse("UID:a\r\nDTSTART;TZID=\"W. Europe Standard Time\":20260115T100000\r\n");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 1, 15, 9)});
  // A TZID nobody knows is read as floating, in the caller's zone.
  p = parse("UID:a\r\nDTSTART;TZID=Mars/Olympus_Mons:20260115T100000\r\n", kWide, "Asia/Tokyo");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 1, 15, 1)});
}

// The file's VTIMEZONE wins over a built-in zone of the same name.
// An IANA TZID is read in libical's zone even when the file's VTIMEZONE of that name says
// otherwise; a TZID of the file's own is read by its VTIMEZONE.
TEST(Calendar, IanaNamesBeforeVtimezone) {
  const auto zone = [](const std::string &tzid) {
    return "BEGIN:VTIMEZONE\r\nTZID:" + tzid +
           "\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
           "TZOFFSETFROM:+0500\r\nTZOFFSETTO:+0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
  };
  auto p = parse_calendar(
      calendar({"UID:a\r\nDTSTART;TZID=Europe/Berlin:20260701T100000\r\n"}, zone("Europe/Berlin")),
      kWide, "UTC");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 7, 1, 8)});
  p = parse_calendar(
      calendar({"UID:a\r\nDTSTART;TZID=Office Time:20260701T100000\r\n"}, zone("Office Time")),
      kWide, "UTC");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 7, 1, 5)});
}

TEST(Calendar, AllDayEvents) {
  auto p = parse("UID:a\r\nDTSTART;VALUE=DATE:20260310\r\n", kWide, "Europe/Berlin");
  ASSERT_EQ(p.instances.size(), 1u);
  EXPECT_TRUE(p.instances[0].all_day);
  EXPECT_EQ(p.instances[0].starts_at, utc(2026, 3, 9, 23));
  EXPECT_EQ(p.instances[0].ends_at, utc(2026, 3, 10, 23));  // one day when DTEND is missing
  p = parse("UID:a\r\nDTSTART;VALUE=DATE:20260327\r\nDTEND;VALUE=DATE:20260330\r\n", kWide,
            "Europe/Berlin");
  // Three days across the switch to summer time: local midnights, not 72 hours.
  EXPECT_EQ(p.instances[0].ends_at, utc(2026, 3, 29, 22));
  p = parse("UID:a\r\nDTSTART;VALUE=DATE:20260310\r\nDURATION:P2D\r\n");
  EXPECT_EQ(p.instances[0].ends_at, utc(2026, 3, 12));
}

TEST(Calendar, DurationInsteadOfDtend) {
  const auto p = parse("UID:a\r\nDTSTART:20260310T100000Z\r\nDURATION:PT1H30M\r\n");
  ASSERT_EQ(p.instances.size(), 1u);
  EXPECT_EQ(p.instances[0].ends_at, utc(2026, 3, 10, 11, 30));
}

TEST(Calendar, ExdateRdateAndPeriods) {
  const auto p = parse(
      "UID:s\r\nDTSTART;TZID=Europe/Berlin:20260302T090000\r\nDTEND;TZID=Europe/Berlin:"
      "20260302T100000\r\nRRULE:FREQ=DAILY;COUNT=5\r\n"
      "EXDATE;TZID=Europe/Berlin:20260303T090000,20260304T090000\r\n"
      "RDATE:20260310T120000Z\r\nRDATE;VALUE=PERIOD:20260311T120000Z/PT3H\r\n"
      "RDATE;VALUE=DATE:20260312\r\n");
  EXPECT_EQ(starts(p),
            (std::vector<Micros>{utc(2026, 3, 2, 8), utc(2026, 3, 5, 8), utc(2026, 3, 6, 8),
                                 utc(2026, 3, 10, 12), utc(2026, 3, 11, 12), utc(2026, 3, 12)}));
  EXPECT_EQ(p.instances[3].ends_at, utc(2026, 3, 10, 13));  // the series' hour
  EXPECT_EQ(p.instances[4].ends_at, utc(2026, 3, 11, 15));  // the period's own end
  EXPECT_EQ(p.instances[1].external_id, "s/20260305T080000Z");
}

TEST(Calendar, RdateOnlySeriesIncludesDtstart) {
  const auto p = parse("UID:r\r\nDTSTART:20260301T100000Z\r\nRDATE:20260305T100000Z\r\n");
  EXPECT_EQ(starts(p), (std::vector<Micros>{utc(2026, 3, 1, 10), utc(2026, 3, 5, 10)}));
  EXPECT_EQ(p.instances[0].external_id, "r/20260301T100000Z");
}

TEST(Calendar, ZonedSeriesKeepsWallClockAcrossDst) {
  const auto p = parse(
      "UID:w\r\nDTSTART;TZID=America/New_York:20260305T090000\r\n"
      "RRULE:FREQ=WEEKLY;COUNT=2\r\n");
  EXPECT_EQ(starts(p), (std::vector<Micros>{utc(2026, 3, 5, 14), utc(2026, 3, 12, 13)}));
}

TEST(Calendar, WindowClipping) {
  const std::string daily = "UID:d\r\nDTSTART:20260101T100000Z\r\nRRULE:FREQ=DAILY\r\n";
  auto p = parse(daily, {utc(2026, 2, 1, 10), utc(2026, 2, 4, 10)});
  EXPECT_EQ(starts(p),
            (std::vector<Micros>{utc(2026, 2, 1, 10), utc(2026, 2, 2, 10), utc(2026, 2, 3, 10)}));
  // A single event outside the window is not returned either.
  p = parse("UID:o\r\nDTSTART:20250101T100000Z\r\n", {utc(2026, 1, 1), utc(2027, 1, 1)});
  EXPECT_TRUE(p.instances.empty());
  // Hourly rules jump to the window instead of walking decades of instances.
  p = parse("UID:h\r\nDTSTART:19800101T000000Z\r\nRRULE:FREQ=MINUTELY;INTERVAL=30\r\n",
            {utc(2026, 1, 1), utc(2026, 1, 1, 2)});
  EXPECT_EQ(p.instances.size(), 4u);
}

TEST(Calendar, InstanceCap) {
  const std::string minutely = "UID:m\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=MINUTELY\r\n";
  auto p = parse(minutely, {utc(2026, 1, 1), utc(2026, 1, 10)});
  EXPECT_TRUE(p.instances.empty());
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].uid, "m");
  EXPECT_EQ(p.skipped[0].skip.category, "policy");
  // Exactly the limit is fine.
  p = parse(minutely,
            {utc(2026, 1, 1),
             utc(2026, 1, 1) + 60'000'000LL * static_cast<Micros>(kMaxInstancesPerSeries)});
  EXPECT_EQ(p.instances.size(), kMaxInstancesPerSeries);
  EXPECT_TRUE(p.skipped.empty());
}

TEST(Calendar, DenialOfServiceRulesAreRefusedQuickly) {
  // Never matches: libical would search every minute up to year 2582 without a bound.
  const std::string never =
      "UID:n\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30\r\n";
  auto p = parse(never, {utc(2026, 1, 1), utc(2026, 1, 20)});
  EXPECT_TRUE(p.instances.empty());
  EXPECT_TRUE(p.skipped.empty());
  p = parse(never, {utc(2026, 1, 1), utc(2026, 6, 1)});  // more minutes than it may walk
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].skip.category, "policy");
  // The same with COUNT, which must walk from DTSTART: bounded just the same.
  p = parse(
      "UID:n\r\nDTSTART:20000101T000000Z\r\nRRULE:FREQ=MINUTELY;COUNT=5;BYMONTH=2;"
      "BYMONTHDAY=30\r\n",
      {utc(2026, 1, 1), utc(2026, 1, 2)});
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].skip.category, "policy");
  // A small COUNT ends by itself long before the bound.
  p = parse("UID:n\r\nDTSTART:20000101T000000Z\r\nRRULE:FREQ=MINUTELY;COUNT=5\r\n");
  EXPECT_EQ(p.instances.size(), 5u);
  // Many costly series in one file: the calendar's budget runs out.
  std::vector<std::string> many;
  for (int k = 0; k < 30; ++k) {
    many.push_back("UID:d" + std::to_string(k) +
                   "\r\nDTSTART:18000101T000000Z\r\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\r\n");
  }
  p = parse_calendar(calendar(many), {utc(2026, 1, 1), utc(2026, 2, 1)}, "UTC");
  EXPECT_FALSE(p.skipped.empty());
  EXPECT_NE(p.skipped.back().skip.cause.find("in all"), std::string::npos);
  p = parse("UID:s\r\nDTSTART:20260101T000000Z\r\nRRULE:FREQ=SECONDLY\r\n");
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].skip.category, "policy");
  // A COUNT rule cannot jump ahead; walking it past the step limit is refused.
  p = parse("UID:c\r\nDTSTART:20000101T000000Z\r\nRRULE:FREQ=MINUTELY;COUNT=100000000\r\n",
            {utc(2026, 1, 1), utc(2026, 1, 2)});
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].skip.category, "policy");
}

TEST(Calendar, OverridesReplaceMoveInAndOut) {
  const std::string master =
      "UID:o\r\nSUMMARY:Weekly\r\nDTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\n"
      "RRULE:FREQ=WEEKLY;COUNT=4\r\nORGANIZER:mailto:boss@example.com\r\n";
  const std::string moved_in =  // 26 Jan moved back to 9 Jan
      "UID:o\r\nRECURRENCE-ID:20260126T100000Z\r\nDTSTART:20260109T100000Z\r\n"
      "DTEND:20260109T110000Z\r\nSEQUENCE:1\r\n";
  const std::string moved_out =  // 12 Jan moved to 2 Feb
      "UID:o\r\nRECURRENCE-ID:20260112T100000Z\r\nDTSTART:20260202T100000Z\r\n"
      "DTEND:20260202T110000Z\r\nSUMMARY:Moved\r\n";
  const Window january{utc(2026, 1, 1), utc(2026, 1, 20)};
  const auto p = parse_calendar(calendar({master, moved_in, moved_out}), january, "UTC");
  // 5 Jan, 9 Jan (moved in from 26 Jan), 19 Jan, 2 Feb (moved out of 12 Jan).
  ASSERT_EQ(starts(p), (std::vector<Micros>{utc(2026, 1, 5, 10), utc(2026, 1, 9, 10),
                                            utc(2026, 1, 19, 10), utc(2026, 2, 2, 10)}));
  EXPECT_FALSE(p.instances[0].from_override);
  EXPECT_TRUE(p.instances[1].from_override);
  EXPECT_EQ(p.instances[1].external_id, "o/20260126T100000Z");
  EXPECT_EQ(p.instances[1].recurrence_id, utc(2026, 1, 26, 10));
  EXPECT_EQ(p.instances[1].subject, "Weekly");  // inherited
  EXPECT_EQ(p.instances[1].sequence, 1);
  ASSERT_EQ(p.instances[1].participants.size(), 1u);  // inherited
  EXPECT_EQ(p.instances[3].subject, "Moved");
  EXPECT_EQ(p.instances[3].external_id, "o/20260112T100000Z");
}

TEST(Calendar, CancelMethodAndStatuses) {
  auto p = parse_calendar(
      calendar({"UID:x\r\nDTSTART:20260105T100000Z\r\nRRULE:FREQ=DAILY;COUNT=2\r\n",
                "UID:y\r\nRECURRENCE-ID:20260105T100000Z\r\nDTSTART:20260105T100000Z\r\n"},
               "METHOD:cancel\r\n"),
      kWide, "UTC");
  EXPECT_EQ(p.method, "CANCEL");
  EXPECT_EQ(p.canceled_series, std::vector<std::string>{"x"});  // y cancels one instance only
  ASSERT_EQ(p.instances.size(), 3u);
  for (const auto &i : p.instances) EXPECT_EQ(i.status, EventStatus::canceled);
  p = parse("UID:t\r\nDTSTART:20260105T100000Z\r\nSTATUS:TENTATIVE\r\n");
  EXPECT_EQ(p.instances[0].status, EventStatus::tentative);
  EXPECT_TRUE(p.method.empty());
  p = parse("UID:t\r\nDTSTART:20260105T100000Z\r\nSTATUS:CANCELLED\r\n");
  EXPECT_EQ(p.instances[0].status, EventStatus::canceled);
  EXPECT_TRUE(p.canceled_series.empty());
}

TEST(Calendar, Participants) {
  const auto p = parse(
      "UID:p\r\nDTSTART:20260105T100000Z\r\nORGANIZER;CN=Boss:MAILTO:Boss@Example.COM\r\n"
      "ATTENDEE;CN=Boss;PARTSTAT=ACCEPTED:mailto:boss@example.com\r\n"
      "ATTENDEE;CN=\"Ann, B.\";PARTSTAT=DECLINED:mailto:ann@example.com\r\n"
      "ATTENDEE;PARTSTAT=TENTATIVE:Mailto:ANN@example.com\r\n"
      "ATTENDEE;PARTSTAT=NEEDS-ACTION;EMAIL=joe@example.org:urn:uuid:1234\r\n"
      "ATTENDEE:mailto:not-an-address\r\n");
  ASSERT_EQ(p.instances.size(), 1u);
  const auto &ps = p.instances[0].participants;
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].address, "boss@example.com");
  EXPECT_EQ(ps[0].role, Role::organizer);
  EXPECT_EQ(ps[0].display_name, "Boss");
  EXPECT_EQ(ps[0].response, Response::accepted);
  EXPECT_EQ(ps[1].address, "ann@example.com");
  EXPECT_EQ(ps[1].display_name, "Ann, B.");
  EXPECT_EQ(ps[1].response, Response::declined);
  EXPECT_EQ(ps[2].address, "joe@example.org");
  EXPECT_EQ(ps[2].response, Response::needs_action);
}

TEST(Calendar, FieldsAndTolerance) {
  // LF line ends, a BOM, blank lines, a folded SUMMARY, Latin-1 bytes, two calendars.
  const std::string ics =
      "\xEF\xBB\xBF"
      "BEGIN:VCALENDAR\nMETHOD:publish\n\nBEGIN:VEVENT\nUID:f\nSEQUENCE:3\n"
      "DTSTAMP:20260101T120000Z\nDTSTART:20260105T100000Z\nSUMMARY:Caf\xE9 \n with a fold\n"
      "END:VEVENT\nEND:VCALENDAR\n\r\n\xEF\xBB\xBF"
      "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:g\r\nDTSTART:20260106T100000Z\r\nEND:VEVENT\r\n"
      "END:VCALENDAR\r\n";
  const auto p = parse_calendar(ics, kWide, "");
  EXPECT_EQ(p.method, "PUBLISH");
  ASSERT_EQ(p.instances.size(), 2u);
  EXPECT_EQ(p.instances[0].sequence, 3);
  EXPECT_EQ(p.instances[0].dtstamp, utc(2026, 1, 1, 12));
  EXPECT_EQ(p.instances[0].subject, "Caf\xC3\xA9 with a fold");
  EXPECT_EQ(p.instances[1].uid, "g");
  EXPECT_EQ(p.instances[1].sequence, 0);
}

TEST(Calendar, MissingUidIsSynthesizedStably) {
  const std::string e = "DTSTART:20260105T100000Z\r\nSUMMARY:No id\r\n";
  const auto a = parse(e), b = parse(e), c = parse(e + "ORGANIZER:mailto:x@example.com\r\n");
  ASSERT_EQ(a.instances.size(), 1u);
  EXPECT_EQ(a.instances[0].uid.rfind("no-uid-", 0), 0u);
  EXPECT_EQ(a.instances[0].uid, b.instances[0].uid);
  EXPECT_NE(a.instances[0].uid, c.instances[0].uid);
}

TEST(Calendar, BadComponentsAreSkippedWithReasons) {
  const auto p = parse_calendar(
      calendar({"UID:nostart\r\nSUMMARY:x\r\n",
                "UID:badrule\r\nDTSTART:20260105T100000Z\r\n"
                "RRULE:FREQ=FORTNIGHTLY\r\n",
                "UID:badstart\r\nDTSTART:soon\r\n", "UID:badmonth\r\nDTSTART:20261305T100000Z\r\n",
                "UID:ok\r\nDTSTART:20260105T100000Z\r\n"}),
      kWide, "UTC");
  ASSERT_EQ(p.instances.size(), 1u);
  EXPECT_EQ(p.instances[0].uid, "ok");
  ASSERT_EQ(p.skipped.size(), 4u);
  for (const auto &s : p.skipped) EXPECT_EQ(s.skip.category, "malformed") << s.skip.reason();
  EXPECT_EQ(p.skipped[0].uid, "nostart");
  EXPECT_NE(p.skipped[1].skip.cause.find("RRULE"), std::string::npos);
  EXPECT_NE(p.skipped[2].skip.cause.find("DTSTART"), std::string::npos);
  EXPECT_NE(p.skipped[3].skip.cause.find("DTSTART"), std::string::npos);
}

TEST(Calendar, UnreadableInput) {
  for (const std::string text :
       {std::string(), std::string("hello world"), std::string("\xEF\xBB\xBF\r\n\r\n"),
        std::string("BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260105T100000Z\r\nEND:VEVENT\r\n"),
        std::string("END:VCALENDAR\r\nEND:VEVENT\r\n"), std::string("\0\0\0BEGIN", 8)}) {
    const auto p = parse_calendar(text, kWide, "UTC");
    ASSERT_TRUE(p.malformed) << text;
    EXPECT_EQ(p.malformed->category, "malformed");
    EXPECT_TRUE(p.instances.empty());
  }
  // Truncated: the missing ENDs are supplied.
  const auto p = parse_calendar(
      "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:t\r\nDTSTART:20260105T100000Z\r\n", kWide, "UTC");
  EXPECT_FALSE(p.malformed);
  EXPECT_EQ(p.instances.size(), 1u);
}

}  // namespace
