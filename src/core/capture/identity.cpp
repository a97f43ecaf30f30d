#include "core/capture/identity.hpp"

#include <glib.h>

#include <memory>

namespace crm::capture {

std::string sha256_hex(std::string_view bytes) {
  std::unique_ptr<char, decltype(&g_free)> hex(
      g_compute_checksum_for_data(G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(bytes.data()),
                                  bytes.size()),
      &g_free);
  return hex.get();
}

std::string bounded_identity(std::string_view id) {
  if (id.size() <= kMaxIdentityBytes) return std::string(id);
  return sha256_hex(id) + "@hash.crm-hygiene";
}

}  // namespace crm::capture
