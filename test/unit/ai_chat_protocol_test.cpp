// The OpenAI chat completions protocol as the AI jobs speak it: the request always constrains the
// reply with the schema, replies are read defensively, and the key never survives in a message.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/ai/chat_protocol.hpp"
#include "core/error.hpp"

using crm::ai::chat_request_body;
using crm::ai::http_error_message;
using crm::ai::parse_chat_reply;
using crm::ai::redact;
using nlohmann::json;

TEST(AiChatProtocol, RequestCarriesTheSchemaAsResponseFormat) {
  const json body = json::parse(chat_request_body(
      R"({"model": "m", "name": "segment", "max_tokens": 64,
          "messages": [{"role": "user", "content": "hi"}],
          "schema": {"type": "object", "properties": {"label": {"enum": ["a", "b"]}}}})"));
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["temperature"], 0);
  EXPECT_EQ(body["response_format"]["type"], "json_schema");
  EXPECT_EQ(body["response_format"]["json_schema"]["name"], "segment");
  EXPECT_EQ(body["response_format"]["json_schema"]["strict"], true);
  EXPECT_EQ(body["response_format"]["json_schema"]["schema"]["properties"]["label"]["enum"][1],
            "b");
}

TEST(AiChatProtocol, RequestWithoutMessagesOrSchemaIsRefused) {
  EXPECT_THROW(chat_request_body(R"({"messages": []})"), crm::Error);
  EXPECT_THROW(chat_request_body(R"({"schema": {}})"), crm::Error);
  EXPECT_THROW(chat_request_body("not json"), crm::Error);
}

TEST(AiChatProtocol, ReplyContentUsageAndFinishReason) {
  const auto reply = parse_chat_reply(
      R"({"model": "llama", "choices": [{"index": 0, "finish_reason": "stop",
          "message": {"role": "assistant", "content": "{\"label\": \"a\"}"}}],
          "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})");
  EXPECT_EQ(reply.content, R"({"label": "a"})");
  EXPECT_EQ(reply.finish_reason, "stop");
  EXPECT_EQ(reply.model, "llama");
  EXPECT_EQ(reply.total_tokens, 15);
  const json out = json::parse(crm::ai::reply_json(reply));
  EXPECT_EQ(out["usage"]["total_tokens"], 15);
}

TEST(AiChatProtocol, TotalTokensFromPartsWhenMissing) {
  const auto reply = parse_chat_reply(
      R"({"choices": [{"message": {"content": "{}"}}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})");
  EXPECT_EQ(json::parse(crm::ai::reply_json(reply))["usage"]["total_tokens"], 7);
}

TEST(AiChatProtocol, MalformedRepliesAreDataExceptions) {
  for (const char *body : {"", "[]", "{}", R"({"choices": []})", R"({"choices": [{}]})",
                           R"({"choices": [{"message": {"content": null, "refusal": "no"}}]})",
                           R"({"choices": [{"message": {"content": 5}}]})"}) {
    try {
      parse_chat_reply(body);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const crm::Error &e) {
      EXPECT_STREQ(e.sqlstate(), "22000") << body;
    }
  }
}

TEST(AiChatProtocol, HttpErrorsNameTheServersMessageButNotOnAuthFailures) {
  EXPECT_EQ(http_error_message(404, R"({"error": {"message": "model not found"}})"),
            "the endpoint answered HTTP 404: model not found");
  EXPECT_EQ(http_error_message(500, "oops"), "the endpoint answered HTTP 500");
  const std::string auth = http_error_message(
      401, R"({"error": {"message": "Incorrect API key provided: sk-live-123"}})");
  EXPECT_EQ(auth.find("sk-live"), std::string::npos);
  EXPECT_NE(auth.find("401"), std::string::npos);
}

TEST(AiChatProtocol, RedactRemovesEveryOccurrenceAndCutsOnACharacterBoundary) {
  EXPECT_EQ(redact("key sk-1 and sk-1 again", "sk-1"), "key [redacted] and [redacted] again");
  EXPECT_EQ(redact("nothing to hide", ""), "nothing to hide");
  const std::string cut = redact("ééééé", "", 5);  // 2 bytes each: 2 whole characters fit
  EXPECT_EQ(cut, "éé");
}
