// Which messages are not person-to-person correspondence, decided from headers alone. Pure: no
// GMime, so every rule is unit-tested on plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/capture/types.hpp"

namespace crm::capture {

// Header values as decoded strings; an absent header is an empty optional.
struct MailHeaders {
  std::optional<std::string> auto_submitted;
  std::optional<std::string> return_path;  // "<>" or "" when null
  std::string content_type;                // "type/subtype", lower-case
  std::optional<std::string> list_id;
  std::optional<std::string> list_unsubscribe;
  // The name of another list-software header present (List-Post, List-Help, List-Subscribe,
  // List-Owner, List-Archive, ezmlm's Mailing-List, fml's X-MLServer); empty when none.
  std::string other_list_header;
  std::optional<std::string> precedence;
  std::optional<std::string> x_autoreply;
  std::optional<std::string> x_autorespond;
  std::optional<std::string> x_apple_action;
  std::optional<std::string> x_auto_response_suppress;
  std::optional<std::string> x_ms_exchange_inbox_rules_loop;
  std::optional<std::string> x_ms_exchange_generated_message_source;
  std::optional<std::string> feedback_type;  // ARF
  std::string subject;
  std::string from_address;  // lower-case, may be empty; "<>" for a null From ("From: <>")
};

// automated (bounces, reports, vacation replies, noreply/mailer-daemon/postmaster senders),
// then bulk (List-Id, List-Unsubscribe, Precedence bulk/list/junk); empty when neither.
std::optional<Skip> classify_mail(const MailHeaders &headers);

// True for local parts such as noreply, no-reply, donotreply, mailer-daemon, postmaster.
bool is_automated_sender(const std::string &address);

}  // namespace crm::capture
