#include "core/match/sets.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace crm::match {
namespace {

struct Edge {
  std::size_t a, b;
  double score;
  std::int64_t id_a, id_b;  // the records, for a tie-break independent of input order
  bool alive = true;
};

// The weaker of two pairs: lower score, then larger ids.
bool weaker(const Edge &x, const Edge &y) {
  if (x.score != y.score) return x.score < y.score;
  if (x.id_a != y.id_a) return x.id_a > y.id_a;
  return x.id_b > y.id_b;
}

class Graph {
 public:
  Graph(std::size_t nodes, std::vector<Edge> edges) : edges_(std::move(edges)), adjacent_(nodes) {
    for (std::size_t e = 0; e < edges_.size(); ++e) {
      adjacent_[edges_[e].a].push_back(e);
      adjacent_[edges_[e].b].push_back(e);
    }
    disc_.assign(nodes, 0);
    low_.assign(nodes, 0);
    size_.assign(nodes, 0);
  }

  // Cuts the qualifying bridges of the component made of these nodes, weakest first.
  void cut(const std::vector<std::size_t> &nodes, CancelCheck cancel) {
    if (nodes.size() < 4) return;  // no two sides of two
    for (;;) {
      poll_cancel(cancel);
      const std::size_t e = weakest_bridge(nodes);
      if (e == kNone) return;
      edges_[e].alive = false;
    }
  }

  const std::vector<Edge> &edges() const { return edges_; }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  struct Frame {
    std::size_t node, via, next;  // via: the edge it was reached by
  };

  // Tarjan's bridges over the alive edges, iteratively; a bridge qualifies when both sides hold
  // two or more records.
  std::size_t weakest_bridge(const std::vector<std::size_t> &nodes) {
    for (std::size_t n : nodes) disc_[n] = 0;
    std::size_t clock = 0, best = kNone;
    struct Found {
      std::size_t edge, below;
    };
    std::vector<Found> found;
    std::vector<Frame> stack;
    for (std::size_t root : nodes) {
      if (disc_[root] != 0) continue;
      found.clear();
      stack.push_back({root, kNone, 0});
      disc_[root] = low_[root] = ++clock;
      size_[root] = 1;
      while (!stack.empty()) {
        Frame &f = stack.back();
        if (f.next < adjacent_[f.node].size()) {
          const std::size_t e = adjacent_[f.node][f.next++];
          if (!edges_[e].alive || e == f.via) continue;
          const std::size_t other = edges_[e].a == f.node ? edges_[e].b : edges_[e].a;
          if (disc_[other] == 0) {
            disc_[other] = low_[other] = ++clock;
            size_[other] = 1;
            stack.push_back({other, e, 0});
          } else {
            low_[f.node] = std::min(low_[f.node], disc_[other]);
          }
          continue;
        }
        const Frame done = f;
        stack.pop_back();
        if (stack.empty()) break;
        Frame &parent = stack.back();
        low_[parent.node] = std::min(low_[parent.node], low_[done.node]);
        size_[parent.node] += size_[done.node];
        if (low_[done.node] > disc_[parent.node]) found.push_back({done.via, size_[done.node]});
      }
      const std::size_t total = size_[root];
      for (const Found &b : found)
        if (b.below >= 2 && total - b.below >= 2 &&
            (best == kNone || weaker(edges_[b.edge], edges_[best])))
          best = b.edge;
    }
    return best;
  }

  std::vector<Edge> edges_;
  std::vector<std::vector<std::size_t>> adjacent_;
  std::vector<std::size_t> disc_, low_, size_;
};

// Union-find over the alive edges: each node's root.
std::vector<std::size_t> components(std::size_t nodes, const std::vector<Edge> &edges) {
  std::vector<std::size_t> parent(nodes);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](std::size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const Edge &e : edges) {
    if (!e.alive) continue;
    const std::size_t ra = find(e.a), rb = find(e.b);
    if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);
  }
  for (std::size_t i = 0; i < nodes; ++i) parent[i] = find(i);
  return parent;
}

}  // namespace

std::vector<SetMember> coherent_sets(const std::vector<CandidatePair> &pairs, CancelCheck cancel) {
  std::unordered_map<std::int64_t, std::size_t> index;
  std::vector<std::int64_t> ids;
  auto index_of = [&](std::int64_t id) {
    auto [it, inserted] = index.try_emplace(id, ids.size());
    if (inserted) ids.push_back(id);
    return it->second;
  };
  std::vector<Edge> edges;
  edges.reserve(pairs.size());
  for (const CandidatePair &p : pairs) {
    const std::int64_t lo = std::min(p.record_id, p.other_id),
                       hi = std::max(p.record_id, p.other_id);
    edges.push_back({index_of(lo), index_of(hi), p.score, lo, hi});
  }
  Graph graph(ids.size(), std::move(edges));
  {
    const std::vector<std::size_t> root = components(ids.size(), graph.edges());
    std::unordered_map<std::size_t, std::vector<std::size_t>> members;
    for (std::size_t i = 0; i < ids.size(); ++i) members[root[i]].push_back(i);
    for (auto &[r, nodes] : members) {
      // Visit in record id order, so that the search (and nothing else) is order independent.
      std::sort(nodes.begin(), nodes.end(),
                [&](std::size_t x, std::size_t y) { return ids[x] < ids[y]; });
      graph.cut(nodes, cancel);
    }
  }
  const std::vector<std::size_t> root = components(ids.size(), graph.edges());
  std::unordered_map<std::size_t, std::pair<std::int64_t, std::size_t>> sets;  // smallest, count
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto [it, inserted] = sets.try_emplace(root[i], ids[i], 0);
    it->second.first = std::min(it->second.first, ids[i]);
    ++it->second.second;
  }
  std::vector<SetMember> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto &[smallest, count] = sets.at(root[i]);
    if (count >= 2) out.push_back({smallest, ids[i]});
  }
  std::sort(out.begin(), out.end(), [](const SetMember &x, const SetMember &y) {
    return x.set_id != y.set_id ? x.set_id < y.set_id : x.record_id < y.record_id;
  });
  return out;
}

}  // namespace crm::match
