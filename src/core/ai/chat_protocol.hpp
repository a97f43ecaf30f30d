// The OpenAI chat completions protocol, as the AI jobs speak it (docs/AI.md): the request body
// (always with response_format json_schema) and the reply, read defensively. Pure: the HTTP call
// is src/core/ai/http_client, the Postgres side src/pg/ai.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crm::ai {

// The body POSTed to <base>/chat/completions for a job's request ({"model", "name", "schema",
// "max_tokens", "messages"} as crm._ai_request builds it). Throws crm::Error 22023 for a request
// without messages or schema.
std::string chat_request_body(std::string_view request_json);

struct ChatReply {
  std::string content;        // the assistant message's text (the JSON the schema constrains)
  std::string finish_reason;  // "stop", "length", ... or empty
  std::string model;          // as the server names it, or empty
  std::optional<int64_t> prompt_tokens, completion_tokens, total_tokens;
};

// A 2xx reply's body: throws crm::Error 22000 when it is not a chat completion with a message.
ChatReply parse_chat_reply(std::string_view body);

// The error a non-2xx status makes: the server's own message for most statuses (so a 404 names the
// model, a 429 the limit), none for 401 and 403 (providers echo the key there).
std::string http_error_message(long status, std::string_view body);

// text with every occurrence of secret replaced by "[redacted]" (nothing for an empty secret), and
// cut at max_bytes on a character boundary.
std::string redact(std::string_view text, std::string_view secret, size_t max_bytes = 600);

// The reply as the JSON object crm._ai_chat returns: {"content", "finish_reason", "model",
// "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}.
std::string reply_json(const ChatReply &reply);

}  // namespace crm::ai
