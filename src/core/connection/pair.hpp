// The state of one member-contact pair, of one member-company pair, and how they fold.
//
// Pair sums are log2 sums against the epoch (maths.hpp), so folding is commutative: arrival order
// never changes a value beyond rounding. Like the interaction attributes, a pair is exact at the
// clock it was folded at while none of its future interactions has started (next_at > now).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/connection/maths.hpp"
#include "core/connection/terms.hpp"

namespace crm::connection {

struct Pair {
  std::int64_t workspace_id = 0;
  std::int64_t company_id = 0;  // the contact's company
  double log_out = kNothing, log_in = kNothing, log_meet = kNothing;
  std::int64_t emails_sent = 0, emails_received = 0, meetings = 0, calls = 0;
  Micros first_at = signals::kNoTime, last_at = signals::kNoTime;
  Micros next_at = signals::kNoTime;  // earliest contributing interaction not started yet

  // A term joins the sums once it has started (at <= now); before that it only sets next_at.
  void fold(const Term &term, Micros now, Micros half_life);
  void merge(const Pair &other);
  // Replaces what removed holds by what added holds, as signals::Signals::replace does; false,
  // leaving the pair as it was, when only a recomputation can tell the result (an extreme only
  // the removed part held, a sum mostly made of what is removed, another company).
  bool replace(const Pair &removed, const Pair &added);
  double rank() const { return rank_of(log_out, log_in, log_meet); }
  std::int64_t past_count() const { return emails_sent + emails_received + meetings + calls; }
  bool empty() const { return rank() == kNothing && next_at == signals::kNoTime; }
  bool operator==(const Pair &) const = default;
};

// A contact: a person, or an address no person record owns (person_id 0).
struct ContactKey {
  std::int64_t member_id = 0;
  std::int64_t person_id = 0;
  std::int64_t address_key = 0;
  auto operator<=>(const ContactKey &) const = default;
};

// Ordered, so that sums over contacts are taken in the same order on every path.
using Contacts = std::map<ContactKey, Pair>;

struct CompanyPair {
  std::int64_t workspace_id = 0;
  double rank = kNothing;   // log2 of the sum of its contacts' R at the epoch
  std::int64_t people = 0;  // contacts with a positive R
  Micros last_at = signals::kNoTime, next_at = signals::kNoTime;
  bool operator==(const CompanyPair &) const = default;
};
using CompanyPairs = std::map<std::int64_t, CompanyPair>;  // by member id

// R(member, company) = sum over the company's contacts of R(member, contact).
CompanyPairs roll_up(const Contacts &contacts);

// The strongest member: highest rank, the lowest member id among equals; 0 when no pair has a
// positive strength.
struct Strongest {
  std::int64_t member_id = 0;
  double rank = kNothing;
  bool operator==(const Strongest &) const = default;
};
Strongest strongest_of(const Contacts &contacts);
Strongest strongest_of(const CompanyPairs &pairs);

// Mergeability, as for the interaction attributes.
bool mergeable(Micros next_at, Micros as_of, Micros now);

// True when two ranks agree to a relative error of R within tolerance.
bool same_rank(double a, double b, double tolerance = 1e-9);

struct PairDifference {
  std::string field;
  std::string stored;
  std::string expected;
};
std::vector<PairDifference> differences(const Pair &stored, const Pair &expected,
                                        std::string (*render_time)(Micros));
std::vector<PairDifference> differences(const CompanyPair &stored, const CompanyPair &expected,
                                        std::string (*render_time)(Micros));

}  // namespace crm::connection
