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
  fold_connections(interaction, participants);
}

bool Folder::allowed(RecordKind kind, std::int64_t id) const {
  const int k = static_cast<int>(kind);
  return !restricted_[k] || allowed_[k].contains(id);
}

Micros Folder::clock(RecordKind kind, std::int64_t id) const {
  return clock_for_ ? clock_for_(kind, id) : now_;
}

void Folder::fold_connections(const Interaction &interaction,
                              std::span<const Participant> participants) {
  static const connection::Model kDefaults;
  const connection::Model &model = model_for_ ? model_for_(interaction.workspace_id) : kDefaults;
  terms_.clear();
  connection::terms(interaction, participants, model, terms_);
  for (const connection::Term &t : terms_) {
    if (term_sink_) term_sink_(t, model);
    if (t.person_id != 0 && allowed(RecordKind::Person, t.person_id))
      contacts_[0][t.person_id][{t.member_id, t.person_id, 0}].fold(
          t, clock(RecordKind::Person, t.person_id), model.half_life);
    if (t.company_id != 0 && allowed(RecordKind::Company, t.company_id))
      contacts_[1][t.company_id][{t.member_id, t.person_id, t.address_key}].fold(
          t, clock(RecordKind::Company, t.company_id), model.half_life);
  }
}

void Folder::fold_kind(RecordKind kind, const Interaction &interaction,
                       std::span<const Participant> participants) {
  const int k = static_cast<int>(kind);
  scratch_.clear();
  contributions(interaction, participants, kind, scratch_);
  auto &out = result(kind);
  for (const Contribution &c : scratch_) {
    if (restricted_[k] && !allowed_[k].contains(c.record_id)) continue;
    out[c.record_id].fold(c, clock(kind, c.record_id));
  }
}

}  // namespace crm::signals
