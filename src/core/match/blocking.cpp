#include "core/match/blocking.hpp"

#include <algorithm>

namespace crm::match {

BlockedPairs blocked_pairs(const std::vector<std::vector<std::int64_t>> &keys,
                           const std::vector<bool> &fresh, CancelCheck cancel,
                           std::size_t max_block) {
  struct Entry {
    std::int64_t key;
    std::uint32_t record;
  };
  std::vector<Entry> entries;
  std::size_t total = 0;
  for (const auto &k : keys) total += k.size();
  entries.reserve(total);
  for (std::uint32_t i = 0; i < keys.size(); ++i)
    for (std::int64_t k : keys[i]) entries.push_back({k, i});
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.key != b.key ? a.key < b.key : a.record < b.record;
  });
  poll_cancel(cancel);

  BlockedPairs out;
  std::size_t polled = 0;
  for (std::size_t begin = 0; begin < entries.size();) {
    std::size_t end = begin + 1;
    while (end < entries.size() && entries[end].key == entries[begin].key) ++end;
    if (end - begin > max_block) {
      ++out.oversized_keys;
    } else {
      for (std::size_t i = begin; i < end; ++i)
        for (std::size_t j = i + 1; j < end; ++j)
          if (fresh[entries[i].record] || fresh[entries[j].record])
            out.pairs.emplace_back(entries[i].record, entries[j].record);
      if ((polled += (end - begin) * (end - begin)) > (1u << 20)) {
        polled = 0;
        poll_cancel(cancel);
      }
    }
    begin = end;
  }
  std::sort(out.pairs.begin(), out.pairs.end());
  out.pairs.erase(std::unique(out.pairs.begin(), out.pairs.end()), out.pairs.end());
  return out;
}

}  // namespace crm::match
