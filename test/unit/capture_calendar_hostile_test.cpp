// parse_calendar against hostile and broken input (issue 10): VTIMEZONEs built to make libical
// expand forever, files of many series, all-day overrides named in a zone, rules that end before
// they start, empty rules and events outside any calendar. Nothing here may hang, and nothing may
// vanish without a skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "calendar_test_support.hpp"
#include "core/capture/calendar.hpp"
#include "core/error.hpp"

namespace {

using namespace calendar_test;
using crm::capture::Limits;
using crm::capture::parse_calendar;
using crm::capture::ParsedCalendar;
using crm::capture::Window;

const Window k2026{utc(2025, 11, 1), utc(2027, 5, 1)};

// Instance starts in time order (the parser lists them event by event).
std::vector<Micros> starts(const ParsedCalendar &p) {
  std::vector<Micros> out;
  for (const auto &i : p.instances) out.push_back(i.starts_at);
  std::sort(out.begin(), out.end());
  return out;
}

// A VTIMEZONE with one observance.
std::string zone(const std::string &tzid, const std::string &observance_lines) {
  return "BEGIN:VTIMEZONE\r\nTZID:" + tzid + "\r\nBEGIN:STANDARD\r\n" + observance_lines +
         "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
}

// Outlook's way of writing Central European time: custom name, rules from 1601.
const std::string kOutlookBerlin =
    "BEGIN:VTIMEZONE\r\nTZID:Outlook Berlin\r\n"
    "BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

// The file: a zone changing every second since 1601 (libical 3.0 expanded it for more
// than 15 minutes and 2.5 GB, deaf to cancels). Refused before libical sees it.
TEST(CalendarHostile, SecondlyVtimezoneIsMalformedNotExpanded) {
  const std::string ics =
      calendar({"UID:h@x\r\nDTSTAMP:20261020T100000Z\r\nDTSTART;TZID=Evil:20261110T090000\r\n"
                "ORGANIZER:mailto:a@b.com\r\nATTENDEE:mailto:c@d.com\r\n"},
               zone("Evil", "DTSTART:16010101T000000\r\nRRULE:FREQ=SECONDLY\r\n"));
  EXPECT_LT(ics.size(), 400u);
  const auto p = parse_calendar(ics, k2026, "UTC");
  ASSERT_TRUE(p.malformed);
  EXPECT_EQ(p.malformed->category, "malformed");
  EXPECT_NE(p.malformed->cause.find("VTIMEZONE Evil"), std::string::npos) << p.malformed->cause;
  EXPECT_TRUE(p.instances.empty());
}

// Yearly, but 336 changes a year counted from 1601 (COUNT forbids starting later): more offset
// changes than a file's zones may have.
TEST(CalendarHostile, VtimezoneWithTooManyChangesIsMalformed) {
  const std::string ics = calendar(
      {"UID:h@x\r\nDTSTART;TZID=Busy:20261110T090000\r\n"},
      zone("Busy",
           "DTSTART:16010101T000000\r\nRRULE:FREQ=YEARLY;COUNT=1000000;BYMONTH=1,2,3,4,5,6,7,8,"
           "9,10,11,12;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
           "25,26,27,28\r\n"));
  const auto p = parse_calendar(ics, k2026, "UTC");
  ASSERT_TRUE(p.malformed);
  EXPECT_NE(p.malformed->cause.find("offset changes"), std::string::npos) << p.malformed->cause;
}

// A zone nobody uses, or one libical knows by its IANA name, is never expanded: no reason to
// refuse the file for it.
TEST(CalendarHostile, UnusedOrBuiltinHostileZonesAreLeftAlone) {
  const std::string secondly = "DTSTART:16010101T000000\r\nRRULE:FREQ=SECONDLY\r\n";
  auto p = parse_calendar(
      calendar({"UID:a\r\nDTSTART:20261110T090000Z\r\n"}, zone("Evil", secondly)), k2026, "UTC");
  EXPECT_FALSE(p.malformed);
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 11, 10, 9)});
  p = parse_calendar(calendar({"UID:a\r\nDTSTART;TZID=Europe/Berlin:20261110T090000\r\n"},
                              zone("Europe/Berlin", secondly)),
                     k2026, "UTC");
  EXPECT_FALSE(p.malformed);
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 11, 10, 8)});
}

// The bounded zone is the same zone: summer and winter offsets, a daily series keeping its wall
// clock across the change, an event years before the window, and a rule that ended (UNTIL) and
// its successor.
TEST(CalendarHostile, BoundedZonesKeepTheirOffsets) {
  auto p = parse_calendar(
      calendar(
          {"UID:s\r\nDTSTART;TZID=Outlook Berlin:20260701T100000\r\n",
           "UID:w\r\nDTSTART;TZID=Outlook Berlin:20261201T100000\r\n",
           "UID:d\r\nDTSTART;TZID=Outlook Berlin:20261023T090000\r\nRRULE:FREQ=DAILY;COUNT=4\r\n",
           "UID:old\r\nDTSTART;TZID=Outlook Berlin:19990701T100000\r\n"},
          kOutlookBerlin),
      kWide, "UTC");
  ASSERT_FALSE(p.malformed) << p.malformed->reason();
  EXPECT_EQ(starts(p),
            (std::vector<Micros>{utc(1999, 7, 1, 8), utc(2026, 7, 1, 8), utc(2026, 10, 23, 7),
                                 utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8),
                                 utc(2026, 12, 1, 9)}));
  // US Eastern before and after 2007, as Outlook and tzdata exports write it.
  const std::string eastern =
      "BEGIN:VTIMEZONE\r\nTZID:Old Eastern\r\n"
      "BEGIN:DAYLIGHT\r\nDTSTART:19870405T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n"
      "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z\r\nEND:DAYLIGHT\r\n"
      "BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n"
      "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n"
      "BEGIN:STANDARD\r\nDTSTART:19671029T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n"
      "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
  p = parse_calendar(calendar({"UID:a\r\nDTSTART;TZID=Old Eastern:20050325T120000\r\n",
                               "UID:b\r\nDTSTART;TZID=Old Eastern:20260325T120000\r\n"},
                              eastern),
                     kWide, "UTC");
  ASSERT_FALSE(p.malformed) << p.malformed->reason();
  // 25 March 2005 was still standard time (EST); in 2026 daylight time began on 8 March.
  EXPECT_EQ(starts(p), (std::vector<Micros>{utc(2005, 3, 25, 17), utc(2026, 3, 25, 16)}));
}

int polls = 0;
bool cancel_after_three() {
  return ++polls > 3;
}

// The core stops a long parse when the caller's check says so (statement_timeout, cancel):
// in a file zone's expansion and in a series' expansion.
TEST(CalendarHostile, CancelStopsZoneAndSeriesExpansion) {
  Limits limits;
  limits.cancel = cancel_after_three;
  const std::string zoned = calendar(
      {"UID:z\r\nDTSTART;TZID=Busy:20261110T090000\r\n"},
      zone("Busy", "DTSTART:16010101T000000\r\nRRULE:FREQ=YEARLY;COUNT=100000;BYMONTH=1,7\r\n"));
  polls = 0;
  EXPECT_THROW(parse_calendar(zoned, k2026, "UTC", limits), crm::Canceled);
  EXPECT_FALSE(
      parse_calendar(zoned, k2026, "UTC").malformed);  // without the cancel it goes through
  const std::string daily = calendar({"UID:d\r\nDTSTART:20251101T090000Z\r\nRRULE:FREQ=DAILY\r\n"});
  polls = 0;
  EXPECT_THROW(parse_calendar(daily, k2026, "UTC", limits), crm::Canceled);
  polls = 0;
  limits.cancel = [] { return false; };
  EXPECT_EQ(parse_calendar(daily, k2026, "UTC", limits).instances.size(), 546u);
}

// The second file: 200 series of nine instances a day. The file's limit keeps whole
// series up to it and reports each series it leaves out with the counts.
TEST(CalendarHostile, InstanceLimitCutsWholeSeriesAndSaysHowMany) {
  std::vector<std::string> series;
  for (int k = 0; k < 200; ++k) {
    series.push_back(
        "UID:s" + std::to_string(k) +
        "\r\nDTSTART:20251101T000000Z\r\nRRULE:FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8\r\n");
  }
  const std::string ics = calendar(series);
  const Window window{utc(2026, 1, 1), utc(2026, 2, 1)};  // 31 days: 279 instances a series
  const auto all = parse_calendar(ics, window, "UTC");
  EXPECT_EQ(all.instances.size(), 200u * 279u);
  EXPECT_TRUE(all.skipped.empty());

  Limits limits;
  limits.max_instances = 1000;
  limits.instance_limit = "max_instances_per_call (5000)";
  const auto cut = parse_calendar(ics, window, "UTC", limits);
  EXPECT_EQ(cut.instances.size(), 3u * 279u);  // three whole series fit in 1,000
  ASSERT_EQ(cut.skipped.size(), 197u);
  EXPECT_EQ(cut.skipped[0].uid, "s3");
  EXPECT_EQ(cut.skipped[0].skip.category, "policy");
  EXPECT_EQ(cut.skipped[0].skip.cause,
            "over max_instances_per_call (5000): 279 instances of this event left out (54963 "
            "instances of 197 events in all; 837 filed, at most 1000)");
  for (const auto &i : cut.instances) EXPECT_LT(i.uid, "s3");
}

// An all-day series whose moved instance names its RECURRENCE-ID as a midnight with a TZID
// (Outlook): the override replaces exactly that instance, and the identities are the same
// whatever zone dates are read in.
TEST(CalendarHostile, AllDayOverrideWithTzidReplacesItsInstanceInAnyZone) {
  const std::string ics = calendar(
      {"UID:ad\r\nDTSTART;VALUE=DATE:20261103\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Offsite\r\n",
       "UID:ad\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261110T000000\r\n"
       "DTSTART;VALUE=DATE:20261112\r\nSUMMARY:Offsite (moved)\r\n"});
  std::vector<std::string> first_ids;
  for (const std::string floating : {"UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo"}) {
    const auto p = parse_calendar(ics, kWide, floating);
    ASSERT_EQ(p.instances.size(), 3u) << floating;
    std::vector<std::string> ids;
    for (const auto &i : p.instances) ids.push_back(i.external_id);
    EXPECT_EQ(ids, (std::vector<std::string>{"ad/20261103T000000Z", "ad/20261110T000000Z",
                                             "ad/20261117T000000Z"}))
        << floating;
    EXPECT_EQ(p.instances[1].subject, "Offsite (moved)") << floating;
    EXPECT_TRUE(p.instances[1].from_override) << floating;
  }
  // The override alone (an update of one instance) names the same instance.
  const auto alone =
      parse_calendar(calendar({"UID:ad\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261110T000000\r\n"
                               "DTSTART;VALUE=DATE:20261112\r\n"}),
                     kWide, "Asia/Tokyo");
  ASSERT_EQ(alone.instances.size(), 1u);
  EXPECT_EQ(alone.instances[0].external_id, "ad/20261110T000000Z");
}

// The same for EXDATE: a zoned midnight excludes its day of an all-day series.
TEST(CalendarHostile, AllDayExdateWithTzidExcludesItsDayInAnyZone) {
  const std::string ics =
      calendar({"UID:ax\r\nDTSTART;VALUE=DATE:20261103\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"
                "EXDATE;TZID=Europe/Berlin:20261110T000000\r\n"});
  for (const std::string floating : {"UTC", "Europe/Berlin", "America/New_York"}) {
    const auto p = parse_calendar(ics, kWide, floating);
    ASSERT_EQ(p.instances.size(), 2u) << floating;
    EXPECT_EQ(p.instances[1].external_id, "ax/20261117T000000Z") << floating;
  }
}

// RFC 5545: DTSTART is the first instance of every series, even one whose UNTIL is before it.
TEST(CalendarHostile, UntilBeforeDtstartFilesDtstart) {
  const auto p = parse_calendar(
      calendar(
          {"UID:u\r\nDTSTART:20260105T100000Z\r\nRRULE:FREQ=DAILY;UNTIL=20260101T000000Z\r\n"}),
      kWide, "UTC");
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 1, 5, 10)});
  EXPECT_TRUE(p.skipped.empty());
  EXPECT_EQ(p.instances[0].external_id, "u/20260105T100000Z");
}

// An empty RRULE is no rule: the event is a single event.
TEST(CalendarHostile, EmptyRruleIsIgnored) {
  const auto p =
      parse_calendar(calendar({"UID:e\r\nDTSTART:20260105T100000Z\r\nRRULE:\r\n"}), kWide, "UTC");
  EXPECT_TRUE(p.skipped.empty()) << p.skipped[0].skip.reason();
  EXPECT_EQ(starts(p), std::vector<Micros>{utc(2026, 1, 5, 10)});
  EXPECT_EQ(p.instances[0].external_id, "e");
}

// A VEVENT after END:VCALENDAR was dropped unseen; it is reported.
TEST(CalendarHostile, VeventOutsideTheCalendarIsReported) {
  const auto p = parse_calendar(calendar({"UID:in\r\nDTSTART:20260105T100000Z\r\n"}) +
                                    "BEGIN:VEVENT\r\nUID:out\r\nDTSTART:20260106T100000Z\r\n"
                                    "END:VEVENT\r\n",
                                kWide, "UTC");
  ASSERT_EQ(p.instances.size(), 1u);
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].uid, "out");
  EXPECT_EQ(p.skipped[0].skip.reason(), "malformed: VEVENT outside a VCALENDAR");
}

}  // namespace
