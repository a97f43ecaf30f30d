#include "core/match/sets.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace crm::match {

std::vector<SetMember> connected_sets(
    const std::vector<std::pair<std::int64_t, std::int64_t>> &pairs) {
  std::unordered_map<std::int64_t, std::size_t> index;
  std::vector<std::int64_t> ids;
  auto index_of = [&](std::int64_t id) {
    auto [it, inserted] = index.try_emplace(id, ids.size());
    if (inserted) ids.push_back(id);
    return it->second;
  };
  std::vector<std::pair<std::size_t, std::size_t>> edges;
  edges.reserve(pairs.size());
  for (const auto &[a, b] : pairs) edges.emplace_back(index_of(a), index_of(b));
  std::vector<std::size_t> parent(ids.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](std::size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const auto &[a, b] : edges) {
    const std::size_t ra = find(a), rb = find(b);
    if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);
  }
  std::unordered_map<std::size_t, std::int64_t> smallest;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto [it, inserted] = smallest.try_emplace(find(i), ids[i]);
    if (!inserted) it->second = std::min(it->second, ids[i]);
  }
  std::vector<SetMember> out;
  out.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) out.push_back({smallest[find(i)], ids[i]});
  std::sort(out.begin(), out.end(), [](const SetMember &x, const SetMember &y) {
    return x.set_id != y.set_id ? x.set_id < y.set_id : x.record_id < y.record_id;
  });
  return out;
}

}  // namespace crm::match
