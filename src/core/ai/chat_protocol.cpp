#include "core/ai/chat_protocol.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/utf8.hpp"

namespace crm::ai {

using nlohmann::json;

std::string chat_request_body(std::string_view request_json) {
  const json request = json::parse(request_json, nullptr, false);
  if (!request.is_object() || !request.contains("messages") || !request["messages"].is_array() ||
      !request.contains("schema") || !request["schema"].is_object())
    throw Error("22023", "an AI request needs messages and a schema");
  json body = {{"model", request.value("model", std::string("default"))},
               {"messages", request["messages"]},
               {"temperature", 0},
               {"response_format",
                {{"type", "json_schema"},
                 {"json_schema",
                  {{"name", request.value("name", std::string("reply"))},
                   {"strict", true},
                   {"schema", request["schema"]}}}}}};
  if (request.contains("max_tokens") && request["max_tokens"].is_number_integer())
    body["max_tokens"] = request["max_tokens"];
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

std::optional<int64_t> integer_at(const json &object, const char *key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

std::string string_at(const json &object, const char *key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ChatReply parse_chat_reply(std::string_view body) {
  const json reply = json::parse(body, nullptr, false);
  if (!reply.is_object()) throw Error("22000", "the endpoint's reply is not a JSON object");
  auto choices = reply.find("choices");
  if (choices == reply.end() || !choices->is_array() || choices->empty())
    throw Error("22000", "the endpoint's reply has no choices");
  const json &choice = (*choices)[0];
  if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object())
    throw Error("22000", "the endpoint's reply has no message");
  const json &message = choice["message"];
  auto content = message.find("content");
  if (content == message.end() || !content->is_string())
    throw Error("22000", "the endpoint's reply has no text content",
                string_at(message, "refusal").empty() ? "" : "The model refused.");
  ChatReply out;
  out.content = content->get<std::string>();
  out.finish_reason = string_at(choice, "finish_reason");
  out.model = string_at(reply, "model");
  if (auto usage = reply.find("usage"); usage != reply.end()) {
    out.prompt_tokens = integer_at(*usage, "prompt_tokens");
    out.completion_tokens = integer_at(*usage, "completion_tokens");
    out.total_tokens = integer_at(*usage, "total_tokens");
  }
  return out;
}

std::string http_error_message(long status, std::string_view body) {
  std::string message = "the endpoint answered HTTP " + std::to_string(status);
  if (status == 401 || status == 403) return message + " (authentication or permission refused)";
  const json reply = json::parse(body, nullptr, false);
  std::string text;
  if (reply.is_object() && reply.contains("error")) {
    const json &error = reply["error"];
    text = error.is_string() ? error.get<std::string>() : string_at(error, "message");
  }
  return text.empty() ? message : message + ": " + text;
}

std::string redact(std::string_view text, std::string_view secret, size_t max_bytes) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    if (!secret.empty() && text.compare(at, secret.size(), secret) == 0) {
      out += "[redacted]";
      at += secret.size();
    } else {
      out += text[at++];
    }
  }
  if (out.size() > max_bytes) out.resize(crm::utf8_prefix(out, max_bytes).size());
  return out;
}

std::string reply_json(const ChatReply &reply) {
  json usage = json::object();
  if (reply.prompt_tokens) usage["prompt_tokens"] = *reply.prompt_tokens;
  if (reply.completion_tokens) usage["completion_tokens"] = *reply.completion_tokens;
  if (reply.total_tokens)
    usage["total_tokens"] = *reply.total_tokens;
  else if (reply.prompt_tokens && reply.completion_tokens)
    usage["total_tokens"] = *reply.prompt_tokens + *reply.completion_tokens;
  json out = {{"content", reply.content},
              {"finish_reason", reply.finish_reason},
              {"model", reply.model},
              {"usage", usage}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace crm::ai
