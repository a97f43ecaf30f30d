// RFC 5322 / MIME messages, read with GMime.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/capture/types.hpp"

namespace crm::capture {

enum class DateSource { header, received, none };

struct ParsedEmail {
  // Identity: the Message-ID as "<id>" (angle brackets, whitespace removed); when the message has
  // none, "<sha256-hex@hash.crm-hygiene>" over From, Date and Subject, stable across mailboxes;
  // one longer than kMaxIdentityBytes (identity.hpp) as "<sha256-hex-of-it@hash.crm-hygiene>".
  std::string message_id;
  bool message_id_synthesized = false;
  // The thread's root: the first valid id of References, else In-Reply-To, else message_id
  // (bounded like message_id, so a reply threads with a message whose id was hashed).
  std::string thread_key;
  // Date, leniently: the Date header; if absent or unparseable, the newest Received date;
  // else none (the caller uses the ingest time).
  std::optional<Micros> date;
  DateSource date_source = DateSource::none;
  std::string subject;  // decoded UTF-8 (RFC 2047 words and raw 8-bit headers), may be empty
  // from, to, cc, bcc in that order; groups flattened; each (address, role) once; every address
  // is one the participant trigger accepts (crm::activity::refusal), entries without '@' ignored.
  std::vector<Participant> participants;
  // Addresses left out because the trigger would refuse them, each as a reason for the capture
  // log: "dropped to address: \"jo@foo_bar.com\" is neither an email address nor a phone number".
  std::vector<std::string> dropped;
  // Set when the message is automated, bulk or unreadable by its headers alone (mail_rules.hpp),
  // e.g. {"automated", "Auto-Submitted: auto-replied"}; or {"malformed", "..."}.
  std::optional<Skip> skip;
  // The iCalendar text of each text/calendar part that is an invitation (has a METHOD, in the
  // Content-Type parameter or the calendar itself): such a message goes to the calendar path.
  std::vector<std::string> invitations;
};

// Never throws for bad input: what cannot be read is reported through `skip`.
// May throw std::bad_alloc. Calls ensure_glib_runtime() itself.
ParsedEmail parse_email(std::string_view raw);

}  // namespace crm::capture
