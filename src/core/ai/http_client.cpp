#include "core/ai/http_client.hpp"

#include <curl/curl.h>

#include <mutex>

#include "core/ai/chat_protocol.hpp"
#include "core/error.hpp"

namespace crm::ai {

namespace {

struct Transfer {
  std::string *body;
  size_t max_bytes;
  bool too_large = false;
  CancelCheck cancelled;
  bool was_cancelled = false;
};

size_t on_data(char *data, size_t size, size_t count, void *user) {
  auto *transfer = static_cast<Transfer *>(user);
  const size_t bytes = size * count;
  if (transfer->body->size() + bytes > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // curl aborts the transfer
  }
  transfer->body->append(data, bytes);
  return bytes;
}

int on_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto *transfer = static_cast<Transfer *>(user);
  if (transfer->cancelled != nullptr && transfer->cancelled()) {
    transfer->was_cancelled = true;
    return 1;
  }
  return 0;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle per process, reset between calls but never freed: curl keeps its connections
// (and TLS sessions) with it, so a worker's calls to a remote endpoint skip the handshake. A plain
// pointer: nothing runs at exit.
CURL *shared_handle() {
  static CURL *handle = nullptr;
  if (handle == nullptr)
    handle = curl_easy_init();
  else
    curl_easy_reset(handle);
  return handle;
}

// Frees the request's header list however the call ends.
struct Headers {
  curl_slist *list = nullptr;
  ~Headers() { curl_slist_free_all(list); }
};

}  // namespace

HttpReply http_post_json(const HttpRequest &request) {
  global_init();
  CURL *h = shared_handle();
  if (h == nullptr) throw Error("08000", "could not start an HTTP client (libcurl)");
  Headers headers;
  HttpReply reply;
  Transfer transfer{&reply.body, request.max_reply_bytes, false, request.cancelled, false};
  char error[CURL_ERROR_SIZE] = {0};
  const std::string authorization = "Authorization: Bearer " + request.bearer_token;
  headers.list = curl_slist_append(headers.list, "Content-Type: application/json");
  headers.list = curl_slist_append(headers.list, "Accept: application/json");
  if (!request.bearer_token.empty())
    headers.list = curl_slist_append(headers.list, authorization.c_str());
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  // A proxy the server's environment names serves remote endpoints, never a local one.
  curl_easy_setopt(h, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "crm_hygiene");
  const CURLcode code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  // Nothing of this call may stay pointed at by the kept handle.
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, nullptr);
  if (transfer.was_cancelled) throw Canceled();
  if (transfer.too_large)
    throw Error("08000", "the endpoint's reply is larger than " +
                             std::to_string(request.max_reply_bytes) + " bytes");
  if (code != CURLE_OK) {
    const std::string why = error[0] != '\0' ? error : curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT)
      throw Error(
          "08000",
          "the endpoint did not answer within " + std::to_string(request.timeout_ms) + " ms",
          redact(why, request.bearer_token));
    throw Error("08000", "could not reach the endpoint: " + redact(why, request.bearer_token));
  }
  return reply;
}

}  // namespace crm::ai
