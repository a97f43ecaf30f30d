// Reference lists for duplicate detection (free-mail and disposable domains, nicknames,
// legal-entity terms), read once per process from a directory laid out as the repository's
// data/reference and as the installed <sharedir>/extension/crm_hygiene:
//
//   nicknames/names.csv                                       name1,has_nickname,name2
//   cleanco_terms/terms_by_type.tsv, terms_by_country.tsv     <type or country><TAB>term
//   freemail_willwhite/free.txt                               one domain a line
//   free_email_domains_kikobeats/domains.json                 JSON array of domains
//   disposable_email_domains/disposable_email_blocklist.txt   one domain a line
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace crm::match {

// Hashing that lets the sets be searched with a string_view without building a string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

class Reference {
 public:
  // Reads every list under dir. Throws crm::Error 58P01 "reference data not installed" (detail
  // naming the file) when a file is missing or unreadable, XX001 when one is malformed.
  static Reference load(const std::string &dir);

  // Membership of a lower-case ASCII domain (punycode for IDN) in the lists, exactly as listed:
  // callers wanting subdomains covered ask for each parent (see is_free_email_domain).
  bool is_free_domain(std::string_view domain) const;        // willwhite free.txt ∪ kikobeats
  bool is_disposable_domain(std::string_view domain) const;  // disposable_email_blocklist.txt

  // Nickname groups: one group per canonical name of names.csv, holding the name and all its
  // nicknames. The sorted group ids of a normalised given name (empty when it is in no group);
  // two names are nickname-equivalent when they are equal or their groups intersect, so "bill"
  // (a nickname of both william and robert) matches either, but "bob" does not match "william".
  std::span<const std::uint32_t> given_name_groups(std::string_view normalized_given) const;
  bool nickname_equivalent(std::string_view a, std::string_view b) const;
  // The canonical (normalised) name of a group id returned by given_name_groups.
  std::string_view group_name(std::uint32_t group) const { return group_names_[group]; }

  // Legal-entity terms of every type and country (cleanco), as normalised company-name tokens
  // joined by single spaces ("gmbh co kg", "sa", "sp zoo").
  struct LegalTerms {
    StringSet suffixes;  // matched at the end of a name
    StringSet prefixes;  // Cyrillic terms only: matched at the front of names starting in
                         // Cyrillic, where the legal form leads ("ООО Ромашка")
    std::size_t max_tokens = 0;
  };
  // Terms written in Latin script (with or without accents): they apply to every name.
  const LegalTerms &latin_legal_terms() const { return latin_terms_; }
  // Terms written in another script (script: an ICU UScriptCode such as USCRIPT_CYRILLIC), which
  // apply to names holding letters of that script; nullptr when the lists have none. They are
  // transliterated on first use, so names without such letters never pay for ICU's
  // transliterators of that script (Han-Latin alone takes about 250 ms to build). That cache
  // makes this const method unsafe to call from two threads at once; backends have one.
  const LegalTerms *legal_terms_of_script(int script) const;
  // Whether tokens is a Latin-script legal term.
  bool is_legal_suffix(std::string_view tokens) const {
    return latin_terms_.suffixes.contains(tokens);
  }

  std::size_t free_domain_count() const { return free_.size(); }
  std::size_t disposable_domain_count() const { return disposable_.size(); }
  std::size_t latin_legal_term_count() const { return latin_terms_.suffixes.size(); }

 private:
  StringSet free_;
  StringSet disposable_;
  std::unordered_map<std::string, std::vector<std::uint32_t>, StringHash, std::equal_to<>> groups_;
  std::vector<std::string> group_names_;
  LegalTerms latin_terms_;
  struct ScriptTerms {
    int script;
    std::vector<std::string> raw;  // as listed, until first use
    bool folded = false;
    LegalTerms terms;
  };
  mutable std::vector<ScriptTerms> other_terms_;
};

// Where reference() loads from. Setting another directory after a load drops the loaded lists
// (spans and views taken from them are then invalid), so set it before first use.
void set_reference_dir(std::string dir);

// The lists of the reference directory, loaded on first use and kept for the life of the
// process. Throws crm::Error as Reference::load does (and again on the next call: a failed load
// is not remembered, so installing the data fixes a running process).
const Reference &reference();

}  // namespace crm::match
