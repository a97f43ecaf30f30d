#include "core/connection/maths.hpp"

#include <algorithm>
#include <cmath>

namespace crm::connection {

double log_add(double a, double b) {
  if (a == kNothing) return b;
  if (b == kNothing) return a;
  const double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log1p(std::exp2(lo - hi)) / std::log(2.0);
}

double log_term(double weight, Micros at, Micros half_life) {
  return std::log2(weight) + static_cast<double>(at) / static_cast<double>(half_life);
}

double reciprocity(double log_out, double log_in, double log_meet) {
  if (log_meet != kNothing) return 1.0;
  if (log_out == kNothing || log_in == kNothing) return 0.0;
  // 2 sqrt(a b) / (a + b), in logs so that neither sum is ever materialised.
  return std::exp2(1.0 + 0.5 * (log_out + log_in) - log_add(log_out, log_in));
}

double rank_of(double log_out, double log_in, double log_meet) {
  const double total = log_add(log_add(log_out, log_in), log_meet);
  if (total == kNothing) return kNothing;
  return total + std::log2(0.25 + 0.75 * reciprocity(log_out, log_in, log_meet));
}

double log_increase(double before, double after) {
  if (before == kNothing) return after;
  if (after == before) return kNothing;
  if (after < before) return std::nan("");
  return after + std::log2(-std::expm1((before - after) * std::log(2.0)));
}

double log_replace(double sum, double removed, double added) {
  if (removed == kNothing) return log_add(sum, added);
  if (sum == kNothing) return std::nan("");
  // Relative to sum: 1 - d + a, where d <= 1/2 keeps the rounding of the result near one ulp.
  const double d = std::exp2(removed - sum);
  if (!(d <= 0.5)) return std::nan("");
  const double a = added == kNothing ? 0.0 : std::exp2(added - sum);
  if (a > 1.0) return added + std::log2(1.0 + (1.0 - d) / a);
  return sum + std::log2(1.0 - d + a);
}

double elapsed_half_lives(Micros now, Micros half_life) {
  return static_cast<double>(now) / static_cast<double>(half_life);
}

double value_at(double log_at_epoch, Micros now, Micros half_life) {
  if (log_at_epoch == kNothing) return 0.0;
  return std::exp2(log_at_epoch - elapsed_half_lives(now, half_life));
}

double strength(double rank, Micros now, const Model &model) {
  const double r = value_at(rank, now, model.half_life);
  return -std::expm1(-r / model.scale);
}

std::string_view band(double s, const Model &m) {
  if (s >= m.very_strong) return "very strong";
  if (s >= m.strong) return "strong";
  if (s >= m.good) return "good";
  if (s >= m.weak) return "weak";
  if (s > 0) return "very weak";
  return "none";
}

}  // namespace crm::connection
