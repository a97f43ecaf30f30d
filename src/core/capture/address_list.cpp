// A small tokenizer and a mailbox reader over it. The rules follow RFC 5322 (with its obsolete
// syntax) where real mail does, and recover where it does not: a quote that opens inside a word
// or never closes is a character of the word, an unclosed '[' likewise, an unclosed comment or
// angle bracket runs to the end of the field.
#include "core/capture/address_list.hpp"

#include <cstddef>

namespace crm::capture {

namespace {

enum class Kind { word, quoted, comment, literal, special };

struct Token {
  Kind kind;
  std::string text;   // quoted strings and comments: their content, unescaped
  bool space_before;  // folding white space or a comment before it
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_special(char c) {
  return c == '<' || c == '>' || c == '@' || c == ',' || c == ';' || c == ':' || c == '.';
}

bool is_special(const Token &t, char c) {
  return t.kind == Kind::special && t.text[0] == c;
}

// The index of the quote closing the one at `open`, or npos.
std::size_t closing_quote(std::string_view s, std::size_t open) {
  for (std::size_t j = open + 1; j < s.size(); ++j) {
    if (s[j] == '\\')
      ++j;
    else if (s[j] == '"')
      return j;
  }
  return std::string_view::npos;
}

std::string unescaped(std::string_view s) {
  std::string out;
  for (std::size_t j = 0; j < s.size(); ++j) {
    if (s[j] == '\\' && j + 1 < s.size()) ++j;
    out += s[j];
  }
  return out;
}

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> tokens;
  bool space = false;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      space = true;
      ++i;
      continue;
    }
    if (c == '(') {  // nested comments, quoted pairs; unclosed: to the end
      std::string text;
      int depth = 1;
      std::size_t j = i + 1;
      for (; j < s.size() && depth > 0; ++j) {
        if (s[j] == '\\' && j + 1 < s.size()) {
          text += s[++j];
          continue;
        }
        if (s[j] == '(') ++depth;
        if (s[j] == ')' && --depth == 0) break;
        text += s[j];
      }
      tokens.push_back({Kind::comment, text, space});
      space = true;
      i = j + 1;
      continue;
    }
    if (c == '"') {
      const std::size_t close = closing_quote(s, i);
      if (close != std::string_view::npos) {
        tokens.push_back({Kind::quoted, unescaped(s.substr(i + 1, close - i - 1)), space});
        space = false;
        i = close + 1;
        continue;
      }
    }
    if (c == '[') {
      const std::size_t close = s.find(']', i);
      if (close != std::string_view::npos) {
        tokens.push_back({Kind::literal, std::string(s.substr(i, close - i + 1)), space});
        space = false;
        i = close + 1;
        continue;
      }
    }
    if (is_special(c)) {
      tokens.push_back({Kind::special, std::string(1, c), space});
      space = false;
      ++i;
      continue;
    }
    // A word: up to white space, a special or a comment. A quote or bracket inside it is stray.
    std::size_t j = i + 1;
    while (j < s.size() && !is_space(s[j]) && !is_special(s[j]) && s[j] != '(') ++j;
    tokens.push_back({Kind::word, std::string(s.substr(i, j - i)), space});
    space = false;
    i = j;
  }
  return tokens;
}

// RFC 5322 atext, with RFC 6532's UTF-8, and dots in any number and place.
bool needs_quotes(std::string_view content) {
  if (content.empty()) return true;
  for (unsigned char c : content) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c >= 0x80 ||
                       std::string_view("!#$%&'*+-/=?^_`{|}~.").find(static_cast<char>(c)) !=
                           std::string_view::npos;
    if (!plain) return true;
  }
  return false;
}

void append_token(std::string &out, const Token &t) {
  if (t.kind == Kind::quoted) {
    if (!needs_quotes(t.text)) {
      out += t.text;
      return;
    }
    out += '"';
    for (char c : t.text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    return;
  }
  out += t.text;
}

using Tokens = std::vector<Token>;

// Words and quoted strings of a display name, comments left out.
std::string phrase(const Tokens &t, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t k = begin; k < end; ++k) {
    if (t[k].kind == Kind::comment) continue;
    if (!out.empty() && t[k].space_before) out += ' ';
    out += t[k].text;
  }
  return out;
}

// Obsolete syntax allows white space and comments around the dots and the '@' of an addr-spec.
bool glued(const Tokens &t, std::size_t k) {
  auto joint = [&](std::size_t i) { return is_special(t[i], '.') || is_special(t[i], '@'); };
  if (joint(k)) return true;
  while (k > 0 && t[k - 1].kind == Kind::comment) --k;
  return k > 0 && joint(k - 1);
}

// The text of tokens [begin, end) as an address part; white space between two words (not around
// a dot or the '@') is kept, so that it is refused rather than glued.
std::string address_text(const Tokens &t, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t k = begin; k < end; ++k) {
    if (t[k].kind == Kind::comment) continue;
    if (k > begin && t[k].space_before && !glued(t, k) && !out.empty()) out += ' ';
    append_token(out, t[k]);
  }
  return out;
}

std::string with_domain_dot_dropped(std::string address) {
  if (address.size() > 1 && address.back() == '.' && address[address.size() - 2] != '@')
    address.pop_back();
  return address;
}

// A mailbox of one entry (no top-level ',' or ';' in it), or nothing when it has no '@'.
void read_mailbox(const Tokens &t, std::vector<ListedMailbox> &out) {
  std::size_t open = t.size();
  for (std::size_t k = 0; k < t.size() && open == t.size(); ++k)
    if (is_special(t[k], '<')) open = k;

  if (open < t.size()) {  // name-addr: display name <route:addr-spec>
    std::size_t close = open + 1;
    while (close < t.size() && !is_special(t[close], '>')) ++close;
    std::size_t begin = open + 1;
    for (std::size_t k = begin; k < close; ++k)
      if (is_special(t[k], ':')) begin = k + 1;  // obsolete route: @a,@b:
    bool has_at = false;
    for (std::size_t k = begin; k < close; ++k) has_at = has_at || is_special(t[k], '@');
    if (!has_at) return;
    ListedMailbox m;
    m.address = with_domain_dot_dropped(address_text(t, begin, close));
    m.name = phrase(t, 0, open);
    if (m.name.empty())
      for (std::size_t k = close; k < t.size(); ++k)
        if (t[k].kind == Kind::comment) m.name = t[k].text;
    out.push_back(std::move(m));
    return;
  }

  // Bare addr-specs. Words before the first that white space separates from it are a name written
  // without angle brackets ("John Smith jsmith@x.com"); several addr-specs separated by white
  // space ("tim@x.com concierge@x.com") are each a mailbox.
  std::size_t taken = 0;  // tokens before this are used
  std::vector<ListedMailbox> found;
  for (std::size_t at = 0; at < t.size(); ++at) {
    if (!is_special(t[at], '@') || at < taken) continue;
    std::size_t begin = at;
    while (begin > taken && t[begin - 1].kind != Kind::comment) {
      --begin;
      if (t[begin].space_before && !glued(t, begin)) break;
    }
    std::size_t end = at + 1;
    while (end < t.size() && (t[end].kind == Kind::comment || end == at + 1 ||
                              !t[end].space_before || glued(t, end))) {
      if (t[end].kind == Kind::comment && !(end + 1 < t.size() && glued(t, end + 1))) break;
      ++end;
    }
    ListedMailbox m;
    m.address = with_domain_dot_dropped(address_text(t, begin, end));
    if (found.empty()) m.name = phrase(t, 0, begin);
    found.push_back(std::move(m));
    taken = end;
  }
  // "x@y (Name)": the comment names a lone bare address.
  if (found.size() == 1 && found[0].name.empty())
    for (const Token &token : t)
      if (token.kind == Kind::comment) found[0].name = token.text;
  for (ListedMailbox &m : found) out.push_back(std::move(m));
}

}  // namespace

std::vector<ListedMailbox> read_address_list(std::string_view field) {
  std::vector<ListedMailbox> out;
  Tokens entry;
  bool in_angle = false, has_angle = false, has_at = false;
  auto flush = [&] {
    if (!entry.empty()) read_mailbox(entry, out);
    entry.clear();
    in_angle = has_angle = has_at = false;
  };
  for (Token &token : tokenize(field)) {
    if (token.kind == Kind::special && !in_angle) {
      const char c = token.text[0];
      if (c == ',' || c == ';') {  // next entry; ';' also ends a group
        flush();
        continue;
      }
      if (c == ':' && !has_angle && !has_at) {  // a group's name: its members follow
        entry.clear();
        continue;
      }
    }
    if (is_special(token, '<')) in_angle = has_angle = true;
    if (is_special(token, '>')) in_angle = false;
    if (is_special(token, '@')) has_at = true;
    entry.push_back(std::move(token));
  }
  flush();
  return out;
}

}  // namespace crm::capture
