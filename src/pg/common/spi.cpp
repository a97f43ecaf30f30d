#include "pg/common/spi.hpp"

namespace crm::pg {

SPIPlanPtr kept_plan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types) {
  if (*slot == nullptr) {
    // Always the generic plan: these are index probes whose plan does not depend on the values,
    // and the plan cache would otherwise keep replanning array arguments on every execution.
    // ANALYZE (autovacuum's too) invalidates them, so they follow the tables as they grow.
    SPIPlanPtr plan =
        SPI_prepare_cursor(sql, nargs, const_cast<Oid *>(types), CURSOR_OPT_GENERIC_PLAN);
    if (plan == nullptr)
      elog(ERROR, "crm_hygiene: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
    if (SPI_keepplan(plan) != 0) elog(ERROR, "crm_hygiene: SPI_keepplan failed");
    *slot = plan;
  }
  return *slot;
}

// A text[] Datum of these strings; Postgres phase.
Datum text_array(const std::vector<std::string_view> &values) {
  const int n = static_cast<int>(values.size());
  Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; ++i)
    elems[i] = PointerGetDatum(
        cstring_to_text_with_len(values[i].data(), static_cast<int>(values[i].size())));
  ArrayType *array = construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
  pfree(elems);
  return PointerGetDatum(array);
}

Datum int8_array(const std::int64_t *values, int count) {
  Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (count > 0 ? count : 1)));
  for (int i = 0; i < count; ++i) elems[i] = Int64GetDatum(values[i]);
  ArrayType *array = construct_array(elems, count, INT8OID, 8, true, TYPALIGN_DOUBLE);
  pfree(elems);
  return PointerGetDatum(array);
}

std::string_view text_view(Datum value) {
  text *t = reinterpret_cast<text *>(
      pg_detoast_datum_packed(reinterpret_cast<struct varlena *>(DatumGetPointer(value))));
  return {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)};
}

void execute_once(const char *sql, int nargs, const Oid *types, const Datum *values,
                  const char *nulls, bool read_only, int expected) {
  const int rc = SPI_execute_with_args(sql, nargs, const_cast<Oid *>(types),
                                       const_cast<Datum *>(values), nulls, read_only, 0);
  if (rc != expected)
    elog(ERROR, "crm_hygiene: query returned %s: %s", SPI_result_code_string(rc), sql);
}

Portal cursor_once(const char *sql, int nargs, const Oid *types, const Datum *values,
                   const char *nulls, bool read_only) {
  Portal portal = SPI_cursor_open_with_args(nullptr, sql, nargs, const_cast<Oid *>(types),
                                            const_cast<Datum *>(values), nulls, read_only, 0);
  if (portal == nullptr) elog(ERROR, "crm_hygiene: cannot open cursor: %s", sql);
  return portal;
}

void execute_plan(SPIPlanPtr plan, const Datum *values, const char *nulls, bool read_only,
                  int expected) {
  const int rc = SPI_execute_plan(plan, const_cast<Datum *>(values), nulls, read_only, 0);
  if (rc != expected)
    elog(ERROR, "crm_hygiene: SPI_execute_plan returned %s", SPI_result_code_string(rc));
}

}  // namespace crm::pg
