// Re-resolving the participants a record statement can affect (what crm._relink did in PL/pgSQL).
#pragma once

#include <cstdint>
#include <vector>

#include "core/records/relink_plan.hpp"

namespace crm::pg {

struct RelinkRequest {
  std::vector<records::WorkspaceAddress> addresses;       // participants at these addresses
  std::vector<records::WorkspaceAddress> domains;         // unowned participants at these domains
  std::vector<std::int64_t> persons, members, companies;  // participants linked to these
};

// Claims the addresses and their domains, reads the candidate participants, and touches (UPDATE)
// those whose resolution changes; the participant triggers then fold the difference. Lock order,
// the same for every writer (README, "Concurrency"): address claims, all of the statement's at
// once, then participant rows, all in one UPDATE, then (in its trigger) interaction claims and
// signal rows. When a participant row is busy (another transaction is writing it), everything
// this call claimed and locked is let go, that row is waited for, and the call starts again.
// C++ phase; SPI must be connected.
void relink_participants(const RelinkRequest &request);

}  // namespace crm::pg
