// read_address_list: the mailboxes of From/To/Cc/Bcc as mail servers deliver them, including the
// local parts GMime refuses (consecutive, leading and trailing dots, stray quotes).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/capture/address_list.hpp"

namespace {

using crm::capture::read_address_list;

using Pairs = std::vector<std::pair<std::string, std::string>>;  // (name, address)

Pairs read(std::string_view field) {
  Pairs out;
  for (const auto &m : read_address_list(field)) out.emplace_back(m.name, m.address);
  return out;
}

TEST(AddressList, CorporateLocalParts) {
  EXPECT_EQ(
      read("j..broderick@enron.com, carol.st.@enron.com, .brian@enron.com"),
      (Pairs{
          {"", "j..broderick@enron.com"}, {"", "carol.st.@enron.com"}, {"", ".brian@enron.com"}}));
  EXPECT_EQ(read("\"St. Clair, Carol\" <carol.st..clair@enron.com>"),
            (Pairs{{"St. Clair, Carol", "carol.st..clair@enron.com"}}));
}

TEST(AddressList, QuotedLocalPartsNeedingNoQuotesAreWrittenWithout) {
  EXPECT_EQ(read("\"sara..shackleton\"@enron.com, Tom <tom.\"x\"@enron.com>"),
            (Pairs{{"", "sara..shackleton@enron.com"}, {"Tom", "tom.x@enron.com"}}));
  // Quotes that are needed stay, escapes re-escaped; the trigger decides what it accepts.
  EXPECT_EQ(read("\"john smith\"@ex.com, \"a\\\"b\"@ex.com"),
            (Pairs{{"", "\"john smith\"@ex.com"}, {"", "\"a\\\"b\"@ex.com"}}));
}

TEST(AddressList, StrayQuotesAreCharacters) {
  // A quote inside a word, or one that never closes, does not swallow the rest of the list.
  EXPECT_EQ(read("a\"b@enron.com, \"Carol\" <carol@enron.com>"),
            (Pairs{{"", "a\"b@enron.com"}, {"Carol", "carol@enron.com"}}));
  EXPECT_EQ(read("\"John Smith <jsmith@x.com>, bob@x.com"),
            (Pairs{{"\"John Smith", "jsmith@x.com"}, {"", "bob@x.com"}}));
}

TEST(AddressList, GroupsRoutesAndComments) {
  // RFC 5322 appendix A.5, and an obsolete route.
  EXPECT_EQ(read("Pete(A wonderful \\) chap) <pete(his account)@silly.test(his host)>"),
            (Pairs{{"Pete", "pete@silly.test"}}));
  EXPECT_EQ(read("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
                 "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end)"),
            (Pairs{{"Chris Jones", "c@public.example"},
                   {"", "joe@example.org"},
                   {"John", "jdoe@one.test"}}));
  EXPECT_EQ(read("(Empty list)(start)Undisclosed recipients  :(nobody(that I know))  ;"), Pairs{});
  EXPECT_EQ(read("<@route.example,@other.example:a@x.com>"), (Pairs{{"", "a@x.com"}}));
  EXPECT_EQ(read("m..presto@enron.com (Kevin M. Presto)"),
            (Pairs{{"Kevin M. Presto", "m..presto@enron.com"}}));
}

TEST(AddressList, ObsoleteSpacingAndBareNames) {
  EXPECT_EQ(read("a @ x . com"), (Pairs{{"", "a@x.com"}}));
  // A name without angle brackets, and addresses separated by white space only.
  EXPECT_EQ(read("Big Bug bb@bug.com"), (Pairs{{"Big Bug", "bb@bug.com"}}));
  EXPECT_EQ(read("tim@x.com concierge@x.com"), (Pairs{{"", "tim@x.com"}, {"", "concierge@x.com"}}));
  // Inside angle brackets white space between words is kept, so it is refused, not glued.
  EXPECT_EQ(read("<john smith@x.com>"), (Pairs{{"", "john smith@x.com"}}));
  EXPECT_EQ(read("x@enron.com."), (Pairs{{"", "x@enron.com"}}));
}

TEST(AddressList, WhatIsNotAnAddress) {
  EXPECT_EQ(read(""), Pairs{});
  EXPECT_EQ(read("Doe, Jane <jane@x.com>"), (Pairs{{"Jane", "jane@x.com"}}));
  EXPECT_EQ(read("MAILER-DAEMON <>"), Pairs{});
  // Text with an '@' is handed on as written, for the trigger's rules to judge.
  EXPECT_EQ(read("a@b@c.com, @x.com, <y@>"),
            (Pairs{{"", "a@b@c.com"}, {"", "@x.com"}, {"", "y@"}}));
  // Unclosed brackets and comments end with the field.
  EXPECT_EQ(read("Ann <ann@x.com"), (Pairs{{"Ann", "ann@x.com"}}));
  EXPECT_EQ(read("bob@x.com (Bob"), (Pairs{{"Bob", "bob@x.com"}}));
}

}  // namespace
