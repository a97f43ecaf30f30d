// Ranking the candidates of a mention: text evidence decides whether a record is the one meant,
// CRM context (recent activity, connection with the asking member, open deals, ownership)
// decides between records the text cannot tell apart. Published in docs/RESOLVE.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm::resolve {

enum class Kind { Person, Company, Deal };

// What agreed between a mention and one record, as read from the database.
struct Evidence {
  Kind kind = Kind::Person;
  std::int64_t record_id = 0;
  bool email = false;         // an address of the mention is the person's
  bool phone = false;         // a phone number of the mention is the record's
  bool domain = false;        // a domain of the mention is the company's (the person's company's)
  bool email_domain = false;  // the domain of a mention's address is the company's
  double name = -1;           // name similarity in [0, 1]; -1: the mention gave no name to compare
  bool nickname = false;      // given names are nicknames of one name (Bob, Robert)
  double company = -1;        // the person's or deal's company against the mention's company part
  bool about_person = false;  // the mention named a person (kind company: found by its part)
  // Context: days since the last past interaction (none: never), the asking member's connection
  // strength in [0, 1), open deals, whether the member owns the record.
  std::optional<double> days_since_interaction;
  double strength = 0;
  std::int64_t open_deals = 0;
  bool owned = false;
};

enum class Level { Exact, Strong, Possible, NameOnly };
const char *level_name(Level level);

struct Scored {
  Evidence evidence;
  double text = 0;     // in [0, 1]
  double context = 0;  // in [0, 1]
  double score = 0;    // text, moved by at most kContextShare by the context
  Level level = Level::NameOnly;
  std::string key;  // what agreed: "+EMAIL", "+DOMAIN+NAME", ...
  bool ambiguous = false;
};

// Text scores below this are no candidate at all.
inline constexpr double kMinTextScore = 0.25;
// An exact lookup that found a record scoring this well makes the fuzzy (trigram) ones needless.
inline constexpr double kConvincingText = 0.55;
// The share of a score the context can move: it orders records the text finds equal.
inline constexpr double kContextShare = 0.1;
// The best two closer than this are both ambiguous.
inline constexpr double kAmbiguityMargin = 0.05;

Scored score(const Evidence &evidence);

// How alike two normalised person names are letter by letter, on the scale of the trigram
// similarity the evidence uses: token by token Jaro-Winkler (src/core/match/similarity.hpp),
// 0.75 and below counting as 0, so that one transposition or a doubled letter in each name
// still agrees ("summer spepelt", "summer seppelt") and names of different people do not.
double letter_similarity(std::string_view mention_name, std::string_view record_name);

// Of candidates sorted by text score (best first), how many can still reach the first
// max_results once their context moves their scores: the others need no context read.
std::size_t contenders(const std::vector<Scored> &by_text, std::size_t max_results);

// The evidence as crm.resolve returns it: what agreed and how much, the context, the scores.
std::string evidence_json(const Scored &s);

// Sorted best first (score, then record kind and id); the first max_results kept; when the best
// two are within kAmbiguityMargin, every result that close to the best is ambiguous.
std::vector<Scored> rank(std::vector<Scored> scored, std::size_t max_results);

}  // namespace crm::resolve
