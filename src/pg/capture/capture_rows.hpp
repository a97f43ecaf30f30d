// Plain C++ values turned into Datums for the capture functions' result rows. Everything here
// calls Postgres: use it inside pg_call.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/capture/types.hpp"
#include "pg/common/pg.hpp"

namespace crm::pg {

TimestampTz to_timestamptz(capture::Micros unix_micros);
capture::Micros to_unix_micros(TimestampTz timestamp);

Datum text_datum(const std::string &value);
// A text[]; elements that are nullptr become NULL.
Datum text_array_datum(const std::vector<const char *> &values);

}  // namespace crm::pg
