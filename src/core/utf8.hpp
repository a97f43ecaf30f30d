// Cutting text that goes to clients (error messages) without splitting a UTF-8 character.
#pragma once

#include <cstddef>
#include <string_view>

namespace crm {

// At most max bytes of text, cut at a UTF-8 character boundary.
inline std::string_view utf8_prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace crm
