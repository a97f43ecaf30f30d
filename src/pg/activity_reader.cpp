#include "pg/activity_reader.hpp"

#include <vector>

#include "pg/guard.hpp"
#include "pg/spi.hpp"

namespace crm::pg {
namespace {

using signals::Interaction;
using signals::Participant;

constexpr long kBatch = 10000;

struct Row {
  Interaction interaction;
  Participant participant;
};

std::int64_t int8_or_zero(HeapTuple t, TupleDesc d, int col) {
  bool isnull = false;
  const Datum v = SPI_getbinval(t, d, col, &isnull);
  return isnull ? 0 : DatumGetInt64(v);
}

// Postgres phase: copies one fetched batch into plain rows.
void read_batch(Row *out) {
  SPITupleTable *table = SPI_tuptable;
  TupleDesc d = table->tupdesc;
  for (uint64 i = 0; i < SPI_processed; ++i) {
    HeapTuple t = table->vals[i];
    bool isnull = false;
    Row &r = out[i];
    r.interaction.id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
    r.interaction.occurred_at = DatumGetTimestampTz(SPI_getbinval(t, d, 2, &isnull));
    r.interaction.kind = signals::parse_kind(text_view(SPI_getbinval(t, d, 3, &isnull))).value_or(signals::Kind::Note);
    r.interaction.status = signals::parse_status(text_view(SPI_getbinval(t, d, 4, &isnull))).value_or(signals::Status::Confirmed);
    r.participant.person_id = int8_or_zero(t, d, 5);
    r.participant.company_id = int8_or_zero(t, d, 6);
    r.participant.member_id = int8_or_zero(t, d, 7);
    r.participant.role = signals::parse_role(text_view(SPI_getbinval(t, d, 8, &isnull))).value_or(signals::Role::To);
    const Datum response = SPI_getbinval(t, d, 9, &isnull);
    r.participant.response = isnull ? signals::Response::None
                                    : signals::parse_response(text_view(response)).value_or(signals::Response::None);
  }
  SPI_freetuptable(table);
}

}  // namespace

void fold_activity(SPIPlanPtr plan, const Datum *args, const char *nulls, bool read_only,
                   signals::Folder &folder) {
  Portal portal = pg_call([&] {
    return SPI_cursor_open(nullptr, plan, const_cast<Datum *>(args), nulls, read_only);
  });
  std::vector<Row> rows(kBatch);
  std::vector<Participant> group;
  Interaction current{};
  bool open = false;
  for (;;) {
    const std::size_t n = pg_call([&] {
      CHECK_FOR_INTERRUPTS();
      SPI_cursor_fetch(portal, true, kBatch);
      const std::size_t fetched = SPI_processed;
      read_batch(rows.data());
      return fetched;
    });
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      // An interaction's rows may straddle two batches: the group carries over.
      if (open && rows[i].interaction.id != current.id) {
        folder.add(current, group);
        group.clear();
      }
      current = rows[i].interaction;
      open = true;
      group.push_back(rows[i].participant);
    }
  }
  if (open) folder.add(current, group);
  pg_call([&] { SPI_cursor_close(portal); });
}

}  // namespace crm::pg
