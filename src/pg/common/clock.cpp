#include "pg/common/clock.hpp"

#include <cstdlib>

namespace crm::pg {

TimestampTz current_clock() {
  const char *setting = GetConfigOption("crm.clock", true, false);
  if (setting == nullptr || setting[0] == '\0') return GetCurrentTransactionStartTimestamp();
  return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(setting),
                                                 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

std::int64_t session_workspace() {
  const char *setting = GetConfigOption("crm.workspace", true, false);
  if (setting == nullptr || setting[0] == '\0') return 1;
  return std::strtoll(setting, nullptr, 10);  // the check hook admits positive ids only
}

}  // namespace crm::pg
