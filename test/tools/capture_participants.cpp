// Prints the participants activity capture reads from each message, for the agreement test
// (test/tools/participant_agreement.py compares them with Python's email package). Reads file
// paths from stdin, one a line; writes one line per file: the path, then one field per
// participant, "role address", tab-separated. Backslash, tab and newline in a field are escaped
// (\\, \t, \n) so that a line is always one file.
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "core/capture/email.hpp"
#include "core/capture/glib_runtime.hpp"

namespace {

std::string escaped(const std::string &text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

int main() {
  std::string path;
  while (std::getline(std::cin, path)) {
    if (path.empty()) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::cerr << "cannot read " << path << "\n";
      return 2;
    }
    const std::string raw{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const crm::capture::ParsedEmail email = crm::capture::parse_email(raw);
    crm::capture::take_glib_messages();
    std::cout << escaped(path);
    for (const crm::capture::Participant &p : email.participants)
      std::cout << '\t' << crm::capture::role_name(p.role) << ' ' << escaped(p.address);
    std::cout << '\n';
  }
  return 0;
}
