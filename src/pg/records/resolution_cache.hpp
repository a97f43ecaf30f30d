// Participant resolution as the participant BEFORE trigger does it, with its per-statement cache.
#pragma once

#include <cstdint>
#include <string_view>

namespace crm::pg {

// Forgets every cached resolution; call whenever a record's addresses, domain or company change,
// and at the end of every participant statement.
void resolution_cache_reset();

// True when resolving a stored participant again (its ids kept while their records exist) would
// change what it links to; 0 stands for NULL. Postgres phase (SPI, cached per statement).
bool link_changes(std::int64_t workspace, std::string_view address, std::int64_t member,
                  std::int64_t person, bool has_company, std::int64_t company);

// A record statement's exclusive claims (address_claims.hpp): sorted, distinct stripes, all or
// none; cached resolutions are forgotten. Postgres phase.
void claim_record_stripes(const std::uint32_t *stripes, int count);

}  // namespace crm::pg
