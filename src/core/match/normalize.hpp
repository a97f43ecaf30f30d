// Normalisers for duplicate detection: the canonical forms records are compared and blocked on.
//
// Every function takes UTF-8 text and never throws on bad input: invalid UTF-8, control
// characters, embedded NULs, empty and oversized text give std::nullopt (NULL in SQL) or a sane
// value, as documented per function. They throw crm::Error only when the machinery itself is
// missing (ICU, libpsl, the installed reference data), and std::bad_alloc.
//
// Results depend on the ICU, libphonenumber and libpsl versions and on the reference data; they
// are fixed for a given installation (the SQL functions are IMMUTABLE on that basis).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm::match {

// Longest text each normaliser looks at; longer text is not a value of that kind (nullopt).
// Names are capped low because ICU transliteration of long non-Latin text is slow (about 0.1 ms
// per CJK character, more than linear in the length).
inline constexpr std::size_t kMaxEmailInput = 1024;
inline constexpr std::size_t kMaxPhoneInput = 256;
inline constexpr std::size_t kMaxNameInput = 4096;
inline constexpr std::size_t kMaxUrlInput = 1 << 20;

// A bare address "local@domain" (surrounding whitespace and a trailing dot on the domain
// tolerated) in the form two addresses of one mailbox share: local part lower-cased (NFC for
// non-ASCII), domain lower-case ASCII (IDN as punycode via UTS #46), googlemail.com as gmail.com,
// Gmail dots and provider sub-address tags removed. nullopt for anything else.
std::optional<std::string> normalize_email(std::string_view s);

// E.164 ("+14155552671") with libphonenumber, reading numbers without a '+' as numbers of
// default_region (ISO 3166 alpha-2, any case). nullopt when the text cannot be parsed, the
// number is not possible (length) or only dialable locally, or the region is unknown and the
// number has no '+'. Extensions are dropped.
std::optional<std::string> normalize_phone(std::string_view s, std::string_view default_region);

// The registrable domain (public suffix plus one label, by the Public Suffix List) of an email
// address, a host name or a URL, in lower-case ASCII: "mail.acme.co.uk" -> "acme.co.uk",
// "http://www.Example.COM/x" -> "example.com". nullopt for a public suffix itself ("co.uk"), an
// IP address, an unknown top-level domain or text that names no host.
std::optional<std::string> registrable_domain(std::string_view s);

// Whether an address, host or URL is at a free-mail (gmail.com, web.de, ...) or a disposable
// domain, by the host or one of its parents up to the registrable domain. nullopt when the text
// has no registrable domain. Throws crm::Error 58P01 when the reference data is not installed.
std::optional<bool> is_free_email_domain(std::string_view s);
std::optional<bool> is_disposable_email_domain(std::string_view s);

// A company name as space-separated lower-case ASCII tokens: transliterated (ICU Any-Latin,
// Latin-ASCII), apostrophes joining ("O'Reilly" -> "oreilly"), other punctuation separating,
// runs of single characters joined ("S.A.", "I B M" -> "sa", "ibm"), '&' and "and" dropped, a
// leading "the" dropped, and legal-entity terms of every country (cleanco) stripped from the end
// repeatedly, and from the front of names written in Cyrillic ("ООО Ромашка" -> "romaska"),
// never leaving nothing: "The Acme Corporation, Inc." = "ACME Corp" = "acme"; "Inc." -> "inc".
// nullopt when no letter or digit remains. Throws crm::Error 58P01 without reference data.
std::optional<std::string> normalize_company_name(std::string_view s);

// The tokens of a company name before "and", "the" and legal terms are considered: the first
// steps of normalize_company_name, shared with the reference loader so legal terms are
// normalised exactly as names are.
std::vector<std::string> company_name_tokens(std::string_view s);

// A person's name as space-separated lower-case ASCII tokens: transliterated, apostrophes joining,
// hyphens and other punctuation separating, honorifics and generational suffixes dropped when
// they are tokens of their own (mr, mrs, ms, miss, dr, prof, jr, sr, ii, iii, iv, phd, md, esq;
// "Ph.D." and "M.D." included). nullopt when nothing remains. Needs no reference data.
std::optional<std::string> normalize_person_name(std::string_view s);

// A given name's normalised form plus the canonical names it may be a nickname of ("Bob" ->
// {"bob", "robert"}), sorted and unique. Empty when s is not a name. Needs the reference data.
std::vector<std::string> given_name_forms(std::string_view s);

// Whether two raw given names may name the same person: equal once normalised, or nicknames of
// a common canonical name (Bob ~ Robert ~ Rob, Bill ~ William, Peggy ~ Margaret). False when
// either is not a name. Needs the reference data.
bool nickname_equivalent(std::string_view a, std::string_view b);

}  // namespace crm::match
