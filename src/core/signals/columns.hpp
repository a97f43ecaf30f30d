// The stored interaction attributes, once: their column names in crm.person_signal and
// crm.company_signal (in table order), their types, and how each maps to a field of Signals and
// when it is NULL. The store's SELECT and UPDATE lists, the reset of every record, and the rows of
// crm._signals_now are all made from this list.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/signals/fold.hpp"

namespace crm::signals {

enum class SignalType { Time, Id, Kind, Count, Rank };

struct SignalColumn {
  std::string_view name;
  SignalType type;
  // Also an output of crm._signals_now and the overview views; last_interaction_id is only the
  // stored tie-break among equal times.
  bool shown;
};

inline constexpr std::array<SignalColumn, 18> kSignalColumns = {{
    {"first_interaction_at", SignalType::Time, true},
    {"last_interaction_at", SignalType::Time, true},
    {"last_interaction_id", SignalType::Id, false},
    {"last_interaction_kind", SignalType::Kind, true},
    {"last_interaction_member_id", SignalType::Id, true},
    {"first_email_at", SignalType::Time, true},
    {"last_email_at", SignalType::Time, true},
    {"last_inbound_email_at", SignalType::Time, true},
    {"last_outbound_email_at", SignalType::Time, true},
    {"first_meeting_at", SignalType::Time, true},
    {"last_meeting_at", SignalType::Time, true},
    {"next_meeting_at", SignalType::Time, true},
    {"next_interaction_at", SignalType::Time, true},
    {"email_count", SignalType::Count, true},
    {"meeting_count", SignalType::Count, true},
    {"interaction_count", SignalType::Count, true},
    {"strongest_member_id", SignalType::Id, true},
    {"strongest_rank", SignalType::Rank, true},
}};

// One column's value: the member of the union its type names, or NULL.
struct SignalValue {
  bool null = true;
  Micros time = kNoTime;
  std::int64_t number = 0;  // Id and Count
  Kind kind = Kind::Email;
  double rank = 0;
};

// The value column `column` stores for s. The last interaction's id, kind and member are NULL
// when there is no last interaction; ids are NULL when 0; times when kNoTime; the rank when
// nothing is known (connection::kNothing); counts never.
SignalValue stored_value(const Signals &s, std::size_t column);

// Sets the field of column `column` from a stored value (NULL gives the field's empty value).
void set_stored_value(Signals &s, std::size_t column, const SignalValue &v);

// The value a column is reset to when a record has no activity at all.
SignalValue empty_value(std::size_t column);

}  // namespace crm::signals
