#include "core/signals/folder.hpp"

namespace crm::signals {

Folder::Folder(Micros now, CancelCheck cancel) : now_(now), cancel_(cancel) {}

Folder::Folder(ClockFor clock_for, CancelCheck cancel)
    : now_(kNoTime), clock_for_(std::move(clock_for)), cancel_(cancel) {}

void Folder::restrict_to(RecordKind kind, std::unordered_set<std::int64_t> ids) {
  const int k = static_cast<int>(kind);
  restricted_[k] = true;
  allowed_[k] = std::move(ids);
}

void Folder::add(const Interaction &interaction, std::span<const Participant> participants) {
  if (++since_poll_ == 4096) {
    since_poll_ = 0;
    poll_cancel(cancel_);
  }
  fold_kind(RecordKind::Person, interaction, participants);
  fold_kind(RecordKind::Company, interaction, participants);
}

void Folder::fold_kind(RecordKind kind, const Interaction &interaction,
                       std::span<const Participant> participants) {
  const int k = static_cast<int>(kind);
  scratch_.clear();
  contributions(interaction, participants, kind, scratch_);
  auto &out = result(kind);
  for (const Contribution &c : scratch_) {
    if (restricted_[k] && !allowed_[k].contains(c.record_id)) continue;
    const Micros now = clock_for_ ? clock_for_(kind, c.record_id) : now_;
    out[c.record_id].fold(c, now);
  }
}

}  // namespace crm::signals
