// The rules follow RFC 3834 (Auto-Submitted), RFC 3464 / 8098 / 5965 (delivery, read and abuse
// reports) and the de-facto headers of Exchange, Apple and list managers. Subjects are the last
// resort: only phrases an auto-responder writes at the start of a subject count, so that
// "Auto insurance" or "Re: out of office plans" stay correspondence.
#include "core/capture/mail_rules.hpp"

#include <array>
#include <string_view>

namespace crm::capture {

namespace {

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char &c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// The first token of a header value: comments "(...)" and parameters after ';' are not part of
// the keyword ("auto-generated (failure)", "auto-replied; owner-email=...").
std::string keyword(const std::string &value) {
  std::string_view text = value;
  text = text.substr(0, text.find_first_of(";("));
  return lower(trim(text));
}

bool is_no(const std::string &value) {
  const std::string word = keyword(value);
  return word == "no" || word == "false" || word == "0";
}

// Auto-responder subject prefixes, lower-case; accented letters as auto-responders write them.
constexpr std::array<std::string_view, 27> kReplyPrefixes = {
    "automatic reply:",
    "automatic reply -",
    "auto reply:",
    "auto-reply:",
    "autoreply:",
    "auto:",
    "auto response:",
    "auto-response:",
    "autoresponse:",
    "automatic response:",
    "out of office:",
    "out of office reply",
    "out of office autoreply",
    "out of the office:",
    "automatische antwort:",
    "automatische antwort -",
    "abwesenheitsnotiz",
    "abwesend:",
    "réponse automatique",
    "reponse automatique",
    "absent du bureau",
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina:",
    "risposta automatica",
    "automatisch antwoord",
    "resposta automática",
};

// Whole subjects an auto-responder uses on its own, with nothing after them.
constexpr std::array<std::string_view, 8> kReplySubjects = {
    "out of office", "out of the office", "autoreply",   "auto reply",
    "auto-reply",    "automatic reply",   "abwesenheit", "vacation reply",
};

std::optional<std::string> vacation_subject(const std::string &subject) {
  std::string text = lower(trim(subject));
  // Some responders write a space before the colon ("AutoRespons :", French typography).
  for (std::size_t at = text.find(" :"); at != std::string::npos; at = text.find(" :", at))
    text.erase(at, 1);
  for (std::string_view prefix : kReplyPrefixes)
    if (text.starts_with(prefix)) return "subject \"" + std::string(prefix) + "\"";
  for (std::string_view whole : kReplySubjects)
    if (text == whole) return "subject \"" + std::string(whole) + "\"";
  // Lotus Notes: "AUTO: Jane Doe is out of the office (returning 02/03/2020)", and without the
  // prefix "Jane Doe is out of the office." - the sentence ends the subject.
  constexpr std::string_view kNotes = " is out of the office";
  std::size_t at = text.find(kNotes);
  if (at != std::string::npos) {
    std::string_view rest = std::string_view(text).substr(at + kNotes.size());
    if (rest.empty() || rest == "." || rest.starts_with(" (returning") ||
        rest.starts_with(" until"))
      return std::string("subject \"is out of the office\"");
  }
  return std::nullopt;
}

std::optional<Skip> automated(const MailHeaders &h) {
  if (h.auto_submitted && !keyword(*h.auto_submitted).empty() && !is_no(*h.auto_submitted))
    return Skip{"automated", "Auto-Submitted: " + keyword(*h.auto_submitted)};
  if (h.feedback_type) return Skip{"automated", "ARF feedback report"};
  if (h.content_type == "multipart/report")
    return Skip{"automated", "multipart/report (delivery or read report)"};
  if (h.content_type == "message/delivery-status" ||
      h.content_type == "message/disposition-notification" ||
      h.content_type == "message/feedback-report")
    return Skip{"automated", h.content_type + " report"};
  if (h.return_path) {
    std::string path;
    for (char c : *h.return_path)
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') path += c;
    if (path.empty() || path == "<>") return Skip{"automated", "null Return-Path"};
  }
  if (h.x_autoreply && !is_no(*h.x_autoreply)) return Skip{"automated", "X-Autoreply header"};
  if (h.x_autorespond && !is_no(*h.x_autorespond)) return Skip{"automated", "X-Autorespond header"};
  if (h.x_apple_action && keyword(*h.x_apple_action) == "vacation")
    return Skip{"automated", "X-Apple-Action: VACATION"};
  if (h.x_ms_exchange_inbox_rules_loop)
    return Skip{"automated", "X-MS-Exchange-Inbox-Rules-Loop header"};
  if (h.x_ms_exchange_generated_message_source)
    return Skip{"automated", "X-MS-Exchange-Generated-Message-Source header"};
  // Exchange stamps "All" on what it generates itself (out-of-office replies, reports) so that no
  // other responder answers. Narrower values (OOF, DR, ...) are requests some clients add to
  // ordinary mail a person wrote, so they do not count.
  if (h.x_auto_response_suppress && keyword(*h.x_auto_response_suppress) == "all")
    return Skip{"automated", "X-Auto-Response-Suppress: All"};
  if (h.precedence && keyword(*h.precedence) == "auto_reply")
    return Skip{"automated", "Precedence: auto_reply"};
  if (auto cause = vacation_subject(h.subject))
    return Skip{"automated", "vacation reply " + *cause};
  // Microsoft's junk-mail reporting program sends complaints as plain multipart/mixed, not ARF.
  if (h.from_address == "staff@hotmail.com" &&
      lower(trim(h.subject)).starts_with("complaint about message from"))
    return Skip{"automated", "complaint feedback report (Microsoft JMRP)"};
  if (h.from_address == "<>") return Skip{"automated", "null From address"};
  if (is_automated_sender(h.from_address)) {
    std::string local = lower(h.from_address.substr(0, h.from_address.rfind('@')));
    return Skip{"automated", "automated sender " + local};
  }
  return std::nullopt;
}

std::optional<Skip> bulk(const MailHeaders &h) {
  if (h.list_id) return Skip{"bulk", "List-Id header"};
  if (h.list_unsubscribe) return Skip{"bulk", "List-Unsubscribe header"};
  if (!h.other_list_header.empty()) return Skip{"bulk", h.other_list_header + " header"};
  if (h.precedence) {
    const std::string word = keyword(*h.precedence);
    if (word == "bulk" || word == "list" || word == "junk")
      return Skip{"bulk", "Precedence: " + word};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Skip> classify_mail(const MailHeaders &headers) {
  if (auto skip = automated(headers)) return skip;
  return bulk(headers);
}

bool is_automated_sender(const std::string &address) {
  std::string local = lower(trim(std::string_view(address).substr(0, address.rfind('@'))));
  local = local.substr(0, local.find('+'));  // noreply+tag@
  // no-reply, no_reply, no.reply, do-not-reply, mailer-daemon, ... compared without separators.
  std::string bare;
  for (char c : local)
    if (c != '-' && c != '_' && c != '.') bare += c;
  if (bare == "mailerdaemon" || bare == "postmaster") return true;
  // System senders named after the daemon that writes them: bugzilla-daemon, majordomo-daemon.
  if (bare.size() > 6 && bare.ends_with("daemon")) return true;
  // "notifications-noreply", "noreply.billing": the word anywhere in the local part.
  return bare.find("noreply") != std::string::npos || bare.find("donotreply") != std::string::npos;
}

}  // namespace crm::capture
