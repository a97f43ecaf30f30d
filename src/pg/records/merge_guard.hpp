// merged_into is crm.merge's and crm.unmerge's to write (merge_guard.cpp).
#pragma once

namespace crm::pg {

// True while crm.merge or crm.unmerge writes records, in their own transaction and
// subtransaction: the guard lets merged_into change, and duplicate rules stand aside (a merge
// joins duplicates; an unmerge gives back records that existed side by side).
bool merge_writing();

}  // namespace crm::pg
