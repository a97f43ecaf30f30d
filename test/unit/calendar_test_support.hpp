// Helpers shared by the calendar tests: reading the shared data in place, building small
// calendars, and formatting instants the way iCalendar writes them.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/capture/calendar.hpp"

namespace calendar_test {

namespace fs = std::filesystem;
using crm::capture::Micros;

inline const fs::path kCalendarData = fs::path(CRM_DATA_SOURCE_DIR) / "calendar";

// The data lives outside the repository (../shared/data/calendar) and is never copied in.
#define SKIP_WITHOUT_CALENDAR_DATA()                                            \
  if (!std::filesystem::is_directory(calendar_test::kCalendarData))             \
  GTEST_SKIP()                                                                  \
      << "calendar data not found at " << calendar_test::kCalendarData.string() \
      << " (../shared/data/calendar next to the repository); these tests read it in place"

inline std::string slurp(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Microseconds of a UTC date-time.
inline Micros utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = era * 146097 + static_cast<std::int64_t>(doe) - 719468;
  return ((days * 86400) + hh * 3600 + mm * 60 + ss) * 1'000'000LL;
}

// "19970902T090000" (no zone letter), as libical's golden file lists floating instances.
inline std::string basic(Micros t) {
  const std::int64_t secs = t / 1'000'000;
  std::int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) rem += 86400, --days;
  // civil_from_days
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld%02u%02uT%02lld%02lld%02lld", static_cast<long long>(y), m,
                d, static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

// A calendar around VEVENT lines (each a content line without its end).
inline std::string calendar(const std::vector<std::string> &vevents, const std::string &head = "") {
  std::string out = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crm_hygiene//test//EN\r\n" + head;
  for (const auto &body : vevents) out += "BEGIN:VEVENT\r\n" + body + "END:VEVENT\r\n";
  return out + "END:VCALENDAR\r\n";
}

inline const crm::capture::Window kWide{utc(1900, 1, 1), utc(2600, 1, 1)};

}  // namespace calendar_test

namespace calendar_test {

inline std::string lower(std::string s) {
  for (char &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline std::string decode_base64(const std::string &in) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    const auto pos = alphabet.find(c);
    if (pos == std::string::npos) continue;
    buffer = (buffer << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

inline std::string decode_quoted_printable(const std::string &in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out.push_back(in[i]);
      continue;
    }
    std::size_t j = i + 1;
    while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
    if (j < in.size() && in[j] == '\n') {  // soft line break
      i = j;
    } else if (i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back('=');
    }
  }
  return out;
}

// The first text/calendar part of a MIME message, decoded: a test helper, not a MIME parser
// (the part's headers sit between a boundary line and a blank line, in any order).
inline std::string calendar_part(const std::string &message) {
  std::vector<std::string> lines;
  std::istringstream in(message);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  std::size_t type = 0;
  while (type < lines.size() && lower(lines[type]).rfind("content-type: text/calendar", 0) != 0) {
    ++type;
  }
  if (type == lines.size()) return "";
  std::size_t first = type, body = type;
  while (first > 0 && lines[first - 1].rfind("--", 0) != 0 && !lines[first - 1].empty()) --first;
  while (body < lines.size() && !lines[body].empty()) ++body;
  std::string encoding, text;
  for (std::size_t i = first; i < body; ++i) {
    if (lower(lines[i]).rfind("content-transfer-encoding:", 0) == 0) {
      encoding = lower(lines[i].substr(26));
    }
  }
  for (std::size_t i = body + 1; i < lines.size() && lines[i].rfind("--", 0) != 0; ++i) {
    text += lines[i] + "\n";
  }
  if (encoding.find("base64") != std::string::npos) return decode_base64(text);
  if (encoding.find("quoted-printable") != std::string::npos) return decode_quoted_printable(text);
  return text;
}

}  // namespace calendar_test
