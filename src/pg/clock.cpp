#include "pg/clock.hpp"

namespace crm::pg {

TimestampTz current_clock() {
  const char *setting = GetConfigOption("crm.clock", true, false);
  if (setting == nullptr || setting[0] == '\0') return GetCurrentTransactionStartTimestamp();
  return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(setting),
                                                 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

}  // namespace crm::pg
