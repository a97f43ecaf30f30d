// The connection-strength model of one workspace: every number of the published formula.
//
// Weights and the half-life shape the stored, epoch-referenced sums; the scale and the band
// thresholds only shape how a stored rank reads as a strength, so changing them rewrites nothing.
#pragma once

#include <cstdint>

#include "core/signals/types.hpp"

namespace crm::connection {

using signals::Micros;

inline constexpr Micros kMicrosPerDay = 86'400'000'000LL;

struct Model {
  // Kind of interaction.
  double outbound_email = 1.0;  // the member wrote to the contact
  double inbound_email = 0.7;   // the contact wrote to the member
  double meeting = 2.5;         // both attended
  double call = 2.0;
  // Role of the recipient side.
  double role_primary = 1.0;  // to, organizer, attendee
  double role_cc = 0.5;
  double role_bcc = 0.5;
  // Audience: 1/sqrt(n) over the n participants who are not members; nothing beyond this many.
  int max_audience = 10;
  Micros half_life = 90 * kMicrosPerDay;
  // Reading: strength = 1 - exp(-R / scale), bands by threshold.
  double scale = 10.0;
  double very_strong = 0.8, strong = 0.6, good = 0.4, weak = 0.2;

  bool operator==(const Model &) const = default;
};

}  // namespace crm::connection
