// One HTTPS/HTTP POST with libcurl, for the AI endpoint: bounded in time and size, cancellable,
// no redirects (the API key goes to the configured host only), no signals (CURLOPT_NOSIGNAL: the
// backend owns its signal handlers). Pure C++: no Postgres.
#pragma once

#include <string>

#include "core/cancel.hpp"

namespace crm::ai {

struct HttpRequest {
  std::string url;
  std::string body;          // JSON
  std::string bearer_token;  // empty: no Authorization header
  long timeout_ms = 30000;
  size_t max_reply_bytes = 4 << 20;
  CancelCheck cancelled = nullptr;
};

struct HttpReply {
  long status = 0;
  std::string body;
};

// Throws crm::Error 08000 when no reply came (connection refused, timeout, reply too large), its
// message free of the token; crm::Canceled when the check reported an interrupt.
HttpReply http_post_json(const HttpRequest &request);

}  // namespace crm::ai
