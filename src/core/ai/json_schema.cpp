// The JSON Schema subset of json_schema.hpp: checking a schema, then validating an instance
// against it by interpreting the schema's json directly (a checked schema holds nothing else).
#include "core/ai/json_schema.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <new>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace crm::ai {
namespace {

using json = nlohmann::json;

// ---- Pointers and messages ------------------------------------------------------------------

// One step of a JSON pointer: an object key (owned by the json being walked) or an array index.
struct Segment {
  const std::string *key;
  std::size_t index;
};
using Path = std::vector<Segment>;

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode's table 3-7: no overlong
// forms, no surrogates, nothing past U+10FFFF), 0 when none starts there.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u;
  };
  auto continues = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    const unsigned b = byte(k);
    return b >= lo && b <= hi;
  };
  const unsigned c = byte(0);
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return continues(1) ? 2 : 0;
  if (c < 0xF0) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return continues(1, lo, hi) && continues(2) ? 3 : 0;
  }
  if (c < 0xF5) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return continues(1, lo, hi) && continues(2) && continues(3) ? 4 : 0;
  }
  return 0;
}

// Code points: each well-formed sequence once, each byte that starts none once.
std::size_t code_points(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++count) {
    const std::size_t n = utf8_sequence(s, i);
    i += n == 0 ? 1 : n;
  }
  return count;
}

// s as a pointer segment (RFC 6901: '~' as "~0", '/' as "~1") of at most kMaxEchoedBytes of s,
// cut at a character boundary and then ending in "..."; control characters are written \u00XX and
// bytes of invalid UTF-8 \xXX, so a message is always valid UTF-8 without control characters.
void append_excerpt(std::string &out, std::string_view s) {
  std::size_t used = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    const std::size_t width = n == 0 ? 1 : n;
    if (used + width > kMaxEchoedBytes) {
      out += "...";
      return;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    char escaped[8];
    if (n == 0) {
      std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
      out += escaped;
    } else if (n == 1 && (c < 0x20 || c == 0x7F)) {
      std::snprintf(escaped, sizeof escaped, "\\u%04X", c);
      out += escaped;
    } else if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.append(s.substr(i, n));
    }
    i += width;
    used += width;
  }
}

std::string render(const Path &path) {
  if (path.empty()) return "(root)";
  std::string out;
  for (const Segment &segment : path) {
    out += '/';
    if (segment.key != nullptr)
      append_excerpt(out, *segment.key);
    else
      out += std::to_string(segment.index);
  }
  return out;
}

std::string at(const Path &path, std::string_view reason) {
  std::string out = "at ";
  out += render(path);
  out += ": ";
  out += reason;
  return out;
}

// A keyword or property name quoted in a reason (from the schema, cut like any segment).
std::string in_quotes(std::string_view name) {
  std::string out = "\"";
  append_excerpt(out, name);
  out += '"';
  return out;
}

// A number of the schema as written in a reason (numbers never hold strings: dump cannot throw).
std::string number_text(const json &number) {
  return number.dump();
}

// Pushes a segment for the life of a scope.
class Step {
 public:
  Step(Path &path, const std::string &key) : path_(path) { path_.push_back({&key, 0}); }
  Step(Path &path, std::size_t index) : path_(path) { path_.push_back({nullptr, index}); }
  ~Step() { path_.pop_back(); }
  Step(const Step &) = delete;
  Step &operator=(const Step &) = delete;

 private:
  Path &path_;
};

// ---- Numbers ----------------------------------------------------------------------------------

constexpr double kTwo63 = 9223372036854775808.0;
constexpr double kTwo64 = 18446744073709551616.0;
constexpr int kUnordered = 2;

template <typename T>
int three_way(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int compare(std::int64_t a, std::uint64_t b) {
  return a < 0 ? -1 : three_way(static_cast<std::uint64_t>(a), b);
}

// An integer against a double, exactly: the double's integral part is compared as an integer
// (representable: it lies within the integer type's range), then its fraction decides ties.
template <typename Int>
int compare_with_double(Int a, double d, double below, double above) {
  if (std::isnan(d)) return kUnordered;
  if (d >= above) return -1;
  if (d < below) return 1;
  const double whole = std::trunc(d);
  const Int t = static_cast<Int>(whole);
  if (a != t) return a < t ? -1 : 1;
  const double fraction = d - whole;
  return fraction > 0 ? -1 : (fraction < 0 ? 1 : 0);
}

int compare(std::int64_t a, double d) {
  return compare_with_double(a, d, -kTwo63, kTwo63);
}

int compare(std::uint64_t a, double d) {
  if (!std::isnan(d) && d < 0) return 1;
  return compare_with_double(a, d, 0.0, kTwo64);
}

int flip(int c) {
  return c == kUnordered ? c : -c;
}

// -1, 0 or 1 by mathematical value; kUnordered when either is NaN. Both must be numbers.
int compare_numbers(const json &a, const json &b) {
  using V = json::value_t;
  const auto i = [](const json &j) { return j.get_ref<const json::number_integer_t &>(); };
  const auto u = [](const json &j) { return j.get_ref<const json::number_unsigned_t &>(); };
  const auto f = [](const json &j) { return j.get_ref<const json::number_float_t &>(); };
  switch (a.type()) {
    case V::number_integer:
      if (b.is_number_integer() && !b.is_number_unsigned()) return three_way(i(a), i(b));
      if (b.is_number_unsigned()) return compare(i(a), u(b));
      return compare(i(a), f(b));
    case V::number_unsigned:
      if (b.is_number_unsigned()) return three_way(u(a), u(b));
      if (b.is_number_integer()) return flip(compare(i(b), u(a)));
      return compare(u(a), f(b));
    default: {
      if (b.is_number_unsigned()) return flip(compare(u(b), f(a)));
      if (b.is_number_integer()) return flip(compare(i(b), f(a)));
      const double x = f(a), y = f(b);
      if (std::isnan(x) || std::isnan(y)) return kUnordered;
      return three_way(x, y);
    }
  }
}

bool is_integral(const json &number) {
  if (!number.is_number_float()) return true;
  const double d = number.get_ref<const json::number_float_t &>();
  return std::isfinite(d) && std::trunc(d) == d;
}

// A non-negative integer (2.0 counts as 2; beyond 2^64 - 1, 2^64 - 1), or nullopt.
std::optional<std::uint64_t> count_value(const json &j) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  if (j.is_number_integer()) {
    const std::int64_t i = j.get<std::int64_t>();
    if (i < 0) return std::nullopt;
    return static_cast<std::uint64_t>(i);
  }
  if (j.is_number_float() && is_integral(j)) {
    const double d = j.get<double>();
    if (d < 0) return std::nullopt;
    if (d >= kTwo64) return std::numeric_limits<std::uint64_t>::max();
    return static_cast<std::uint64_t>(d);
  }
  return std::nullopt;
}

// ---- Equality (enum, const) -------------------------------------------------------------------

// JSON Schema's equality. The recursion follows both values at once, so it is as deep as the
// shallower of them: the schema's side is at most kMaxSchemaDepth deep.
bool equal(const json &a, const json &b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case json::value_t::null:
      return true;
    case json::value_t::boolean:
      return a.get<bool>() == b.get<bool>();
    case json::value_t::string:
      return a.get_ref<const std::string &>() == b.get_ref<const std::string &>();
    case json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (std::size_t k = 0; k < a.size(); ++k)
        if (!equal(a[k], b[k])) return false;
      return true;
    }
    case json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        const auto other = b.find(it.key());
        if (other == b.end() || !equal(it.value(), *other)) return false;
      }
      return true;
    }
    default:
      return false;  // binary and discarded values: refused before comparing
  }
}

// ---- Values that are not JSON, and bounds ------------------------------------------------------

// Why a json value is no JSON value (binary, discarded, a non-finite number), or nullptr.
const char *not_json(const json &j) {
  if (j.is_binary()) return "not a JSON value (binary)";
  if (j.is_discarded()) return "not a JSON value (discarded)";
  if (j.is_number_float() && !std::isfinite(j.get_ref<const json::number_float_t &>()))
    return "not a JSON value (non-finite number)";
  return nullptr;
}

// Walks a document counting its values, refusing one that nests deeper than max_depth, holds
// more than max_nodes values (0: no limit) or holds something that is no JSON value. The
// recursion stops at max_depth + 1.
class Bounds {
 public:
  Bounds(std::size_t max_depth, std::size_t max_nodes)
      : max_depth_(max_depth), max_nodes_(max_nodes) {}

  std::optional<std::string> walk(const json &j, std::size_t depth, Path &path) {
    if (const char *why = not_json(j)) return at(path, why);
    if (max_nodes_ != 0 && ++nodes_ > max_nodes_)
      return at(path, "more than " + std::to_string(max_nodes_) + " JSON values");
    if (!j.is_structured()) return std::nullopt;
    if (depth + 1 > max_depth_)
      return at(path, "nested more than " + std::to_string(max_depth_) + " deep");
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        Step step(path, it.key());
        if (auto why = walk(it.value(), depth + 1, path)) return why;
      }
    } else {
      for (std::size_t k = 0; k < j.size(); ++k) {
        Step step(path, k);
        if (auto why = walk(j[k], depth + 1, path)) return why;
      }
    }
    return std::nullopt;
  }

 private:
  std::size_t max_depth_;
  std::size_t max_nodes_;
  std::size_t nodes_ = 0;
};

// ---- Checking a schema ----------------------------------------------------------------------

constexpr std::string_view kTypeNames[] = {"null",   "boolean", "object", "array",
                                           "number", "string",  "integer"};

bool is_type_name(const json &j) {
  if (!j.is_string()) return false;
  for (std::string_view name : kTypeNames)
    if (j.get_ref<const std::string &>() == name) return true;
  return false;
}

bool is_draft7_uri(const std::string &uri) {
  return uri == "http://json-schema.org/draft-07/schema#" ||
         uri == "http://json-schema.org/draft-07/schema" ||
         uri == "https://json-schema.org/draft-07/schema#" ||
         uri == "https://json-schema.org/draft-07/schema";
}

constexpr std::string_view kKeywords[] = {"type",
                                          "enum",
                                          "const",
                                          "properties",
                                          "required",
                                          "additionalProperties",
                                          "items",
                                          "minItems",
                                          "maxItems",
                                          "minLength",
                                          "maxLength",
                                          "minimum",
                                          "maximum",
                                          "exclusiveMinimum",
                                          "exclusiveMaximum",
                                          "title",
                                          "description",
                                          "default",
                                          "examples",
                                          "$schema",
                                          "$comment"};

bool is_supported_keyword(const std::string &keyword) {
  for (std::string_view known : kKeywords)
    if (keyword == known) return true;
  return false;
}

// The document is already within its bounds: the recursion is at most kMaxSchemaDepth deep.
std::optional<std::string> check_schema(const json &schema, Path &path) {
  if (schema.is_boolean()) return std::nullopt;
  if (!schema.is_object()) return at(path, "a schema must be an object or a boolean");
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    const std::string &keyword = it.key();
    const json &value = it.value();
    // Refused keywords are reported at the subschema that holds them, malformed values at the
    // value.
    if (!is_supported_keyword(keyword))
      return at(path, "keyword " + in_quotes(keyword) + " is not supported");
    Step step(path, keyword);
    const auto malformed = [&](std::string_view what) {
      return at(path, in_quotes(keyword) + " must be " + std::string(what));
    };
    if (keyword == "type") {
      if (value.is_string()) {
        if (!is_type_name(value))
          return at(path, "unknown type " + in_quotes(value.get<std::string>()));
        continue;
      }
      if (!value.is_array() || value.empty())
        return malformed("a type name or a non-empty array of distinct type names");
      for (std::size_t k = 0; k < value.size(); ++k) {
        Step element(path, k);
        if (!value[k].is_string()) return malformed("a type name");
        if (!is_type_name(value[k]))
          return at(path, "unknown type " + in_quotes(value[k].get_ref<const std::string &>()));
        for (std::size_t m = 0; m < k; ++m)
          if (value[m] == value[k]) return at(path, "type names must be distinct");
      }
    } else if (keyword == "enum") {
      if (!value.is_array() || value.empty()) return malformed("a non-empty array");
    } else if (keyword == "properties") {
      if (!value.is_object()) return malformed("an object of schemas");
      for (auto property = value.begin(); property != value.end(); ++property) {
        Step name(path, property.key());
        if (auto why = check_schema(property.value(), path)) return why;
      }
    } else if (keyword == "required") {
      if (!value.is_array()) return malformed("an array of distinct strings");
      std::unordered_set<std::string_view> seen;  // up to kMaxSchemaNodes names: no quadratic
      for (std::size_t k = 0; k < value.size(); ++k) {
        Step element(path, k);
        if (!value[k].is_string() || !seen.insert(value[k].get_ref<const std::string &>()).second)
          return malformed("an array of distinct strings");
      }
    } else if (keyword == "additionalProperties") {
      if (auto why = check_schema(value, path)) return why;
    } else if (keyword == "items") {
      if (value.is_array()) return at(path, "the array form of \"items\" is not supported");
      if (auto why = check_schema(value, path)) return why;
    } else if (keyword == "minItems" || keyword == "maxItems" || keyword == "minLength" ||
               keyword == "maxLength") {
      if (!count_value(value)) return malformed("a non-negative integer");
    } else if (keyword == "minimum" || keyword == "maximum") {
      if (!value.is_number()) return malformed("a number");
    } else if (keyword == "exclusiveMinimum" || keyword == "exclusiveMaximum") {
      if (!value.is_number()) return malformed("a number (draft 7 form)");
    } else if (keyword == "title" || keyword == "description" || keyword == "$comment") {
      if (!value.is_string()) return malformed("a string");
    } else if (keyword == "examples") {
      if (!value.is_array()) return malformed("an array");
    } else if (keyword == "$schema") {
      if (!value.is_string() || !is_draft7_uri(value.get_ref<const std::string &>()))
        return malformed("draft 7's URI, http://json-schema.org/draft-07/schema#");
    }
  }
  return std::nullopt;
}

std::optional<std::string> check(const json &schema) {
  Path path;
  Bounds bounds(kMaxSchemaDepth, kMaxSchemaNodes);
  if (auto why = bounds.walk(schema, 0, path)) return why;
  return check_schema(schema, path);
}

// ---- Validating -------------------------------------------------------------------------------

const char *kind_of(const json &v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    default:
      return "number";
  }
}

bool has_type(const json &v, const std::string &type) {
  if (type == "integer") return v.is_number() && is_integral(v);
  return type == kind_of(v);
}

// The schema has been checked: every keyword is one of the subset and well formed.
class Validator {
 public:
  std::optional<std::string> validate(const json &schema, const json &v) {
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return std::nullopt;
      return fail("no value is allowed here (schema false)");
    }
    if (auto why = check_type(schema, v)) return why;
    if (const auto c = schema.find("const"); c != schema.end() && !equal(*c, v))
      return fail("value is not the schema's const");
    if (const auto e = schema.find("enum"); e != schema.end()) {
      bool found = false;
      for (const json &option : *e)
        if ((found = equal(option, v))) break;
      if (!found) return fail("value is none of the " + std::to_string(e->size()) + " in enum");
    }
    if (v.is_number()) return check_number(schema, v);
    if (v.is_string()) return check_string(schema, v.get_ref<const std::string &>());
    if (v.is_array()) return check_array(schema, v);
    if (v.is_object()) return check_object(schema, v);
    return std::nullopt;
  }

 private:
  std::optional<std::string> fail(std::string_view reason) const { return at(path_, reason); }

  std::optional<std::string> check_type(const json &schema, const json &v) {
    const auto type = schema.find("type");
    if (type == schema.end()) return std::nullopt;
    if (type->is_string()) {
      const std::string &name = type->get_ref<const std::string &>();
      if (has_type(v, name)) return std::nullopt;
      return fail("expected " + name + ", got " + kind_of(v));
    }
    std::string names;
    for (const json &t : *type) {
      const std::string &name = t.get_ref<const std::string &>();
      if (has_type(v, name)) return std::nullopt;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    return fail("expected one of " + names + "; got " + kind_of(v));
  }

  std::optional<std::string> check_number(const json &schema, const json &v) {
    struct Limit {
      const char *keyword;
      bool (*holds)(int);
      const char *relation;
    };
    static constexpr Limit kLimits[] = {
        {"minimum", [](int c) { return c == 0 || c == 1; }, "less than minimum"},
        {"maximum", [](int c) { return c == 0 || c == -1; }, "greater than maximum"},
        {"exclusiveMinimum", [](int c) { return c == 1; }, "not greater than exclusiveMinimum"},
        {"exclusiveMaximum", [](int c) { return c == -1; }, "not less than exclusiveMaximum"},
    };
    for (const Limit &limit : kLimits) {
      const auto bound = schema.find(limit.keyword);
      if (bound == schema.end() || limit.holds(compare_numbers(v, *bound))) continue;
      return fail(std::string("number is ") + limit.relation + " " + number_text(*bound));
    }
    return std::nullopt;
  }

  std::optional<std::string> check_string(const json &schema, const std::string &s) {
    const auto min = schema.find("minLength"), max = schema.find("maxLength");
    if (min == schema.end() && max == schema.end()) return std::nullopt;
    const std::size_t n = code_points(s);
    if (min != schema.end() && n < *count_value(*min))
      return fail("string has " + std::to_string(n) + " code points, fewer than minLength " +
                  number_text(*min));
    if (max != schema.end() && n > *count_value(*max))
      return fail("string has " + std::to_string(n) + " code points, more than maxLength " +
                  number_text(*max));
    return std::nullopt;
  }

  std::optional<std::string> check_array(const json &schema, const json &v) {
    const std::size_t n = v.size();
    if (const auto min = schema.find("minItems"); min != schema.end() && n < *count_value(*min))
      return fail("array has " + std::to_string(n) + " items, fewer than minItems " +
                  number_text(*min));
    if (const auto max = schema.find("maxItems"); max != schema.end() && n > *count_value(*max))
      return fail("array has " + std::to_string(n) + " items, more than maxItems " +
                  number_text(*max));
    const auto items = schema.find("items");
    if (items == schema.end()) return std::nullopt;
    for (std::size_t k = 0; k < n; ++k) {
      Step step(path_, k);
      if (auto why = validate(*items, v[k])) return why;
    }
    return std::nullopt;
  }

  std::optional<std::string> check_object(const json &schema, const json &v) {
    if (const auto required = schema.find("required"); required != schema.end())
      for (const json &name : *required)
        if (!v.contains(name.get_ref<const std::string &>()))
          return fail("missing required property " +
                      in_quotes(name.get_ref<const std::string &>()));
    const auto properties = schema.find("properties");
    const auto additional = schema.find("additionalProperties");
    for (auto member = v.begin(); member != v.end(); ++member) {
      Step step(path_, member.key());
      if (properties != schema.end()) {
        if (const auto p = properties->find(member.key()); p != properties->end()) {
          if (auto why = validate(*p, member.value())) return why;
          continue;
        }
      }
      if (additional == schema.end()) continue;
      if (additional->is_boolean() && !additional->get<bool>())
        return fail("property is not allowed (additionalProperties is false)");
      if (auto why = validate(*additional, member.value())) return why;
    }
    return std::nullopt;
  }

  Path path_;
};

// "out of memory" fits std::string's small buffer: returning it allocates nothing.
std::optional<std::string> out_of_memory() noexcept {
  return std::string("out of memory");
}

}  // namespace

std::optional<std::string> unsupported_schema(const nlohmann::json &schema) noexcept {
  try {
    return check(schema);
  } catch (const std::bad_alloc &) {
    return out_of_memory();
  } catch (...) {
    return std::string("internal error");
  }
}

std::optional<std::string> schema_violation(const nlohmann::json &schema,
                                            const nlohmann::json &instance) noexcept {
  try {
    if (auto why = check(schema)) return "invalid schema: " + *why;
    Path path;
    Bounds bounds(kMaxInstanceDepth, 0);
    if (auto why = bounds.walk(instance, 0, path)) return why;
    return Validator().validate(schema, instance);
  } catch (const std::bad_alloc &) {
    return out_of_memory();
  } catch (...) {
    return std::string("internal error");
  }
}

}  // namespace crm::ai
