#include "pg/common/transition_table.hpp"

#include <cstring>

extern "C" {
#include "catalog/pg_enum.h"
#include "utils/syscache.h"
}

namespace crm::pg {
namespace {

// Enum OIDs never change meaning; a handful of types with a few labels each fit in a small table.
struct CachedLabel {
  Oid oid;
  char label[NAMEDATALEN];
};
constexpr int kCachedLabels = 64;
CachedLabel labels[kCachedLabels];
int label_count = 0;
char uncached[NAMEDATALEN];

}  // namespace

std::int64_t transition_row_count(Tuplestorestate *store) {
  return tuplestore_tuple_count(store);
}

std::string_view enum_label(Oid value) {
  for (int i = 0; i < label_count; ++i)
    if (labels[i].oid == value) return labels[i].label;
  HeapTuple tuple = SearchSysCache1(ENUMOID, ObjectIdGetDatum(value));
  if (!HeapTupleIsValid(tuple)) elog(ERROR, "crm_hygiene: no enum value with oid %u", value);
  const char *label = NameStr(reinterpret_cast<Form_pg_enum>(GETSTRUCT(tuple))->enumlabel);
  char *slot = uncached;
  if (label_count < kCachedLabels) {
    labels[label_count].oid = value;
    slot = labels[label_count++].label;
  }
  strlcpy(slot, label, NAMEDATALEN);
  ReleaseSysCache(tuple);
  return slot;
}

std::int64_t slot_int8(TupleTableSlot *slot, int attnum) {
  bool isnull = false;
  const Datum value = slot_getattr(slot, attnum, &isnull);
  return isnull ? 0 : DatumGetInt64(value);
}

std::string_view slot_enum(TupleTableSlot *slot, int attnum) {
  bool isnull = false;
  const Datum value = slot_getattr(slot, attnum, &isnull);
  return isnull ? std::string_view() : enum_label(DatumGetObjectId(value));
}

}  // namespace crm::pg
