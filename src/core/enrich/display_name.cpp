#include "core/enrich/display_name.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace crm::enrich {

namespace {

std::string lower_letters(std::string_view word) {
  std::string out;
  for (char c : word)
    if (c != '.') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

bool one_of(std::string_view word, std::initializer_list<std::string_view> list) {
  const std::string w = lower_letters(word);
  return std::find(list.begin(), list.end(), w) != list.end();
}

bool honorific(std::string_view w) {
  return one_of(w, {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "herr", "frau",
                    "mme", "mlle", "m", "sr", "sra", "srta", "rev", "fr"});
}

bool suffix(std::string_view w) {
  return one_of(w, {"jr", "sr", "ii", "iii", "iv", "v", "phd", "md", "esq", "cpa", "mba", "dds",
                    "rn", "pe", "jd"});
}

// Words that belong to the surname that follows them.
bool particle(std::string_view w) {
  return one_of(w, {"van", "von", "de",  "da",  "das", "do",  "dos", "del", "della", "di", "du",
                    "la",  "le",  "der", "den", "ten", "ter", "bin", "al",  "el",    "st"});
}

std::vector<std::string> words_of(std::string_view s) {
  std::vector<std::string> words;
  std::string current;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

bool has_letter(std::string_view w) {
  // Any byte of a multi-byte UTF-8 character counts: names are not only ASCII.
  return std::any_of(w.begin(), w.end(), [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80);
  });
}

std::string trim_punctuation(std::string w) {
  while (!w.empty() && (w.back() == ',' || w.back() == ';' || w.back() == ':')) w.pop_back();
  return w;
}

std::string join(const std::vector<std::string> &words, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (!out.empty()) out.push_back(' ');
    out += words[i];
  }
  return out;
}

// Quotes gone, "(...)" and "[...]" and "<...>" parts gone, whitespace as single spaces.
std::string cleaned(std::string_view s) {
  std::string out;
  int depth = 0;
  for (char c : s) {
    if (c == '(' || c == '[' || c == '<') {
      ++depth;
      out.push_back(' ');
    } else if ((c == ')' || c == ']' || c == '>') && depth > 0) {
      --depth;
    } else if (depth == 0 && c != '"') {
      out.push_back(c);  // apostrophes stay: O'Brien
    }
  }
  return out;
}

// Drops honorifics in front and suffixes at the end; words are without trailing commas.
void strip_titles(std::vector<std::string> &words) {
  while (words.size() > 1 && honorific(words.front())) words.erase(words.begin());
  while (words.size() > 1 && suffix(words.back())) words.pop_back();
}

}  // namespace

std::optional<PersonName> split_display_name(std::string_view display_name) {
  std::string text = cleaned(display_name);
  if (text.find('@') != std::string::npos) {
    // "jane@acme.com" or a name followed by its address: keep the words without an '@'.
    std::string kept;
    for (const std::string &w : words_of(text))
      if (w.find('@') == std::string::npos) kept += w + " ";
    text = kept;
  }
  // Suffixes set off by commas ("Jane Doe, Jr.", "Doe, Jane, PhD") are not a surname-first comma.
  std::vector<std::string> parts;
  {
    std::string current;
    for (char c : text) {
      if (c == ',') {
        parts.push_back(current);
        current.clear();
      } else {
        current.push_back(c);
      }
    }
    parts.push_back(current);
  }
  std::vector<std::string> segments;
  for (const std::string &p : parts) {
    const std::vector<std::string> w = words_of(p);
    if (w.empty()) continue;
    bool all_suffixes =
        std::all_of(w.begin(), w.end(), [](const std::string &x) { return suffix(x); });
    if (all_suffixes && !segments.empty()) continue;
    segments.push_back(p);
  }
  std::vector<std::string> words;
  std::size_t surname_first_words = 0;  // words of the surname when written "Last, First"
  if (segments.size() == 2) {
    std::vector<std::string> last = words_of(segments[0]);
    std::vector<std::string> first = words_of(segments[1]);
    strip_titles(first);
    while (!last.empty() && honorific(last.front()) && last.size() > 1) last.erase(last.begin());
    surname_first_words = last.size();
    words = last;
    words.insert(words.end(), first.begin(), first.end());
  } else {
    for (const std::string &s : segments)
      for (std::string &w : words_of(s)) words.push_back(trim_punctuation(w));
    strip_titles(words);
  }
  words.erase(std::remove_if(words.begin(), words.end(),
                             [](const std::string &w) { return !has_letter(w); }),
              words.end());
  if (words.empty()) return std::nullopt;
  if (words.size() == 1) {
    if (honorific(words[0]) || suffix(words[0])) return std::nullopt;
    return PersonName{words[0], ""};
  }
  if (surname_first_words > 0 && surname_first_words < words.size())
    return PersonName{join(words, surname_first_words, words.size()),
                      join(words, 0, surname_first_words)};
  // The surname is the last word and the particles just before it.
  std::size_t last_from = words.size() - 1;
  while (last_from > 1 && particle(words[last_from - 1])) --last_from;
  return PersonName{join(words, 0, last_from), join(words, last_from, words.size())};
}

}  // namespace crm::enrich
