// Fuzzes the JSON Schema subset of AI autofill (core/ai/json_schema.hpp). Input: a schema on the
// first line, a newline, then the instance (JSON text, newlines and all); text that does not parse
// is used as a JSON string, so every input reaches the validator. The instance is checked against
// the schema, and so is the schema against itself (a schema's own text exercises const, enum and
// nesting). Promises: the results are deterministic; a refused schema is never applied
// ("invalid schema: " and the refusal); every message starts "at <pointer>: ", is valid UTF-8
// without control characters, stays within a bound, and never repeats an instance string longer
// than kMaxEchoedBytes; true accepts every instance no deeper than kMaxInstanceDepth, false none.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/ai/json_schema.hpp"
#include "fuzz_support.hpp"

namespace {

using crm::fuzz::require;
using nlohmann::json;

json parse_or_string(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    // Invalid UTF-8 stays out of the string (nlohmann never parses such a string either).
    std::string s;
    for (unsigned char c : text) s += c < 0x80 ? static_cast<char>(c) : '?';
    return s;
  }
  return j;
}

bool valid_utf8_without_controls(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80                ? 1
                    : c >= 0xC2 && c < 0xE0 ? 2
                    : c >= 0xE0 && c < 0xF0 ? 3
                    : c >= 0xF0 && c < 0xF5 ? 4
                                            : 0;
    if (n == 0 || i + n > s.size() || c < 0x20 || c == 0x7F) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

std::size_t depth_of(const json &j) {
  if (!j.is_structured()) return 0;
  std::size_t deepest = 0;
  for (const json &child : j) {
    const std::size_t d = depth_of(child);
    if (d > deepest) deepest = d;
  }
  return deepest + 1;
}

// Every string value of the instance (keys aside: pointers repeat them, cut) longer than the
// echo bound and holding none of the characters messages are built with (' ', '/', '"', escapes),
// so that a message holding one can only have copied it.
bool echoes_long_string(const json &instance, const std::string &message) {
  if (instance.is_string()) {
    const std::string &s = instance.get_ref<const std::string &>();
    return s.size() > crm::ai::kMaxEchoedBytes && s.find_first_of(" /\"\\~") == std::string::npos &&
           message.find(s) != std::string::npos;
  }
  if (!instance.is_structured()) return false;
  for (const json &child : instance)
    if (echoes_long_string(child, message)) return true;
  return false;
}

// A message bound: pointers of at most kMaxInstanceDepth + 1 segments, each at most
// kMaxEchoedBytes bytes of which each may be written in 6 ("\u001F"), and a short reason that may
// quote one name likewise.
constexpr std::size_t kMaxMessage = (crm::ai::kMaxInstanceDepth + 3) * (6 * 60 + 4) + 200;

void check_message(const std::optional<std::string> &m, const json &instance) {
  if (!m) return;
  require(m->rfind("at ", 0) == 0 || m->rfind("invalid schema: at ", 0) == 0,
          "a message starts with its pointer", *m);
  require(m->find(": ") != std::string::npos, "a message has a reason", *m);
  require(valid_utf8_without_controls(*m), "a message is valid UTF-8 without control characters",
          *m);
  require(m->size() <= kMaxMessage, "a message is bounded", *m);
  require(!echoes_long_string(instance, *m), "a message repeats no long instance string", *m);
}

void check(const json &schema, const json &instance, const std::optional<std::string> &refusal) {
  const std::optional<std::string> violation = crm::ai::schema_violation(schema, instance);
  require(crm::ai::schema_violation(schema, instance) == violation, "validation is deterministic");
  if (refusal)
    require(violation == "invalid schema: " + *refusal, "a refused schema is never applied",
            violation.value_or(""));
  else
    require(!violation || violation->rfind("invalid schema", 0) != 0,
            "an accepted schema is applied", *violation);
  check_message(violation, instance);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const auto parts = crm::fuzz::split_lines(crm::fuzz::as_text(data, size), 2);
  const json schema = parse_or_string(parts[0]);
  const json instance = parse_or_string(parts[1]);

  const std::optional<std::string> refusal = crm::ai::unsupported_schema(schema);
  require(crm::ai::unsupported_schema(schema) == refusal, "the schema check is deterministic");
  if (refusal) {
    require(refusal->rfind("at ", 0) == 0, "a refusal starts with its pointer", *refusal);
    require(valid_utf8_without_controls(*refusal), "a refusal is valid UTF-8", *refusal);
  }
  check(schema, instance, refusal);
  check(schema, schema, refusal);

  const bool shallow = depth_of(instance) <= crm::ai::kMaxInstanceDepth;
  require(crm::ai::schema_violation(true, instance).has_value() != shallow,
          "true accepts every instance within the depth bound");
  require(crm::ai::schema_violation(false, instance).has_value(), "false accepts nothing");
  return 0;
}
