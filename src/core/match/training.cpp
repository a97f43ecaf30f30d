#include "core/match/training.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace crm::match {
namespace {

constexpr int kMaxIterations = 100;
constexpr double kTolerance = 1e-5;
// Observations a level needs before its frequency replaces the prior value: a level seen a few
// times among a million random pairs is noise, and zero would make its weight infinite.
constexpr double kMinObserved = 10;
constexpr double kFloor = 1e-9;
// Pairs' worth of belief in the starting m and u (a Dirichlet prior): a small workspace moves the
// model a little, a large one decides it. Without it, ten pairs would make every m 0 or 1.
constexpr double kPriorPairs = 20;

// Identical level vectors weigh the same, so EM runs over distinct patterns with their counts.
std::vector<std::pair<Levels, double>> patterns_of(const std::vector<Levels> &pairs) {
  std::map<Levels, double> counts;
  for (const Levels &l : pairs) counts[l] += 1;
  return {counts.begin(), counts.end()};
}

void normalise(std::vector<double> &p) {
  double sum = 0;
  for (double &x : p) sum += (x = std::max(x, kFloor));
  for (double &x : p) x /= sum;
}

// u from random pairs, level by level, where the level was seen often enough.
void estimate_u(Model &model, const std::vector<Levels> &random) {
  for (std::size_t f = 0; f < model.fields.size(); ++f) {
    FieldModel &field = model.fields[f];
    std::vector<double> seen(field.u.size(), 0.0);
    double known = 0;
    for (const Levels &l : random)
      if (f < l.size() && l[f] >= 0) {
        seen[static_cast<std::size_t>(l[f])] += 1;
        known += 1;
      }
    if (known < kMinObserved) continue;
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (seen[i] >= kMinObserved) field.u[i] = seen[i] / known;
    normalise(field.u);
  }
}

}  // namespace

TrainingResult train(const Model &start, const TrainingInput &input, CancelCheck cancel) {
  TrainingResult result;
  result.model = start;
  Model &model = result.model;
  const auto patterns = patterns_of(input.blocked);
  if (patterns.empty()) {
    estimate_u(model, input.random);
    return result;
  }

  // Classic EM over the blocked pairs, estimating m, u and the match share together: u here is
  // the blocked pairs' own, which absorbs the agreement the blocking itself forces.
  Model em = start;
  double share = 0.1;
  const std::size_t nf = em.fields.size();
  for (int it = 0; it < kMaxIterations; ++it) {
    poll_cancel(cancel);
    std::vector<std::vector<double>> m_sum(nf), u_sum(nf);
    for (std::size_t f = 0; f < nf; ++f) {
      m_sum[f].assign(em.fields[f].m.size(), 0.0);
      u_sum[f].assign(em.fields[f].u.size(), 0.0);
    }
    double matched = 0, total = 0;
    const double prior = std::log2(share / (1 - share));
    for (const auto &[levels, count] : patterns) {
      double w = prior;
      for (std::size_t f = 0; f < nf; ++f)
        if (levels[f] >= 0) w += level_weight(em.fields[f], levels[f]);
      const double p = probability(w);
      matched += p * count;
      total += count;
      for (std::size_t f = 0; f < nf; ++f) {
        if (levels[f] < 0) continue;
        m_sum[f][static_cast<std::size_t>(levels[f])] += p * count;
        u_sum[f][static_cast<std::size_t>(levels[f])] += (1 - p) * count;
      }
    }
    double change = std::abs(matched / total - share);
    share = std::clamp(matched / total, 1e-9, 1 - 1e-9);
    for (std::size_t f = 0; f < nf; ++f) {
      FieldModel &field = em.fields[f];
      const double m_known = [&] {
        double s = 0;
        for (double x : m_sum[f]) s += x;
        return s;
      }();
      std::vector<double> m(field.m.size()), u(field.u.size());
      double u_known = 0;
      for (double x : u_sum[f]) u_known += x;
      for (std::size_t i = 0; i < m.size(); ++i) {
        m[i] = (m_sum[f][i] + kPriorPairs * start.fields[f].m[i]) / (m_known + kPriorPairs);
        u[i] = (u_sum[f][i] + kPriorPairs * start.fields[f].u[i]) / (u_known + kPriorPairs);
      }
      normalise(m);
      normalise(u);
      for (std::size_t i = 0; i < m.size(); ++i) {
        change = std::max(change, std::abs(m[i] - field.m[i]));
        change = std::max(change, std::abs(u[i] - field.u[i]));
      }
      field.m = std::move(m);
      field.u = std::move(u);
    }
    result.iterations = it + 1;
    if (change < kTolerance) {
      result.converged = true;
      break;
    }
  }
  result.blocked_match_share = share;

  // The trained model scores pairs against all pairs of the workspace: m from EM, u from random
  // pairs, and the prior rescaled from the blocked pairs to all pairs.
  for (std::size_t f = 0; f < nf; ++f) model.fields[f].m = em.fields[f].m;
  estimate_u(model, input.random);
  if (input.total_pair_count > 0 && input.blocked_pair_count > 0)
    model.prior = std::clamp(share * input.blocked_pair_count / input.total_pair_count, 1e-12, 0.5);
  return result;
}

}  // namespace crm::match
