// Minimum and maximum of optional times, kept as running extremes, and how an extreme is replaced
// when one of the values it was taken over is removed.
#pragma once

#include "core/signals/types.hpp"

namespace crm::signals {

inline void take_min(Micros &slot, Micros value) {
  if (value != kNoTime && (slot == kNoTime || value < slot)) slot = value;
}
inline void take_max(Micros &slot, Micros value) {
  if (value != kNoTime && (slot == kNoTime || value > slot)) slot = value;
}

// Replaces, in a minimum taken over many values, the value removed by added (kNoTime for none).
// False when the result is unknown without the other values: removed was the minimum and added
// does not reach it (another value may or may not equal it), or removed is below the minimum (it
// was never folded into it).
inline bool replace_min(Micros &slot, Micros removed, Micros added) {
  if (removed != kNoTime) {
    if (slot == kNoTime || removed < slot) return false;
    if (removed == slot && (added == kNoTime || added > slot)) return false;
  }
  take_min(slot, added);
  return true;
}
inline bool replace_max(Micros &slot, Micros removed, Micros added) {
  if (removed != kNoTime) {
    if (slot == kNoTime || removed > slot) return false;
    if (removed == slot && (added == kNoTime || added < slot)) return false;
  }
  take_max(slot, added);
  return true;
}

// The same for an extreme over past values only, whose count (after the replacement) says
// exactly when none is left: then the extreme is gone, whatever the removed part held.
inline bool replace_past_min(std::int64_t count, Micros &slot, Micros removed, Micros added) {
  if (count != 0) return replace_min(slot, removed, added);
  slot = kNoTime;
  return true;
}
inline bool replace_past_max(std::int64_t count, Micros &slot, Micros removed, Micros added) {
  if (count != 0) return replace_max(slot, removed, added);
  slot = kNoTime;
  return true;
}

// Replaces, in a count, what was removed by what was added; false when more is removed than held.
inline bool replace_count(std::int64_t &count, std::int64_t removed, std::int64_t added) {
  if (removed > count) return false;
  count += added - removed;
  return true;
}

}  // namespace crm::signals
