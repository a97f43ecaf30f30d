// Which text/calendar parts of a message are invitations, and their text decoded to UTF-8.
#include "core/capture/invitation_parts.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "core/capture/gmime_handles.hpp"

namespace crm::capture::gmime {

namespace {

std::string trimmed(const char *text) {
  std::string_view view = text ? text : "";
  while (!view.empty() && g_ascii_isspace(view.front())) view.remove_prefix(1);
  while (!view.empty() && g_ascii_isspace(view.back())) view.remove_suffix(1);
  return std::string(view);
}

// The decoded text of a part: transfer encoding undone, then the declared charset converted to
// UTF-8; undeclared or unknown charsets are read as UTF-8 if valid, else windows-1252.
std::string part_text(GMimePart *part) {
  GMimeDataWrapper *content = g_mime_part_get_content(part);
  if (!content) return {};
  GObjectPtr<GMimeStream> memory(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, memory.get());
  GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get()));
  std::string raw(reinterpret_cast<const char *>(bytes->data), bytes->len);

  const char *charset = g_mime_content_type_get_parameter(
      g_mime_object_get_content_type(GMIME_OBJECT(part)), "charset");
  if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
      g_ascii_strcasecmp(charset, "us-ascii") != 0) {
    gsize written = 0;
    GCharPtr converted(g_convert(raw.data(), raw.size(), "UTF-8",
                                 g_mime_charset_iconv_name(charset), nullptr, &written, nullptr));
    if (converted) return std::string(converted.get(), written);
  }
  if (g_utf8_validate(raw.data(), raw.size(), nullptr)) return raw;
  gsize written = 0;
  GCharPtr converted(
      g_convert(raw.data(), raw.size(), "UTF-8", "windows-1252", nullptr, &written, nullptr));
  if (converted) return std::string(converted.get(), written);
  GCharPtr repaired(g_utf8_make_valid(raw.data(), raw.size()));
  return repaired.get();
}

// The calendar's METHOD property, upper-case (a line of its own, not a word in a description);
// empty when absent.
std::string method_line(const std::string &text) {
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (line.size() > 7 && g_ascii_strncasecmp(line.data(), "METHOD:", 7) == 0) {
      std::string method = trimmed(std::string(line.substr(7)).c_str());
      for (char &c : method) c = g_ascii_toupper(c);
      return method;
    }
    start = end + 1;
  }
  return {};
}

// iMIP (RFC 6047) puts the method in the Content-Type; clients that forget it still write METHOD
// in the calendar. An attached .ics that merely publishes an event (METHOD:PUBLISH, Content-
// Disposition: attachment) is a file someone shared, not an invitation.
bool is_invitation(GMimeObject *part, GMimeContentType *type, const std::string &text) {
  const char *parameter = g_mime_content_type_get_parameter(type, "method");
  if (parameter && !trimmed(parameter).empty()) return true;
  const std::string method = method_line(text);
  if (method.empty()) return false;
  if (method != "PUBLISH") return true;
  GMimeContentDisposition *disposition = g_mime_object_get_content_disposition(part);
  return !(disposition && g_mime_content_disposition_is_attachment(disposition));
}

}  // namespace

// Walks the MIME tree without recursion (deeply nested messages exist) and without entering
// attached messages: a calendar inside a bounced or forwarded message is not this message's.
std::vector<std::string> find_invitations(GMimeMessage *message) {
  std::vector<std::string> invitations;
  std::vector<GMimeObject *> pending;
  if (GMimeObject *body = g_mime_message_get_mime_part(message)) pending.push_back(body);
  while (!pending.empty()) {
    GMimeObject *object = pending.back();
    pending.pop_back();
    if (GMIME_IS_MULTIPART(object)) {
      GMimeMultipart *multipart = GMIME_MULTIPART(object);
      // Pushed in reverse so that parts are visited in document order.
      for (int i = g_mime_multipart_get_count(multipart) - 1; i >= 0; --i)
        pending.push_back(g_mime_multipart_get_part(multipart, i));
      continue;
    }
    if (!GMIME_IS_PART(object)) continue;
    GMimeContentType *type = g_mime_object_get_content_type(object);
    if (!type || !g_mime_content_type_is_type(type, "text", "calendar")) continue;
    std::string text = part_text(GMIME_PART(object));
    if (!is_invitation(object, type, text)) continue;
    // Some clients send the same calendar twice (inline and as invite.ics).
    if (std::find(invitations.begin(), invitations.end(), text) == invitations.end())
      invitations.push_back(std::move(text));
  }
  return invitations;
}

}  // namespace crm::capture::gmime
