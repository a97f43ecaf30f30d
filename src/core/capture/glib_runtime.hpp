// GLib and GMime live once per process: initialised on first use, their log output captured
// instead of written to the server's stderr.
#pragma once

#include <string>
#include <vector>

namespace crm::capture {

// Idempotent; cheap after the first call.
void ensure_glib_runtime();

// GLib, GObject and GMime messages logged since the last call (at most 64 kept, each cut to 512
// bytes), oldest first. The Postgres layer reports them at DEBUG1.
std::vector<std::string> take_glib_messages();

}  // namespace crm::capture
