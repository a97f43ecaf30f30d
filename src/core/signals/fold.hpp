// Interaction attributes of one record, and how contributions fold into them.
//
// Every field is a min, a max, a count or an argmax over contributions, so folding is
// associative and commutative: arrival order never matters and a batch can be folded on its own
// and merged into the stored state. The split between past and future depends on the clock, so a
// stored state is only mergeable while no future interaction in it has started (see mergeable).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/signals/contribution.hpp"

namespace crm::signals {

struct Signals {
  Micros first_interaction_at = kNoTime;
  Micros last_interaction_at = kNoTime;
  std::int64_t last_interaction_id = 0;  // tie-break: among equal times the highest id is last
  Kind last_interaction_kind = Kind::Email;
  std::int64_t last_interaction_member_id = 0;
  Micros first_email_at = kNoTime;
  Micros last_email_at = kNoTime;
  Micros last_inbound_email_at = kNoTime;
  Micros last_outbound_email_at = kNoTime;
  Micros first_meeting_at = kNoTime;
  Micros last_meeting_at = kNoTime;
  Micros next_meeting_at = kNoTime;
  Micros next_interaction_at = kNoTime;
  std::int64_t email_count = 0;
  std::int64_t meeting_count = 0;
  std::int64_t interaction_count = 0;
  // The strongest connection (connection/pair.hpp): set from the record's pairs, never by fold.
  std::int64_t strongest_member_id = 0;
  double strongest_rank = -std::numeric_limits<double>::infinity();

  // An interaction is past once it has started: occurred_at <= now.
  void fold(const Contribution &c, Micros now);
  void merge(const Signals &other);
  // Replaces what removed holds (what some interactions contributed, folded at the same clock as
  // this state) by what added holds (what they contribute now). False, leaving this state as it
  // was, when the result cannot be known without the other interactions: an extreme that only the
  // removed part held, or more removed than this state holds. The strongest connection is left
  // alone (it is set from the pairs).
  bool replace(const Signals &removed, const Signals &added);
  bool empty() const { return interaction_count == 0 && next_interaction_at == kNoTime; }
  bool operator==(const Signals &) const = default;
  // Equal, with the strongest rank compared as verify_signals does (a recomputation sums in
  // another order, so its last bits may differ).
  bool equivalent(const Signals &other) const;
};

// True when a state computed at clock as_of is still exact at clock now, so that a batch folded at
// now can be merged into it: the clock has not gone back and no stored future interaction has
// started since.
bool mergeable(const Signals &stored, Micros as_of, Micros now);

struct FieldDifference {
  std::string field;
  std::string stored;
  std::string expected;
};

// The fields where stored differs from expected, with values rendered by render_time.
std::vector<FieldDifference> differences(const Signals &stored, const Signals &expected,
                                         std::string (*render_time)(Micros));

}  // namespace crm::signals
