// Reading and writing crm.connection (one row per member and contact) and crm.company_connection
// (one row per member and company). All of these run inside the barrier with SPI connected, after
// the caller has locked the records' signal rows: the signal row is the lock of everything derived
// from a record's activity.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/connection/model.hpp"
#include "core/connection/pair.hpp"
#include "core/signals/types.hpp"
#include "pg/signals/signals_store.hpp"

namespace crm::pg {

using ContactsByRecord = std::unordered_map<std::int64_t, connection::Contacts>;
using PairsByCompany = std::unordered_map<std::int64_t, connection::CompanyPairs>;

struct LoadedContacts {
  ContactsByRecord rows;
  RecordIds stale;  // records with a row that is not exact at the clock it was loaded for
};
struct LoadedPairs {
  PairsByCompany rows;
  RecordIds stale;
};

// The stored contacts of these people (all their pairs) or companies (their address contacts).
// Without ids, every stored row (verify_signals, in the caller's snapshot).
LoadedContacts load_contacts(signals::RecordKind kind, const std::vector<std::int64_t> &ids,
                             signals::Micros now, bool read_only = false);
LoadedContacts load_all_contacts(signals::RecordKind kind, signals::Micros now);

// Replaces every stored contact of these records by the given ones, exact at as_of. A company
// stores its address contacts only (its people's pairs are stored under them). With stored (what
// the records hold now, as loaded; a record missing from it holds nothing), only the rows that
// differ are written, row by row when they are few; force names records whose rows are all
// rewritten even when equal (they were not exact at their as_of).
void replace_contacts(signals::RecordKind kind, const std::vector<std::int64_t> &ids,
                      const ContactsByRecord &rows, signals::Micros as_of,
                      const ContactsByRecord *stored = nullptr, const RecordIds *force = nullptr);

LoadedPairs load_company_pairs(const std::vector<std::int64_t> &ids, signals::Micros now);
LoadedPairs load_all_company_pairs(signals::Micros now);
void replace_company_pairs(const std::vector<std::int64_t> &ids, const PairsByCompany &rows,
                           signals::Micros as_of, const PairsByCompany *stored = nullptr,
                           const RecordIds *force = nullptr);

// Empties both tables (TRUNCATE of activity, rebuild).
void clear_connections();

// The connection model of a workspace (crm.connection_model; the defaults without a row).
connection::Model load_model(std::int64_t workspace, bool read_only);

// Waits for any change of a connection model to commit, and keeps changes out until this
// transaction ends.
void lock_models_shared();

}  // namespace crm::pg
