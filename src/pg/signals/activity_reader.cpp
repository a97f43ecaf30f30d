#include "pg/signals/activity_reader.hpp"

#include <algorithm>

#include "core/activity/address.hpp"
#include "pg/signals/fresh_interactions.hpp"
#include "pg/common/guard.hpp"
#include "pg/common/spi.hpp"

namespace crm::pg {
namespace {

using signals::Interaction;
using signals::Participant;

constexpr long kBatch = 10000;

struct ParticipantOf {
  std::int64_t interaction_id;
  std::int64_t id;
  Participant participant;
};

std::int64_t int8_or_zero(HeapTuple t, TupleDesc d, int col) {
  bool isnull = false;
  const Datum v = SPI_getbinval(t, d, col, &isnull);
  return isnull ? 0 : DatumGetInt64(v);
}

void read_participants(std::vector<ParticipantOf> &out) {
  TupleDesc d = SPI_tuptable->tupdesc;
  for (uint64 i = 0; i < SPI_processed; ++i) {
    HeapTuple t = SPI_tuptable->vals[i];
    bool isnull = false;
    ParticipantOf &r = out[i];
    r.interaction_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
    r.participant.person_id = int8_or_zero(t, d, 2);
    r.participant.company_id = int8_or_zero(t, d, 3);
    r.participant.member_id = int8_or_zero(t, d, 4);
    r.participant.role =
        signals::parse_role(text_view(SPI_getbinval(t, d, 5, &isnull))).value_or(signals::Role::To);
    const Datum response = SPI_getbinval(t, d, 6, &isnull);
    r.participant.response =
        isnull ? signals::Response::None
               : signals::parse_response(text_view(response)).value_or(signals::Response::None);
    r.participant.address_key = activity::address_key(text_view(SPI_getbinval(t, d, 7, &isnull)));
    r.id = DatumGetInt64(SPI_getbinval(t, d, 8, &isnull));
  }
  SPI_freetuptable(SPI_tuptable);
}

// A cursor read batch by batch into a buffer of plain rows.
template <typename Row, void (*Read)(std::vector<Row> &)>
class Stream {
 public:
  explicit Stream(Portal portal) : portal_(portal) { refill(); }
  bool done() const { return next_ >= rows_.size(); }
  const Row &peek() const { return rows_[next_]; }
  void advance() {
    if (++next_ >= rows_.size()) refill();
  }
  void close() {
    pg_call([&] { SPI_cursor_close(portal_); });
  }

 private:
  void refill() {
    next_ = 0;
    // Sized outside pg_call: an allocation failure must not throw through PG_TRY.
    const std::size_t n = pg_call([&] {
      CHECK_FOR_INTERRUPTS();
      SPI_cursor_fetch(portal_, true, kBatch);
      return static_cast<std::size_t>(SPI_processed);
    });
    rows_.resize(n);
    pg_call([&] { Read(rows_); });
  }
  Portal portal_;
  std::vector<Row> rows_;
  std::size_t next_ = 0;
};

void merge_into(Portal interactions, Portal participants, signals::Folder &folder) {
  Stream<Interaction, read_interactions> is(interactions);
  Stream<ParticipantOf, read_participants> ps(participants);
  std::vector<Participant> group;
  for (; !is.done(); is.advance()) {
    const Interaction interaction = is.peek();
    // Participants of interactions not selected (none, given the foreign key) are skipped.
    while (!ps.done() && ps.peek().interaction_id < interaction.id) ps.advance();
    group.clear();
    for (; !ps.done() && ps.peek().interaction_id == interaction.id; ps.advance())
      group.push_back(ps.peek().participant);
    if (!group.empty()) folder.add(interaction, group);
  }
  is.close();
  ps.close();
}

constexpr const char *kInteractionColumns =
    "SELECT id, occurred_at, kind::text, status::text, workspace_id FROM crm.interaction";
constexpr const char *kParticipantColumns =
    "SELECT interaction_id, person_id, company_id, member_id, role::text, response::text, address, "
    "id FROM crm.participant";

}  // namespace

void read_interactions(std::vector<Interaction> &out) {
  TupleDesc d = SPI_tuptable->tupdesc;
  for (uint64 i = 0; i < SPI_processed; ++i) {
    HeapTuple t = SPI_tuptable->vals[i];
    bool isnull = false;
    Interaction &r = out[i];
    r.id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
    r.occurred_at = DatumGetTimestampTz(SPI_getbinval(t, d, 2, &isnull));
    r.kind = signals::parse_kind(text_view(SPI_getbinval(t, d, 3, &isnull)))
                 .value_or(signals::Kind::Note);
    r.status = signals::parse_status(text_view(SPI_getbinval(t, d, 4, &isnull)))
                   .value_or(signals::Status::Confirmed);
    r.workspace_id = DatumGetInt64(SPI_getbinval(t, d, 5, &isnull));
  }
  SPI_freetuptable(SPI_tuptable);
}

void fold_all_activity(signals::Folder &folder, bool read_only) {
  const std::string interactions = std::string(kInteractionColumns) + " ORDER BY id";
  const std::string participants = std::string(kParticipantColumns) + " ORDER BY interaction_id";
  Portal i = pg_call(
      [&] { return cursor_once(interactions.c_str(), 0, nullptr, nullptr, nullptr, read_only); });
  Portal p = pg_call(
      [&] { return cursor_once(participants.c_str(), 0, nullptr, nullptr, nullptr, read_only); });
  merge_into(i, p, folder);
}

namespace {

struct Cursors {
  Portal interactions, participants;
};

// Cursors over these interactions and their participants, each ordered by interaction id.
Cursors open_interactions(const std::vector<std::int64_t> &interaction_ids, bool read_only) {
  std::vector<std::int64_t> ids = interaction_ids;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const std::string interactions =
      std::string(kInteractionColumns) + " WHERE id = ANY ($1) ORDER BY id";
  const std::string participants =
      std::string(kParticipantColumns) + " WHERE interaction_id = ANY ($1) ORDER BY interaction_id";
  static const Oid types[1] = {INT8ARRAYOID};
  const Datum arg = pg_call([&] { return int8_array(ids.data(), static_cast<int>(ids.size())); });
  Portal i = pg_call(
      [&] { return cursor_once(interactions.c_str(), 1, types, &arg, nullptr, read_only); });
  Portal p = pg_call(
      [&] { return cursor_once(participants.c_str(), 1, types, &arg, nullptr, read_only); });
  return {i, p};
}

}  // namespace

void fold_interactions(const std::vector<std::int64_t> &interaction_ids, signals::Folder &folder,
                       bool read_only) {
  if (interaction_ids.empty()) return;
  const Cursors c = open_interactions(interaction_ids, read_only);
  merge_into(c.interactions, c.participants, folder);
}

std::vector<std::int64_t> fold_versions(const std::vector<std::int64_t> &interaction_ids,
                                        const ParticipantChange &change, signals::Folder &before,
                                        signals::Folder &after) {
  std::vector<std::int64_t> missing;
  if (interaction_ids.empty()) return missing;
  std::vector<std::int64_t> wanted = interaction_ids;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  const Cursors c = open_interactions(wanted, false);
  Stream<Interaction, read_interactions> is(c.interactions);
  Stream<ParticipantOf, read_participants> ps(c.participants);
  std::vector<Participant> now, then;
  std::size_t next_wanted = 0;
  for (; !is.done(); is.advance()) {
    const Interaction interaction = is.peek();
    for (; next_wanted < wanted.size() && wanted[next_wanted] < interaction.id; ++next_wanted)
      missing.push_back(wanted[next_wanted]);
    if (next_wanted < wanted.size() && wanted[next_wanted] == interaction.id) ++next_wanted;
    while (!ps.done() && ps.peek().interaction_id < interaction.id) ps.advance();
    now.clear();
    then.clear();
    for (; !ps.done() && ps.peek().interaction_id == interaction.id; ps.advance()) {
      now.push_back(ps.peek().participant);
      if (!change.written.contains(ps.peek().id)) then.push_back(ps.peek().participant);
    }
    if (auto it = change.before.find(interaction.id); it != change.before.end())
      then.insert(then.end(), it->second.begin(), it->second.end());
    if (!now.empty()) after.add(interaction, now);
    auto was = change.interaction_before.find(interaction.id);
    if (!then.empty())
      before.add(was == change.interaction_before.end() ? interaction : was->second, then);
  }
  for (; next_wanted < wanted.size(); ++next_wanted) missing.push_back(wanted[next_wanted]);
  is.close();
  ps.close();
  // Interactions this statement deleted with their participants: as they were, from the registry.
  std::vector<std::int64_t> unknown;
  for (std::int64_t id : missing) {
    const FreshInteraction *gone = pg_call([&] { return deleted_find(id); });
    auto rows = change.before.find(id);
    if (gone == nullptr) {
      unknown.push_back(id);
      continue;
    }
    if (rows == change.before.end()) continue;
    before.add({.id = gone->id,
                .workspace_id = gone->workspace_id,
                .occurred_at = gone->occurred_at,
                .kind = static_cast<signals::Kind>(gone->kind),
                .status = static_cast<signals::Status>(gone->status)},
               rows->second);
  }
  return unknown;
}

}  // namespace crm::pg
