// The stored interaction attributes' one list (core/signals/columns.hpp): what the store reads and
// writes, what a reset writes, and what crm._signals_now shows are made from it.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/connection/maths.hpp"
#include "core/signals/columns.hpp"

namespace {

using crm::signals::kNoTime;
using crm::signals::kSignalColumns;
using crm::signals::Signals;

Signals full() {
  Signals s;
  s.first_interaction_at = 1;
  s.last_interaction_at = 2;
  s.last_interaction_id = 3;
  s.last_interaction_kind = crm::signals::Kind::Meeting;
  s.last_interaction_member_id = 4;
  s.first_email_at = 5;
  s.last_email_at = 6;
  s.last_inbound_email_at = 7;
  s.last_outbound_email_at = 8;
  s.first_meeting_at = 9;
  s.last_meeting_at = 10;
  s.next_meeting_at = 11;
  s.next_interaction_at = 12;
  s.email_count = 13;
  s.meeting_count = 14;
  s.interaction_count = 15;
  s.strongest_member_id = 16;
  s.strongest_rank = 17.5;
  return s;
}

TEST(SignalColumns, NamesAreDistinctAndOnlyTheTieBreakIsHidden) {
  std::set<std::string> names;
  std::set<std::string> hidden;
  for (const auto &c : kSignalColumns) {
    names.insert(std::string(c.name));
    if (!c.shown) hidden.insert(std::string(c.name));
  }
  EXPECT_EQ(names.size(), kSignalColumns.size());
  EXPECT_EQ(hidden, std::set<std::string>{"last_interaction_id"});
}

TEST(SignalColumns, EveryFieldSurvivesStoringAndReading) {
  const Signals s = full();
  Signals read;
  for (std::size_t c = 0; c < kSignalColumns.size(); ++c) {
    const auto v = crm::signals::stored_value(s, c);
    EXPECT_FALSE(v.null) << kSignalColumns[c].name;
    crm::signals::set_stored_value(read, c, v);
  }
  EXPECT_EQ(read, s);
}

TEST(SignalColumns, NullsFollowTheStoredRules) {
  Signals s;  // no activity
  for (std::size_t c = 0; c < kSignalColumns.size(); ++c) {
    const bool count = kSignalColumns[c].type == crm::signals::SignalType::Count;
    EXPECT_EQ(crm::signals::stored_value(s, c).null, !count) << kSignalColumns[c].name;
    EXPECT_EQ(crm::signals::empty_value(c).null, !count) << kSignalColumns[c].name;
  }
  // A last interaction without a member: its id is stored (even 0), the member is NULL.
  s.last_interaction_at = 100;
  s.last_interaction_id = 0;
  s.last_interaction_member_id = 0;
  for (std::size_t c = 0; c < kSignalColumns.size(); ++c) {
    const std::string_view name = kSignalColumns[c].name;
    if (name == "last_interaction_id" || name == "last_interaction_kind")
      EXPECT_FALSE(crm::signals::stored_value(s, c).null) << name;
    if (name == "last_interaction_member_id" || name == "strongest_member_id" ||
        name == "strongest_rank")
      EXPECT_TRUE(crm::signals::stored_value(s, c).null) << name;
  }
  // NULLs read back as the empty values.
  Signals read = full();
  for (std::size_t c = 0; c < kSignalColumns.size(); ++c)
    crm::signals::set_stored_value(read, c, crm::signals::empty_value(c));
  EXPECT_EQ(read, Signals{});
  EXPECT_EQ(read.strongest_rank, crm::connection::kNothing);
  EXPECT_EQ(read.first_interaction_at, kNoTime);
}

TEST(SignalColumns, OutOfRangeIsRefused) {
  EXPECT_THROW(crm::signals::empty_value(kSignalColumns.size()), std::out_of_range);
}

}  // namespace
