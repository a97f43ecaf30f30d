// Folds a stream of interactions, each with all of its participants, into per-record signals and
// connection pairs: per person, its pairs with each member; per company, the pairs of each of its
// contacts (people and addresses matched by domain) with each member.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/cancel.hpp"
#include "core/connection/pair.hpp"
#include "core/signals/fold.hpp"

namespace crm::signals {

class Folder {
 public:
  // clock_for gives the clock at which a record is folded; most callers fold every record at the
  // same clock, verify_signals folds each at the clock its stored state was computed at.
  using ClockFor = std::function<Micros(RecordKind, std::int64_t)>;
  // The connection model of a workspace; every workspace uses the defaults unless set.
  using ModelFor = std::function<const connection::Model &(std::int64_t workspace_id)>;

  explicit Folder(Micros now, CancelCheck cancel = nullptr);
  Folder(ClockFor clock_for, CancelCheck cancel = nullptr);

  // Restricts folding to these records; without it every record met is folded.
  void restrict_to(RecordKind kind, std::unordered_set<std::int64_t> ids);

  void set_models(ModelFor model_for) { model_for_ = std::move(model_for); }
  // The models, to give another Folder of the same statement (they load lazily, once).
  const ModelFor &models() const { return model_for_; }
  // Sees every connection term before it is folded (crm.explain_connection).
  using TermSink = std::function<void(const connection::Term &, const connection::Model &)>;
  void set_term_sink(TermSink sink) { term_sink_ = std::move(sink); }

  void add(const Interaction &interaction, std::span<const Participant> participants);

  std::unordered_map<std::int64_t, Signals> &result(RecordKind kind) {
    return kind == RecordKind::Person ? persons_ : companies_;
  }
  std::unordered_map<std::int64_t, connection::Contacts> &contacts(RecordKind kind) {
    return contacts_[static_cast<int>(kind)];
  }

 private:
  void fold_kind(RecordKind kind, const Interaction &interaction,
                 std::span<const Participant> participants);
  void fold_connections(const Interaction &interaction, std::span<const Participant> participants);
  bool allowed(RecordKind kind, std::int64_t id) const;
  Micros clock(RecordKind kind, std::int64_t id) const;

  Micros now_;
  ClockFor clock_for_;
  CancelCheck cancel_;
  unsigned since_poll_ = 0;
  bool restricted_[2] = {false, false};
  std::unordered_set<std::int64_t> allowed_[2];
  std::unordered_map<std::int64_t, Signals> persons_, companies_;
  std::vector<Contribution> scratch_;
  ModelFor model_for_;
  TermSink term_sink_;
  std::unordered_map<std::int64_t, connection::Contacts> contacts_[2];
  std::vector<connection::Term> terms_;
};

}  // namespace crm::signals
