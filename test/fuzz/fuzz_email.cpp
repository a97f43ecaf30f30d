// Fuzzes parse_email (GMime): any bytes are a message, which must parse or be skipped, never
// crash, leak or throw.
#include <cstddef>
#include <cstdint>

#include "core/capture/email.hpp"
#include "core/capture/glib_runtime.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const crm::capture::ParsedEmail email = crm::capture::parse_email(crm::fuzz::as_text(data, size));
  crm::fuzz::require(!email.message_id.empty(), "a message always has an id (maybe synthesized)");
  crm::fuzz::require(!email.thread_key.empty(), "a message always has a thread key");
  // Messages GLib logged are kept until taken; take them as the Postgres layer does.
  (void)crm::capture::take_glib_messages();
  return 0;
}
