#include "core/match/normalize.hpp"

#include <libpsl.h>
#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/bytestream.h>
#include <unicode/idna.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "core/match/reference.hpp"

namespace crm::match {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// ---------------------------------------------------------------------------------------------
// Byte-level helpers

bool is_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): libphonenumber
// walks UTF-8 itself and must not be handed broken sequences.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n;
    char32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::string join(const std::vector<std::string> &tokens, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) out += ' ';
    out += tokens[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Process-wide machinery, created on first use and never destroyed: a Postgres backend must have
// no static objects with destructors, and these live as long as the process anyway.

const icu::Transliterator &ascii_transliterator() {
  // NFKC first so full-width forms, ligatures and decomposed accents ("José" in NFD) reach the
  // script transliterators in one shape.
  static constexpr const char *kId = "NFKC; Any-Latin; Latin-ASCII";
  static icu::Transliterator *transliterator = nullptr;
  if (transliterator == nullptr) {
    UErrorCode status = U_ZERO_ERROR;
    icu::Transliterator *t = icu::Transliterator::createInstance(kId, UTRANS_FORWARD, status);
    if (U_FAILURE(status) || t == nullptr) {
      delete t;
      throw Error("58000", std::string("could not create the ICU transliterator \"") + kId + "\"",
                  std::string("ICU reported ") + u_errorName(status) + ".",
                  "Check that the ICU data library (libicudata) is installed.");
    }
    transliterator = t;
  }
  return *transliterator;
}

const icu::IDNA &uts46() {
  // Non-transitional processing (as browsers do since 2020: "faß.de" keeps its ß) and STD3 rules
  // (letters, digits and hyphens only: no '_', '!' or spaces in a mail or web host).
  static icu::IDNA *idna = nullptr;
  if (idna == nullptr) {
    UErrorCode status = U_ZERO_ERROR;
    icu::IDNA *made =
        icu::IDNA::createUTS46Instance(UIDNA_USE_STD3_RULES | UIDNA_CHECK_BIDI |
                                           UIDNA_CHECK_CONTEXTJ | UIDNA_NONTRANSITIONAL_TO_ASCII,
                                       status);
    if (U_FAILURE(status) || made == nullptr) {
      delete made;
      throw Error("58000", "could not create the ICU UTS #46 (IDNA) converter",
                  std::string("ICU reported ") + u_errorName(status) + ".");
    }
    idna = made;
  }
  return *idna;
}

const psl_ctx_t *public_suffixes() {
  // psl_latest takes the newer of the system's list (package publicsuffix) and libpsl's built-in
  // one, read once per process (about 2 ms).
  static const psl_ctx_t *context = nullptr;
  if (context == nullptr) {
    context = psl_latest(nullptr);
    if (context == nullptr) context = psl_builtin();
    if (context == nullptr)
      throw Error("58000", "the Public Suffix List could not be loaded",
                  "libpsl has no built-in list and none was found in the system.",
                  "Install the Debian package publicsuffix.");
  }
  return context;
}

const PhoneNumberUtil &phone_numbers() {
  static PhoneNumberUtil *util = nullptr;
  if (util == nullptr) {
    PhoneNumberUtil *instance = PhoneNumberUtil::GetInstance();
    // The default logger writes to stdout, which in a backend is the server log; the library
    // reports nothing we act on.
    instance->SetLogger(new i18n::phonenumbers::NullLogger());
    util = instance;
  }
  return *util;
}

// ---------------------------------------------------------------------------------------------
// Domains

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b <= ' ' || b == 0x7F;
  });
}

// A domain name in lower-case ASCII (IDN labels as punycode, by UTS #46), with at least two
// labels and a top-level label that is not a number; nullopt for anything else.
std::optional<std::string> ascii_domain(std::string_view d) {
  // Callers have taken off the one trailing dot a name may have; UTS #46 would accept another.
  if (d.empty() || d.back() == '.' || has_control_or_space(d)) return std::nullopt;
  std::string out;
  icu::StringByteSink<std::string> sink(&out);
  icu::IDNAInfo info;
  UErrorCode status = U_ZERO_ERROR;
  uts46().nameToASCII_UTF8(icu::StringPiece(d.data(), static_cast<int32_t>(d.size())), sink, info,
                           status);
  if (U_FAILURE(status) || info.hasErrors()) return std::nullopt;
  // A trailing full stop written in another script (U+3002, U+FF0E) maps to '.' only now.
  if (!out.empty() && out.back() == '.') out.pop_back();
  const std::size_t dot = out.rfind('.');
  if (dot == std::string::npos || dot == 0 || all_digits(std::string_view(out).substr(dot + 1)))
    return std::nullopt;
  return out;
}

bool valid_scheme(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '+' || c == '-' || c == '.'; });
}

// The host of an email address, a host name or a URL: scheme, userinfo (or an address's local
// part), port, path, query and fragment removed, then as ascii_domain.
std::optional<std::string> host_of(std::string_view s) {
  if (s.size() > kMaxUrlInput) return std::nullopt;
  s = trim(s);
  const std::size_t scheme_end = s.find("://");
  if (scheme_end != std::string_view::npos && valid_scheme(s.substr(0, scheme_end))) {
    s.remove_prefix(scheme_end + 3);
  } else if (s.starts_with("//")) {
    s.remove_prefix(2);
  } else if (s.size() > 7 && std::equal(s.begin(), s.begin() + 7,
                                        "mailto:", [](char a, char b) { return lower(a) == b; })) {
    s.remove_prefix(7);
  }
  // An address's local part may hold '/' or '?', but a URL's query holding an '@' is far more
  // common: cut the authority first.
  s = s.substr(0, s.find_first_of("/?#\\"));
  const std::size_t at = s.rfind('@');
  if (at != std::string_view::npos) s.remove_prefix(at + 1);
  if (!s.empty() && s.front() == '[') return std::nullopt;  // an IPv6 literal
  const std::size_t colon = s.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view port = s.substr(colon + 1);
    if (!port.empty() && !all_digits(port)) return std::nullopt;
    s = s.substr(0, colon);
  }
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return ascii_domain(s);
}

// The registrable part of an ASCII host, as a view into it; nullopt for a public suffix itself
// and for a top-level domain the list does not know (".local", ".internal", typos).
std::optional<std::string_view> registrable_part(const std::string &host) {
  const psl_ctx_t *psl = public_suffixes();
  const char *tld = host.c_str() + host.rfind('.') + 1;
  if (!psl_is_public_suffix2(psl, tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE)) return std::nullopt;
  const char *registrable = psl_registrable_domain(psl, host.c_str());
  if (registrable == nullptr) return std::nullopt;
  return std::string_view(registrable);
}

std::optional<bool> listed(std::string_view s, bool (Reference::*in_list)(std::string_view) const) {
  const std::optional<std::string> host = host_of(s);
  if (!host) return std::nullopt;
  const std::optional<std::string_view> registrable = registrable_part(*host);
  if (!registrable) return std::nullopt;
  const Reference &ref = reference();
  // The lists name some subdomains of their own ("000webmail.ddnss.de"), and mail is sent from
  // subdomains of listed ones ("mail.yahoo.co.uk"): ask for the host and each parent.
  std::string_view domain = *host;
  while (true) {
    if ((ref.*in_list)(domain)) return true;
    if (domain.size() <= registrable->size()) return false;
    domain.remove_prefix(domain.find('.') + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Email

bool is_atext(char c) {
  // RFC 5322 atext: what an unquoted local part may hold besides '.'.
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return is_alnum(c) || kSpecials.find(c) != std::string_view::npos;
}

bool dots_well_placed(std::string_view local) {
  return local.front() != '.' && local.back() != '.' && local.find("..") == std::string_view::npos;
}

// RFC 5321 allows 64 octets in a local part; anything longer was never a deliverable address.
constexpr std::size_t kMaxLocalPart = 64;

// A non-ASCII local part (RFC 6531) in NFKC and lower case, so "José" composed or not, and
// full-width "ｊｏｈｎ" typed with an input method, give one key.
std::optional<std::string> unicode_local_part(std::string_view local) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(nullptr, 0, &length, local.data(), static_cast<int32_t>(local.size()), &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) return std::nullopt;  // not UTF-8
  status = U_ZERO_ERROR;
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(local.data(), static_cast<int32_t>(local.size())));
  const icu::Normalizer2 *nfkc = icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status)) return std::nullopt;
  text = nfkc->normalize(text, status);
  if (U_FAILURE(status)) return std::nullopt;
  text.toLower(icu::Locale::getRoot());
  // Lower case can undo the composition: "J" + U+030C has no composed form, "j" + U+030C has
  // (U+01F0), which a second normalisation would then give.
  text = nfkc->normalize(text, status);
  if (U_FAILURE(status)) return std::nullopt;
  for (int32_t i = 0; i < text.length();) {
    const UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    if (c < 0x80) {
      if (c != '.' && !is_atext(static_cast<char>(c))) return std::nullopt;
    } else if (u_isUWhiteSpace(c) || u_iscntrl(c) || u_charType(c) == U_FORMAT_CHAR ||
               u_charType(c) == U_UNASSIGNED) {
      return std::nullopt;
    }
  }
  std::string out;
  text.toUTF8String(out);
  // NFKC may have made dots of full-width ones. The length limit applies to the form kept, so
  // that normalising it again gives it back: NFKC lengthens some text (a ligature such as U+FD6D
  // becomes three letters) and shortens other (NFD accents).
  if (out.empty() || out.size() > kMaxLocalPart || !dots_well_placed(out)) return std::nullopt;
  return out;
}

std::optional<std::string> local_part(std::string_view local) {
  if (local.empty() || !dots_well_placed(local)) return std::nullopt;
  if (!is_ascii(local)) return unicode_local_part(local);
  if (local.size() > kMaxLocalPart) return std::nullopt;
  std::string out;
  out.reserve(local.size());
  for (char c : local) {
    if (c != '.' && !is_atext(c)) return std::nullopt;
    out += lower(c);
  }
  return out;
}

// How a mail provider reads local parts. Sub-addressing ('+tag' delivered to the mailbox without
// it) is documented by Google (gmail.com, googlemail.com), Microsoft for its consumer domains
// (outlook.com, hotmail.com, live.com, msn.com), Apple (icloud.com, me.com, mac.com), Fastmail
// (fastmail.com, fastmail.fm) and Proton (protonmail.com, protonmail.ch, proton.me, pm.me).
// Yahoo's disposable addresses are "base-keyword": Yahoo ids cannot hold '-', so cutting at it
// folds one person's disposable addresses together (base is not the account name, so they
// still differ from the primary address). Only Gmail ignores dots. Domains not listed keep
// their local parts: elsewhere '+' and '.' may be significant.
struct Provider {
  std::string_view domain;
  char tag;
  bool ignores_dots;
  std::string_view canonical_domain;
};

constexpr std::array kProviders = {
    Provider{"gmail.com", '+', true, ""},      Provider{"googlemail.com", '+', true, "gmail.com"},
    Provider{"outlook.com", '+', false, ""},   Provider{"hotmail.com", '+', false, ""},
    Provider{"live.com", '+', false, ""},      Provider{"msn.com", '+', false, ""},
    Provider{"icloud.com", '+', false, ""},    Provider{"me.com", '+', false, ""},
    Provider{"mac.com", '+', false, ""},       Provider{"fastmail.com", '+', false, ""},
    Provider{"fastmail.fm", '+', false, ""},   Provider{"protonmail.com", '+', false, ""},
    Provider{"protonmail.ch", '+', false, ""}, Provider{"proton.me", '+', false, ""},
    Provider{"pm.me", '+', false, ""},         Provider{"yahoo.com", '-', false, ""},
    Provider{"ymail.com", '-', false, ""},     Provider{"rocketmail.com", '-', false, ""},
    Provider{"yahoo.co.uk", '-', false, ""},   Provider{"yahoo.fr", '-', false, ""},
    Provider{"yahoo.de", '-', false, ""},      Provider{"yahoo.it", '-', false, ""},
    Provider{"yahoo.es", '-', false, ""},      Provider{"yahoo.ca", '-', false, ""},
    Provider{"yahoo.com.au", '-', false, ""},  Provider{"yahoo.co.in", '-', false, ""},
};

void apply_provider_rules(std::string &local, std::string &domain) {
  const auto provider = std::find_if(kProviders.begin(), kProviders.end(),
                                     [&](const Provider &p) { return p.domain == domain; });
  if (provider == kProviders.end()) return;
  const std::size_t tag = local.find(provider->tag);
  // "+tag@gmail.com" is no mailbox of anyone's: keep it whole rather than leave nothing. Nor is
  // "ann.+tag@outlook.com" (a local part cannot end in a dot) where dots count: cut, it would
  // leave a form that is no address.
  if (tag != std::string::npos && tag > 0 && (provider->ignores_dots || local[tag - 1] != '.'))
    local.resize(tag);
  if (provider->ignores_dots) {
    std::string undotted;
    for (char c : local)
      if (c != '.') undotted += c;
    if (!undotted.empty()) local = std::move(undotted);
  }
  if (!provider->canonical_domain.empty()) domain = provider->canonical_domain;
}

// ---------------------------------------------------------------------------------------------
// Names

// The scripts a name is written in, besides Latin: they decide which legal terms apply.
struct Scripts {
  std::vector<int> others;      // UScriptCode of letters not in Latin script, each once
  bool cyrillic_first = false;  // such names put their legal form first
};

Scripts scripts_of(const icu::UnicodeString &text) {
  Scripts scripts;
  bool first = true;
  for (int32_t i = 0; i < text.length();) {
    const UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    if (!u_isalpha(c)) continue;
    UErrorCode status = U_ZERO_ERROR;
    const int script = uscript_getScript(c, &status);
    if (U_FAILURE(status) || script == USCRIPT_COMMON || script == USCRIPT_INHERITED) continue;
    if (first) scripts.cyrillic_first = script == USCRIPT_CYRILLIC;
    first = false;
    if (script != USCRIPT_LATIN &&
        std::find(scripts.others.begin(), scripts.others.end(), script) == scripts.others.end())
      scripts.others.push_back(script);
  }
  return scripts;
}

// s in ASCII for tokenising: transliterated to Latin and stripped of accents; what has no ASCII
// form is dropped when it is a mark or modifier letter (Arabic ʿ, so letters around it join, as
// apostrophes do) and otherwise becomes a space (emoji, U+FFFD for invalid UTF-8, scripts ICU
// cannot romanise). ASCII text is returned as it is, without touching ICU.
std::string ascii_fold(std::string_view s, Scripts *scripts) {
  if (scripts != nullptr) *scripts = {};
  if (is_ascii(s)) return std::string(s);
  icu::UnicodeString text =
      icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  if (scripts != nullptr) *scripts = scripts_of(text);
  ascii_transliterator().transliterate(text);
  std::string out;
  out.reserve(static_cast<std::size_t>(text.length()));
  for (int32_t i = 0; i < text.length();) {
    const UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    switch (u_charType(c)) {
      case U_NON_SPACING_MARK:
      case U_ENCLOSING_MARK:
      case U_COMBINING_SPACING_MARK:
      case U_MODIFIER_LETTER:
      case U_MODIFIER_SYMBOL:
        break;
      default:
        out += ' ';
    }
  }
  return out;
}

bool is_apostrophe(char c) {
  return c == '\'' || c == '`';
}

// Lower-case runs of letters and digits; apostrophes join, anything else separates.
std::vector<std::string> words(std::string_view ascii) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : ascii) {
    if (is_alnum(c)) {
      current += lower(c);
    } else if (!is_apostrophe(c) && !current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

// '&' separates like any punctuation, so dropping "and" makes "A & B" and "A and B" one name.
// A name that is nothing but "and" keeps it.
void drop_and(std::vector<std::string> &tokens) {
  if (std::all_of(tokens.begin(), tokens.end(), [](const std::string &t) { return t == "and"; }))
    return;
  std::erase(tokens, std::string("and"));
}

// "S.A.", "S A" and "SA" are one legal form, "I.B.M." and "IBM" one name: runs of two or more
// one-character tokens become one token.
void join_single_characters(std::vector<std::string> &tokens) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < tokens.size();) {
    std::size_t j = i;
    while (j < tokens.size() && tokens[j].size() == 1) ++j;
    if (j - i >= 2) {
      std::string joined;
      for (std::size_t k = i; k < j; ++k) joined += tokens[k];
      out.push_back(std::move(joined));
      i = j;
    } else {
      out.push_back(std::move(tokens[i]));
      ++i;
    }
  }
  tokens = std::move(out);
}

std::vector<std::string> company_tokens_of_ascii(std::string_view ascii) {
  std::vector<std::string> tokens = words(ascii);
  drop_and(tokens);
  join_single_characters(tokens);
  return tokens;
}

// Strips terms from the end, longest first and repeatedly ("GmbH & Co. KG", "Corporation, Inc."),
// or with at_front from the front; at least one token always remains.
void strip_terms(std::vector<std::string> &tokens, const StringSet &terms, std::size_t longest,
                 bool at_front) {
  for (bool stripped = true; stripped;) {
    stripped = false;
    const std::size_t n = tokens.size();
    for (std::size_t k = std::min(longest, n - 1); k >= 1 && !stripped; --k) {
      if (!terms.contains(at_front ? join(tokens, 0, k) : join(tokens, n - k, n))) continue;
      if (at_front)
        tokens.erase(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(k));
      else
        tokens.resize(n - k);
      stripped = true;
    }
  }
}

// Latin-script terms apply to every name, others only to names with letters of their script,
// which keeps a name's result independent of what else the process has normalised.
void strip_legal_terms(std::vector<std::string> &tokens, const Scripts &scripts,
                       const Reference &ref) {
  std::vector<const Reference::LegalTerms *> sets{&ref.latin_legal_terms()};
  for (int script : scripts.others)
    if (const Reference::LegalTerms *terms = ref.legal_terms_of_script(script))
      sets.push_back(terms);
  // Until no set strips more: "Ромашка Ltd ООО" needs both.
  for (std::size_t before = 0; before != tokens.size();) {
    before = tokens.size();
    for (const Reference::LegalTerms *terms : sets)
      strip_terms(tokens, terms->suffixes, terms->max_tokens, false);
  }
  if (scripts.cyrillic_first)
    for (const Reference::LegalTerms *terms : sets)
      strip_terms(tokens, terms->prefixes, terms->max_tokens, true);
}

// Titles, generational words and post-nominal letters: never part of whom a name identifies.
// (Not "lord", "lady" or "dean": they are surnames too.)
constexpr std::array<std::string_view, 30> kHonorifics = {
    "mr",   "mrs", "ms",  "miss", "mx",  "dr",  "prof", "jr", "sr",   "ii",
    "iii",  "iv",  "phd", "md",   "esq", "sir", "dame", "bt", "bart", "rev",
    "revd", "hon", "kbe", "cbe",  "obe", "mbe", "frs",  "qc", "kc",   "kt"};

bool is_honorific(std::string_view t) {
  return std::find(kHonorifics.begin(), kHonorifics.end(), t) != kHonorifics.end();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::optional<std::string> normalize_email(std::string_view s) {
  if (s.size() > kMaxEmailInput) return std::nullopt;
  s = trim(s);
  const std::size_t at = s.find('@');
  if (at == std::string_view::npos || s.find('@', at + 1) != std::string_view::npos)
    return std::nullopt;
  std::string_view domain_text = s.substr(at + 1);
  if (!domain_text.empty() && domain_text.back() == '.') domain_text.remove_suffix(1);
  std::optional<std::string> domain = ascii_domain(domain_text);
  if (!domain) return std::nullopt;
  std::optional<std::string> local = local_part(s.substr(0, at));
  if (!local) return std::nullopt;
  apply_provider_rules(*local, *domain);
  return *local + '@' + *domain;
}

std::optional<std::string> normalize_phone(std::string_view s, std::string_view default_region) {
  if (s.size() > kMaxPhoneInput || !valid_utf8(s) || s.find('\0') != std::string_view::npos)
    return std::nullopt;
  // "ZZ" is libphonenumber's unknown region: only numbers with a '+' parse with it.
  std::string region = "ZZ";
  default_region = trim(default_region);
  if (default_region.size() == 2 && std::all_of(default_region.begin(), default_region.end(),
                                                [](char c) { return is_alnum(c) && !is_digit(c); }))
    region = {static_cast<char>(default_region[0] & ~0x20),
              static_cast<char>(default_region[1] & ~0x20)};
  const PhoneNumberUtil &util = phone_numbers();
  PhoneNumber number;
  if (util.Parse(std::string(s), region, &number) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  // IsPossibleNumber also accepts numbers only dialable within their area ("555-2671" in the
  // US, IS_POSSIBLE_LOCAL_ONLY), whose E.164 form would name no one.
  if (util.IsPossibleNumberWithReason(number) != PhoneNumberUtil::IS_POSSIBLE) return std::nullopt;
  std::string out;
  util.Format(number, PhoneNumberUtil::E164, &out);
  // Some text parses to a number whose E.164 form is not read back as that number ("00030 92" in
  // Germany gives "+4900302", a number of no one): such a form would not match itself.
  PhoneNumber again;
  if (util.Parse(out, "ZZ", &again) != PhoneNumberUtil::NO_PARSING_ERROR ||
      util.IsPossibleNumberWithReason(again) != PhoneNumberUtil::IS_POSSIBLE)
    return std::nullopt;
  std::string check;
  util.Format(again, PhoneNumberUtil::E164, &check);
  if (check != out) return std::nullopt;
  return out;
}

std::optional<std::string> registrable_domain(std::string_view s) {
  const std::optional<std::string> host = host_of(s);
  if (!host) return std::nullopt;
  const std::optional<std::string_view> registrable = registrable_part(*host);
  if (!registrable) return std::nullopt;
  return std::string(*registrable);
}

std::optional<bool> is_free_email_domain(std::string_view s) {
  return listed(s, &Reference::is_free_domain);
}

std::optional<bool> is_disposable_email_domain(std::string_view s) {
  return listed(s, &Reference::is_disposable_domain);
}

std::vector<std::string> company_name_tokens(std::string_view s) {
  if (s.size() > kMaxNameInput) return {};
  return company_tokens_of_ascii(ascii_fold(s, nullptr));
}

std::optional<std::string> normalize_company_name(std::string_view s) {
  if (s.size() > kMaxNameInput) return std::nullopt;
  Scripts scripts;
  std::vector<std::string> tokens = company_tokens_of_ascii(ascii_fold(s, &scripts));
  if (tokens.empty()) return std::nullopt;
  const Reference &ref = reference();
  if (tokens.size() > 1 && tokens.front() == "the") tokens.erase(tokens.begin());
  strip_legal_terms(tokens, scripts, ref);
  return join(tokens, 0, tokens.size());
}

std::optional<std::string> normalize_person_name(std::string_view s) {
  if (s.size() > kMaxNameInput) return std::nullopt;
  const std::string ascii = ascii_fold(s, nullptr);
  // Words are first cut at everything but letters, digits, dots and apostrophes, so "Ph.D." and
  // "M.D." are recognised whole; what is kept is then cut at its dots ("J.R.R." -> "j r r").
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < ascii.size()) {
    const auto in_word = [&](char c) { return is_alnum(c) || c == '.' || is_apostrophe(c); };
    if (!in_word(ascii[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < ascii.size() && in_word(ascii[end])) ++end;
    const std::string_view word = std::string_view(ascii).substr(i, end - i);
    i = end;
    std::string letters;
    for (char c : word)
      if (is_alnum(c)) letters += lower(c);
    if (letters.empty() || is_honorific(letters)) continue;
    // Each piece is a token of its own too: "Prof.Dr. Schmidt" is "Prof. Dr. Schmidt" typed
    // without spaces, and a result holding "dr" would lose it when normalised again.
    std::string current;
    const auto keep = [&] {
      if (!current.empty() && !is_honorific(current)) tokens.push_back(std::move(current));
      current.clear();
    };
    for (char c : word) {
      if (is_alnum(c))
        current += lower(c);
      else if (c == '.')
        keep();
    }
    keep();
  }
  if (tokens.empty()) return std::nullopt;
  return join(tokens, 0, tokens.size());
}

std::vector<std::string> given_name_forms(std::string_view s) {
  const std::optional<std::string> name = normalize_person_name(s);
  if (!name) return {};
  const Reference &ref = reference();
  std::vector<std::string> forms{*name};
  for (std::uint32_t group : ref.given_name_groups(*name))
    forms.emplace_back(ref.group_name(group));
  std::sort(forms.begin(), forms.end());
  forms.erase(std::unique(forms.begin(), forms.end()), forms.end());
  return forms;
}

bool nickname_equivalent(std::string_view a, std::string_view b) {
  const std::optional<std::string> x = normalize_person_name(a);
  const std::optional<std::string> y = normalize_person_name(b);
  if (!x || !y) return false;
  return *x == *y || reference().nickname_equivalent(*x, *y);
}

}  // namespace crm::match
