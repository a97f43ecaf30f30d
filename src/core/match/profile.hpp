// A record's match profile: its fields normalised once, when the record is written, so comparing
// two records never normalises again. Stored as text[] in crm.match_profile, in field order.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/signals/types.hpp"

namespace crm::match {

using signals::RecordKind;

// Profile fields of a person. Multi-valued fields (emails, domains) hold sorted values joined by
// single spaces; "" means unknown.
enum PersonField : int {
  kFirstName,
  kLastName,
  kEmails,
  kPhone,
  kBirthDate,  // yyyymmdd
  kStreet,
  kCity,
  kPostalCode,
  kCompanyId,
  kEmailDomains,  // registrable domains of the emails, free and disposable mail left out
  kPersonFields
};

enum CompanyField : int {
  kCompanyName,
  kDomain,
  kCompanyPhone,
  kCompanyStreet,
  kCompanyCity,
  kCompanyPostalCode,
  kCountry,
  kCompanyFields
};

// The columns a profile is built from, in the order RawRecord::columns holds them.
std::span<const std::string_view> source_columns(RecordKind kind);

// A record as its row holds it: text of each source column (nullopt for NULL), the person's
// additional emails, and the values of the workspace's configured custom attributes.
struct RawRecord {
  std::vector<std::optional<std::string>> columns;
  std::vector<std::string> extra_emails;
  std::vector<std::optional<std::string>> attributes;
};

struct Profile {
  std::vector<std::string> fields;  // base fields of the kind, then one per configured attribute

  const std::string &operator[](int i) const { return fields[static_cast<std::size_t>(i)]; }
  bool operator==(const Profile &) const = default;
};

// The values of custom attributes in a record's attributes jsonb (as text): strings as they are,
// numbers and booleans as JSON text, null or absent as nullopt. Malformed JSON gives all nullopt.
std::vector<std::optional<std::string>> attribute_values(const std::string &json,
                                                         const std::vector<std::string> &keys);

// default_region: ISO 3166 region for phone numbers written without a country code, used when
// the record's own country is not a two-letter code.
Profile build_profile(RecordKind kind, const RawRecord &raw, std::string_view default_region);

// A stable 64-bit digest of a profile: equal digests mean nothing a comparison reads changed.
std::int64_t fingerprint(const Profile &profile);

// Normalised street: folded, common street-type words abbreviated ("Boulevard" → "blvd").
std::string normalize_street(std::string_view street);

// The first token made of digits only ("12224 ventura blvd" → "12224"), or "".
std::string_view street_number(std::string_view normalized_street);

// The first word of the street's name: "435 s la cienega blvd" → "la", "102 5th ave" → "5th".
std::string_view street_name_word(std::string_view normalized_street);

}  // namespace crm::match
