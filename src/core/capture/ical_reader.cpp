#include "core/capture/ical_reader.hpp"

#include <string>

#include "core/capture/ical_text.hpp"

namespace crm::capture::ical {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Physical lines, without their ends. Mail gateways and editors leave CRLF, LF and lone CR
// side by side, and concatenated exports carry a BOM in front of every calendar.
std::vector<std::string_view> physical_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r' && text[i] != '\n') continue;
    lines.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  for (auto &line : lines) {
    while (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  return lines;
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

// RFC 5545 3.1 unfolding done here rather than by icalparser_get_line, which only knows CRLF
// and LF and treats a blank line inside a folded value as the end of the property.
std::vector<std::string> content_lines(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view line : physical_lines(text)) {
    if (blank(line)) continue;
    if ((line[0] == ' ' || line[0] == '\t') && !out.empty()) {
      out.back().append(line.substr(1));
      continue;
    }
    out.emplace_back(line);
  }
  for (auto &line : out) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
  }
  return out;
}

// The content-line name, upper-cased: what precedes the first ':' or ';'.
std::string name_of(const std::string &line) {
  return upper(std::string_view(line).substr(0, line.find_first_of(":;")));
}

}  // namespace

void make_errors_nonfatal() {
  // A plain flag, not a static object: the core keeps no global state with a destructor.
  static bool done = false;
  if (!done) {
    icalerror_set_errors_are_fatal(0);
    done = true;
  }
}

std::vector<Component> read_components(std::string_view text) {
  make_errors_nonfatal();
  std::vector<Component> components;
  Parser parser(icalparser_new());
  if (!parser) throw std::bad_alloc();
  // Lines outside any component (mail headers, a stray END) are dropped here: libical only
  // prints complaints about them to stderr, which is the server log.
  int depth = 0;
  for (std::string &line : content_lines(text)) {
    const std::string name = name_of(line);
    if (name == "BEGIN") {
      ++depth;
    } else if (depth == 0) {
      continue;
    } else if (name == "END") {
      --depth;
    }
    icalcomponent *done = icalparser_add_line(parser.get(), line.data());
    if (done != nullptr) {
      Component owned(done);
      components.push_back(std::move(owned));
    }
  }
  // A calendar cut off before its END stays inside the parser; icalparser_clean closes it,
  // but the parser keeps ownership, so keep a copy and let icalparser_free release the original.
  if (icalcomponent *rest = icalparser_clean(parser.get()); rest != nullptr) {
    if (icalcomponent_get_parent(rest) == nullptr) {
      Component copy(icalcomponent_new_clone(rest));
      if (copy) components.push_back(std::move(copy));
    }
  }
  return components;
}

}  // namespace crm::capture::ical
