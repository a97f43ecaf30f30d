#include "pg/common/id_query.hpp"

#include "pg/common/guard.hpp"
#include "pg/common/spi.hpp"

namespace crm::pg {

std::vector<std::int64_t> query_ids(const char *sql, int nargs, const Oid *types, const Datum *args,
                                    bool read_only) {
  const std::size_t n = pg_call([&] {
    execute_once(sql, nargs, types, args, nullptr, read_only, SPI_OK_SELECT);
    return static_cast<std::size_t>(SPI_processed);
  });
  // Sized outside pg_call: an allocation failure must not throw through PG_TRY.
  std::vector<std::int64_t> ids(n);
  pg_call([&] {
    for (uint64 i = 0; i < SPI_processed; ++i) {
      bool isnull = false;
      const Datum v = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
      ids[i] = isnull ? 0 : DatumGetInt64(v);
    }
    SPI_freetuptable(SPI_tuptable);
  });
  return ids;
}

}  // namespace crm::pg
