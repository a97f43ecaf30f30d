// The arithmetic of connection strength, in the log domain against a fixed epoch.
//
// A decayed sum S(now) = sum of w * 2^(-(now - t)/H) equals 2^(-now/H) * sum of w * 2^(t/H), with
// t and now counted from Postgres' epoch (2000-01-01). The second factor never changes as time
// passes, so it is what is stored, as its base-2 logarithm: late arrivals add into it exactly, and
// its magnitude stays representable for any date. R is homogeneous of degree one in the sums
// (reciprocity depends on their ratio only), so log2 R at the epoch (the "rank") orders pairs
// exactly as their current strengths do.
#pragma once

#include <limits>
#include <string_view>

#include "core/connection/model.hpp"

namespace crm::connection {

// log2 of zero: the sum of nothing.
inline constexpr double kNothing = -std::numeric_limits<double>::infinity();

// log2(2^a + 2^b), exact to rounding for any magnitudes; kNothing is the identity.
double log_add(double a, double b);

// log2 of one term w * 2^(t/H) (w > 0).
double log_term(double weight, Micros at, Micros half_life);

// log2 R at the epoch from the three log sums; kNothing when all are empty.
double rank_of(double log_out, double log_in, double log_meet);

// Reciprocity of the two email sums (1 when there was a meeting or call).
double reciprocity(double log_out, double log_in, double log_meet);

// log2(2^after - 2^before) for after >= before: what a change added. kNothing when equal.
// Returns NaN when after < before (the caller then recomputes instead of subtracting).
double log_increase(double before, double after);

// log2(2^sum - 2^removed + 2^added): a sum with one part replaced by another (kNothing for none).
// NaN when what is removed is more than half of sum, or more than sum holds: the subtraction would
// lose the precision a recomputation keeps, so the caller recomputes instead.
double log_replace(double sum, double removed, double added);

// Half-lives elapsed from the epoch to now: log2 of the decay of everything stored.
double elapsed_half_lives(Micros now, Micros half_life);

// The value of a sum (or of R) at now, from its log at the epoch.
double value_at(double log_at_epoch, Micros now, Micros half_life);

// Strength in [0, 1) at now of a pair with this rank.
double strength(double rank, Micros now, const Model &model);

std::string_view band(double strength, const Model &model);

}  // namespace crm::connection
