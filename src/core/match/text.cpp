#include "core/match/text.hpp"

#include <algorithm>
#include <array>

#include <unicode/translit.h>
#include <unicode/unistr.h>

#include <memory>

#include "core/error.hpp"

namespace crm::match {
namespace {

constexpr std::size_t kMaxFolded = 64 * 1024;

// Created on first use and kept for the life of the process: building a transliterator parses
// its rules and takes milliseconds.
icu::Transliterator &to_ascii() {
  static std::unique_ptr<icu::Transliterator> instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::Transliterator> t(icu::Transliterator::createInstance(
        "Any-Latin; Latin-ASCII; Lower", UTRANS_FORWARD, status));
    if (U_FAILURE(status) || !t)
      throw Error("XX000", "cannot create the ICU transliterator", u_errorName(status));
    return t;
  }();
  return *instance;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

}  // namespace

std::string fold_text(std::string_view text) {
  if (text.size() > kMaxFolded) return {};
  std::string ascii;
  if (is_ascii(text)) {
    ascii.assign(text);
  } else {
    icu::UnicodeString u = icu::UnicodeString::fromUTF8(
        icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
    if (u.isBogus()) return {};
    to_ascii().transliterate(u);
    u.toUTF8String(ascii);
  }
  std::string out;
  out.reserve(ascii.size());
  for (unsigned char c : ascii) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out.push_back(static_cast<char>(c));
    } else if (c == '\'' || c == '`') {
      continue;  // O'Brien is one word
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string fold_compact(std::string_view text) {
  std::string folded = fold_text(text);
  std::string out;
  out.reserve(folded.size());
  for (char c : folded)
    if (c != ' ') out.push_back(c);
  return out;
}

bool is_placeholder(std::string_view folded) {
  if (folded.find_first_not_of(' ') == std::string_view::npos) return true;
  // Zeros only: "0", "00000" in a postal code or house number.
  if (folded.find_first_not_of("0 ") == std::string_view::npos) return true;
  // Only words that are nobody's name: "Na", "Nil", "Blank" and "Sample" are real names, so
  // "na" counts only when it was written "N/A" (folded to "n a").
  static constexpr std::array<std::string_view, 31> kPlaceholders = {"n a",
                                                                     "n k",
                                                                     "not known",
                                                                     "not given",
                                                                     "not available",
                                                                     "not applicable",
                                                                     "no name",
                                                                     "unknown",
                                                                     "unk",
                                                                     "none",
                                                                     "null",
                                                                     "test",
                                                                     "testing",
                                                                     "tbd",
                                                                     "tba",
                                                                     "tbc",
                                                                     "xx",
                                                                     "xxx",
                                                                     "xxxx",
                                                                     "anonymous",
                                                                     "noname",
                                                                     "notknown",
                                                                     "missing",
                                                                     "empty",
                                                                     "dummy",
                                                                     "asdf",
                                                                     "qwerty",
                                                                     "nobody",
                                                                     "undefined",
                                                                     "no one",
                                                                     "someone"};
  return std::find(kPlaceholders.begin(), kPlaceholders.end(), folded) != kPlaceholders.end();
}

}  // namespace crm::match
