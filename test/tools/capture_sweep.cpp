// Runs activity capture over every file under the given directories, for 'make valgrind': each
// file through parse_email, .ics files and every invitation found in a message also through
// parse_calendar. Nothing is caught, so an exception that escapes the core fails the run.
// Prints one summary line per directory and exits 0.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/capture/calendar.hpp"
#include "core/capture/email.hpp"
#include "core/capture/glib_runtime.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono;
using crm::capture::Micros;

Micros micros(sys_days day) {
  return duration_cast<microseconds>(day.time_since_epoch()).count();
}

// Window::to is exclusive.
const crm::capture::Window kWindow{micros(2025y / January / 1), micros(2027y / December / 31)};

struct Totals {
  int files = 0;
  std::map<std::string, int> skipped_messages;  // by category
  std::map<std::string, int> skipped_calendar;  // by category: whole calendars and components
  int invitations = 0;
  int calendars = 0;
  long instances = 0;
  long glib_messages = 0;
};

void sweep_calendar(const std::string &ics, Totals &totals) {
  auto calendar = crm::capture::parse_calendar(ics, kWindow, "UTC");
  ++totals.calendars;
  if (calendar.malformed) ++totals.skipped_calendar[calendar.malformed->category];
  for (const auto &item : calendar.skipped) ++totals.skipped_calendar[item.skip.category];
  totals.instances += static_cast<long>(calendar.instances.size());
}

void sweep_file(const fs::path &path, Totals &totals) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ++totals.files;
  auto email = crm::capture::parse_email(bytes);
  if (email.skip) ++totals.skipped_messages[email.skip->category];
  totals.invitations += static_cast<int>(email.invitations.size());
  for (const auto &invitation : email.invitations) sweep_calendar(invitation, totals);
  if (path.extension() == ".ics") sweep_calendar(bytes, totals);
  totals.glib_messages += static_cast<long>(crm::capture::take_glib_messages().size());
}

std::string counts(const std::map<std::string, int> &by_category) {
  std::string out = "{";
  for (const auto &[category, count] : by_category)
    out += (out.size() > 1 ? ", " : "") + category + ": " + std::to_string(count);
  return out + "}";
}

}  // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    std::vector<fs::path> paths;
    for (const auto &entry : fs::recursive_directory_iterator(argv[i]))
      if (entry.is_regular_file()) paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());

    Totals totals;
    for (const auto &path : paths) sweep_file(path, totals);

    std::cout << argv[i] << ": " << totals.files << " files, messages skipped "
              << counts(totals.skipped_messages) << ", " << totals.invitations << " invitations, "
              << totals.calendars << " calendars, calendar items skipped "
              << counts(totals.skipped_calendar) << ", " << totals.instances << " instances, "
              << totals.glib_messages << " GLib messages\n";
  }
  return 0;
}
