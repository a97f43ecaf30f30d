#include "core/activity/address.hpp"

#include <string>

#include "core/error.hpp"
#include "core/utf8.hpp"

namespace crm::activity {
namespace {

bool is_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.front() == '.' || d.back() == '.' || d.front() == '-') return false;
  char previous = 0;
  for (unsigned char c : d) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c >= 0x80;  // bytes >= 0x80: internationalised names
    if (!ok || (c == '.' && previous == '.')) return false;
    previous = static_cast<char>(c);
  }
  return true;
}

bool valid_local_part(std::string_view l) {
  if (l.empty()) return false;
  for (unsigned char c : l)
    if (c <= ' ' || c == 0x7f || c == '@' || c == '<' || c == '>' || c == ',' || c == ';')
      return false;
  return true;
}

[[noreturn]] void refuse(std::string_view text) {
  std::string shown(utf8_prefix(trim(text), 80));
  throw Error("22P02", "\"" + shown + "\" is neither an email address nor a phone number", {},
              "an address looks like name@example.com or +1 555 0100");
}

}  // namespace

AddressKind canonical_address(std::string_view text, char *out, std::size_t *out_length) {
  const std::string_view s = trim(text);
  if (s.size() > kMaxAddressLength)
    throw Error("54000", "participant address is too long",
                "it has " + std::to_string(s.size()) + " bytes; at most " +
                    std::to_string(kMaxAddressLength) + " are accepted");

  const auto at = s.rfind('@');
  if (at != std::string_view::npos) {
    if (!valid_local_part(s.substr(0, at)) || !valid_domain(s.substr(at + 1))) refuse(text);
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    *out_length = s.size();
    return AddressKind::Email;
  }

  std::size_t n = 0, digits = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      out[n++] = c;
      ++digits;
    } else if (c == '+' && n == 0 && digits == 0) {
      out[n++] = c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '/') {
      refuse(text);
    }
  }
  if (digits < 5 || digits > 20) refuse(text);
  *out_length = n;
  return AddressKind::Phone;
}

std::optional<std::string> refusal(std::string_view text) {
  char canonical[kMaxAddressLength + 1];
  std::size_t length = 0;
  try {
    canonical_address(text, canonical, &length);
    return std::nullopt;
  } catch (const Error &e) {
    std::string why = e.what();
    if (!e.detail().empty()) why += " (" + e.detail() + ")";
    return why;
  }
}

std::int64_t address_key(std::string_view canonical) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : canonical) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h == 0 ? 1 : static_cast<std::int64_t>(h);
}

}  // namespace crm::activity
