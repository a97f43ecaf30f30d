// Fuzzes a record's way through duplicate detection after the normalisers: build_profile (every
// normaliser, street and text folding, the attributes' JSON), blocking keys and the comparison of
// two profiles. Input: up to two records separated by an empty line, each a header line ('c...'
// for a company, anything else for a person, then a default region), one line per source column
// ("\N" for NULL; the email column's tab-separated extra values are additional emails) and the
// rest as the attributes' JSON. Keys are sorted, unique and never 0; every comparison level is
// known (-1) or one of its comparator's levels; two records compare alike in either order.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/match/compare.hpp"
#include "core/match/keys.hpp"
#include "core/match/model.hpp"
#include "core/match/profile.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace crm::match;
using crm::fuzz::require;

const std::vector<std::string> kAttributeKeys = {"industry", "tier", "size"};

// Stands in for fuzzystrmatch's Double Metaphone, which lives in Postgres: what matters here is a
// code that depends on the word.
std::string phonetic(std::string_view word) {
  std::string code;
  for (char c : word.substr(0, 4)) code += static_cast<char>(c & ~0x20);
  return code;
}

struct Record {
  RecordKind kind;
  std::string region;
  RawRecord raw;
};

Record parse_record(std::string_view text) {
  const std::size_t columns = 10;  // the most of either kind
  std::vector<std::string_view> lines = crm::fuzz::split_lines(text, columns + 2);
  Record r;
  r.kind = !lines[0].empty() && lines[0][0] == 'c' ? RecordKind::Company : RecordKind::Person;
  r.region = std::string(lines[0].substr(std::min<std::size_t>(1, lines[0].size())));
  const std::size_t n = source_columns(r.kind).size();
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view value = lines[1 + i];
    if (value == "\\N") {
      r.raw.columns.push_back(std::nullopt);
      continue;
    }
    if (r.kind == RecordKind::Person && source_columns(r.kind)[i] == "email") {
      std::size_t tab = value.find('\t');
      const std::string_view first = value.substr(0, tab);
      while (tab != std::string_view::npos) {
        const std::size_t next = value.find('\t', tab + 1);
        r.raw.extra_emails.emplace_back(value.substr(tab + 1, next - tab - 1));
        tab = next;
      }
      value = first;
    }
    r.raw.columns.emplace_back(value);
  }
  // Lines past this kind's columns, and the rest, are the attributes' JSON.
  std::string json;
  for (std::size_t i = 1 + n; i < lines.size(); ++i) {
    if (i > 1 + n) json += '\n';
    json += lines[i];
  }
  r.raw.attributes = attribute_values(json, kAttributeKeys);
  return r;
}

void check_keys(const Record &r, const Profile &p) {
  const std::vector<std::int64_t> keys = blocking_keys(r.kind, p, 42, phonetic);
  require(std::adjacent_find(keys.begin(), keys.end(), std::greater_equal<>()) == keys.end(),
          "blocking keys are sorted and unique");
  require(std::find(keys.begin(), keys.end(), 0) == keys.end(), "no blocking key is 0");
  const std::vector<RuleKey> by_rule = blocking_keys_by_rule(r.kind, p, 42, phonetic);
  for (const RuleKey &k : by_rule)
    require(std::binary_search(keys.begin(), keys.end(), k.key),
            "the keys by rule are the blocking keys");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  crm::fuzz::load_reference();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text = crm::fuzz::as_text(data, size);
  const std::size_t gap = text.find("\n\n");
  const Record a = parse_record(text.substr(0, gap));
  const Record b = gap == std::string_view::npos ? a : parse_record(text.substr(gap + 2));

  const Profile pa = build_profile(a.kind, a.raw, a.region);
  const Profile pb = build_profile(b.kind, b.raw, b.region);
  const std::size_t base =
      a.kind == RecordKind::Person ? std::size_t{kPersonFields} : std::size_t{kCompanyFields};
  require(pa.fields.size() == base + kAttributeKeys.size(),
          "a profile holds the kind's fields, then one per attribute");
  require(build_profile(a.kind, a.raw, a.region) == pa, "build_profile is deterministic");
  require(fingerprint(pa) == fingerprint(build_profile(a.kind, a.raw, a.region)),
          "equal profiles have equal fingerprints");
  check_keys(a, pa);
  (void)street_name_word(pa[a.kind == RecordKind::Person ? int{kStreet} : int{kCompanyStreet}]);

  if (a.kind != b.kind) return 0;
  Model model = default_model(a.kind);
  add_attribute_fields(model, kAttributeKeys);
  const Levels ab = compare(model, pa, pb);
  require(ab.size() == model.fields.size(), "one level per model field");
  for (std::size_t i = 0; i < ab.size(); ++i)
    require(ab[i] >= -1 && ab[i] < static_cast<int>(level_names(model.fields[i].comparator).size()),
            "a level is unknown or one of its comparator's", model.fields[i].name);
  require(compare(model, pb, pa) == ab, "comparison is symmetric");
  require(!std::isnan(match_weight(model, ab)), "a match weight is a number");
  return 0;
}
