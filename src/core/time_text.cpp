#include "core/time_text.hpp"

#include <chrono>
#include <cstdio>

namespace crm {

std::string render_utc(signals::Micros micros) {
  if (micros == signals::kNoTime) return "(none)";
  using namespace std::chrono;
  // Postgres' epoch is 2000-01-01, 946684800 s after the Unix epoch.
  const sys_time<microseconds> t{microseconds{micros} + seconds{946684800}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld:%02ld.%06ld+00", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), long(hms.hours().count()),
                long(hms.minutes().count()), long(hms.seconds().count()),
                long(hms.subseconds().count()));
  return buf;
}

}  // namespace crm
