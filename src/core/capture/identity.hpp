// Identities of captured items (Message-ID, iCalendar UID) as stored in crm.interaction's
// external_id, whose unique index holds at most about 2,700 bytes a row.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace crm::capture {

// Longer identities are hashed. Real ones are well under 100 bytes; 512 leaves room for the
// "/RECURRENCE-ID" suffix of an instance and stays far below the index's limit.
inline constexpr std::size_t kMaxIdentityBytes = 512;

// SHA-256 of the bytes, lower-case hex.
std::string sha256_hex(std::string_view bytes);

// `id` itself when it has at most kMaxIdentityBytes, else "<sha256-hex>@hash.crm-hygiene": the
// same id gives the same identity in every mailbox and calendar, so copies still match.
std::string bounded_identity(std::string_view id);

}  // namespace crm::capture
