// crm.enrich says when its UPDATE is an automated write (enrich_writes.cpp).
#pragma once

namespace crm::pg {

// True while crm.enrich (or another automated writer of record fields) updates a record, in its
// own transaction and subtransaction: that writer records the provenance, so the field trigger
// must not take the write for a user's.
bool enrich_writing();

}  // namespace crm::pg
