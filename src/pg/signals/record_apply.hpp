// Bringing the derived state of people and companies up to date: interaction attributes, their
// connection pairs, and the strongest connection, in one locked pass per record kind.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>

#include "core/connection/company_effects.hpp"
#include "core/signals/folder.hpp"
#include "pg/connection/connection_store.hpp"
#include "pg/signals/signals_store.hpp"

namespace crm::pg {

using connection::CompanyEffects;  // core/connection/company_effects.hpp

// Gives a Folder the connection model of each workspace (crm.connection_model). Writers call
// lock_models_shared() first and read with read_only false.
void attach_models(signals::Folder &folder, bool read_only);

struct Recomputed {
  SignalMap signals;
  ContactsByRecord contacts;  // a company's contacts include its people, for the roll-up
};

// Folds the activity of these records from scratch at clock now. read_only reads in the caller's
// snapshot (for STABLE callers); otherwise in a fresh one, after the rows were locked.
// prepare, when given, sees the Folder before anything is folded.
Recomputed recompute(signals::RecordKind kind, const RecordIds &ids, signals::Micros now,
                     bool read_only = false,
                     const std::function<void(signals::Folder &)> &prepare = nullptr);

// What some interactions contribute, folded at now: added is merged into the stored state of its
// records; removed, when given, is what the same interactions contributed before a change and is
// taken out first (signals::Signals::replace). A record whose stored state cannot take that
// exactly, or is no longer mergeable, and those in recompute_ids, are recomputed from their
// activity.
struct Delta {
  signals::Folder *added = nullptr;
  signals::Folder *removed = nullptr;
};

// People must be applied before companies: the person pass fills effects for the company pass.
// Returns the number of records whose signal row was written.
std::int64_t apply(signals::RecordKind kind, Delta delta, const RecordIds &recompute_ids,
                   signals::Micros now, CompanyEffects &effects);

// Both passes, people first.
std::int64_t apply_both(Delta delta, const RecordIds &persons, const RecordIds &companies,
                        signals::Micros now);

}  // namespace crm::pg
