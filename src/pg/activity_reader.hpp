// Streams activity into a Folder, one interaction (with all its participants) at a time. Runs
// inside the barrier: every Postgres call goes through pg_call.
//
// Interactions and participants are read by two single-table cursors, each ordered by interaction
// id, and merged here. No join is left to the planner: with tables filled in the same transaction
// its estimates can be wildly off, and a misplanned join over activity is quadratic.
#pragma once

#include <cstdint>
#include <vector>

#include "core/signals/folder.hpp"
#include "pg/pg.hpp"

namespace crm::pg {

// Folds all activity of every workspace.
void fold_all_activity(signals::Folder &folder, bool read_only);

// Folds the interactions with these ids (any order, duplicates allowed).
void fold_interactions(const std::vector<std::int64_t> &interaction_ids, signals::Folder &folder,
                       bool read_only);

}  // namespace crm::pg
