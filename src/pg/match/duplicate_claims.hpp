// Serialises duplicate detection between writers whose records could pair.
//
// Two transactions writing duplicates of each other at once would each look for the other's
// record before it committed, and the pair would be missed. A writer therefore claims the stripes
// of its blocking keys exclusively (transaction advisory locks, on one of kKeyStripes stripes, so a
// bulk import holds a bounded number) before it reads the blocks; the second writer waits and then
// reads the first one's committed profile. Writers also hold their workspace's scan lock shared;
// crm.scan_duplicates holds it exclusively, so a scan never races a writer.
#pragma once

#include <cstdint>
#include <vector>

#include "pg/common/pg.hpp"

namespace crm::pg {

inline constexpr std::uint32_t kKeyStripes = 256;

// Call Postgres (lock manager): inside pg_call.
void claim_keys(const std::vector<std::int64_t> &sorted_keys);
void claim_workspace_for_write(std::int64_t workspace);
void claim_workspace_for_scan(std::int64_t workspace);

}  // namespace crm::pg
