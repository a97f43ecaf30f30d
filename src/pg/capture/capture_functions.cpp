// The parsing half of activity capture: crm._parse_emails and crm._parse_calendar turn raw
// messages and calendar files into rows. What those rows do to the CRM (identity, policy, people,
// participants, the capture log) is set-based SQL in src/sql/60_capture.sql.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/capture/calendar.hpp"
#include "core/capture/email.hpp"
#include "core/capture/glib_runtime.hpp"
#include "core/error.hpp"
#include "pg/capture/capture_rows.hpp"
#include "pg/common/guard.hpp"

extern "C" {
#include "pgtime.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(crm_parse_emails);
PG_FUNCTION_INFO_V1(crm_parse_calendar);
}

namespace crm::pg {
namespace {

constexpr std::size_t kMaxMessageBytes = 25u * 1024 * 1024;
constexpr std::size_t kMaxCalendarBytes = 10u * 1024 * 1024;

std::string megabytes(std::size_t bytes) {
  return std::to_string((bytes + 1024 * 1024 - 1) / (1024 * 1024)) + " MB";
}

void check_size(std::size_t bytes, std::size_t limit, const char *what, int item) {
  if (bytes <= limit) return;
  std::string message = std::string(what) + " is larger than " + megabytes(limit);
  if (item > 0) message += " (item " + std::to_string(item) + ")";
  throw Error("54000", message, "it has " + std::to_string(bytes) + " bytes",
              "split it or leave it out; nothing of this call was written");
}

// GLib and GMime speak through their log functions; what they said goes to DEBUG1, never to the
// server's stderr.
void report_glib_messages() {
  for (const std::string &m : capture::take_glib_messages())
    pg_call([&] { elog(DEBUG1, "crm_hygiene: glib: %s", m.c_str()); });
}

struct ParticipantColumns {
  std::vector<const char *> addresses, names, roles, responses;
  explicit ParticipantColumns(const std::vector<capture::Participant> &participants) {
    for (const capture::Participant &p : participants) {
      addresses.push_back(p.address.c_str());
      names.push_back(p.display_name.empty() ? nullptr : p.display_name.c_str());
      roles.push_back(capture::role_name(p.role));
      responses.push_back(capture::response_name(p.response));
    }
  }
};

const char *date_source_name(capture::DateSource source) {
  switch (source) {
    case capture::DateSource::header:
      return "header";
    case capture::DateSource::received:
      return "received";
    case capture::DateSource::none:
      return "none";
  }
  return "none";
}

void put_email(ReturnSetInfo *rsinfo, int item, const capture::ParsedEmail &email) {
  const ParticipantColumns columns(email.participants);
  std::vector<const char *> invitations;
  for (const std::string &ics : email.invitations) invitations.push_back(ics.c_str());
  std::vector<std::string> dropped_reasons;
  for (const std::string &why : email.dropped) dropped_reasons.push_back("malformed: " + why);
  std::vector<const char *> dropped;
  for (const std::string &reason : dropped_reasons) dropped.push_back(reason.c_str());
  const std::string reason = email.skip ? email.skip->reason() : std::string();
  pg_call([&] {
    Datum values[13];
    bool nulls[13] = {false};
    values[0] = Int32GetDatum(item);
    values[1] = text_datum(email.message_id);
    values[2] = BoolGetDatum(email.message_id_synthesized);
    values[3] = text_datum(email.thread_key);
    if (email.date)
      values[4] = TimestampTzGetDatum(to_timestamptz(*email.date));
    else
      nulls[4] = true;
    values[5] = text_datum(date_source_name(email.date_source));
    values[6] = text_datum(email.subject);
    nulls[6] = email.subject.empty();
    values[7] = text_datum(reason);
    nulls[7] = !email.skip;
    values[8] = text_array_datum(columns.addresses);
    values[9] = text_array_datum(columns.names);
    values[10] = text_array_datum(columns.roles);
    values[11] = text_array_datum(invitations);
    values[12] = text_array_datum(dropped);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  });
}

constexpr int kCalendarColumns = 18;

struct CalendarRow {
  Datum values[kCalendarColumns];
  bool nulls[kCalendarColumns];
  CalendarRow() {
    for (int i = 0; i < kCalendarColumns; ++i) {
      values[i] = 0;
      nulls[i] = true;
    }
  }
  void set(int column, Datum value) {
    values[column] = value;
    nulls[column] = false;
  }
};

// Columns: 0 row_kind, 1 method, 2 uid, 3 recurrence_id, 4 external_id, 5 sequence, 6 dtstamp,
// 7 from_override, 8 starts_at, 9 ends_at, 10 all_day, 11 subject, 12 status, 13 addresses,
// 14 display_names, 15 roles, 16 responses, 17 skip.
void put_calendar_row(ReturnSetInfo *rsinfo, const char *kind, const std::string &method,
                      const std::string *uid, const std::string *skip) {
  pg_call([&] {
    CalendarRow row;
    row.set(0, text_datum(kind));
    if (!method.empty()) row.set(1, text_datum(method));
    if (uid != nullptr && !uid->empty()) row.set(2, text_datum(*uid));
    if (skip != nullptr) row.set(17, text_datum(*skip));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row.values, row.nulls);
  });
}

void put_instance(ReturnSetInfo *rsinfo, const std::string &method,
                  const capture::EventInstance &e) {
  const ParticipantColumns columns(e.participants);
  pg_call([&] {
    CalendarRow row;
    row.set(0, text_datum("instance"));
    if (!method.empty()) row.set(1, text_datum(method));
    row.set(2, text_datum(e.uid));
    if (e.recurrence_id) row.set(3, TimestampTzGetDatum(to_timestamptz(*e.recurrence_id)));
    row.set(4, text_datum(e.external_id));
    row.set(5, Int32GetDatum(e.sequence));
    if (e.dtstamp) row.set(6, TimestampTzGetDatum(to_timestamptz(*e.dtstamp)));
    row.set(7, BoolGetDatum(e.from_override));
    row.set(8, TimestampTzGetDatum(to_timestamptz(e.starts_at)));
    if (e.ends_at) row.set(9, TimestampTzGetDatum(to_timestamptz(*e.ends_at)));
    row.set(10, BoolGetDatum(e.all_day));
    if (!e.subject.empty()) row.set(11, text_datum(e.subject));
    row.set(12, text_datum(capture::status_name(e.status)));
    row.set(13, text_array_datum(columns.addresses));
    row.set(14, text_array_datum(columns.names));
    row.set(15, text_array_datum(columns.roles));
    row.set(16, text_array_datum(columns.responses));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row.values, row.nulls);
  });
}

std::string session_time_zone() {
  const char *zone = pg_call([] { return pg_get_timezone_name(session_timezone); });
  return zone != nullptr ? std::string(zone) : std::string();
}

}  // namespace
}  // namespace crm::pg

using crm::pg::barrier;
using crm::pg::pg_call;

// crm._parse_emails(messages bytea[]): one row per element, in order; a NULL element is skipped
// as malformed.
extern "C" PGDLLEXPORT Datum crm_parse_emails(PG_FUNCTION_ARGS) {
  ArrayType *messages = PG_GETARG_ARRAYTYPE_P(0);
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  Datum *elements = nullptr;
  bool *element_nulls = nullptr;
  int count = 0;
  deconstruct_array(messages, BYTEAOID, -1, false, TYPALIGN_INT, &elements, &element_nulls, &count);
  barrier([&] {
    crm::capture::ensure_glib_runtime();
    for (int i = 0; i < count; ++i) {
      if (crm::pg::interrupt_pending()) pg_call([] { CHECK_FOR_INTERRUPTS(); });
      crm::capture::ParsedEmail email;
      if (element_nulls[i]) {
        email.skip = crm::capture::Skip{"malformed", "the message is NULL"};
      } else {
        const bytea *raw = pg_call([&] { return DatumGetByteaPP(elements[i]); });
        const std::size_t size = VARSIZE_ANY_EXHDR(raw);
        crm::pg::check_size(size, crm::pg::kMaxMessageBytes, "message", count > 1 ? i + 1 : 0);
        email = crm::capture::parse_email(std::string_view(VARDATA_ANY(raw), size));
        crm::pg::report_glib_messages();
      }
      crm::pg::put_email(rsinfo, i + 1, email);
    }
    return Datum(0);
  });
  return Datum(0);
}

// crm._parse_calendar(ics text, window_from timestamptz, window_to timestamptz,
// max_instances integer, instance_limit text): the file's event instances (at most max_instances;
// instance_limit names the setting in the skip reasons of what is left out), the series it
// cancels, and what it leaves out. Long expansions stop for statement_timeout and cancels.
extern "C" PGDLLEXPORT Datum crm_parse_calendar(PG_FUNCTION_ARGS) {
  text *ics = PG_GETARG_TEXT_PP(0);
  const TimestampTz from = PG_GETARG_TIMESTAMPTZ(1);
  const TimestampTz to = PG_GETARG_TIMESTAMPTZ(2);
  const int32 max_instances = PG_GETARG_INT32(3);
  const char *instance_limit = text_to_cstring(PG_GETARG_TEXT_PP(4));
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
  barrier([&] {
    const std::size_t size = VARSIZE_ANY_EXHDR(ics);
    crm::pg::check_size(size, crm::pg::kMaxCalendarBytes, "calendar", 0);
    const crm::capture::Window window{crm::pg::to_unix_micros(from), crm::pg::to_unix_micros(to)};
    crm::capture::Limits limits;
    limits.max_instances = static_cast<std::size_t>(std::max<int32>(max_instances, 0));
    limits.instance_limit = instance_limit;
    limits.cancel = crm::pg::interrupt_pending;
    const crm::capture::ParsedCalendar calendar = crm::capture::parse_calendar(
        std::string_view(VARDATA_ANY(ics), size), window, crm::pg::session_time_zone(), limits);
    crm::pg::report_glib_messages();
    if (calendar.malformed) {
      const std::string reason = calendar.malformed->reason();
      crm::pg::put_calendar_row(rsinfo, "malformed", calendar.method, nullptr, &reason);
      return Datum(0);
    }
    for (const crm::capture::EventInstance &e : calendar.instances)
      crm::pg::put_instance(rsinfo, calendar.method, e);
    for (const std::string &uid : calendar.canceled_series)
      crm::pg::put_calendar_row(rsinfo, "series_canceled", calendar.method, &uid, nullptr);
    for (const crm::capture::SkippedComponent &s : calendar.skipped) {
      const std::string reason = s.skip.reason();
      crm::pg::put_calendar_row(rsinfo, "skipped", calendar.method, &s.uid, &reason);
    }
    for (const crm::capture::SkippedComponent &s : calendar.dropped) {
      const std::string reason = s.skip.reason();
      crm::pg::put_calendar_row(rsinfo, "dropped", calendar.method, &s.uid, &reason);
    }
    return Datum(0);
  });
  return Datum(0);
}
