// The records a statement wrote, read from its transition table as record_query's rows: the
// duplicate trigger runs on every single-row write, and planning a query over the transition
// table cost it more than reading the tuplestore does.
#pragma once

#include <string>
#include <vector>

#include "pg/match/match_store.hpp"
#include "pg/common/text_rows.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace crm::pg {

// SELECT id, workspace_id, <source columns as text>, <emails joined by U+001F>, attributes::text
// FROM <from>: the rows build_profile reads. from may reference $1.. of the caller's arguments.
// The same columns, converted the same way, as transition_records reads.
std::string record_query(RecordKind kind, const std::string &from);

// The rows of a transition table of crm.person or crm.company (desc: the table's), as
// record_query(kind, ...) would return them, in the table's order and stably grouped by workspace.
std::vector<TextRow> transition_records(RecordKind kind, Tuplestorestate *store, TupleDesc desc);

// True when every row of an UPDATE's new table has the same id and the same bytes in every column
// record_query reads as its row in the old table (the transition tables pair rows in order). A
// false answer only means "compare the text". Postgres phase: call inside pg_call or before any
// C++ object is made.
bool read_columns_unchanged(RecordKind kind, Tuplestorestate *old_rows, Tuplestorestate *new_rows,
                            TupleDesc desc);

}  // namespace crm::pg
