// parse_email: small hand-written messages for each rule, then sweeps over real messages kept in
// ../shared/data (bounces and auto-replies must be recognised, invitations routed to calendars,
// and nothing may throw).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/activity/address.hpp"
#include "core/capture/email.hpp"
#include "core/capture/identity.hpp"
#include "core/capture/glib_runtime.hpp"

#include <glib-object.h>

namespace {

using namespace crm::capture;
namespace fs = std::filesystem;

const std::string kData = CRM_DATA_SOURCE_DIR;

std::string read_file(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<fs::path> files_under(const fs::path &dir) {
  std::vector<fs::path> files;
  for (const auto &entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::pair<std::string, std::string>> participants(const ParsedEmail &email) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Participant &p : email.participants) out.emplace_back(role_name(p.role), p.address);
  return out;
}

constexpr const char *kPlain =
    "From: Jane Doe <Jane.Doe@Example.COM>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Quarterly review\r\n"
    "Date: Tue, 1 Jul 2025 10:00:00 +0200\r\n"
    "Message-ID: <abc.123@mail.example.com>\r\n"
    "\r\n"
    "Hello Bob\r\n";

TEST(CaptureEmail, PlainMessage) {
  ParsedEmail email = parse_email(kPlain);
  EXPECT_EQ(email.message_id, "<abc.123@mail.example.com>");
  EXPECT_FALSE(email.message_id_synthesized);
  EXPECT_EQ(email.thread_key, "<abc.123@mail.example.com>");
  EXPECT_EQ(email.subject, "Quarterly review");
  ASSERT_TRUE(email.date.has_value());
  EXPECT_EQ(*email.date, 1751356800LL * 1000000);  // 2025-07-01 08:00:00 UTC
  EXPECT_EQ(email.date_source, DateSource::header);
  ASSERT_EQ(email.participants.size(), 2u);
  EXPECT_EQ(email.participants[0].address, "jane.doe@example.com");
  EXPECT_EQ(email.participants[0].display_name, "Jane Doe");
  EXPECT_EQ(email.participants[0].role, Role::from);
  EXPECT_EQ(email.participants[1].address, "bob@example.org");
  EXPECT_EQ(email.skip, std::nullopt);
  EXPECT_TRUE(email.invitations.empty());
}

TEST(CaptureEmail, Rfc2047SubjectAndDisplayName) {
  ParsedEmail email = parse_email(
      "From: =?ISO-8859-1?Q?Andr=E9?= =?UTF-8?B?TcO8bGxlcg==?= <andre@example.com>\n"
      "To: bob@example.org\n"
      "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n"
      "Message-ID: <x@y>\n"
      "\n"
      "body\n");
  EXPECT_EQ(email.subject, "Grüße aus Köln");
  ASSERT_FALSE(email.participants.empty());
  EXPECT_EQ(email.participants[0].display_name, "AndréMüller");
}

TEST(CaptureEmail, Raw8BitHeaders) {
  // UTF-8 bytes as they are, and windows-1252 bytes (0xE9 = é), neither RFC 2047 encoded.
  ParsedEmail utf8 = parse_email(
      "From: J\xC3\xBCrgen <juergen@example.com>\nSubject: Gr\xC3\xBC\xC3\x9F"
      "e\n"
      "Message-ID: <a@b>\n\nbody\n");
  EXPECT_EQ(utf8.subject, "Grüße");
  ASSERT_FALSE(utf8.participants.empty());
  EXPECT_EQ(utf8.participants[0].display_name, "Jürgen");

  ParsedEmail latin =
      parse_email("From: a@example.com\nSubject: caf\xE9 cr\xE8me\nMessage-ID: <c@d>\n\nx\n");
  EXPECT_EQ(latin.subject, "café crème");
}

TEST(CaptureEmail, MissingMessageIdIsStableHash) {
  const std::string first =
      "From: Jane <jane@example.com>\nTo: bob@example.org\nSubject: Lunch\n"
      "Date: Tue, 1 Jul 2025 10:00:00 +0200\n\nsee you\n";
  // The same message as another mailbox stores it: other folding, other recipients' headers,
  // the date written in another zone, the subject RFC 2047 encoded.
  const std::string second =
      "Received: from mx by mx2; Tue, 1 Jul 2025 08:00:05 +0000\r\n"
      "Subject: =?UTF-8?Q?Lunch?=\r\nFrom: Jane\r\n <JANE@example.com>\r\nTo: carol@example.org\r\n"
      "Date: Tue, 01 Jul 2025 08:00:00 +0000\r\n\r\nsee you\r\n";
  ParsedEmail a = parse_email(first);
  ParsedEmail b = parse_email(second);
  EXPECT_TRUE(a.message_id_synthesized);
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_TRUE(a.message_id.ends_with("@hash.crm-hygiene>")) << a.message_id;
  EXPECT_EQ(a.message_id.size(), 1 + 64 + 17 + 1) << a.message_id;
  EXPECT_EQ(a.thread_key, a.message_id);

  ParsedEmail other = parse_email(
      "From: Jane <jane@example.com>\nSubject: Dinner\nDate: Tue, 1 Jul 2025 10:00:00 "
      "+0200\n\nx\n");
  EXPECT_NE(other.message_id, a.message_id);
}

TEST(CaptureEmail, MessageIdWhitespaceRemoved) {
  ParsedEmail email = parse_email("From: a@example.com\nMessage-ID:\n <abc\n @example.com>\n\nx\n");
  EXPECT_EQ(email.message_id, "<abc@example.com>");
}

TEST(CaptureEmail, ThreadKeyFromReferencesThenInReplyTo) {
  ParsedEmail refs = parse_email(
      "From: a@example.com\nMessage-ID: <3@example.com>\n"
      "References: not-an-id <1@example.com>\n <2@example.com>\n"
      "In-Reply-To: <2@example.com>\n\nx\n");
  EXPECT_EQ(refs.thread_key, "<1@example.com>");

  ParsedEmail reply = parse_email(
      "From: a@example.com\nMessage-ID: <3@example.com>\nIn-Reply-To: <2@example.com>\n\nx\n");
  EXPECT_EQ(reply.thread_key, "<2@example.com>");

  ParsedEmail junk = parse_email(
      "From: a@example.com\nMessage-ID: <3@example.com>\nReferences: garbage\n"
      "In-Reply-To: Your message of Tuesday <2@example.com>\n\nx\n");
  EXPECT_EQ(junk.thread_key, "<2@example.com>");
}

TEST(CaptureEmail, BadDateFallsBackToNewestReceived) {
  ParsedEmail email = parse_email(
      "Received: from b by c with ESMTP id 2; Wed, 2 Jul 2025 12:00:00 +0000\n"
      "Received: from a by b with ESMTP id 1; Wed, 2 Jul 2025 11:59:00 +0000\n"
      "From: a@example.com\nDate: sometime last week\nMessage-ID: <d@example.com>\n\nx\n");
  ASSERT_TRUE(email.date.has_value());
  EXPECT_EQ(email.date_source, DateSource::received);
  EXPECT_EQ(*email.date, 1751457600LL * 1000000);  // 2025-07-02 12:00:00 UTC

  ParsedEmail none = parse_email("From: a@example.com\nMessage-ID: <e@example.com>\n\nx\n");
  EXPECT_FALSE(none.date.has_value());
  EXPECT_EQ(none.date_source, DateSource::none);
}

TEST(CaptureEmail, GroupsBccAndDuplicates) {
  ParsedEmail email = parse_email(
      "From: Jane <jane@example.com>\n"
      "To: Team: Bob <BOB@example.org>, carol@example.org;, bob@example.org, not-an-address,"
      " @example.org\n"
      "Cc: undisclosed-recipients:;, Bob <bob@example.org>\n"
      "Bcc: secret@example.net\n"
      "Message-ID: <g@example.com>\n\nx\n");
  std::vector<std::pair<std::string, std::string>> expected = {{"from", "jane@example.com"},
                                                               {"to", "bob@example.org"},
                                                               {"to", "carol@example.org"},
                                                               {"cc", "bob@example.org"},
                                                               {"bcc", "secret@example.net"}};
  EXPECT_EQ(participants(email), expected);
}

TEST(CaptureEmail, RulesSeeHeaders) {
  ParsedEmail vacation = parse_email(
      "From: jane@example.com\nTo: bob@example.org\nSubject: Automatic reply: Lunch\n"
      "Message-ID: <v@example.com>\n\nI am away\n");
  ASSERT_TRUE(vacation.skip.has_value());
  EXPECT_EQ(vacation.skip->category, "automated");

  ParsedEmail list = parse_email(
      "From: jane@example.com\nTo: bob@example.org\nSubject: News\n"
      "List-Unsubscribe: <mailto:u@example.com>\nMessage-ID: <l@example.com>\n\nx\n");
  ASSERT_TRUE(list.skip.has_value());
  EXPECT_EQ(list.skip->reason(), "bulk: List-Unsubscribe header");

  ParsedEmail report = parse_email(
      "From: mx@example.com\nTo: bob@example.org\nMessage-ID: <r@example.com>\n"
      "Content-Type: Multipart/Report; report-type=delivery-status; boundary=\"b\"\n\n"
      "--b\nContent-Type: text/plain\n\nfailed\n--b--\n");
  ASSERT_TRUE(report.skip.has_value());
  EXPECT_EQ(report.skip->reason(), "automated: multipart/report (delivery or read report)");
}

TEST(CaptureEmail, NullFromAndListSoftware) {
  ParsedEmail bounce = parse_email(
      "From: MAILER-DAEMON <>\nTo: jane@example.com\nSubject: Mail delivery failed\n"
      "Message-ID: <b@example.com>\n\nx\n");
  ASSERT_TRUE(bounce.skip.has_value());
  EXPECT_EQ(bounce.skip->reason(), "automated: null From address");

  // No address at all is not the null sender.
  ParsedEmail nameless =
      parse_email("From: Jane Doe\nTo: bob@example.org\nMessage-ID: <n@example.com>\n\nx\n");
  EXPECT_EQ(nameless.skip, std::nullopt);

  ParsedEmail list = parse_email(
      "From: neko-admin@example.org\nTo: bob@example.org\nX-MLServer: fml [fml 4.0.3]\n"
      "Message-ID: <m@example.com>\n\nx\n");
  ASSERT_TRUE(list.skip.has_value());
  EXPECT_EQ(list.skip->reason(), "bulk: X-MLServer header");
}

TEST(CaptureEmail, LeadingBlankLinesAndByteOrderMark) {
  ParsedEmail email = parse_email(std::string("\xEF\xBB\xBF   \n\t\r\n") + kPlain);
  EXPECT_EQ(email.message_id, "<abc.123@mail.example.com>");
  EXPECT_EQ(email.skip, std::nullopt);
  ParsedEmail blank = parse_email("  \n\n \r\n");
  ASSERT_TRUE(blank.skip.has_value());
  EXPECT_EQ(blank.skip->reason(), "malformed: empty message");
}

TEST(CaptureEmail, InvitationPartIsDecoded) {
  // "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n" in base64, in a mixed-case type.
  ParsedEmail email = parse_email(
      "From: jane@example.com\nTo: bob@example.org\nMessage-ID: <i@example.com>\n"
      "Content-Type: multipart/alternative; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\nInvite\n"
      "--b\nContent-Type: TeXt/CaLeNdAr; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "QkVHSU46VkNBTEVOREFSDQpNRVRIT0Q6UkVRVUVTVA0KRU5EOlZDQUxFTkRBUg0K\n"
      "--b--\n");
  ASSERT_EQ(email.invitations.size(), 1u);
  EXPECT_EQ(email.invitations[0], "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n");

  ParsedEmail attachment = parse_email(
      "From: jane@example.com\nMessage-ID: <j@example.com>\n"
      "Content-Type: text/calendar; name=event.ics\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n");
  EXPECT_TRUE(attachment.invitations.empty());

  // METHOD in the calendar only: inline it is an invitation; an attached file that merely
  // publishes an event is not, an attached REQUEST is.
  ParsedEmail inline_request = parse_email(
      "From: jane@example.com\nMessage-ID: <l@example.com>\nContent-Type: text/calendar\n\n"
      "BEGIN:VCALENDAR\nMETHOD:PUBLISH\nEND:VCALENDAR\n");
  EXPECT_EQ(inline_request.invitations.size(), 1u);
  ParsedEmail shared_file = parse_email(
      "From: jane@example.com\nMessage-ID: <m@example.com>\nContent-Type: text/calendar\n"
      "Content-Disposition: attachment; filename=event.ics\n\n"
      "BEGIN:VCALENDAR\nMETHOD:PUBLISH\nEND:VCALENDAR\n");
  EXPECT_TRUE(shared_file.invitations.empty());
  ParsedEmail attached_request = parse_email(
      "From: jane@example.com\nMessage-ID: <n@example.com>\nContent-Type: text/calendar\n"
      "Content-Disposition: attachment; filename=invite.ics\n\n"
      "BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR\n");
  EXPECT_EQ(attached_request.invitations.size(), 1u);

  // A calendar inside an attached (forwarded or bounced) message is not this message's.
  ParsedEmail forwarded = parse_email(
      "From: jane@example.com\nMessage-ID: <o@example.com>\n"
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
      "From: x@example.com\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\n"
      "--b--\n");
  EXPECT_TRUE(forwarded.invitations.empty());

  ParsedEmail by_parameter = parse_email(
      "From: jane@example.com\nMessage-ID: <k@example.com>\n"
      "Content-Type: text/calendar; method=CANCEL; charset=iso-8859-1\n"
      "Content-Transfer-Encoding: quoted-printable\n\nSUMMARY:R=E9union\n");
  ASSERT_EQ(by_parameter.invitations.size(), 1u);
  EXPECT_EQ(by_parameter.invitations[0], "SUMMARY:Réunion\n");
}

// Real corporate mail (Enron's Exchange exports) is full of local parts RFC 5322 calls invalid and
// every mail server delivers to; GMime dropped them, and with them whole messages' participants.
TEST(CaptureEmail, CorporateLocalPartsAreKept) {
  ParsedEmail email = parse_email(
      "Message-ID: <19735421.1075840411101.JavaMail.evans@thyme>\n"
      "Date: Tue, 4 Dec 2001 08:14:57 -0800 (PST)\n"
      "From: j..broderick@enron.com\n"
      "To: carol.st.@enron.com, \"Mann, Kay\" <.kay.mann@enron.com>\n"
      "Cc: \"'j..broderick@enron.com'\" <J..Broderick@Enron.com>, a\"b@enron.com\n"
      "Bcc: \"sara..shackleton\"@enron.com\n"
      "Subject: Re: Turbine contract\n\nSee attached.\n");
  EXPECT_EQ(participants(email), (std::vector<std::pair<std::string, std::string>>{
                                     {"from", "j..broderick@enron.com"},
                                     {"to", "carol.st.@enron.com"},
                                     {"to", ".kay.mann@enron.com"},
                                     {"cc", "j..broderick@enron.com"},
                                     {"cc", "a\"b@enron.com"},
                                     {"bcc", "sara..shackleton@enron.com"}}));
  EXPECT_EQ(email.participants[2].display_name, "Mann, Kay");
  EXPECT_EQ(email.participants[3].display_name, "'j..broderick@enron.com'");
  EXPECT_TRUE(email.dropped.empty());
  EXPECT_EQ(email.skip, std::nullopt);
}

// What the parser reads but the participant trigger refuses is dropped and reported, and the
// message keeps the rest: before, one such address made the whole ingest call fail.
TEST(CaptureEmail, AddressesTheTriggerRefusesAreDroppedAndReported) {
  const std::string long_address = std::string(330, 'x') + "@enron.com";  // 340 bytes
  ParsedEmail email = parse_email(
      "From: sally.beck@enron.com\n"
      "To: jo@foo_bar.com, leslie.reeves@enron.com, \"john smith\"@ex.com\n"
      "Cc: " +
      long_address +
      ", Ann <ann@[10.0.0.1]>\n"
      "Message-ID: <close@enron.com>\n\nSchedule attached.\n");
  EXPECT_EQ(participants(email),
            (std::vector<std::pair<std::string, std::string>>{{"from", "sally.beck@enron.com"},
                                                              {"to", "leslie.reeves@enron.com"}}));
  ASSERT_EQ(email.dropped.size(), 4u);
  EXPECT_EQ(email.dropped[0],
            "dropped to address: \"jo@foo_bar.com\" is neither an email address nor a phone "
            "number");
  EXPECT_NE(email.dropped[1].find("\"john smith\"@ex.com"), std::string::npos);
  EXPECT_EQ(email.dropped[2],
            "dropped cc address: participant address is too long (it has 340 bytes; at most 320 "
            "are accepted)");
  EXPECT_NE(email.dropped[3].find("ann@[10.0.0.1]"), std::string::npos);
  EXPECT_EQ(email.skip, std::nullopt);
}

// The unique index on external_id holds about 2,700 bytes a row: a 3 KB Message-ID failed the
// whole call. Long ids are hashed, the same way for the message and for replies referring to it.
TEST(CaptureEmail, LongMessageIdIsHashedConsistently) {
  const std::string id = std::string(3000, 'm') + "@example.com";
  ParsedEmail original =
      parse_email("From: a@example.com\nTo: b@example.com\nMessage-ID: <" + id + ">\n\nx\n");
  EXPECT_EQ(original.message_id, "<" + crm::capture::sha256_hex(id) + "@hash.crm-hygiene>");
  EXPECT_TRUE(original.message_id_synthesized);
  EXPECT_EQ(original.thread_key, original.message_id);
  ParsedEmail reply = parse_email(
      "From: b@example.com\nTo: a@example.com\nMessage-ID: <r@x>\n"
      "In-Reply-To: <" +
      id + ">\nReferences: <" + id + ">\n\nx\n");
  EXPECT_EQ(reply.thread_key, original.message_id);
  // At the limit an id is kept as written.
  const std::string limit(crm::capture::kMaxIdentityBytes, 'k');
  EXPECT_EQ(parse_email("From: a@example.com\nMessage-ID: <" + limit + ">\n\nx\n").message_id,
            "<" + limit + ">");
}

TEST(CaptureEmail, BadInputDoesNotThrow) {
  using namespace std::string_literals;
  for (const std::string &raw :
       {""s, "\n"s, "\0\0\0"s, "garbage without any header"s, "From:\n\n"s, ":\n:\n\n"s,
        "Content-Type: multipart/mixed; boundary=x\n\n--x\n--x\n"s, std::string(100000, '\xFF'),
        "Date: Mon, 99 Foo 99999 99:99:99 +9999\nFrom: a@b\n\n"s}) {
    ParsedEmail email;
    EXPECT_NO_THROW(email = parse_email(raw));
    EXPECT_FALSE(email.message_id.empty());
    EXPECT_FALSE(email.thread_key.empty());
  }
  ParsedEmail empty = parse_email("");
  ASSERT_TRUE(empty.skip.has_value());
  EXPECT_EQ(empty.skip->category, "malformed");
  take_glib_messages();
}

TEST(CaptureGlib, MessagesAreCapturedNotPrintedNorFatal) {
  ensure_glib_runtime();
  ensure_glib_runtime();  // idempotent
  take_glib_messages();
  g_object_unref(nullptr);  // a GObject critical through g_return_if_fail
  g_log("gmime", G_LOG_LEVEL_WARNING, "warning %d", 7);
  g_log_structured("GLib", G_LOG_LEVEL_CRITICAL, "MESSAGE", "structured %s", "critical");
  std::vector<std::string> messages = take_glib_messages();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_TRUE(messages[0].starts_with("GLib-GObject CRITICAL: ")) << messages[0];
  EXPECT_EQ(messages[1], "gmime WARNING: warning 7");
  EXPECT_EQ(messages[2], "GLib CRITICAL: structured critical");
  EXPECT_TRUE(take_glib_messages().empty());  // drained
}

TEST(CaptureGlib, BufferIsBounded) {
  ensure_glib_runtime();
  take_glib_messages();
  const std::string long_text(2000, 'x');
  for (int i = 0; i < 100; ++i) g_log("GLib", G_LOG_LEVEL_WARNING, "%s", long_text.c_str());
  std::vector<std::string> messages = take_glib_messages();
  ASSERT_EQ(messages.size(), 64u);
  EXPECT_EQ(messages.front().size(), 511u);  // 512 bytes with the terminating NUL
  EXPECT_EQ(messages.back(), "(37 further GLib messages not kept)");
}

// ---------------------------------------------------------------------------------------------
// Real messages

class EmailData : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(kData + "/email"))
      GTEST_SKIP() << "e-mail test data not found at " << kData
                   << "/email (../shared/data next to the repository)";
  }
};

TEST_F(EmailData, EveryFileParsesWithoutThrowing) {
  std::size_t count = 0;
  for (const fs::path &path : files_under(kData + "/email")) {
    ParsedEmail email;
    EXPECT_NO_THROW(email = parse_email(read_file(path))) << path;
    EXPECT_FALSE(email.message_id.empty()) << path;
    EXPECT_LE(email.message_id.size(), crm::capture::kMaxIdentityBytes + 2) << path;
    // Never an address the participant trigger would refuse.
    for (const Participant &p : email.participants)
      EXPECT_EQ(crm::activity::refusal(p.address), std::nullopt) << path << ": " << p.address;
    ++count;
  }
  EXPECT_GT(count, 800u);
  take_glib_messages();
}

// sisimai's maildir/bsd holds real bounces, reports and auto-replies: every one is automated,
// except these, each read by hand.
const std::map<std::string, std::string> kSisimaiExceptions = {
    // fml mailing-list manager notices ("you are not a member", "Loop Alert"): their headers are
    // those of the list's own traffic (List-Subscribe, X-MLServer), so they are filed as bulk.
    {"lhost-fml-02.eml", "bulk"},
    {"lhost-fml-03.eml", "bulk"},
    // A person forwarding a bounce from Apple Mail ("Fwd: Returned mail: ..."): correspondence.
    {"lhost-sendmail-14.eml", ""},
};

TEST_F(EmailData, SisimaiBouncesAreAutomated) {
  const fs::path dir = kData + "/email/automated-emails-sisimai/maildir/bsd";
  std::size_t count = 0;
  std::size_t automated = 0;
  std::map<std::string, std::size_t> causes;
  for (const fs::path &path : files_under(dir)) {
    if (path.extension() != ".eml") continue;
    ParsedEmail email = parse_email(read_file(path));
    ++count;
    const std::string name = path.filename().string();
    const std::string category = email.skip ? email.skip->category : "";
    auto exception = kSisimaiExceptions.find(name);
    const std::string expected =
        exception == kSisimaiExceptions.end() ? "automated" : exception->second;
    EXPECT_EQ(category, expected) << name << ": " << (email.skip ? email.skip->reason() : "no skip")
                                  << ", subject: " << email.subject;
    if (category == "automated") ++automated;
    if (email.skip) ++causes[email.skip->reason()];
  }
  EXPECT_EQ(count, 629u);
  EXPECT_EQ(automated, count - kSisimaiExceptions.size());
  std::string summary;
  for (const auto &[cause, n] : causes) summary += "  " + std::to_string(n) + "  " + cause + "\n";
  RecordProperty("causes", summary);
}

// maildir/not: the controls.
TEST_F(EmailData, SisimaiControls) {
  const fs::path dir = kData + "/email/automated-emails-sisimai/maildir/not";
  for (const char *name : {"is-not-bounce-01.eml", "is-not-bounce-02.eml"}) {
    ParsedEmail email = parse_email(read_file(dir / name));
    EXPECT_EQ(email.skip, std::nullopt) << name << ": " << email.skip->reason();
  }
  // A bounce (Return-Path <>, Auto-Submitted: auto-replied, From postmaster) that sisimai keeps
  // here because its parser could not read it (sisimai issue 368), not because it is
  // correspondence: for activity capture it is automated.
  ParsedEmail bounce = parse_email(read_file(dir / "rb-issue-368-bug.eml"));
  ASSERT_TRUE(bounce.skip.has_value());
  EXPECT_EQ(bounce.skip->category, "automated");
}

TEST(CaptureEmailInvites, ThunderbirdInvitations) {
  const fs::path dir =
      kData + "/calendar/calendar-invites-thunderbird/calendar/test/browser/invitations/data";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "invitation test data not found at " << dir;
  std::size_t count = 0;
  for (const fs::path &path : files_under(dir)) {
    if (path.extension() != ".eml") continue;
    ParsedEmail email = parse_email(read_file(path));
    ++count;
    if (path.filename() == "message-non-invite.eml") {
      EXPECT_TRUE(email.invitations.empty()) << path.filename();
      continue;
    }
    ASSERT_FALSE(email.invitations.empty()) << path.filename();
    for (const std::string &ics : email.invitations) {
      EXPECT_NE(ics.find("BEGIN:VCALENDAR"), std::string::npos) << path.filename();
      EXPECT_NE(ics.find("METHOD:"), std::string::npos) << path.filename();
    }
  }
  EXPECT_EQ(count, 16u);
}

}  // namespace
