#include "core/match/similarity.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <vector>

namespace crm::match {
namespace {

// Field values are short; longer ones are compared on their first kMaxCompared bytes, which keeps
// the matching flags on the stack and the cost bounded for hostile input.
constexpr std::size_t kMaxCompared = 256;

std::vector<std::string_view> tokens_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

double jaro_winkler(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return 0.0;
  if (a == b) return 1.0;
  a = a.substr(0, kMaxCompared);
  b = b.substr(0, kMaxCompared);
  // The greedy matching depends on which side leads: order the sides so that (a, b) and (b, a)
  // give the same value.
  if (a.size() > b.size() || (a.size() == b.size() && a > b)) std::swap(a, b);
  const std::size_t window = b.size() / 2 > 0 ? b.size() / 2 - 1 : 0;
  std::bitset<kMaxCompared> a_matched, b_matched;
  std::size_t matches = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::size_t lo = i > window ? i - window : 0;
    const std::size_t hi = std::min(b.size(), i + window + 1);
    for (std::size_t j = lo; j < hi; ++j) {
      if (b_matched[j] || a[i] != b[j]) continue;
      a_matched[i] = b_matched[j] = true;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0.0;
  std::size_t transpositions = 0;
  for (std::size_t i = 0, j = 0; i < a.size(); ++i) {
    if (!a_matched[i]) continue;
    while (!b_matched[j]) ++j;
    if (a[i] != b[j]) ++transpositions;
    ++j;
  }
  const double m = static_cast<double>(matches);
  const double jaro = (m / a.size() + m / b.size() + (m - transpositions / 2.0) / m) / 3.0;
  std::size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && a[prefix] == b[prefix]) ++prefix;
  return jaro + prefix * 0.1 * (1.0 - jaro);
}

std::size_t levenshtein(std::string_view a, std::string_view b, std::size_t limit) {
  if (a.size() > b.size()) std::swap(a, b);
  if (b.size() - a.size() > limit) return limit + 1;
  a = a.substr(0, kMaxCompared);
  b = b.substr(0, kMaxCompared);
  std::array<std::size_t, kMaxCompared + 1> row;
  for (std::size_t j = 0; j <= a.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= b.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    std::size_t best = row[0];
    for (std::size_t j = 1; j <= a.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (b[i - 1] == a[j - 1] ? 0 : 1)});
      diagonal = above;
      best = std::min(best, row[j]);
    }
    if (best > limit) return limit + 1;
  }
  return std::min(row[a.size()], limit + 1);
}

double token_set_similarity(std::string_view a, std::string_view b) {
  std::vector<std::string_view> ta = tokens_of(a), tb = tokens_of(b);
  if (ta.empty() || tb.empty()) return 0.0;
  if (ta.size() > tb.size() || (ta.size() == tb.size() && ta > tb)) std::swap(ta, tb);
  double total = 0.0;
  for (std::string_view t : ta) {
    double best = 0.0;
    for (std::string_view u : tb) best = std::max(best, jaro_winkler(t, u));
    total += best;
  }
  // Divided by the longer side, so unmatched extra words count against: "acme" is not "acme bank".
  return total / tb.size();
}

bool tokens_contained(std::string_view a, std::string_view b) {
  std::vector<std::string_view> ta = tokens_of(a), tb = tokens_of(b);
  if (ta.empty() || tb.empty()) return false;
  if (ta.size() > tb.size()) std::swap(ta, tb);
  for (std::string_view t : ta) {
    bool found = false;
    for (std::string_view u : tb)
      if (jaro_winkler(t, u) >= 0.92) {
        found = true;
        break;
      }
    if (!found) return false;
  }
  return true;
}

}  // namespace crm::match
