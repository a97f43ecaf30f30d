// Cooperative cancellation: long core loops call the adapter's check, which reports a pending
// interrupt without touching Postgres; the core then throws crm::Canceled.
#pragma once

#include "core/error.hpp"

namespace crm {

using CancelCheck = bool (*)();

inline void poll_cancel(CancelCheck check) {
  if (check != nullptr && check()) throw Canceled();
}

}  // namespace crm
