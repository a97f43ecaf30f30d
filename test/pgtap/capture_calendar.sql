-- Activity capture of calendars: iCalendar files become meetings, one per event instance inside
-- the recurrence window; UID + RECURRENCE-ID is the identity, SEQUENCE and DTSTAMP decide which
-- copy wins, cancellations cancel, replies change responses, and ingesting again changes nothing.
BEGIN;
SELECT plan(55);
SET LOCAL timezone = 'UTC';
INSERT INTO crm.workspace (id, name) VALUES (502, 'capture calendar');
SET LOCAL crm.workspace = '502';
SET LOCAL crm.clock = '2026-11-01 00:00+00';
INSERT INTO crm.member (id, email, name) VALUES (5021, 'ann@ourco.com', 'Ann Member'), (5022, 'max@ourco.com', 'Max Member');

CREATE FUNCTION pg_temp.ics(method text, body text) RETURNS text LANGUAGE sql AS $$
  SELECT E'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crm_hygiene//test//EN\r\n'
         || coalesce('METHOD:' || method || E'\r\n', '')
         || replace(body, E'\n', E'\r\n') || E'\r\nEND:VCALENDAR\r\n' $$;
CREATE FUNCTION pg_temp.outcomes(ics text, mailbox text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(r.outcome || coalesce(' (' || r.reason || ')', ''), '; ' ORDER BY r.outcome, r.reason)
  FROM crm.ingest_calendar(ics, mailbox) r $$;
CREATE FUNCTION pg_temp.series(uid text) RETURNS TABLE (external_id text, occurred_at timestamptz, ends_at timestamptz, status text)
LANGUAGE sql AS $$
  SELECT i.external_id, i.occurred_at, i.ends_at, i.status::text FROM crm.interaction i
  WHERE i.workspace_id = 502 AND i.thread_key = uid ORDER BY i.occurred_at, i.external_id $$;
CREATE FUNCTION pg_temp.snapshot() RETURNS text LANGUAGE sql AS $$
  SELECT md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s', i.id, i.occurred_at, i.ends_at, i.subject, i.status,
               (SELECT string_agg(p.id || p.address || p.role || coalesce(p.response::text, '-'), ',' ORDER BY p.id)
                FROM crm.participant p WHERE p.interaction_id = i.id)), ';' ORDER BY i.id), ''))
  FROM crm.interaction i WHERE i.workspace_id = 502 $$;
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text;
  message text;
BEGIN
  EXECUTE query;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
  RETURN state || ': ' || message;
END $$;

CREATE TEMP TABLE weekly AS SELECT pg_temp.ics('REQUEST', $ics$BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly-1@ourco.com
SEQUENCE:0
DTSTAMP:20261020T100000Z
DTSTART;TZID=Europe/Berlin:20261105T100000
DTEND;TZID=Europe/Berlin:20261105T110000
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Weekly sync
ORGANIZER;CN=Ann Member:mailto:ann@ourco.com
ATTENDEE;PARTSTAT=ACCEPTED;CN="Buyer, Bob":MAILTO:Bob@Acme-Widgets.com
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:eve@newco.io
END:VEVENT$ics$) AS ics;

-- A weekly series organised by a member: one meeting per instance.
SELECT is(pg_temp.outcomes((SELECT ics FROM weekly), 'ann@ourco.com'), 'created; created; created', 'three instances are created');
SELECT results_eq($$SELECT * FROM pg_temp.series('weekly-1@ourco.com')$$,
  $$VALUES ('weekly-1@ourco.com/20261105T090000Z', '2026-11-05 09:00+00'::timestamptz, '2026-11-05 10:00+00'::timestamptz, 'confirmed'),
           ('weekly-1@ourco.com/20261112T090000Z', '2026-11-12 09:00+00', '2026-11-12 10:00+00', 'confirmed'),
           ('weekly-1@ourco.com/20261119T090000Z', '2026-11-19 09:00+00', '2026-11-19 10:00+00', 'confirmed')$$,
  'UID + RECURRENCE-ID identities, Berlin times in UTC, ends from DTEND');
SELECT results_eq($$SELECT p.address, p.role::text, p.response::text, p.display_name FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
                    WHERE i.external_id = 'weekly-1@ourco.com/20261105T090000Z' ORDER BY p.role, p.address$$,
  $$VALUES ('ann@ourco.com', 'organizer', NULL, 'Ann Member'), ('bob@acme-widgets.com', 'attendee', 'accepted', 'Buyer, Bob'),
           ('eve@newco.io', 'attendee', 'needs_action', NULL)$$,
  'the organizer and the attendees with their responses');
SELECT results_eq($$SELECT first_name, last_name, (SELECT domain FROM crm.company c WHERE c.id = p.company_id) FROM crm.person p WHERE workspace_id = 502 ORDER BY email$$,
  $$VALUES ('Bob', 'Buyer', 'acme-widgets.com'), (NULL, NULL, 'newco.io')$$,
  'a member organised it: its attendees become people at new companies');
SELECT results_eq($$SELECT kind::text, subject, source FROM crm.interaction WHERE workspace_id = 502 LIMIT 1$$,
  $$VALUES ('meeting', 'Weekly sync', 'capture')$$, 'filed as meetings with the summary as subject');
SELECT is((SELECT next_meeting_at FROM crm.person_overview WHERE email = 'bob@acme-widgets.com'), '2026-11-05 09:00+00'::timestamptz,
  'Bob''s next meeting follows');

-- Ingesting the same file again changes nothing.
SELECT pg_temp.snapshot() AS before \gset
SELECT is(pg_temp.outcomes((SELECT ics FROM weekly), 'ann@ourco.com'),
  'duplicate (already captured); duplicate (already captured); duplicate (already captured)', 'the same file again: duplicates');
SELECT is(pg_temp.snapshot(), :'before', 'and nothing changed');

-- SEQUENCE 1 drops the second week (EXDATE) and carries Eve's decline.
SELECT is(pg_temp.outcomes(replace(replace(replace((SELECT ics FROM weekly), 'SEQUENCE:0', 'SEQUENCE:1'),
    'RRULE:FREQ=WEEKLY;COUNT=3', E'RRULE:FREQ=WEEKLY;COUNT=3\r\nEXDATE;TZID=Europe/Berlin:20261105T100000'),
    'PARTSTAT=NEEDS-ACTION', 'PARTSTAT=DECLINED'), 'ann@ourco.com'),
  'updated (SEQUENCE 1); updated (SEQUENCE 1); updated (no longer in the series)', 'a new version: two instances updated, one dropped');
SELECT results_eq($$SELECT external_id, status FROM pg_temp.series('weekly-1@ourco.com')$$,
  $$VALUES ('weekly-1@ourco.com/20261105T090000Z', 'canceled'), ('weekly-1@ourco.com/20261112T090000Z', 'confirmed'),
           ('weekly-1@ourco.com/20261119T090000Z', 'confirmed')$$,
  'the excluded week is cancelled');
SELECT is((SELECT string_agg(p.response::text, ',' ORDER BY i.occurred_at) FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
           WHERE i.thread_key = 'weekly-1@ourco.com' AND p.address = 'eve@newco.io' AND i.status <> 'canceled'),
  'declined,declined', 'Eve''s response follows the new version');
SELECT is((SELECT next_meeting_at FROM crm.person_overview WHERE email = 'bob@acme-widgets.com'), '2026-11-12 09:00+00'::timestamptz,
  'derived state forgets the cancelled instance: Bob''s next meeting is the second week');

-- An older copy arriving late loses.
SELECT pg_temp.snapshot() AS before \gset
SELECT is(pg_temp.outcomes((SELECT ics FROM weekly), 'ann@ourco.com'),
  'duplicate (a newer version is filed (SEQUENCE 1)); duplicate (a newer version is filed (SEQUENCE 1)); duplicate (a newer version is filed (SEQUENCE 1))',
  'SEQUENCE 0 after SEQUENCE 1: duplicates');
SELECT is(pg_temp.snapshot(), :'before', 'and nothing changed');

-- An exception moves the third week (RECURRENCE-ID override, same SEQUENCE, newer DTSTAMP).
SELECT is(pg_temp.outcomes(pg_temp.ics('REQUEST', $ics$BEGIN:VEVENT
UID:weekly-1@ourco.com
RECURRENCE-ID:20261119T090000Z
SEQUENCE:1
DTSTAMP:20261025T100000Z
DTSTART:20261119T130000Z
DTEND:20261119T140000Z
SUMMARY:Weekly sync (moved)
ORGANIZER:mailto:ann@ourco.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme-widgets.com
END:VEVENT$ics$), 'ann@ourco.com'), 'updated (SEQUENCE 1)', 'an override updates its instance');
SELECT results_eq($$SELECT occurred_at, subject FROM crm.interaction WHERE external_id = 'weekly-1@ourco.com/20261119T090000Z'$$,
  $$VALUES ('2026-11-19 13:00+00'::timestamptz, 'Weekly sync (moved)')$$, 'at its new time, under the same identity');
SELECT is((SELECT string_agg(p.address, ',' ORDER BY p.address) FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
           WHERE i.external_id = 'weekly-1@ourco.com/20261119T090000Z'), 'ann@ourco.com,bob@acme-widgets.com',
  'with the override''s participants');
SELECT is(pg_temp.outcomes(replace(replace(replace((SELECT ics FROM weekly), 'SEQUENCE:0', 'SEQUENCE:1'),
    'RRULE:FREQ=WEEKLY;COUNT=3', E'RRULE:FREQ=WEEKLY;COUNT=3\r\nEXDATE;TZID=Europe/Berlin:20261105T100000'),
    'PARTSTAT=NEEDS-ACTION', 'PARTSTAT=DECLINED'), 'ann@ourco.com'),
  'duplicate (a newer version is filed (SEQUENCE 1)); duplicate (already captured)',
  'the series at the same SEQUENCE leaves the override alone');

-- A reply changes one attendee's response and nothing else.
SELECT is(pg_temp.outcomes(pg_temp.ics('REPLY', $ics$BEGIN:VEVENT
UID:weekly-1@ourco.com
SEQUENCE:1
DTSTAMP:20261026T100000Z
DTSTART;TZID=Europe/Berlin:20261105T100000
ORGANIZER:mailto:ann@ourco.com
ATTENDEE;PARTSTAT=TENTATIVE:mailto:bob@acme-widgets.com
END:VEVENT$ics$)), 'updated (response recorded); updated (response recorded); updated (response recorded)', 'a series reply');
SELECT is((SELECT string_agg(DISTINCT p.response::text, ',') FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
           WHERE i.thread_key = 'weekly-1@ourco.com' AND p.address = 'bob@acme-widgets.com'), 'tentative', 'Bob is tentative on every instance');
SELECT is(pg_temp.outcomes(pg_temp.ics('REPLY', $ics$BEGIN:VEVENT
UID:unknown@ourco.com
DTSTAMP:20261026T100000Z
DTSTART:20261105T100000Z
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme-widgets.com
END:VEVENT$ics$)), 'skipped (policy: a reply to a meeting that was not captured)', 'a reply to an unknown meeting is skipped');

-- The organiser cancels the series.
SELECT is(pg_temp.outcomes(pg_temp.ics('CANCEL', $ics$BEGIN:VEVENT
UID:weekly-1@ourco.com
SEQUENCE:2
DTSTAMP:20261027T100000Z
DTSTART;TZID=Europe/Berlin:20261105T100000
DTEND;TZID=Europe/Berlin:20261105T110000
RRULE:FREQ=WEEKLY;COUNT=3
STATUS:CANCELLED
SUMMARY:Weekly sync
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$), 'ann@ourco.com') LIKE '%updated%', true, 'a cancellation updates the instances');
SELECT is((SELECT string_agg(DISTINCT status, ',') FROM pg_temp.series('weekly-1@ourco.com')), 'canceled', 'every instance is cancelled');
SELECT is((SELECT next_meeting_at FROM crm.person_overview WHERE email = 'bob@acme-widgets.com'), NULL, 'and Bob has no next meeting');
SELECT is((SELECT count(*)::int FROM crm.interaction WHERE workspace_id = 502 AND thread_key = 'weekly-1@ourco.com' AND status <> 'canceled'), 0,
  'nothing of the series is left to count');

-- Time zones: Windows names (Outlook, without VTIMEZONE), a zone defined in the file, UTC, all-day.
SELECT is(pg_temp.outcomes(pg_temp.ics('REQUEST', $ics$BEGIN:VEVENT
UID:windows@ourco.com
DTSTAMP:20261020T100000Z
DTSTART;TZID="Pacific Standard Time":20261110T090000
DTEND;TZID="Pacific Standard Time":20261110T093000
SUMMARY:West coast
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$)), 'created', 'an event in a Windows zone');
SELECT results_eq($$SELECT external_id, occurred_at, ends_at FROM crm.interaction WHERE thread_key = 'windows@ourco.com'$$,
  $$VALUES ('windows@ourco.com', '2026-11-10 17:00+00'::timestamptz, '2026-11-10 17:30+00'::timestamptz)$$,
  '"Pacific Standard Time" is America/Los_Angeles; a single event''s identity is its UID');
SELECT is(pg_temp.outcomes(pg_temp.ics(NULL, $ics$BEGIN:VTIMEZONE
TZID:Custom India
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:custom-zone@ourco.com
DTSTAMP:20261020T100000Z
DTSTART;TZID=Custom India:20261110T090000
DURATION:PT45M
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:raj@example-india.com
END:VEVENT$ics$)), 'created', 'an event in a zone the file defines');
SELECT results_eq($$SELECT occurred_at, ends_at FROM crm.interaction WHERE thread_key = 'custom-zone@ourco.com'$$,
  $$VALUES ('2026-11-10 03:30+00'::timestamptz, '2026-11-10 04:15+00'::timestamptz)$$, 'its VTIMEZONE offset, and DURATION for the end');
SELECT is(pg_temp.outcomes(pg_temp.ics(NULL, $ics$BEGIN:VEVENT
UID:allday@ourco.com
DTSTAMP:20261020T100000Z
DTSTART;VALUE=DATE:20261120
SUMMARY:Offsite
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$)), 'created', 'an all-day event');
SELECT results_eq($$SELECT occurred_at, ends_at FROM crm.interaction WHERE thread_key = 'allday@ourco.com'$$,
  $$VALUES ('2026-11-20 00:00+00'::timestamptz, '2026-11-21 00:00+00'::timestamptz)$$, 'covers its day in the session''s time zone');

-- Recurrence within the window only: 365 days back and 180 ahead of crm.now() by default.
SELECT is(pg_temp.outcomes(pg_temp.ics(NULL, $ics$BEGIN:VEVENT
UID:daily@ourco.com
DTSTAMP:20200101T000000Z
DTSTART:20200106T150000Z
DTEND:20200106T151500Z
RRULE:FREQ=DAILY
SUMMARY:Standup
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$)) IS NOT NULL, true, 'an endless daily series');
SELECT results_eq($$SELECT count(*), min(occurred_at), max(occurred_at) FROM crm.interaction WHERE thread_key = 'daily@ourco.com'$$,
  $$VALUES (545::bigint, '2025-11-01 15:00+00'::timestamptz, '2027-04-29 15:00+00'::timestamptz)$$,
  'is expanded within the window');
UPDATE crm.capture_policy SET recurrence_past = '7 days', recurrence_ahead = '7 days' WHERE workspace_id = 502;
SELECT is(pg_temp.outcomes(pg_temp.ics(NULL, $ics$BEGIN:VEVENT
UID:daily2@ourco.com
DTSTAMP:20200101T000000Z
DTSTART:20200106T150000Z
RRULE:FREQ=DAILY
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$)) IS NOT NULL, true, 'with a narrower window');
SELECT is((SELECT count(*)::int FROM crm.interaction WHERE thread_key = 'daily2@ourco.com'), 14, 'fewer instances');
SELECT matches(pg_temp.outcomes(pg_temp.ics(NULL, $ics$BEGIN:VEVENT
UID:secondly@ourco.com
DTSTAMP:20200101T000000Z
DTSTART:20261030T000000Z
RRULE:FREQ=SECONDLY
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:bob@acme-widgets.com
END:VEVENT$ics$)), '^skipped \(policy: ', 'a series with too many instances is skipped, not expanded');
UPDATE crm.capture_policy SET recurrence_past = '365 days', recurrence_ahead = '180 days' WHERE workspace_id = 502;

-- Policy: internal meetings, meetings without participants, the mailbox owner's own events.
SELECT is(pg_temp.outcomes(pg_temp.ics(NULL, $ics$BEGIN:VEVENT
UID:internal@ourco.com
DTSTAMP:20261020T100000Z
DTSTART:20261110T090000Z
ORGANIZER:mailto:ann@ourco.com
ATTENDEE:mailto:max@ourco.com
END:VEVENT$ics$)), 'skipped (internal: every participant is a member)', 'a meeting of members only');
SELECT is(pg_temp.outcomes(pg_temp.ics(NULL, $ics$BEGIN:VEVENT
UID:dentist@ourco.com
DTSTAMP:20261020T100000Z
DTSTART:20261110T090000Z
SUMMARY:Dentist
END:VEVENT$ics$), 'ann@ourco.com'), 'skipped (internal: every participant is a member)', 'an event in the owner''s calendar with nobody on it is the owner''s own');
SELECT is(pg_temp.outcomes(pg_temp.ics(NULL, $ics$BEGIN:VEVENT
UID:nobody@ourco.com
DTSTAMP:20261020T100000Z
DTSTART:20261110T090000Z
END:VEVENT$ics$)), 'skipped (policy: no participants)', 'without a mailbox, nobody: skipped');
SELECT is((SELECT count(*)::int FROM crm.capture_log WHERE workspace_id = 502 AND source = 'calendar' AND external_id IN ('internal@ourco.com', 'dentist@ourco.com', 'nobody@ourco.com')), 3,
  'skips are logged');

-- Bad input.
SELECT matches(pg_temp.outcomes('this is not a calendar'), '^skipped \(malformed: ', 'not iCalendar: skipped as malformed');
SELECT matches(pg_temp.outcomes(pg_temp.ics(NULL, E'BEGIN:VEVENT\nUID:nostart@ourco.com\nSUMMARY:no start\nEND:VEVENT')), '^skipped \(malformed: ', 'an event without DTSTART is skipped');
SELECT is(pg_temp.outcomes(pg_temp.ics(NULL, E'BEGIN:VEVENT\nUID:badrule@ourco.com\nDTSTAMP:20261020T100000Z\nDTSTART:20261110T090000Z\nRRULE:FREQ=FORTNIGHTLY\nORGANIZER:mailto:ann@ourco.com\nATTENDEE:mailto:bob@acme-widgets.com\nEND:VEVENT')) IS NOT NULL, true,
  'an RRULE libical cannot read is no error');
SELECT pg_temp.snapshot() AS before \gset
SELECT is(pg_temp.error_of($$SELECT * FROM crm.ingest_calendar(pg_temp.ics(NULL, 'X-PAD:' || repeat('x', 10 * 1024 * 1024)))$$),
  '54000: calendar is larger than 10 MB', 'a calendar over 10 MB is refused with 54000');
SELECT is(pg_temp.error_of($$SELECT * FROM crm.ingest_calendar(NULL)$$), '22004: ics must not be NULL', 'NULL is an error');
SELECT is(pg_temp.snapshot(), :'before', 'nothing was written');

-- An invitation inside an email goes to the calendar path.
SELECT is((SELECT string_agg(r.outcome, ',') FROM crm.ingest_email(
  E'From: ann@ourco.com\r\nTo: bob@acme-widgets.com\r\nSubject: Invitation: Demo\r\nMessage-ID: <invite@ourco.com>\r\n'
  'MIME-Version: 1.0\r\nContent-Type: text/calendar; charset=UTF-8; method=REQUEST\r\n\r\n'
  || pg_temp.ics('REQUEST', E'BEGIN:VEVENT\nUID:demo@ourco.com\nDTSTAMP:20261020T100000Z\nDTSTART:20261112T150000Z\nDTEND:20261112T160000Z\nSUMMARY:Demo\nORGANIZER:mailto:ann@ourco.com\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@acme-widgets.com\nEND:VEVENT'),
  'ann@ourco.com') r), 'created', 'an invitation email creates the meeting');
SELECT results_eq($$SELECT kind::text, subject FROM crm.interaction WHERE workspace_id = 502 AND thread_key = 'demo@ourco.com'$$,
  $$VALUES ('meeting', 'Demo')$$, 'a meeting, not an email');
SELECT is((SELECT count(*)::int FROM crm.interaction WHERE external_id = '<invite@ourco.com>'), 0, 'the invitation itself is not filed as an email');
SELECT is((SELECT count(*)::int FROM crm.interaction WHERE workspace_id = 502 AND thread_key IN ('nobody@ourco.com', 'internal@ourco.com', 'nostart@ourco.com')), 0,
  'skipped events wrote no interaction');

-- Hostile input (issue 10): a 3 KB UID is too large for the unique index on external_id and an
-- attendee the participant trigger refuses failed the whole file; now the UID is hashed and the
-- attendee left out and logged.
CREATE TEMP TABLE hostile_ics AS SELECT pg_temp.ics('REQUEST', 'BEGIN:VEVENT
UID:' || repeat('u', 3000) || '
DTSTAMP:20261020T080000Z
DTSTART:20261120T100000Z
DTEND:20261120T110000Z
SUMMARY:Hostile
ORGANIZER:mailto:ann@ourco.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:jo@foo_bar.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:j..broderick@enron.com
END:VEVENT') AS ics;
SELECT is(pg_temp.outcomes((SELECT ics FROM hostile_ics)), 'created', 'a 3 KB UID and a refused attendee: the event is filed');
SELECT results_eq($$SELECT i.external_id, string_agg(p.address, ', ' ORDER BY p.address) FROM crm.interaction i JOIN crm.participant p ON p.interaction_id = i.id
                    WHERE i.workspace_id = 502 AND i.subject = 'Hostile' GROUP BY i.external_id$$,
  $$VALUES (encode(sha256(convert_to(repeat('u', 3000), 'UTF8')), 'hex') || '@hash.crm-hygiene', 'ann@ourco.com, j..broderick@enron.com')$$,
  'the UID is stored as its SHA-256, the refused attendee is left out');
SELECT results_eq($$SELECT category, reason FROM crm.capture_log WHERE workspace_id = 502 AND reason LIKE '%foo_bar%'$$,
  $$VALUES ('malformed', 'malformed: dropped attendee address: "jo@foo_bar.com" is neither an email address nor a phone number')$$,
  'the dropped attendee is in the capture log');
SELECT is(pg_temp.outcomes((SELECT ics FROM hostile_ics)), 'duplicate (already captured)', 'the same file again: the same meeting');

SELECT is_empty('SELECT * FROM crm.verify_signals()', 'signals are intact');
SELECT * FROM finish();
ROLLBACK;
