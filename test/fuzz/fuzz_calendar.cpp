// Fuzzes parse_calendar (libical): any bytes are an iCalendar file, expanded within a window of
// two years, which must parse or be skipped, never crash, leak or throw, and yield only instances
// within the window. The floating zone is one of three by the input's length, so floating and
// all-day times are read in each.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/capture/calendar.hpp"
#include "core/capture/glib_runtime.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace std::chrono;

crm::capture::Micros micros(sys_days day) {
  return duration_cast<microseconds>(day.time_since_epoch()).count();
}

const crm::capture::Window kWindow{micros(2025y / January / 1), micros(2027y / January / 1)};
const std::string kZones[] = {"", "Europe/Berlin", "America/New_York"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const crm::capture::ParsedCalendar calendar =
      crm::capture::parse_calendar(crm::fuzz::as_text(data, size), kWindow, kZones[size % 3]);
  // "Expanded within window": an instance, or the occurrence an override moved, is inside it.
  const auto inside = [](crm::capture::Micros t) { return t >= kWindow.from && t < kWindow.to; };
  for (const auto &instance : calendar.instances)
    crm::fuzz::require(
        inside(instance.starts_at) || (instance.recurrence_id && inside(*instance.recurrence_id)),
        "instances lie within the window", instance.external_id);
  (void)crm::capture::take_glib_messages();
  return 0;
}
