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
// Pairs' worth of belief in the starting m (a Dirichlet prior): a small workspace moves the model
// a little, a large one decides it. Without it, ten pairs would make every m 0 or 1.
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

// u from random pairs. Random pairs hold a few duplicates too (prior * pairs of them), which for
// rare levels (the same email) are most of what is seen: with prior and m known, they are taken
// out; a level seen too rarely keeps the value the model had.
void estimate_u(Model &model, const Model &start, const std::vector<Levels> &random, double prior) {
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
    for (std::size_t i = 0; i < seen.size(); ++i) {
      const double different = seen[i] - known * prior * field.m[i];
      field.u[i] =
          different >= kMinObserved ? different / (known * (1 - prior)) : start.fields[f].u[i];
    }
    normalise(field.u);
  }
}

struct SessionEstimate {
  SessionResult result;
  std::vector<std::vector<double>> m;  // per field; empty where not estimated
  std::vector<double> weight;          // expected duplicates with the field known
};

SessionEstimate run_session(const Model &model, const TrainingSession &session,
                            CancelCheck cancel) {
  const std::size_t nf = model.fields.size();
  std::vector<bool> estimated(nf, true);
  for (std::size_t f = 0; f < nf; ++f)
    for (const std::string &name : session.paired_on)
      if (model.fields[f].name == name) estimated[f] = false;
  const auto patterns = patterns_of(session.pairs);

  SessionEstimate out;
  out.result.name = session.name;
  out.m.assign(nf, {});
  out.weight.assign(nf, 0.0);
  std::vector<std::vector<double>> m(nf);
  for (std::size_t f = 0; f < nf; ++f) m[f] = model.fields[f].m;
  double share = 0.1;
  std::vector<double> known(nf, 0.0);
  for (int it = 0; it < kMaxIterations && !patterns.empty(); ++it) {
    poll_cancel(cancel);
    std::vector<std::vector<double>> sums(nf);
    for (std::size_t f = 0; f < nf; ++f) sums[f].assign(m[f].size(), 0.0);
    std::fill(known.begin(), known.end(), 0.0);
    double matched = 0, total = 0;
    const double prior = std::log2(share / (1 - share));
    for (const auto &[levels, count] : patterns) {
      double w = prior;
      for (std::size_t f = 0; f < nf; ++f)
        if (estimated[f] && levels[f] >= 0) {
          const auto l = static_cast<std::size_t>(levels[f]);
          w += std::log2(m[f][l] / model.fields[f].u[l]);
        }
      const double p = probability(w);
      matched += p * count;
      total += count;
      for (std::size_t f = 0; f < nf; ++f)
        if (estimated[f] && levels[f] >= 0) {
          sums[f][static_cast<std::size_t>(levels[f])] += p * count;
          known[f] += p * count;
        }
    }
    double change = std::abs(matched / total - share);
    share = std::clamp(matched / total, 1e-9, 1 - 1e-9);
    for (std::size_t f = 0; f < nf; ++f) {
      if (!estimated[f]) continue;
      std::vector<double> next(m[f].size());
      for (std::size_t i = 0; i < next.size(); ++i)
        next[i] = (sums[f][i] + kPriorPairs * model.fields[f].m[i]) / (known[f] + kPriorPairs);
      normalise(next);
      for (std::size_t i = 0; i < next.size(); ++i)
        change = std::max(change, std::abs(next[i] - m[f][i]));
      m[f] = std::move(next);
    }
    out.result.iterations = it + 1;
    if (change < kTolerance) {
      out.result.converged = true;
      break;
    }
  }
  out.result.match_share = patterns.empty() ? 0 : share;
  for (std::size_t f = 0; f < nf; ++f)
    if (estimated[f] && known[f] > 0) {
      out.m[f] = m[f];
      out.weight[f] = known[f];
    }
  return out;
}

}  // namespace

TrainingResult train(const Model &start, const TrainingInput &input, CancelCheck cancel) {
  TrainingResult result;
  result.model = start;
  Model &model = result.model;
  // First without duplicates among the random pairs; again once the prior and m are known.
  estimate_u(model, start, input.random, 0.0);

  const std::size_t nf = model.fields.size();
  std::vector<std::vector<double>> m_sum(nf);
  std::vector<double> weight(nf, 0.0);
  for (std::size_t f = 0; f < nf; ++f) m_sum[f].assign(model.fields[f].m.size(), 0.0);
  double best_duplicates = 0;
  for (const TrainingSession &session : input.sessions) {
    const SessionEstimate e = run_session(model, session, cancel);
    result.sessions.push_back(e.result);
    for (std::size_t f = 0; f < nf; ++f) {
      if (e.m[f].empty()) continue;
      for (std::size_t i = 0; i < e.m[f].size(); ++i) m_sum[f][i] += e.weight[f] * e.m[f][i];
      weight[f] += e.weight[f];
    }
    best_duplicates = std::max(best_duplicates, e.result.match_share * session.pair_count);
  }
  for (std::size_t f = 0; f < nf; ++f) {
    if (weight[f] <= 0) continue;
    for (std::size_t i = 0; i < m_sum[f].size(); ++i)
      model.fields[f].m[i] = m_sum[f][i] / weight[f];
    normalise(model.fields[f].m);
  }
  if (input.total_pair_count > 0 && best_duplicates > 0)
    model.prior = std::clamp(best_duplicates / input.total_pair_count, 1e-12, 0.5);
  estimate_u(model, start, input.random, model.prior);
  return result;
}

}  // namespace crm::match
