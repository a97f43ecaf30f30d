#include "pg/match/record_rows.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <span>
#include <string_view>

#include "pg/common/guard.hpp"
#include "pg/common/transition_table.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
}

namespace crm::pg {
namespace {

// How a column becomes record_query's text: its SQL (record_query) and its C (transition_records).
enum class As { Text, IsoDate, JoinedArray, Missing };

struct Column {
  const char *name;
  As as;
};

// The columns build_profile reads after id and workspace_id, in its order (match::source_columns).
constexpr std::array<Column, 12> kPersonColumns = {{
    {"first_name", As::Text},
    {"last_name", As::Text},
    {"email", As::Text},
    {"phone", As::Text},
    {"street", As::Text},
    {"city", As::Text},
    {"postal_code", As::Text},
    {"country", As::Text},
    {"birth_date", As::IsoDate},
    {"company_id", As::Text},
    {"emails", As::JoinedArray},
    {"attributes", As::Text},
}};
constexpr std::array<Column, 9> kCompanyColumns = {{
    {"name", As::Text},
    {"domain", As::Text},
    {"phone", As::Text},
    {"street", As::Text},
    {"city", As::Text},
    {"postal_code", As::Text},
    {"country", As::Text},
    {nullptr, As::Missing},
    {"attributes", As::Text},
}};

// Set on a tombstone (crm.merge): its profile is empty, so it blocks with nobody and no pair keeps
// it.
const char *merged_column(RecordKind) {
  return "merged_into";
}

std::span<const Column> columns_of(RecordKind kind) {
  if (kind == RecordKind::Person) return kPersonColumns;
  return kCompanyColumns;
}

// to_char(date, 'YYYY-MM-DD'), whatever the session's DateStyle; NULL for infinity, as to_char.
char *iso_date(Datum value) {
  const DateADT date = DatumGetDateADT(value);
  if (DATE_NOT_FINITE(date)) return nullptr;
  int year = 0, month = 0, day = 0;
  j2date(date + POSTGRES_EPOCH_JDATE, &year, &month, &day);
  if (year <= 0) year = -(year - 1);  // to_char's YYYY shows a BC year as written
  char buffer[32];
  snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", year, month, day);
  return pstrdup(buffer);
}

// array_to_string(value, U+001F): NULL elements left out.
char *joined_array(Datum value, Oid element_type, FmgrInfo *element_out) {
  ArrayType *array = DatumGetArrayTypeP(value);
  int16 length = 0;
  bool by_value = false;
  char align = 0;
  get_typlenbyvalalign(element_type, &length, &by_value, &align);
  Datum *elements = nullptr;
  bool *nulls = nullptr;
  int count = 0;
  deconstruct_array(array, element_type, length, by_value, align, &elements, &nulls, &count);
  StringInfoData out;
  initStringInfo(&out);
  bool first = true;
  for (int i = 0; i < count; ++i) {
    if (nulls[i]) continue;
    if (!first) appendStringInfoChar(&out, '\x1f');
    appendStringInfoString(&out, OutputFunctionCall(element_out, elements[i]));
    first = false;
  }
  return out.data;
}

std::string column_sql(const Column &c) {
  const std::string name = c.name ? c.name : "";
  switch (c.as) {
    case As::Text:
      return name + "::text";
    case As::IsoDate:
      return "to_char(" + name + ", 'YYYY-MM-DD')";
    case As::JoinedArray:
      return "array_to_string(" + name + ", E'\\x1f')";
    case As::Missing:
      break;
  }
  return "NULL::text";
}

}  // namespace

std::string record_query(RecordKind kind, const std::string &from) {
  std::string sql = "SELECT id, workspace_id";
  const char *merged = merged_column(kind);
  for (const Column &c : columns_of(kind)) {
    if (c.as != As::Missing)
      sql += std::string(", CASE WHEN ") + merged + " IS NULL THEN " + column_sql(c) + " END";
    else
      sql += ", " + column_sql(c);
  }
  return sql + " FROM " + from;
}

namespace {

// A column the library expects is missing: the database's extension objects are older than the
// installed library (between make install and ALTER EXTENSION ... UPDATE). Postgres phase.
void missing_column(const char *name) {
  ereport(ERROR,
          (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
           errmsg("crm_hygiene: the written table has no column %s", name),
           errhint("The database's crm_hygiene objects are older than its installed library: "
                   "run ALTER EXTENSION crm_hygiene UPDATE.")));
}

}  // namespace

std::vector<TextRow> transition_records(RecordKind kind, Tuplestorestate *store, TupleDesc desc) {
  const std::span<const Column> columns = columns_of(kind);
  const std::size_t width = columns.size();
  const std::size_t n =
      pg_call([&] { return static_cast<std::size_t>(transition_row_count(store)); });
  // Filled under pg_call without C++ allocation: palloc'd strings, freed with the SPI context.
  std::vector<std::int64_t> ids(n), workspaces(n);
  std::vector<char *> cells(n * width, nullptr);
  pg_call([&] {
    const int id_at = SPI_fnumber(desc, "id"), workspace_at = SPI_fnumber(desc, "workspace_id");
    const int merged_at = SPI_fnumber(desc, merged_column(kind));
    if (merged_at < 0) missing_column("merged_into");
    static_assert(kPersonColumns.size() <= 16 && kCompanyColumns.size() <= 16);
    int at[16] = {};
    FmgrInfo out[16];
    Oid element[16] = {};
    for (std::size_t c = 0; c < width; ++c) {
      at[c] = columns[c].name ? SPI_fnumber(desc, columns[c].name) : 0;
      if (columns[c].name && at[c] <= 0) missing_column(columns[c].name);
      if (columns[c].as == As::Text || columns[c].as == As::JoinedArray) {
        Oid type = TupleDescAttr(desc, at[c] - 1)->atttypid;
        if (columns[c].as == As::JoinedArray) {
          element[c] = get_element_type(type);
          type = element[c];
        }
        Oid function = InvalidOid;
        bool varlena = false;
        getTypeOutputInfo(type, &function, &varlena);
        fmgr_info(function, &out[c]);
      }
    }
    for_each_transition_row(store, desc, [&](TupleTableSlot *slot, std::int64_t row) {
      if (static_cast<std::size_t>(row) >= n) return;
      ids[row] = slot_int8(slot, id_at);
      workspaces[row] = slot_int8(slot, workspace_at);
      if (merged_at > 0) {
        bool live = false;  // merged_into IS NULL
        (void)slot_getattr(slot, merged_at, &live);
        if (!live) return;  // a tombstone: every cell stays NULL
      }
      for (std::size_t c = 0; c < width; ++c) {
        if (columns[c].as == As::Missing) continue;
        bool isnull = false;
        const Datum value = slot_getattr(slot, at[c], &isnull);
        if (isnull) continue;
        char *&cell = cells[row * width + c];
        switch (columns[c].as) {
          case As::Text:
            cell = OutputFunctionCall(&out[c], value);
            break;
          case As::IsoDate:
            cell = iso_date(value);
            break;
          case As::JoinedArray:
            cell = joined_array(value, element[c], &out[c]);
            break;
          case As::Missing:
            break;
        }
      }
    });
  });
  std::vector<TextRow> rows(n);
  for (std::size_t r = 0; r < n; ++r) {
    rows[r].id = ids[r];
    rows[r].workspace = workspaces[r];
    rows[r].columns.resize(width);
    for (std::size_t c = 0; c < width; ++c)
      if (const char *cell = cells[r * width + c]) rows[r].columns[c] = std::string(cell);
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const TextRow &a, const TextRow &b) { return a.workspace < b.workspace; });
  return rows;
}

bool read_columns_unchanged(RecordKind kind, Tuplestorestate *old_rows, Tuplestorestate *new_rows,
                            TupleDesc desc) {
  if (tuplestore_tuple_count(old_rows) != tuplestore_tuple_count(new_rows)) return false;
  const std::span<const Column> columns = columns_of(kind);
  int at[19] = {};
  int n = 0;
  at[n++] = SPI_fnumber(desc, "id");
  at[n++] = SPI_fnumber(desc, "workspace_id");
  for (const Column &c : columns)
    if (c.name) at[n++] = SPI_fnumber(desc, c.name);
  at[n++] = SPI_fnumber(desc, merged_column(kind));
  for (int i = 0; i < n; ++i)
    if (at[i] <= 0) return false;
  TupleTableSlot *before = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
  TupleTableSlot *after = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
  const int old_reader = tuplestore_alloc_read_pointer(old_rows, EXEC_FLAG_REWIND);
  const int new_reader = tuplestore_alloc_read_pointer(new_rows, EXEC_FLAG_REWIND);
  tuplestore_select_read_pointer(old_rows, old_reader);
  tuplestore_rescan(old_rows);
  tuplestore_select_read_pointer(new_rows, new_reader);
  tuplestore_rescan(new_rows);
  bool same = true;
  while (same) {
    tuplestore_select_read_pointer(old_rows, old_reader);
    const bool more = tuplestore_gettupleslot(old_rows, true, false, before);
    tuplestore_select_read_pointer(new_rows, new_reader);
    if (!more || !tuplestore_gettupleslot(new_rows, true, false, after)) break;
    for (int i = 0; i < n && same; ++i) {
      bool null_before = false, null_after = false;
      const Datum x = slot_getattr(before, at[i], &null_before);
      const Datum y = slot_getattr(after, at[i], &null_after);
      const Form_pg_attribute a = TupleDescAttr(desc, at[i] - 1);
      same =
          null_before == null_after && (null_before || datumIsEqual(x, y, a->attbyval, a->attlen));
    }
  }
  tuplestore_select_read_pointer(old_rows, 0);
  tuplestore_select_read_pointer(new_rows, 0);
  ExecDropSingleTupleTableSlot(before);
  ExecDropSingleTupleTableSlot(after);
  return same;
}

}  // namespace crm::pg
