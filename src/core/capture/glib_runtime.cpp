// GLib's default log output goes to stderr (the server log, unattributed) and, with G_DEBUG set,
// may abort on warnings. Inside a database backend both are wrong: messages are kept here, in
// plain static storage (no C++ object with a destructor, rule 7), until the caller drains them.
#include "core/capture/glib_runtime.hpp"

#include <gmime/gmime.h>

#include <cstdio>
#include <cstring>

namespace crm::capture {

namespace {

constexpr int kMaxMessages = 64;
constexpr std::size_t kMaxMessageBytes = 512;  // including the terminating NUL

// GMutex in static storage needs no initialisation (GLib documents zero-filled as valid).
GMutex buffer_lock;
char buffer[kMaxMessages][kMaxMessageBytes];
int buffer_count = 0;
unsigned long dropped_count = 0;

const char *level_name(GLogLevelFlags level) {
  if (level & G_LOG_LEVEL_ERROR) return "ERROR";
  if (level & G_LOG_LEVEL_CRITICAL) return "CRITICAL";
  if (level & G_LOG_LEVEL_WARNING) return "WARNING";
  if (level & G_LOG_LEVEL_MESSAGE) return "MESSAGE";
  if (level & G_LOG_LEVEL_INFO) return "INFO";
  return "DEBUG";
}

// Cuts at a character boundary so that a truncated message is still valid UTF-8.
void cut_utf8(char *text, std::size_t capacity) {
  std::size_t length = std::strlen(text);
  if (length + 1 < capacity) return;
  std::size_t end = capacity - 1;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text[end] = '\0';
}

// Called from C; must not throw or allocate C++ memory.
void record(const char *domain, GLogLevelFlags level, const char *message) {
  // Debug and info output is off by default in GLib too; it would only crowd out warnings.
  if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) return;
  g_mutex_lock(&buffer_lock);
  if (buffer_count < kMaxMessages) {
    char *slot = buffer[buffer_count++];
    std::snprintf(slot, kMaxMessageBytes, "%s %s: %s", domain ? domain : "(none)",
                  level_name(level), message ? message : "");
    cut_utf8(slot, kMaxMessageBytes);
  } else {
    ++dropped_count;
  }
  g_mutex_unlock(&buffer_lock);
}

void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer) {
  record(domain, level, message);
}

// Structured logging (g_log_structured, and g_warning in code built with G_LOG_USE_STRUCTURED)
// bypasses the handlers above and reaches only the writer.
GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                            gpointer) {
  const char *domain = nullptr;
  const char *message = nullptr;
  for (gsize i = 0; i < n_fields; ++i) {
    // MESSAGE and GLIB_DOMAIN are NUL-terminated strings by GLib's contract (length -1).
    if (fields[i].length != -1) continue;
    if (std::strcmp(fields[i].key, "MESSAGE") == 0)
      message = static_cast<const char *>(fields[i].value);
    else if (std::strcmp(fields[i].key, "GLIB_DOMAIN") == 0)
      domain = static_cast<const char *>(fields[i].value);
  }
  record(domain, level, message);
  return G_LOG_WRITER_HANDLED;
}

void install_log_capture() {
  const auto all_levels =
      static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION);
  for (const char *domain : {"GLib", "GLib-GObject", "GLib-GIO", "gmime"}) {
    g_log_set_handler(domain, all_levels, log_handler, nullptr);
    // G_DEBUG=fatal-warnings in the server's environment must not turn a warning into abort().
    g_log_set_fatal_mask(domain, static_cast<GLogLevelFlags>(0));
  }
  g_log_set_default_handler(log_handler, nullptr);
  g_log_set_always_fatal(static_cast<GLogLevelFlags>(0));  // GLib keeps G_LOG_LEVEL_ERROR fatal
  // GLib allows one writer per process and aborts on a second call; the g_once in
  // ensure_glib_runtime() makes this the only one this library ever installs.
  g_log_set_writer_func(log_writer, nullptr, nullptr);
}

}  // namespace

void ensure_glib_runtime() {
  static gsize initialised = 0;
  if (g_once_init_enter(&initialised)) {
    // Capture first, so that anything g_mime_init() reports is captured too.
    install_log_capture();
    g_mime_init();
    g_once_init_leave(&initialised, 1);
  }
}

std::vector<std::string> take_glib_messages() {
  // Every allocation happens before the lock is taken: std::bad_alloc must not escape with the
  // lock held, and assigning into reserved strings does not allocate.
  std::vector<std::string> messages(kMaxMessages);
  for (auto &message : messages) message.reserve(kMaxMessageBytes);
  unsigned long dropped = 0;
  g_mutex_lock(&buffer_lock);
  int count = buffer_count;
  for (int i = 0; i < count; ++i) messages[i].assign(buffer[i]);
  dropped = dropped_count;
  buffer_count = 0;
  dropped_count = 0;
  g_mutex_unlock(&buffer_lock);

  messages.resize(count);
  if (dropped > 0 && !messages.empty()) {
    std::string note = "(";
    note += std::to_string(dropped + 1);
    note += " further GLib messages not kept)";
    messages.back() = std::move(note);
  }
  return messages;
}

}  // namespace crm::capture
