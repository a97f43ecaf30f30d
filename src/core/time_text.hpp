// Renders Postgres timestamps (microseconds since 2000-01-01 UTC) as ISO 8601 text in UTC, for
// messages and verify_signals output, without calling into Postgres.
#pragma once

#include <string>

#include "core/signals/types.hpp"

namespace crm {

std::string render_utc(signals::Micros micros);

}  // namespace crm
