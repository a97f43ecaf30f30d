// RFC 5322 address lists (From, To, Cc, Bcc), read the way mail servers deliver them rather than
// the way the grammar is written: GMime refuses local parts real corporate mail is full of
// (j..broderick@enron.com, carol.st.@enron.com, a stray quote) and drops the whole mailbox.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace crm::capture {

// One mailbox of a list, as written. Nothing is validated or decoded here.
struct ListedMailbox {
  // The display name: its words and quoted strings (unquoted, unescaped) joined by single spaces,
  // comments left out; for a bare address, the text of a comment after it ("x@y (Name)").
  // Still RFC 2047 encoded and in the header's bytes.
  std::string name;
  // local@domain. A quoted local part whose content needs no quotes ("j..b"@x) is written
  // without them, other quoted ones keep them; one trailing dot of the domain (FQDN) is dropped.
  // Empty when the entry has no '@' (a group's name, "undisclosed-recipients", a bare word).
  std::string address;
};

// Every mailbox of the field value (folded or not), in order, groups flattened. Lenient: obsolete
// syntax (routes, spaces around dots), local parts with any dots, unbalanced quotes and brackets.
std::vector<ListedMailbox> read_address_list(std::string_view field);

}  // namespace crm::capture
