// Reading a trigger's transition table straight from its tuplestore: no SPI, no planning, which
// matters for the single-row writes of applications. Postgres phase: call inside pg_call.
#pragma once

#include <cstdint>
#include <string_view>

#include "pg/common/pg.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace crm::pg {

// Rows in the transition table.
std::int64_t transition_row_count(Tuplestorestate *store);

// Calls visit(slot, row_number) for every row, through a read pointer of its own (other triggers
// may read the same table). visit must not throw and must not allocate C++ memory.
template <typename Visit>
void for_each_transition_row(Tuplestorestate *store, TupleDesc desc, Visit &&visit) {
  TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
  const int reader = tuplestore_alloc_read_pointer(store, EXEC_FLAG_REWIND);
  tuplestore_select_read_pointer(store, reader);
  tuplestore_rescan(store);
  std::int64_t row = 0;
  while (tuplestore_gettupleslot(store, true, false, slot)) visit(slot, row++);
  tuplestore_select_read_pointer(store, 0);
  ExecDropSingleTupleTableSlot(slot);
}

// The label of an enum value (pg_enum OID), cached per backend.
std::string_view enum_label(Oid value);

// Column accessors for a slot; 0 or "" when NULL.
std::int64_t slot_int8(TupleTableSlot *slot, int attnum);
std::string_view slot_enum(TupleTableSlot *slot, int attnum);

}  // namespace crm::pg
