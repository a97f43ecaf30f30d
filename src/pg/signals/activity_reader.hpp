// Streams activity into a Folder, one interaction (with all its participants) at a time. Runs
// inside the barrier: every Postgres call goes through pg_call.
//
// Interactions and participants are read by two single-table cursors, each ordered by interaction
// id, and merged here. No join is left to the planner: with tables filled in the same transaction
// its estimates can be wildly off, and a misplanned join over activity is quadratic.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/signals/folder.hpp"
#include "pg/common/pg.hpp"

namespace crm::pg {

// Postgres phase: the current SPI result, columns (id, occurred_at, kind::text, status::text,
// workspace_id), into plain rows (out already has SPI_processed of them); frees it.
void read_interactions(std::vector<signals::Interaction> &out);

// Folds all activity of every workspace.
void fold_all_activity(signals::Folder &folder, bool read_only);

// Folds the interactions with these ids (any order, duplicates allowed).
void fold_interactions(const std::vector<std::int64_t> &interaction_ids, signals::Folder &folder,
                       bool read_only);

// A change of some activity, for fold_versions: the participant rows it wrote (by id; they are
// read as they are now), the rows as they were before it (none for an insert), by interaction,
// and interactions whose kind, status or time it changed, as they were.
struct ParticipantChange {
  std::unordered_set<std::int64_t> written;
  std::unordered_map<std::int64_t, std::vector<signals::Participant>> before;
  std::unordered_map<std::int64_t, signals::Interaction> interaction_before;
};

// Folds each of these interactions twice, as it is now into after and as it was before the change
// into before: its current participants, with the written rows swapped for the rows before. Reads
// in a fresh snapshot, after the caller claimed the interactions. An interaction this statement
// deleted (fresh_interactions.hpp: deleted_remember) is folded as it was into before only. Returns
// the ids of interactions that exist no more and were not remembered: folded into neither.
std::vector<std::int64_t> fold_versions(const std::vector<std::int64_t> &interaction_ids,
                                        const ParticipantChange &change, signals::Folder &before,
                                        signals::Folder &after);

}  // namespace crm::pg
