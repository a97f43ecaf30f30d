// Blocking keys: the values a record shares with the records it could duplicate. A new record is
// compared only with records holding one of its keys, never with the whole workspace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/match/profile.hpp"

namespace crm::match {

// A phonetic code of one folded word (the adapter supplies Double Metaphone from fuzzystrmatch).
using Phonetic = std::string (*)(std::string_view word);

// 64-bit keys, each a hash of the workspace, the kind, the key's rule and its value: records of
// different workspaces or kinds never share a key. Sorted, without duplicates, never 0.
std::vector<std::int64_t> blocking_keys(RecordKind kind, const Profile &profile,
                                        std::int64_t workspace, Phonetic phonetic);

// The same keys with the rule that made each (for training, which must know what a pair was
// paired on).
struct RuleKey {
  std::uint8_t rule;
  std::int64_t key;
};
std::vector<RuleKey> blocking_keys_by_rule(RecordKind kind, const Profile &profile,
                                           std::int64_t workspace, Phonetic phonetic);

// A blocking rule and the model fields its agreement implies: pairs found through it say nothing
// about how often duplicates agree on those fields.
struct BlockingRule {
  std::uint8_t rule;
  std::vector<std::string> fields;
};
std::vector<BlockingRule> blocking_rules(RecordKind kind);

}  // namespace crm::match
