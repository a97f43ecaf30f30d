// What the libFuzzer harnesses share: where the reference lists are, splitting one input into
// several arguments, and the checks of what normalize.hpp promises about a result. A broken
// promise aborts, which libFuzzer reports as a crash with the input that broke it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/match/reference.hpp"

namespace crm::fuzz {

inline std::string_view as_text(const std::uint8_t *data, std::size_t size) {
  return {reinterpret_cast<const char *>(data), size};
}

// The reference lists (nicknames, legal terms, free and disposable domains): CRM_REFERENCE_DIR,
// which scripts/fuzz sets (../shared/data/reference, or the small lists of test/fuzz/reference
// without it). Loaded now, so a missing directory stops the fuzzer at once rather than being
// reported as a crash of the first input.
inline void load_reference() {
  const char *dir = std::getenv("CRM_REFERENCE_DIR");
  if (dir == nullptr || *dir == '\0') {
    std::fprintf(stderr, "set CRM_REFERENCE_DIR to a reference directory (see scripts/fuzz)\n");
    std::exit(2);
  }
  crm::match::set_reference_dir(dir);
  (void)crm::match::reference();
}

// The input cut at its first n-1 newlines into n parts (the last holds the rest, newlines and
// all); missing parts are empty. Seeds are written the same way.
inline std::vector<std::string_view> split_lines(std::string_view s, std::size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    const std::size_t nl = s.find('\n');
    if (nl == std::string_view::npos) break;
    parts.push_back(s.substr(0, nl));
    s.remove_prefix(nl + 1);
  }
  parts.push_back(s);
  parts.resize(n);
  return parts;
}

[[noreturn]] inline void broken(const char *promise, std::string_view value) {
  std::fprintf(stderr, "broken promise: %s; value \"%.*s\"\n", promise,
               static_cast<int>(value.size()), value.data());
  std::abort();
}

inline void require(bool holds, const char *promise, std::string_view value = {}) {
  if (!holds) broken(promise, value);
}

inline bool is_lower_ascii_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// "space-separated lower-case ASCII tokens": no empty token, no space at either end.
inline void require_tokens(std::string_view s, const char *what) {
  require(!s.empty() && s.front() != ' ' && s.back() != ' ', what, s);
  char previous = ' ';
  for (char c : s) {
    require(is_lower_ascii_token_char(c) || (c == ' ' && previous != ' '), what, s);
    previous = c;
  }
}

// A domain in lower-case ASCII (punycode for IDN): letters, digits, '-' and '.', at least two
// labels, none empty.
inline void require_ascii_domain(std::string_view s, const char *what) {
  require(s.size() >= 3 && s.front() != '.' && s.back() != '.' &&
              s.find('.') != std::string_view::npos && s.find("..") == std::string_view::npos,
          what, s);
  for (char c : s) require(is_lower_ascii_token_char(c) || c == '-' || c == '.', what, s);
}

}  // namespace crm::fuzz
