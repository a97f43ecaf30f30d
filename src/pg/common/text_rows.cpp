#include "pg/common/text_rows.hpp"

#include <cstdlib>

#include "pg/common/guard.hpp"
#include "pg/common/spi.hpp"

namespace crm::pg {
namespace {

struct Cell {
  const char *data = nullptr;
  std::size_t size = 0;
  bool null = true;
};

// Copies the current SPI_tuptable out, in two phases: views into Postgres memory under pg_call,
// then C++ strings outside it.
void take_batch(std::vector<TextRow> &rows) {
  const std::size_t n = pg_call(
      [] { return SPI_tuptable ? static_cast<std::size_t>(SPI_processed) : std::size_t{0}; });
  const int columns = n > 0 ? pg_call([] { return SPI_tuptable->tupdesc->natts; }) : 0;
  rows.clear();
  if (n == 0) return;
  const int texts = columns - 2;
  std::vector<std::int64_t> ids(n * 2);
  std::vector<Cell> cells(n * static_cast<std::size_t>(texts > 0 ? texts : 0));
  pg_call([&] {
    TupleDesc d = SPI_tuptable->tupdesc;
    for (std::size_t i = 0; i < n; ++i) {
      HeapTuple t = SPI_tuptable->vals[i];
      bool isnull = false;
      Datum v = SPI_getbinval(t, d, 1, &isnull);
      ids[2 * i] = isnull ? 0 : DatumGetInt64(v);
      v = SPI_getbinval(t, d, 2, &isnull);
      ids[2 * i + 1] = isnull ? 0 : DatumGetInt64(v);
      for (int c = 0; c < texts; ++c) {
        v = SPI_getbinval(t, d, c + 3, &isnull);
        Cell &cell = cells[i * texts + c];
        cell.null = isnull;
        if (!isnull) {
          const std::string_view s = text_view(v);
          cell.data = s.data();
          cell.size = s.size();
        }
      }
    }
  });
  rows.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    TextRow &r = rows[i];
    r.id = ids[2 * i];
    r.workspace = ids[2 * i + 1];
    r.columns.resize(static_cast<std::size_t>(texts));
    for (int c = 0; c < texts; ++c) {
      const Cell &cell = cells[i * texts + c];
      if (!cell.null) r.columns[c].emplace(cell.data, cell.size);
    }
  }
  pg_call([] { SPI_freetuptable(SPI_tuptable); });
}

}  // namespace

void stream_text_rows(const char *sql, int nargs, const Oid *types, const Datum *args,
                      bool read_only, long batch_size,
                      const std::function<void(std::vector<TextRow> &)> &visit) {
  Portal portal = pg_call([&] { return cursor_once(sql, nargs, types, args, nullptr, read_only); });
  std::vector<TextRow> rows;
  for (;;) {
    pg_call([&] {
      CHECK_FOR_INTERRUPTS();
      SPI_cursor_fetch(portal, true, batch_size);
    });
    take_batch(rows);
    if (rows.empty()) break;
    visit(rows);
  }
  pg_call([&] { SPI_cursor_close(portal); });
}

std::vector<TextRow> text_rows(const char *sql, int nargs, const Oid *types, const Datum *args,
                               bool read_only) {
  pg_call([&] { execute_once(sql, nargs, types, args, nullptr, read_only, SPI_OK_SELECT); });
  std::vector<TextRow> rows;
  take_batch(rows);
  return rows;
}

std::vector<TextRow> text_rows_kept(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types,
                                    const Datum *args, bool read_only) {
  pg_call([&] {
    execute_plan(kept_plan(slot, sql, nargs, types), args, nullptr, read_only, SPI_OK_SELECT);
  });
  std::vector<TextRow> rows;
  take_batch(rows);
  return rows;
}

std::vector<TextRow> take_spi_rows() {
  std::vector<TextRow> rows;
  take_batch(rows);
  return rows;
}

std::vector<std::int64_t> parse_int8_array(const std::string &text) {
  std::vector<std::int64_t> out;
  const char *p = text.c_str();
  while (*p) {
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
      char *end = nullptr;
      out.push_back(std::strtoll(p, &end, 10));
      p = end;
    } else {
      ++p;
    }
  }
  return out;
}

}  // namespace crm::pg
