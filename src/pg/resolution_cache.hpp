// The per-statement cache of address resolutions kept by the participant BEFORE trigger.
#pragma once

namespace crm::pg {

// Forgets every cached resolution; call whenever a record's addresses, domain or company change,
// and at the end of every participant statement.
void resolution_cache_reset();

}  // namespace crm::pg
