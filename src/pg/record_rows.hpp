// The records a statement wrote, read from its transition table as record_query's rows: the
// duplicate trigger runs on every single-row write, and planning a query over the transition
// table cost it more than reading the tuplestore does.
#pragma once

#include <vector>

#include "pg/match_store.hpp"
#include "pg/text_rows.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace crm::pg {

// The rows of a transition table of crm.person or crm.company (desc: the table's), as
// record_query(kind, ...) would return them, in the table's order and stably grouped by workspace.
std::vector<TextRow> transition_records(RecordKind kind, Tuplestorestate *store, TupleDesc desc);

}  // namespace crm::pg
