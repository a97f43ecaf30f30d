// Mail classification rules on plain header values: each rule, its order (automated before bulk),
// and the look-alikes that must stay correspondence.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "core/capture/mail_rules.hpp"

namespace {

using namespace crm::capture;

MailHeaders ordinary() {
  MailHeaders h;
  h.content_type = "text/plain";
  h.subject = "Quarterly review";
  h.from_address = "jane.doe@example.com";
  h.return_path = "<jane.doe@example.com>";
  return h;
}

std::string reason(const MailHeaders &h) {
  std::optional<Skip> skip = classify_mail(h);
  return skip ? skip->reason() : "";
}

std::string category(const MailHeaders &h) {
  std::optional<Skip> skip = classify_mail(h);
  return skip ? skip->category : "";
}

TEST(MailRules, OrdinaryMessageIsNotSkipped) {
  EXPECT_EQ(classify_mail(ordinary()), std::nullopt);
}

TEST(MailRules, AutoSubmitted) {
  MailHeaders h = ordinary();
  h.auto_submitted = "auto-replied";
  EXPECT_EQ(reason(h), "automated: Auto-Submitted: auto-replied");
  h.auto_submitted = "Auto-Generated (failure)";
  EXPECT_EQ(reason(h), "automated: Auto-Submitted: auto-generated");
  h.auto_submitted = "auto-replied; owner-email=\"x@example.com\"";
  EXPECT_EQ(reason(h), "automated: Auto-Submitted: auto-replied");
}

TEST(MailRules, AutoSubmittedNoIsCorrespondence) {
  MailHeaders h = ordinary();
  h.auto_submitted = "no";
  EXPECT_EQ(classify_mail(h), std::nullopt);
  h.auto_submitted = " No (a person wrote this)";
  EXPECT_EQ(classify_mail(h), std::nullopt);
  h.auto_submitted = "";
  EXPECT_EQ(classify_mail(h), std::nullopt);
}

TEST(MailRules, Reports) {
  MailHeaders h = ordinary();
  h.content_type = "multipart/report";
  EXPECT_EQ(reason(h), "automated: multipart/report (delivery or read report)");
  h.content_type = "message/delivery-status";
  EXPECT_EQ(category(h), "automated");
  h = ordinary();
  h.feedback_type = "abuse";
  EXPECT_EQ(reason(h), "automated: ARF feedback report");
}

TEST(MailRules, NullReturnPath) {
  MailHeaders h = ordinary();
  h.return_path = "<>";
  EXPECT_EQ(reason(h), "automated: null Return-Path");
  h.return_path = "< >";
  EXPECT_EQ(reason(h), "automated: null Return-Path");
  h.return_path = "";
  EXPECT_EQ(reason(h), "automated: null Return-Path");
  h.return_path = std::nullopt;  // absent is not null
  EXPECT_EQ(classify_mail(h), std::nullopt);
}

TEST(MailRules, VacationHeaders) {
  MailHeaders h = ordinary();
  h.x_autoreply = "yes";
  EXPECT_EQ(reason(h), "automated: X-Autoreply header");
  h.x_autoreply = "no";
  EXPECT_EQ(classify_mail(h), std::nullopt);

  h = ordinary();
  h.x_autorespond = "Away";
  EXPECT_EQ(reason(h), "automated: X-Autorespond header");

  h = ordinary();
  h.x_apple_action = "VACATION";
  EXPECT_EQ(reason(h), "automated: X-Apple-Action: VACATION");
  h.x_apple_action = "SEND";
  EXPECT_EQ(classify_mail(h), std::nullopt);

  h = ordinary();
  h.x_ms_exchange_inbox_rules_loop = "jane.doe@example.com";
  EXPECT_EQ(reason(h), "automated: X-MS-Exchange-Inbox-Rules-Loop header");

  h = ordinary();
  h.x_ms_exchange_generated_message_source = "Mailbox Rules Agent";
  EXPECT_EQ(reason(h), "automated: X-MS-Exchange-Generated-Message-Source header");

  h = ordinary();
  h.x_auto_response_suppress = "All";
  EXPECT_EQ(reason(h), "automated: X-Auto-Response-Suppress: All");
  // A client asking not to be answered by responders is still a person writing.
  h.x_auto_response_suppress = "OOF, DR";
  EXPECT_EQ(classify_mail(h), std::nullopt);

  h = ordinary();
  h.precedence = "auto_reply";
  EXPECT_EQ(reason(h), "automated: Precedence: auto_reply");
}

TEST(MailRules, VacationSubjects) {
  for (const char *subject : {
           "Automatic reply: Quarterly review",
           "AUTOMATIC REPLY: Quarterly review",
           "Auto: Jane Doe is out of the office (returning 02/03/2020)",
           "Auto reply: Nyaan",
           "Autoreply: your message",
           "Out of Office: Quarterly review",
           "Out of Office AutoReply: Quarterly review",
           "Out of office",
           "Jane Doe is out of the office.",
           "Automatische Antwort: Quartalsbericht",
           "Abwesenheitsnotiz: Quartalsbericht",
           "Réponse automatique : Revue trimestrielle",
           "Respuesta automática: Revisión trimestral",
           "Risposta automatica: Revisione",
           "Automatisch antwoord: Kwartaal",
       }) {
    MailHeaders h = ordinary();
    h.subject = subject;
    EXPECT_EQ(category(h), "automated") << subject;
  }
}

TEST(MailRules, OrdinarySubjectsWithAutoAreCorrespondence) {
  for (const char *subject : {
           "Auto insurance quote",
           "Automation proposal for Q3",
           "AutoCAD licence renewal",
           "Autumn offsite",
           "Re: Out of office plans for next week",
           "Out of office party on Friday?",
           "Is the automatic reply feature broken?",
           "Re: Automatic reply settings",
           "Jane is out of the office next week, can you cover?",
           "Vacation photos",
           "Autoresponder setup for the support desk",
       }) {
    MailHeaders h = ordinary();
    h.subject = subject;
    EXPECT_EQ(classify_mail(h), std::nullopt) << subject;
  }
}

TEST(MailRules, AutomatedSenders) {
  for (const char *address :
       {"noreply@example.com", "no-reply@example.com", "NO_REPLY@example.com",
        "donotreply@example.com", "do-not-reply@example.com", "mailer-daemon@mx.example.com",
        "MAILER-DAEMON", "postmaster@example.com", "billing-noreply@example.com",
        "noreply+abc@example.com"}) {
    EXPECT_TRUE(is_automated_sender(address)) << address;
  }
  for (const char *address : {"jane.doe@example.com", "reply@example.com", "norah@example.com",
                              "post@example.com", "daemon.lover@example.com", ""}) {
    EXPECT_FALSE(is_automated_sender(address)) << address;
  }
  MailHeaders h = ordinary();
  h.from_address = "no-reply@example.com";
  EXPECT_EQ(reason(h), "automated: automated sender no-reply");
  h.from_address = "mailer-daemon@example.com";
  EXPECT_EQ(reason(h), "automated: automated sender mailer-daemon");
  h.from_address = "<>";  // From: MAILER-DAEMON <>
  EXPECT_EQ(reason(h), "automated: null From address");
}

TEST(MailRules, MicrosoftComplaintReport) {
  MailHeaders h = ordinary();
  h.from_address = "staff@hotmail.com";
  h.subject = "complaint about message from 192.0.2.222";
  EXPECT_EQ(reason(h), "automated: complaint feedback report (Microsoft JMRP)");
  h.subject = "Complaint about message from your team";  // needs both sender and subject
  h.from_address = "jane.doe@example.com";
  EXPECT_EQ(classify_mail(h), std::nullopt);
}

TEST(MailRules, Bulk) {
  MailHeaders h = ordinary();
  h.list_id = "<dev.lists.example.org>";
  EXPECT_EQ(reason(h), "bulk: List-Id header");

  h = ordinary();
  h.list_unsubscribe = "<mailto:unsubscribe@example.com>";
  EXPECT_EQ(reason(h), "bulk: List-Unsubscribe header");

  for (const char *value : {"bulk", "List", "junk"}) {
    h = ordinary();
    h.precedence = value;
    EXPECT_EQ(category(h), "bulk") << value;
  }
  h = ordinary();
  h.other_list_header = "X-MLServer";
  EXPECT_EQ(reason(h), "bulk: X-MLServer header");

  h = ordinary();
  h.precedence = "neko";
  EXPECT_EQ(classify_mail(h), std::nullopt);
  h.precedence = "first-class";
  EXPECT_EQ(classify_mail(h), std::nullopt);
}

TEST(MailRules, AutomatedComesBeforeBulk) {
  MailHeaders h = ordinary();
  h.list_unsubscribe = "<mailto:unsubscribe@example.com>";
  h.precedence = "bulk";
  h.auto_submitted = "auto-generated";
  EXPECT_EQ(reason(h), "automated: Auto-Submitted: auto-generated");
  h.auto_submitted = std::nullopt;
  h.from_address = "noreply@example.com";
  EXPECT_EQ(reason(h), "automated: automated sender noreply");
}

}  // namespace
