// Folds a stream of interactions, each with all of its participants, into per-record signals.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/cancel.hpp"
#include "core/signals/fold.hpp"

namespace crm::signals {

class Folder {
 public:
  // clock_for gives the clock at which a record is folded; most callers fold every record at the
  // same clock, verify_signals folds each at the clock its stored state was computed at.
  using ClockFor = std::function<Micros(RecordKind, std::int64_t)>;

  explicit Folder(Micros now, CancelCheck cancel = nullptr);
  Folder(ClockFor clock_for, CancelCheck cancel = nullptr);

  // Restricts folding to these records; without it every record met is folded.
  void restrict_to(RecordKind kind, std::unordered_set<std::int64_t> ids);

  void add(const Interaction &interaction, std::span<const Participant> participants);

  std::unordered_map<std::int64_t, Signals> &result(RecordKind kind) {
    return kind == RecordKind::Person ? persons_ : companies_;
  }

 private:
  void fold_kind(RecordKind kind, const Interaction &interaction,
                 std::span<const Participant> participants);

  Micros now_;
  ClockFor clock_for_;
  CancelCheck cancel_;
  unsigned since_poll_ = 0;
  bool restricted_[2] = {false, false};
  std::unordered_set<std::int64_t> allowed_[2];
  std::unordered_map<std::int64_t, Signals> persons_, companies_;
  std::vector<Contribution> scratch_;
};

}  // namespace crm::signals
