// GMime does the RFC 5322 / MIME / RFC 2047 work; this file decides identity, threading, dates and
// participants, and hands the headers to the rules. Every GObject is owned by a unique_ptr.
#include "core/capture/email.hpp"

#include <gmime/gmime.h>

#include <memory>
#include <utility>

#include "core/activity/address.hpp"
#include "core/capture/address_list.hpp"
#include "core/capture/glib_runtime.hpp"
#include "core/capture/gmime_handles.hpp"
#include "core/capture/ical_text.hpp"
#include "core/capture/identity.hpp"
#include "core/capture/invitation_parts.hpp"
#include "core/capture/mail_rules.hpp"

namespace crm::capture {

namespace {

using gmime::DateTimePtr;
using gmime::GCharPtr;
using gmime::GObjectPtr;
using gmime::OptionsPtr;
using gmime::ReferencesPtr;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string trimmed(const char *text) {
  std::string_view view = text ? text : "";
  while (!view.empty() && is_space(view.front())) view.remove_prefix(1);
  while (!view.empty() && is_space(view.back())) view.remove_suffix(1);
  return std::string(view);
}

std::string without_whitespace(std::string_view text) {
  std::string out;
  for (char c : text)
    if (!is_space(c)) out += c;
  return out;
}

std::string ascii_lower(std::string text) {
  for (char &c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

// Parser options: lenient everywhere, and 8-bit header bytes read as UTF-8 when they are valid
// UTF-8, else as windows-1252 (which maps every byte, so nothing is lost).
OptionsPtr parser_options() {
  OptionsPtr options(g_mime_parser_options_new());
  static const char *fallback[] = {"UTF-8", "windows-1252", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback);
  g_mime_parser_options_set_rfc2047_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_address_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  return options;
}

std::optional<std::string> header(GMimeObject *object, const char *name) {
  const char *value = g_mime_object_get_header(object, name);
  if (!value) return std::nullopt;
  return trimmed(value);
}

Micros to_micros(GDateTime *date) {
  return static_cast<Micros>(g_date_time_to_unix(date)) * 1000000 +
         g_date_time_get_microsecond(date);
}

std::optional<Micros> decode_date(const std::string &text) {
  if (text.empty()) return std::nullopt;
  DateTimePtr date(g_mime_utils_header_decode_date(text.c_str()));
  if (!date) return std::nullopt;
  return to_micros(date.get());
}

// The newest of the Received dates (the text after each header's last ';') that parse. Relays add
// theirs on top, but forwarded and re-injected mail mixes the order, so the latest time wins.
std::optional<Micros> received_date(GMimeObject *object) {
  GMimeHeaderList *headers = g_mime_object_get_header_list(object);
  int count = g_mime_header_list_get_count(headers);
  std::optional<Micros> newest;
  for (int i = 0; i < count; ++i) {
    GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
    if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Received") != 0) continue;
    std::string value = trimmed(g_mime_header_get_value(h));
    std::size_t semicolon = value.rfind(';');
    if (semicolon == std::string::npos) continue;
    if (auto date = decode_date(trimmed(value.c_str() + semicolon + 1)))
      if (!newest || *date > *newest) newest = date;
  }
  return newest;
}

void read_date(GMimeMessage *message, ParsedEmail &email) {
  // GMime returns no date for a missing or unreadable header; some decoders map garbage to the
  // epoch, which no real message carries.
  if (GDateTime *date = g_mime_message_get_date(message)) {
    Micros micros = to_micros(date);
    if (micros != 0) {
      email.date = micros;
      email.date_source = DateSource::header;
      return;
    }
  }
  if (auto date = received_date(GMIME_OBJECT(message))) {
    email.date = date;
    email.date_source = DateSource::received;
  }
}

// Bytes a log line cannot carry (NUL, line breaks) shown as '?'.
std::string printable(std::string text) {
  for (char &c : text)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return text;
}

// A display name: 8-bit bytes read as UTF-8, else windows-1252 (as the parser options read other
// headers), then its RFC 2047 encoded words decoded.
std::string display_name(GMimeParserOptions *options, const std::string &raw) {
  if (raw.empty()) return {};
  const std::string text = ical::to_utf8(raw);
  GCharPtr decoded(g_mime_utils_header_decode_phrase(options, text.c_str()));
  // A stray quote ("John Smith <js@x.com>) is no part of the name.
  std::string name = trimmed(decoded.get());
  while (!name.empty() && name.front() == '"') name.erase(0, 1);
  while (!name.empty() && name.back() == '"') name.pop_back();
  return trimmed(name.c_str());
}

// The mailboxes of every `field` header in order (read_address_list: groups flattened, the local
// parts real mail has), each (address, role) once. An address the participant trigger would
// refuse is dropped and its reason kept in email.dropped: one bad address never costs the message.
void collect(GMimeParserOptions *options, GMimeObject *object, const char *field, Role role,
             ParsedEmail &email) {
  GMimeHeaderList *headers = g_mime_object_get_header_list(object);
  const int count = g_mime_header_list_get_count(headers);
  for (int i = 0; i < count; ++i) {
    GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
    if (g_ascii_strcasecmp(g_mime_header_get_name(h), field) != 0) continue;
    const char *raw = g_mime_header_get_raw_value(h);
    if (raw == nullptr) continue;
    for (const ListedMailbox &m : read_address_list(raw)) {
      const std::string address = ascii_lower(ical::to_utf8(m.address));
      if (auto why = activity::refusal(address)) {
        email.dropped.push_back(
            printable("dropped " + std::string(role_name(role)) + " address: " + *why));
        continue;
      }
      bool seen = false;
      for (const Participant &p : email.participants)
        seen = seen || (p.role == role && p.address == address);
      if (seen) continue;
      email.participants.push_back(Participant{address, display_name(options, m.name), role});
    }
  }
}

// The first mailbox of From as written, valid or not: "MAILER-DAEMON" without a domain still
// tells the rules who sent it. An empty address is the null sender only when written as "<>"
// (bounces: "From: MAILER-DAEMON <>"), not when the header merely lacks an address.
std::string first_from(InternetAddressList *list, bool written_null) {
  if (!list) return {};
  int count = internet_address_list_length(list);
  for (int i = 0; i < count; ++i) {
    InternetAddress *entry = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(entry)) {
      std::string address =
          ascii_lower(trimmed(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(entry))));
      return address.empty() && written_null ? "<>" : address;
    }
    if (INTERNET_ADDRESS_IS_GROUP(entry)) {
      std::string found = first_from(
          internet_address_group_get_members(INTERNET_ADDRESS_GROUP(entry)), written_null);
      if (!found.empty()) return found;
    }
  }
  return written_null ? "<>" : "";
}

bool valid_message_id(const std::string &id) {
  std::size_t at = id.rfind('@');
  return !id.empty() && at != std::string::npos && at > 0 && at + 1 < id.size();
}

// Built by appending: GCC 12 warns falsely (-Wrestrict) on "<" + std::string + ">" chains.
std::string bracketed(std::string_view id) {
  std::string out;
  out.reserve(id.size() + 2);
  out += '<';
  out += id;
  out += '>';
  return out;
}

// The identity of a message without a usable Message-ID.
std::string hashed_id(std::string_view key) {
  std::string out = sha256_hex(key);
  out += "@hash.crm-hygiene";
  return bracketed(out);
}

std::optional<std::string> first_reference(GMimeParserOptions *options, GMimeObject *object,
                                           const char *name) {
  const char *value = g_mime_object_get_header(object, name);
  if (!value) return std::nullopt;
  ReferencesPtr references(g_mime_references_parse(options, value));
  if (!references) return std::nullopt;
  int count = g_mime_references_length(references.get());
  for (int i = 0; i < count; ++i) {
    std::string id =
        without_whitespace(trimmed(g_mime_references_get_message_id(references.get(), i)));
    if (valid_message_id(id)) return bracketed(bounded_identity(id));
  }
  return std::nullopt;
}

// Stable across mailboxes: decoded values, whitespace collapsed, so re-folding or re-encoding of
// the headers by another server does not change the identity.
std::string synthesized_id(const ParsedEmail &email,
                           const std::optional<std::string> &date_header) {
  std::string from;
  for (const Participant &p : email.participants)
    if (p.role == Role::from) from += p.address + ",";
  std::string date = email.date_source == DateSource::header
                         ? std::to_string(*email.date)
                         : without_whitespace(date_header.value_or(""));
  std::string key = from + "\n" + date + "\n" + without_whitespace(email.subject);
  return hashed_id(key);
}

void read_identity(GMimeParserOptions *options, GMimeMessage *message, ParsedEmail &email) {
  GMimeObject *object = GMIME_OBJECT(message);
  std::string id = without_whitespace(trimmed(g_mime_message_get_message_id(message)));
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  if (!id.empty()) {
    email.message_id = bracketed(bounded_identity(id));
    email.message_id_synthesized = id.size() > kMaxIdentityBytes;
  } else {
    email.message_id = synthesized_id(email, header(object, "Date"));
    email.message_id_synthesized = true;
  }
  if (auto root = first_reference(options, object, "References"))
    email.thread_key = *root;
  else if (auto parent = first_reference(options, object, "In-Reply-To"))
    email.thread_key = *parent;
  else
    email.thread_key = email.message_id;
}

MailHeaders rule_headers(GMimeMessage *message, const ParsedEmail &email) {
  GMimeObject *object = GMIME_OBJECT(message);
  MailHeaders h;
  h.auto_submitted = header(object, "Auto-Submitted");
  h.return_path = header(object, "Return-Path");
  if (GMimeObject *body = g_mime_message_get_mime_part(message)) {
    GMimeContentType *type = g_mime_object_get_content_type(body);
    if (type) {
      GCharPtr mime_type(g_mime_content_type_get_mime_type(type));
      if (mime_type) h.content_type = ascii_lower(mime_type.get());
      // ARF: multipart/report; report-type=feedback-report (the Feedback-Type field itself is in
      // the inner message/feedback-report part).
      const char *report = g_mime_content_type_get_parameter(type, "report-type");
      if (report && g_ascii_strcasecmp(report, "feedback-report") == 0) h.feedback_type = report;
    }
  }
  if (!h.feedback_type) h.feedback_type = header(object, "Feedback-Type");
  h.list_id = header(object, "List-Id");
  h.list_unsubscribe = header(object, "List-Unsubscribe");
  for (const char *name : {"List-Post", "List-Help", "List-Subscribe", "List-Owner", "List-Archive",
                           "Mailing-List", "X-MLServer"}) {
    if (header(object, name)) {
      h.other_list_header = name;
      break;
    }
  }
  h.precedence = header(object, "Precedence");
  h.x_autoreply = header(object, "X-Autoreply");
  h.x_autorespond = header(object, "X-Autorespond");
  h.x_apple_action = header(object, "X-Apple-Action");
  h.x_auto_response_suppress = header(object, "X-Auto-Response-Suppress");
  h.x_ms_exchange_inbox_rules_loop = header(object, "X-MS-Exchange-Inbox-Rules-Loop");
  h.x_ms_exchange_generated_message_source =
      header(object, "X-MS-Exchange-Generated-Message-Source");
  h.subject = email.subject;
  const bool written_null =
      without_whitespace(header(object, "From").value_or("")).find("<>") != std::string::npos;
  h.from_address =
      first_from(g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_FROM), written_null);
  return h;
}

// Exports and test corpora put a byte-order mark or blank (even space-filled) lines before the
// first header; GMime would then find no header at all.
std::string_view skip_leading_blank_lines(std::string_view raw) {
  if (raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
  while (!raw.empty()) {
    std::size_t end = raw.find('\n');
    std::string_view line = raw.substr(0, end);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) break;
    raw.remove_prefix(end == std::string_view::npos ? raw.size() : end + 1);
  }
  return raw;
}

}  // namespace

ParsedEmail parse_email(std::string_view raw) {
  ensure_glib_runtime();
  ParsedEmail email;
  raw = skip_leading_blank_lines(raw);
  if (raw.empty()) {
    email.skip = Skip{"malformed", "empty message"};
    email.message_id = hashed_id("");
    email.message_id_synthesized = true;
    email.thread_key = email.message_id;
    return email;
  }

  OptionsPtr options = parser_options();
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options.get()));
  if (!message || g_mime_header_list_get_count(
                      g_mime_object_get_header_list(GMIME_OBJECT(message.get()))) == 0) {
    email.skip = Skip{"malformed", message ? "no header fields" : "not an RFC 5322 message"};
    email.message_id = hashed_id(raw);
    email.message_id_synthesized = true;
    email.thread_key = email.message_id;
    return email;
  }

  GMimeMessage *m = message.get();
  email.subject = trimmed(g_mime_message_get_subject(m));
  read_date(m, email);
  collect(options.get(), GMIME_OBJECT(m), "From", Role::from, email);
  collect(options.get(), GMIME_OBJECT(m), "To", Role::to, email);
  collect(options.get(), GMIME_OBJECT(m), "Cc", Role::cc, email);
  collect(options.get(), GMIME_OBJECT(m), "Bcc", Role::bcc, email);
  read_identity(options.get(), m, email);
  email.skip = classify_mail(rule_headers(m, email));
  email.invitations = gmime::find_invitations(m);
  return email;
}

}  // namespace crm::capture
