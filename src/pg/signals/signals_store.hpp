// Reading, locking and writing crm.person_signal and crm.company_signal.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/signals/fold.hpp"
#include "core/signals/folder.hpp"
#include "pg/common/pg.hpp"

namespace crm::pg {

using RecordIds = std::unordered_set<std::int64_t>;
using SignalMap = std::unordered_map<std::int64_t, signals::Signals>;

struct StoredSignals {
  signals::Signals signals;
  signals::Micros as_of = signals::kNoTime;
};
using StoredMap = std::unordered_map<std::int64_t, StoredSignals>;

// All of these run inside the barrier with SPI connected.

// Locks the signal rows of ids in id order (so that concurrent writers never deadlock on each
// other) and returns their stored state; ids without a row (a deleted record) are left out.
StoredMap lock_and_load(signals::RecordKind kind, const std::vector<std::int64_t> &sorted_ids);

// Reads every stored row, unlocked, in the caller's snapshot (verify_signals).
StoredMap load_all(signals::RecordKind kind);

// Overwrites the rows of these records with the given state, computed at clock as_of.
void write(signals::RecordKind kind, const SignalMap &rows, signals::Micros as_of);

}  // namespace crm::pg
