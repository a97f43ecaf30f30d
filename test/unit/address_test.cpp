// canonical_address: a participant address is an email address or a phone number, nothing else.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>

#include "core/activity/address.hpp"
#include "core/error.hpp"

namespace {

using crm::activity::AddressKind;
using crm::activity::canonical_address;
using crm::activity::kMaxAddressLength;

struct Canonical {
  AddressKind kind;
  std::string text;
};

// Runs canonical_address with an output buffer of exactly the documented size, guarded by a
// sentinel byte to catch writes past it.
Canonical canonical(std::string_view text) {
  std::array<char, kMaxAddressLength + 2> buffer;
  buffer.fill('\x5a');
  std::size_t length = 12345;
  const AddressKind kind = canonical_address(text, buffer.data(), &length);
  EXPECT_EQ(buffer[kMaxAddressLength + 1], '\x5a') << "wrote past kMaxAddressLength + 1 bytes";
  EXPECT_LE(length, kMaxAddressLength);
  return {kind, std::string(buffer.data(), length)};
}

// The SQLSTATE canonical_address throws for text, or "" when it does not throw.
std::string sqlstate_of(std::string_view text) {
  try {
    canonical(text);
  } catch (const crm::Error &e) {
    return e.sqlstate();
  }
  return "";
}

// True when s is well-formed UTF-8 as far as sequence structure goes (enough for these tests).
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t continuation;
    if (c < 0x80) {
      continuation = 0;
    } else if ((c & 0xe0) == 0xc0) {
      continuation = 1;
    } else if ((c & 0xf0) == 0xe0) {
      continuation = 2;
    } else if ((c & 0xf8) == 0xf0) {
      continuation = 3;
    } else {
      return false;
    }
    if (s.size() - i < continuation + 1) return false;
    for (std::size_t k = 1; k <= continuation; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += continuation + 1;
  }
  return true;
}

// ---- emails ----

TEST(CanonicalAddress, EmailIsAsciiLowerCased) {
  const Canonical c = canonical("Jane.DOE+Tag@Example.COM");
  EXPECT_EQ(c.kind, AddressKind::Email);
  EXPECT_EQ(c.text, "jane.doe+tag@example.com");
}

TEST(CanonicalAddress, EmailIsTrimmedOfAsciiWhitespace) {
  EXPECT_EQ(canonical("  a@b.com ").text, "a@b.com");
  EXPECT_EQ(canonical("\t\n\v\f\r a@b.com \r\n\t").text, "a@b.com");
}

TEST(CanonicalAddress, AlreadyCanonicalEmailIsUnchanged) {
  const Canonical c = canonical("x_y-z.1@sub-1.example.co.uk");
  EXPECT_EQ(c.kind, AddressKind::Email);
  EXPECT_EQ(c.text, "x_y-z.1@sub-1.example.co.uk");
}

TEST(CanonicalAddress, CanonicalisingIsIdempotent) {
  for (const char *text : {"  Jane@Example.com", "+1 (555) 010-0999", "Ä@BÜCHER.de"}) {
    const Canonical once = canonical(text);
    const Canonical twice = canonical(once.text);
    EXPECT_EQ(once.kind, twice.kind) << text;
    EXPECT_EQ(once.text, twice.text) << text;
  }
}

TEST(CanonicalAddress, Utf8DomainBytesPassThroughNotLowerCased) {
  // "BÜCHER": the ASCII letters are lower-cased, the two bytes of U+00DC are left as they are.
  const Canonical c = canonical(
      "Info@B\xC3\x9C"
      "CHER.de");
  EXPECT_EQ(c.kind, AddressKind::Email);
  EXPECT_EQ(c.text,
            "info@b\xC3\x9C"
            "cher.de");
  // Already lower-case non-ASCII letters are kept byte for byte.
  EXPECT_EQ(canonical("kontakt@b\xC3\xBC"
                      "cher.de")
                .text,
            "kontakt@b\xC3\xBC"
            "cher.de");
  // A CJK domain (three-byte sequences).
  EXPECT_EQ(canonical("a@\xE4\xBE\x8B\xE3\x81\x88.jp").text, "a@\xE4\xBE\x8B\xE3\x81\x88.jp");
}

TEST(CanonicalAddress, Utf8LocalPartPassesThrough) {
  EXPECT_EQ(canonical("J\xC3\x96RG@example.de").text, "j\xC3\x96rg@example.de");
}

TEST(CanonicalAddress, SingleLabelDomainIsAccepted) {
  EXPECT_EQ(canonical("root@LOCALHOST").text, "root@localhost");
}

// ---- phones ----

TEST(CanonicalAddress, PhoneKeepsLeadingPlusAndDigits) {
  const Canonical c = canonical("+1 (555) 010-0999");
  EXPECT_EQ(c.kind, AddressKind::Phone);
  EXPECT_EQ(c.text, "+15550100999");
}

TEST(CanonicalAddress, PhoneSeparatorsAreDropped) {
  EXPECT_EQ(canonical("555.010.0999").text, "5550100999");
  EXPECT_EQ(canonical("0049/30/123456").text, "004930123456");
  EXPECT_EQ(canonical("  +44 20 7946 0958\t").text, "+442079460958");
  EXPECT_EQ(canonical("(030) 12-34-56").text, "030123456");
}

TEST(CanonicalAddress, PhoneDigitCountBounds) {
  EXPECT_EQ(sqlstate_of("1234"), "22P02");
  EXPECT_EQ(canonical("12345").text, "12345");
  EXPECT_EQ(canonical("+12345").text, "+12345");
  EXPECT_EQ(canonical("12345678901234567890").text, "12345678901234567890");
  EXPECT_EQ(sqlstate_of("123456789012345678901"), "22P02");
}

TEST(CanonicalAddress, PlusOnlyAtTheStart) {
  EXPECT_EQ(sqlstate_of("1+5550100999"), "22P02");
  EXPECT_EQ(sqlstate_of("++15550100999"), "22P02");
  EXPECT_EQ(sqlstate_of("+1 555 +0100999"), "22P02");
  EXPECT_EQ(canonical("(+1) 555 010 0999").text, "+15550100999");  // separators before '+' are fine
}

// ---- refused ----

TEST(CanonicalAddress, EmptyIsRefused) {
  EXPECT_EQ(sqlstate_of(""), "22P02");
}

TEST(CanonicalAddress, WhitespaceOnlyIsRefused) {
  EXPECT_EQ(sqlstate_of(" "), "22P02");
  EXPECT_EQ(sqlstate_of(" \t\r\n\v\f "), "22P02");
}

TEST(CanonicalAddress, MalformedInputIsRefusedWith22P02) {
  for (const char *text :
       {"a@",        "@b.com",    "@",         "a b@c.com",      "hello",
        "12",        "a@b@c.com", "a@.com",    "a@b.com.",       "a@b..com",
        "a@-b.com",  "a@b_c.com", "a@b c.com", "<a@b.com>",      "Jane <a@b.com>",
        "a,b@c.com", "a;b@c.com", "a@b,com",   "555-0100 ext 5", "tel:+15550100",
        "+",         "-----",     "12 34"}) {
    EXPECT_EQ(sqlstate_of(text), "22P02") << '"' << text << '"';
  }
  // Control characters inside the local part.
  EXPECT_EQ(sqlstate_of(std::string("a\0b@c.com", 9)), "22P02");
  EXPECT_EQ(sqlstate_of("a\x7f"
                        "b@c.com"),
            "22P02");
  EXPECT_EQ(sqlstate_of("a\tb@c.com"), "22P02");
}

TEST(CanonicalAddress, RefusalNamesTheTextAndGivesAHint) {
  try {
    canonical("hello");
    FAIL() << "expected crm::Error";
  } catch (const crm::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "22P02");
    EXPECT_NE(std::string(e.what()).find("\"hello\""), std::string::npos) << e.what();
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(CanonicalAddress, RefusalShowsAtMost80BytesOfTheText) {
  const std::string text(300, 'x');
  try {
    canonical(text);
    FAIL() << "expected crm::Error";
  } catch (const crm::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "22P02");
    const std::string message = e.what();
    EXPECT_NE(message.find(std::string(80, 'x')), std::string::npos);
    EXPECT_EQ(message.find(std::string(81, 'x')), std::string::npos);
  }
}

// ---- length ----

std::string email_of_length(std::size_t n) {
  const std::string domain = "@example.com";
  return std::string(n - domain.size(), 'a') + domain;
}

TEST(CanonicalAddress, ExactlyMaxLengthIsAccepted) {
  const std::string text = email_of_length(kMaxAddressLength);
  const Canonical c = canonical(text);
  EXPECT_EQ(c.kind, AddressKind::Email);
  EXPECT_EQ(c.text, text);
}

TEST(CanonicalAddress, OneByteOverMaxLengthIs54000) {
  try {
    canonical(email_of_length(kMaxAddressLength + 1));
    FAIL() << "expected crm::Error";
  } catch (const crm::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "54000");
    EXPECT_NE(e.detail().find("321"), std::string::npos) << e.detail();
  }
}

TEST(CanonicalAddress, LengthIsMeasuredAfterTrimming) {
  const std::string text = std::string(1000, ' ') + email_of_length(kMaxAddressLength) + "\n\n";
  EXPECT_EQ(canonical(text).text, email_of_length(kMaxAddressLength));
}

TEST(CanonicalAddress, OneMegabyteIsRefusedAsTooLong) {
  const std::size_t mb = 1 << 20;
  EXPECT_EQ(sqlstate_of(email_of_length(mb)), "54000");
  EXPECT_EQ(sqlstate_of(std::string(mb, 'x')), "54000");
  EXPECT_EQ(sqlstate_of(std::string(mb, '5')), "54000");
  // A megabyte of whitespace around a real address trims down to it.
  const std::string padded = std::string(mb / 2, ' ') + "A@B.com" + std::string(mb / 2, '\t');
  EXPECT_EQ(canonical(padded).text, "a@b.com");
  // A megabyte of whitespace is empty after trimming.
  EXPECT_EQ(sqlstate_of(std::string(mb, ' ')), "22P02");
}

TEST(CanonicalAddress, LongPhoneWithinMaxLengthStillNeedsAtMost20Digits) {
  std::string text = "+1";
  while (text.size() + 2 <= kMaxAddressLength) text += " -";
  text += "5550100999";
  ASSERT_GT(text.size(), kMaxAddressLength);
  EXPECT_EQ(sqlstate_of(text), "54000");
  text.resize(kMaxAddressLength - 10);
  text += "5550100999";
  EXPECT_EQ(canonical(text).text, "+15550100999");
}

// The refusal message quotes the first 80 bytes of the input, cut at a byte boundary. When byte 80
// falls inside a multi-byte UTF-8 character, the message carries a truncated sequence: invalid
// UTF-8 in an ereport message that clients then have to decode (psycopg, JDBC, ...).
TEST(CanonicalAddress, RefusalMessageNeverCutsUtf8SequenceInHalf) {
  std::string text(79, 'a');
  text += "\xC3\xA9 not an address";  // 'é' occupies bytes 80 and 81
  ASSERT_TRUE(valid_utf8(text));
  try {
    canonical(text);
    FAIL() << "expected crm::Error";
  } catch (const crm::Error &e) {
    EXPECT_STREQ(e.sqlstate(), "22P02");
    EXPECT_TRUE(valid_utf8(e.what())) << "message is not valid UTF-8";
  }
}

// The key is stored (crm.connection.address_key), so it must never change between builds.
TEST(AddressKey, IsStableFnv1a) {
  EXPECT_EQ(crm::activity::address_key("a"), static_cast<std::int64_t>(0xaf63dc4c8601ec8cULL));
  EXPECT_EQ(crm::activity::address_key("ann@acme.example"),
            crm::activity::address_key(std::string("ann@acme.example")));
  EXPECT_NE(crm::activity::address_key("ann@acme.example"),
            crm::activity::address_key("ann@acme.exampl"));
  EXPECT_NE(crm::activity::address_key(""), 0);
}

}  // namespace
