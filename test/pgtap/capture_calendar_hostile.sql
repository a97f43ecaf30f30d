-- Calendar capture against hostile and broken input (issue 10): a VTIMEZONE built to make libical
-- expand forever (in a file and in an emailed invitation), files and calls with too many instances,
-- all-day overrides named in a zone under two TimeZone settings, a rule that ends before it
-- starts, an empty rule, and an event outside the calendar. Nothing hangs, nothing vanishes unlogged.
BEGIN;
SELECT plan(28);
SET LOCAL timezone = 'UTC';
INSERT INTO crm.workspace (id, name) VALUES (503, 'capture calendar hostile');
SET LOCAL crm.workspace = '503';
SET LOCAL crm.clock = '2026-11-01 00:00+00';
INSERT INTO crm.member (id, email, name) VALUES (5031, 'ann@ourco.com', 'Ann Member');

CREATE FUNCTION pg_temp.ics(body text) RETURNS text LANGUAGE sql AS $$
  SELECT E'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crm_hygiene//test//EN\r\n'
         || replace(body, E'\n', E'\r\n') || E'\r\nEND:VCALENDAR\r\n' $$;
CREATE FUNCTION pg_temp.outcomes(ics text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(r.outcome || coalesce(' (' || r.reason || ')', ''), '; ' ORDER BY r.outcome, r.reason)
  FROM crm.ingest_calendar(ics) r $$;
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text;
  message text;
BEGIN
  EXECUTE query;
  RETURN NULL;
EXCEPTION WHEN OTHERS OR query_canceled THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
  RETURN state || ': ' || message;
END $$;
-- n series of nine instances a day (midnight to 8:00), organised by Ann, from 30 October 2026.
CREATE FUNCTION pg_temp.many_series(prefix text, n integer) RETURNS text LANGUAGE sql AS $$
  SELECT pg_temp.ics(string_agg(format(E'BEGIN:VEVENT\nUID:%s-%s\nDTSTAMP:20261020T100000Z\nDTSTART:20261030T000000Z\n'
                                       'RRULE:FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8;COUNT=%s\n'
                                       'ORGANIZER:mailto:ann@ourco.com\nATTENDEE:mailto:bob@acme-widgets.com\nEND:VEVENT',
                                       prefix, k, 9 * 20), E'\n' ORDER BY k))
  FROM generate_series(1, n) k $$;

-- 1. The issue's file: a zone changing its offset every second since 1601. libical 3.0 expanded it
-- for more than 15 minutes and 2.5 GB, deaf to cancels; it is malformed, and logged.
CREATE TEMP TABLE hostile AS SELECT pg_temp.ics($ics$BEGIN:VTIMEZONE
TZID:Evil
BEGIN:STANDARD
DTSTART:16010101T000000
RRULE:FREQ=SECONDLY
TZOFFSETFROM:+0100
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:evil@ourco.com
DTSTAMP:20261020T100000Z
DTSTART;TZID=Evil:20261110T090000
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$) AS ics;
SELECT cmp_ok((SELECT octet_length(ics) FROM hostile), '<', 500, 'the hostile calendar is a few hundred bytes');
SELECT matches(pg_temp.outcomes((SELECT ics FROM hostile)), '^skipped \(malformed: VTIMEZONE Evil: ',
  'a VTIMEZONE recurring every second is skipped as malformed, not expanded');
SELECT results_eq($$SELECT source, category, fingerprint FROM crm.capture_log WHERE workspace_id = 503 AND reason LIKE 'malformed: VTIMEZONE Evil%'$$,
  $$SELECT 'calendar', 'malformed', encode(sha256(convert_to(ics, 'UTF8')), 'hex') FROM hostile$$,
  'and logged with the file''s SHA-256');
SELECT is((SELECT count(*)::int FROM crm.interaction WHERE workspace_id = 503), 0, 'nothing was filed');

-- 2. The same calendar as an emailed invitation (a text/calendar part).
SELECT matches((SELECT string_agg(r.outcome || ' (' || r.reason || ')', '; ') FROM crm.ingest_email(
  E'From: ann@ourco.com\r\nTo: bob@acme-widgets.com\r\nSubject: Invitation\r\nMessage-ID: <evil-invite@ourco.com>\r\n'
  'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee invite\r\n'
  '--b\r\nContent-Type: text/calendar; charset=UTF-8; method=REQUEST\r\n\r\n'
  || replace((SELECT ics FROM hostile), 'BEGIN:VTIMEZONE', E'METHOD:REQUEST\r\nBEGIN:VTIMEZONE') || E'\r\n--b--\r\n', 'ann@ourco.com') r),
  '^skipped \(malformed: VTIMEZONE Evil: ', 'an emailed invitation with that zone is skipped as malformed too');
SELECT is((SELECT count(*)::int FROM crm.capture_log WHERE workspace_id = 503 AND reason LIKE 'malformed: VTIMEZONE Evil%'), 2,
  'and logged');

-- 3. What expansion remains costly stops for statement_timeout: 30 series whose rule never
-- matches, walked from 1800 (about 5 s of libical's time in all, within the step budget).
CREATE TEMP TABLE costly AS SELECT pg_temp.ics(string_agg(format(E'BEGIN:VEVENT\nUID:costly-%s\nDTSTART:18000101T000000Z\n'
  'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\nORGANIZER:mailto:ann@ourco.com\nATTENDEE:mailto:bob@acme-widgets.com\nEND:VEVENT', k), E'\n')) AS ics
  FROM generate_series(1, 30) k;
SAVEPOINT before_timeout;
SET LOCAL statement_timeout = '100ms';
SELECT is(pg_temp.error_of($$SELECT * FROM crm.ingest_calendar((SELECT ics FROM costly))$$),
  '57014: canceling statement due to statement timeout', 'a long expansion is cancelled by statement_timeout');
RESET statement_timeout;
ROLLBACK TO SAVEPOINT before_timeout;
SELECT is((SELECT count(*)::int FROM crm.capture_log WHERE workspace_id = 503 AND external_id LIKE 'costly-%'), 0,
  'and leaves nothing behind');

-- 4. Instances per file: the policy's bound, whole events, logged with the counts.
SELECT results_eq($$SELECT max_instances_per_file, max_instances_per_call FROM crm.capture_policy WHERE workspace_id = 503$$,
  $$VALUES (20000, 50000)$$, 'the policy''s instance limits default to 20,000 a file and 50,000 a call');
SELECT is(pg_temp.error_of($$UPDATE crm.capture_policy SET max_instances_per_file = 0 WHERE workspace_id = 503$$),
  '23514: new row for relation "capture_policy" violates check constraint "capture_policy_max_instances_per_file"',
  'a limit is at least 1');
UPDATE crm.capture_policy SET max_instances_per_file = 1000 WHERE workspace_id = 503;
SELECT is(pg_temp.outcomes(pg_temp.many_series('file', 10)),
  'created; ' || repeat('created; ', 899) ||
  'skipped (policy: over max_instances_per_file (1000): 180 instances of this event left out (900 instances of 5 events in all; 900 filed, at most 1000)); '
  'skipped (policy: over max_instances_per_file (1000): 180 instances of this event left out (900 instances of 5 events in all; 900 filed, at most 1000)); '
  'skipped (policy: over max_instances_per_file (1000): 180 instances of this event left out (900 instances of 5 events in all; 900 filed, at most 1000)); '
  'skipped (policy: over max_instances_per_file (1000): 180 instances of this event left out (900 instances of 5 events in all; 900 filed, at most 1000)); '
  'skipped (policy: over max_instances_per_file (1000): 180 instances of this event left out (900 instances of 5 events in all; 900 filed, at most 1000))',
  'ten series of 180 instances against a limit of 1,000: five are filed whole, five are skipped');
SELECT results_eq($$SELECT thread_key, count(*)::int FROM crm.interaction WHERE workspace_id = 503 AND thread_key LIKE 'file-%' GROUP BY 1 ORDER BY 1$$,
  $$VALUES ('file-1', 180), ('file-2', 180), ('file-3', 180), ('file-4', 180), ('file-5', 180)$$,
  'the first five series, whole');
SELECT results_eq($$SELECT external_id, category FROM crm.capture_log WHERE workspace_id = 503 AND external_id LIKE 'file-%' ORDER BY 1$$,
  $$VALUES ('file-10', 'policy'), ('file-6', 'policy'), ('file-7', 'policy'), ('file-8', 'policy'), ('file-9', 'policy')$$,
  'each series left out is logged under its UID');

-- 5. Instances per call: the invitations of one crm.ingest_emails call share the call's bound.
UPDATE crm.capture_policy SET max_instances_per_file = 20000, max_instances_per_call = 400 WHERE workspace_id = 503;
CREATE FUNCTION pg_temp.invitation(n integer) RETURNS bytea LANGUAGE sql AS $$
  SELECT convert_to(format(E'From: ann@ourco.com\r\nTo: bob@acme-widgets.com\r\nSubject: Invitation %s\r\nMessage-ID: <call-%s@ourco.com>\r\n'
    'MIME-Version: 1.0\r\nContent-Type: text/calendar; charset=UTF-8; method=REQUEST\r\n\r\n', n, n)
    || replace(pg_temp.many_series('call' || n, 1), 'VERSION:2.0', E'VERSION:2.0\r\nMETHOD:REQUEST'), 'UTF8') $$;
SELECT results_eq($$SELECT r.message_index, r.outcome, r.reason, count(*)::int FROM crm.ingest_emails(ARRAY[pg_temp.invitation(1), pg_temp.invitation(2), pg_temp.invitation(3)], 'ann@ourco.com') r
                    GROUP BY 1, 2, 3 ORDER BY 1, 2$$,
  $$VALUES (1, 'created', NULL::text, 180), (2, 'created', NULL, 180),
           (3, 'skipped', 'policy: over max_instances_per_call (400): 180 instances of this event left out (180 instances of 1 event in all; 0 filed, at most 40)', 1)$$,
  'three invitations of 180 instances against a call limit of 400: the third is left out, naming the call''s limit');
SELECT is((SELECT count(*)::int FROM crm.capture_log WHERE workspace_id = 503 AND external_id = 'call3-1' AND reason LIKE 'policy: over max_instances_per_call (400)%'), 1,
  'and logged');
UPDATE crm.capture_policy SET max_instances_per_call = 50000 WHERE workspace_id = 503;

-- 6. An all-day series whose moved instance names its RECURRENCE-ID as a Berlin midnight: the
-- override replaces exactly its instance, whatever the session's TimeZone, and the identities do
-- not depend on it either.
CREATE TEMP TABLE allday AS SELECT pg_temp.ics($ics$BEGIN:VEVENT
UID:offsite@ourco.com
DTSTAMP:20261020T100000Z
DTSTART;VALUE=DATE:20261103
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Offsite
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT
BEGIN:VEVENT
UID:offsite@ourco.com
RECURRENCE-ID;TZID=Europe/Berlin:20261110T000000
DTSTAMP:20261020T100000Z
DTSTART;VALUE=DATE:20261112
SUMMARY:Offsite (moved)
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$) AS ics;
CREATE TEMP TABLE allday_ny AS SELECT replace(ics, 'offsite@', 'offsite-ny@') AS ics FROM allday;
SET LOCAL timezone = 'UTC';
SELECT is(pg_temp.outcomes((SELECT ics FROM allday)), 'created; created; created', 'TimeZone UTC: three instances');
SELECT results_eq($$SELECT external_id, subject FROM crm.interaction WHERE workspace_id = 503 AND thread_key = 'offsite@ourco.com' ORDER BY occurred_at$$,
  $$VALUES ('offsite@ourco.com/20261103T000000Z', 'Offsite'), ('offsite@ourco.com/20261110T000000Z', 'Offsite (moved)'),
           ('offsite@ourco.com/20261117T000000Z', 'Offsite')$$,
  'the override replaced the second week');
SET LOCAL timezone = 'America/New_York';
SELECT is(pg_temp.outcomes((SELECT ics FROM allday_ny)), 'created; created; created', 'TimeZone America/New_York: three instances');
SELECT results_eq($$SELECT external_id, subject FROM crm.interaction WHERE workspace_id = 503 AND thread_key = 'offsite-ny@ourco.com' ORDER BY occurred_at$$,
  $$VALUES ('offsite-ny@ourco.com/20261103T000000Z', 'Offsite'), ('offsite-ny@ourco.com/20261110T000000Z', 'Offsite (moved)'),
           ('offsite-ny@ourco.com/20261117T000000Z', 'Offsite')$$,
  'the override replaced the second week there too, under the same identities');
SELECT is((SELECT occurred_at FROM crm.interaction WHERE external_id = 'offsite-ny@ourco.com/20261110T000000Z'), '2026-11-12 00:00 America/New_York'::timestamptz,
  'the moved day begins at midnight in the session''s zone');
SELECT is(pg_temp.outcomes((SELECT ics FROM allday)), 'duplicate (already captured); duplicate (already captured); duplicate (already captured)',
  'the file filed under UTC is a duplicate under America/New_York');
SET LOCAL timezone = 'UTC';

-- 7. UNTIL before DTSTART: RFC 5545 makes DTSTART the first instance; one meeting.
SELECT is(pg_temp.outcomes(pg_temp.ics($ics$BEGIN:VEVENT
UID:until@ourco.com
DTSTAMP:20261020T100000Z
DTSTART:20261110T090000Z
RRULE:FREQ=DAILY;UNTIL=20261101T000000Z
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$)), 'created', 'a series whose UNTIL is before DTSTART files DTSTART');
SELECT is((SELECT string_agg(external_id, ',') FROM crm.interaction WHERE workspace_id = 503 AND thread_key = 'until@ourco.com'),
  'until@ourco.com/20261110T090000Z', 'as the one instance of its series');

-- 8. An empty RRULE is no rule.
SELECT is(pg_temp.outcomes(pg_temp.ics($ics$BEGIN:VEVENT
UID:empty-rule@ourco.com
DTSTAMP:20261020T100000Z
DTSTART:20261110T090000Z
RRULE:
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$)), 'created', 'an event with an empty RRULE is filed');
SELECT is((SELECT string_agg(external_id, ',') FROM crm.interaction WHERE workspace_id = 503 AND thread_key = 'empty-rule@ourco.com'),
  'empty-rule@ourco.com', 'as a single event');

-- 9. A VEVENT after END:VCALENDAR was dropped unseen; it is skipped and logged.
SELECT is(pg_temp.outcomes(pg_temp.ics($ics$BEGIN:VEVENT
UID:inside@ourco.com
DTSTAMP:20261020T100000Z
DTSTART:20261110T090000Z
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$) || E'BEGIN:VEVENT\r\nUID:outside@ourco.com\r\nDTSTART:20261111T090000Z\r\nORGANIZER:mailto:ann@ourco.com\r\n'
  'ATTENDEE:mailto:bob@acme-widgets.com\r\nEND:VEVENT\r\n'),
  'created; skipped (malformed: VEVENT outside a VCALENDAR)', 'the event outside the calendar is skipped');
SELECT is((SELECT reason FROM crm.capture_log WHERE workspace_id = 503 AND external_id = 'outside@ourco.com'),
  'malformed: VEVENT outside a VCALENDAR', 'and logged');

SELECT is_empty('SELECT * FROM crm.verify_signals()', 'signals are intact');
SELECT * FROM finish();
ROLLBACK;
