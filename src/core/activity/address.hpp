// Participant addresses: an email address or a phone number, nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crm::activity {

enum class AddressKind { Email, Phone };

// Longest address accepted (RFC 5321 allows 254 octets in a path; leave room for odd input).
inline constexpr std::size_t kMaxAddressLength = 320;

// Writes the canonical form into out (at least kMaxAddressLength + 1 bytes) and returns its kind.
// Emails are trimmed and ASCII-lower-cased; phone numbers keep a leading '+' and their digits.
// Throws crm::Error: 22P02 when the text is neither, 54000 when it is too long.
AddressKind canonical_address(std::string_view text, char *out, std::size_t *out_length);

// Why canonical_address would refuse `text`, in words for a log ("\"jo@foo_bar.com\" is neither
// an email address nor a phone number"); nothing when it accepts it. It calls canonical_address,
// so capture, which drops what this refuses, never hands the participant trigger an address the
// trigger refuses.
std::optional<std::string> refusal(std::string_view text);

// A stable 64-bit key of a canonical address (FNV-1a): the same on every machine and release, so
// it can be stored. Never 0, which means "no address".
std::int64_t address_key(std::string_view canonical);

}  // namespace crm::activity
