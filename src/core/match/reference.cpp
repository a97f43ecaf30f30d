#include "core/match/reference.hpp"

#include <nlohmann/json.hpp>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.hpp"
#include "core/match/normalize.hpp"

namespace crm::match {
namespace {

constexpr const char *kNicknames = "nicknames/names.csv";
constexpr const char *kTermsByType = "cleanco_terms/terms_by_type.tsv";
constexpr const char *kTermsByCountry = "cleanco_terms/terms_by_country.tsv";
constexpr const char *kFreeWillwhite = "freemail_willwhite/free.txt";
constexpr const char *kFreeKikobeats = "free_email_domains_kikobeats/domains.json";
constexpr const char *kDisposable = "disposable_email_domains/disposable_email_blocklist.txt";

std::string read_file(const std::string &dir, const char *name) {
  const std::string path = dir + "/" + name;
  std::error_code error;
  // A directory opens as a stream on Linux and reads as empty: ask first.
  const bool regular = std::filesystem::is_regular_file(path, error);
  std::ifstream in;
  if (regular) in.open(path, std::ios::binary);
  std::ostringstream content;
  if (in.is_open()) content << in.rdbuf();
  if (!regular || !in.is_open() || in.bad())
    throw Error("58P01", "reference data not installed", "Could not read \"" + path + "\".",
                "Install crm_hygiene with its reference data (\"make install\" copies it from "
                "REFERENCE_DIR, by default data/reference of the source tree).");
  return std::move(content).str();
}

[[noreturn]] void malformed(const std::string &dir, const char *name, const std::string &why) {
  throw Error("XX001", "reference data is malformed", "\"" + dir + "/" + name + "\": " + why + ".",
              "Reinstall crm_hygiene's reference data.");
}

// Lines without their end (LF or CRLF), blank ones skipped.
std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// A listed domain as lookups spell it: trimmed, ASCII lower case, no trailing dot. Empty for
// blank and '#' comment lines.
std::string domain_entry(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '.')) s.remove_suffix(1);
  if (s.empty() || s.front() == '#') return {};
  std::string out(s);
  for (char &c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void add_domain_lines(StringSet &set, std::string_view text) {
  for (std::string_view line : lines(text))
    if (std::string d = domain_entry(line); !d.empty()) set.insert(std::move(d));
}

void add_domain_json(StringSet &set, const std::string &dir, const char *name) {
  const nlohmann::json list = nlohmann::json::parse(read_file(dir, name), nullptr, false);
  if (list.is_discarded() || !list.is_array()) malformed(dir, name, "not a JSON array");
  for (const nlohmann::json &item : list) {
    if (!item.is_string()) malformed(dir, name, "an element is not a string");
    if (std::string d = domain_entry(item.get_ref<const std::string &>()); !d.empty())
      set.insert(std::move(d));
  }
}

// The script of a term's first letter (an ICU UScriptCode); Latin for a term with no letter.
int script_of(std::string_view term) {
  const auto *bytes = reinterpret_cast<const uint8_t *>(term.data());
  const auto length = static_cast<int32_t>(term.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0 || !u_isalpha(c)) continue;
    UErrorCode status = U_ZERO_ERROR;
    const UScriptCode script = uscript_getScript(c, &status);
    if (U_SUCCESS(status) && script != USCRIPT_COMMON && script != USCRIPT_INHERITED) return script;
  }
  return USCRIPT_LATIN;
}

// Adds a term as company-name tokens; Cyrillic terms also as prefixes.
void add_term(Reference::LegalTerms &terms, std::string_view term, bool prefix) {
  const std::vector<std::string> tokens = company_name_tokens(term);
  if (tokens.empty()) return;  // "&" alone
  std::string joined;
  for (const std::string &t : tokens) joined += (joined.empty() ? "" : " ") + t;
  terms.max_tokens = std::max(terms.max_tokens, tokens.size());
  if (prefix) terms.prefixes.insert(joined);
  terms.suffixes.insert(std::move(joined));
}

}  // namespace

Reference Reference::load(const std::string &dir) {
  Reference r;
  add_domain_lines(r.free_, read_file(dir, kFreeWillwhite));
  add_domain_json(r.free_, dir, kFreeKikobeats);
  add_domain_lines(r.disposable_, read_file(dir, kDisposable));

  // names.csv: name1,has_nickname,name2 - one group per name1, which its name2s join. The list
  // also has rows the wrong way round ("bill,has_nickname,robert" beside "robert,has_nickname,
  // bill"); of such a pair the row from the name with fewer nicknames is dropped, or "bill"
  // would be a group joining robert and william.
  std::vector<std::pair<std::string, std::string>> rows;
  const std::string nicknames = read_file(dir, kNicknames);
  for (std::string_view line : lines(nicknames)) {
    const std::size_t a = line.find(','), b = line.find(',', a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos)
      malformed(dir, kNicknames, "a line has fewer than three fields");
    if (line.substr(a + 1, b - a - 1) != "has_nickname") continue;  // the header, or another kind
    std::optional<std::string> canonical = normalize_person_name(line.substr(0, a));
    std::optional<std::string> nickname = normalize_person_name(line.substr(b + 1));
    if (canonical && nickname && *canonical != *nickname)
      rows.emplace_back(std::move(*canonical), std::move(*nickname));
  }
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> nickname_count;
  for (const auto &[canonical, nickname] : rows) ++nickname_count[canonical];
  StringSet pairs;
  for (const auto &[canonical, nickname] : rows) pairs.insert(canonical + ',' + nickname);
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> group_of;
  for (const auto &[canonical, nickname] : rows) {
    if (pairs.contains(nickname + ',' + canonical) &&
        nickname_count[canonical] < nickname_count[nickname])
      continue;
    auto [it, added] =
        group_of.try_emplace(canonical, static_cast<std::uint32_t>(r.group_names_.size()));
    if (added) r.group_names_.push_back(canonical);
    r.groups_[canonical].push_back(it->second);
    r.groups_[nickname].push_back(it->second);
  }
  for (auto &[name, groups] : r.groups_) {
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  }

  // terms_*.tsv: <type or country><TAB>term, with a header row. Latin terms are normalised now
  // (ICU's Latin-ASCII), the others when a name of their script first asks for them.
  for (const char *name : {kTermsByType, kTermsByCountry}) {
    const std::string text = read_file(dir, name);
    const std::vector<std::string_view> rows = lines(text);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const std::size_t tab = rows[i].find('\t');
      if (tab == std::string_view::npos) malformed(dir, name, "a row has no tab");
      const std::string_view term = rows[i].substr(tab + 1);
      const int script = script_of(term);
      if (script == USCRIPT_LATIN) {
        add_term(r.latin_terms_, term, false);
        continue;
      }
      auto it = std::find_if(r.other_terms_.begin(), r.other_terms_.end(),
                             [&](const ScriptTerms &t) { return t.script == script; });
      if (it == r.other_terms_.end()) {
        r.other_terms_.emplace_back();
        r.other_terms_.back().script = script;
        it = r.other_terms_.end() - 1;
      }
      it->raw.emplace_back(term);
    }
  }
  return r;
}

bool Reference::is_free_domain(std::string_view domain) const {
  return free_.contains(domain);
}

bool Reference::is_disposable_domain(std::string_view domain) const {
  return disposable_.contains(domain);
}

std::span<const std::uint32_t> Reference::given_name_groups(
    std::string_view normalized_given) const {
  const auto it = groups_.find(normalized_given);
  if (it == groups_.end()) return {};
  return it->second;
}

const Reference::LegalTerms *Reference::legal_terms_of_script(int script) const {
  const auto it = std::find_if(other_terms_.begin(), other_terms_.end(),
                               [&](const ScriptTerms &t) { return t.script == script; });
  if (it == other_terms_.end()) return nullptr;
  if (!it->folded) {
    LegalTerms terms;  // filled aside: a throw leaves the raw terms for the next attempt
    for (const std::string &term : it->raw) add_term(terms, term, script == USCRIPT_CYRILLIC);
    it->terms = std::move(terms);
    it->raw = {};
    it->folded = true;
  }
  return &it->terms;
}

bool Reference::nickname_equivalent(std::string_view a, std::string_view b) const {
  if (a == b) return true;
  const std::span<const std::uint32_t> x = given_name_groups(a), y = given_name_groups(b);
  // Both sorted: a merge walk finds a common group.
  for (std::size_t i = 0, j = 0; i < x.size() && j < y.size();) {
    if (x[i] == y[j]) return true;
    x[i] < y[j] ? ++i : ++j;
  }
  return false;
}

namespace {
// Heap objects behind plain pointers: a Postgres backend must have no static destructors.
std::string *reference_dir = nullptr;
Reference *loaded = nullptr;
}  // namespace

void set_reference_dir(std::string dir) {
  if (reference_dir != nullptr && *reference_dir == dir) return;
  delete loaded;
  loaded = nullptr;
  if (reference_dir == nullptr)
    reference_dir = new std::string(std::move(dir));
  else
    *reference_dir = std::move(dir);
}

const Reference &reference() {
  if (loaded != nullptr) return *loaded;
  if (reference_dir == nullptr)
    throw Error("58P01", "reference data not installed", "No reference data directory was set.");
  loaded = new Reference(Reference::load(*reference_dir));
  return *loaded;
}

}  // namespace crm::match
