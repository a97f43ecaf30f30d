-- Raw input for bench/capture_speed.sh: RFC 5322 messages and iCalendar files, generated in SQL
-- from bench.rnd() only (the same bytes on every run), into bench.capture_msg and
-- bench.capture_ics of the seeded workspace (bench/sql/seed.sql: members member<m>@ourteam.example,
-- companies company<c>.example, people p<p>@company<c>.example). psql variables: clock, members,
-- companies, per_company, messages, events.
--
-- Messages (:messages rows, in the order a sync would hand them over, n = 1..):
--   out   (~65 %) a member to 1-3 people of one company (To / Cc), 20 % with another member in Cc,
--         12 % with a new address at the company's domain (contact3..12@: capture creates the
--         person), 3 % with a new address at a new business domain (prospect<k>.com, one of 200:
--         capture creates the company and the person; a .com, because crm.registrable_domain() has
--         no registrable domain for the reserved .example, so no company would be made); mailbox =
--         the sender
--   in    (~25 %) a person to a member, sometimes Cc colleagues (30 %), a new colleague (5 %) or
--         another member (10 %); mailbox = the recipient member
--   bulk  (~6 %)  a company's newsletter with List-Unsubscribe (and Precedence: bulk on half)
--   auto  (~4 %)  a person's out-of-office reply, Auto-Submitted: auto-replied
--   copy  (~3 % of all rows) the same bytes as an earlier out message with a member in Cc, from that
--         member's mailbox (repeated Message-ID), a little later in the stream
-- Headers: From, To, Cc, Subject, Date (07:00-19:00 Berlin time with its offset, within the year
-- before the clock, skewed to recent), Message-ID, In-Reply-To / References (30 %), MIME-Version,
-- Content-Type text/plain or (30 % of out / in) multipart/alternative with an HTML part; bodies of
-- a few hundred bytes, ASCII.
--
-- Calendar files (as many as make :events instances): one VEVENT each, ORGANIZER a member (mailbox
-- = the organizer), 1-4 ATTENDEEs who are people of one company (plus a new colleague 10 %, another
-- member 10 %, the organizer as attendee 50 %), DTSTART/DTEND with TZID=Europe/Berlin and the
-- VTIMEZONE, STATUS confirmed / tentative / cancelled; 15 % are weekly series (RRULE
-- FREQ=WEEKLY;COUNT=2..10). All instances fall inside the default recurrence window (365 days
-- before the clock to 180 days after), so ingest_calendar returns exactly :events rows.
SET client_min_messages = warning;
SET timezone = 'Europe/Berlin';
-- JIT compiles each of these one-off statements for seconds (many rnd() calls, high estimates).
SET jit = off;

DROP TABLE IF EXISTS bench.capture_msg, bench.capture_ics;

CREATE FUNCTION bench.pick(pool text[], r float8) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT pool[1 + floor(r * cardinality(pool))::int] $$;

-- Folds the lines of an iCalendar text longer than 75 octets (RFC 5545 3.1; ASCII here).
CREATE FUNCTION bench.ics_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$
  SELECT string_agg(regexp_replace(l, '(.{74})(?=.)', E'\\1\r\n ', 'g'), E'\r\n' ORDER BY i)
  FROM unnest(string_to_array(t, E'\r\n')) WITH ORDINALITY x(l, i)
$$;

-- One recipient or sender: "Display Name" <address>.
CREATE FUNCTION bench.mbox(name text, address text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN name IS NULL THEN address ELSE '"' || name || '" <' || address || '>' END $$;

CREATE TABLE bench.cap_pool AS SELECT
  ARRAY['Anna', 'Lukas', 'Marie', 'Jonas', 'Sofia', 'Elias', 'Hannah', 'Noah', 'Emma', 'Paul',
        'Claire', 'Hugo', 'Olivia', 'James', 'Lea', 'Tom', 'Nina', 'Max', 'Julia', 'David'] AS first_names,
  ARRAY['Schmidt', 'Meyer', 'Dubois', 'Martin', 'Smith', 'Jones', 'de Vries', 'Jansen', 'Weber',
        'Fischer', 'Bernard', 'Taylor', 'Brown', 'Bakker', 'Wagner', 'Laurent', 'Becker', 'Evans'] AS last_names,
  ARRAY['proposal', 'contract renewal', 'pricing', 'onboarding', 'next steps', 'quarterly review',
        'integration', 'support ticket', 'invoice', 'roadmap', 'security questionnaire', 'pilot',
        'workshop', 'feedback', 'licence count', 'data migration'] AS topics,
  ARRAY['Thanks for the call earlier today, it was good to go through the details together.',
        'As discussed, I am sending over the updated figures for your review.',
        'Could you let me know whether the proposed timeline works on your side?',
        'Our legal team has a few comments on section four; I have attached them below.',
        'We would like to start with a small pilot in one department before rolling out.',
        'The integration with your billing system is on track for the end of the month.',
        'Please find the summary of the open points and who owns each of them.',
        'I have looped in my colleague who handles procurement on our side.',
        'Let us schedule a short follow-up next week to close the remaining questions.',
        'The quote is valid for thirty days and includes onboarding and training.',
        'We noticed a few errors in the last export and are looking into them.',
        'Happy to share references from customers of a similar size if that helps.'] AS sentences;

-- The original messages: who writes to whom, when, and about what.
SELECT (:messages - floor(:messages * 0.03))::int AS originals \gset
CREATE TABLE bench.cap_orig AS
WITH base AS (
  SELECT s,
         CASE WHEN bench.rnd(s, 101) < .06 THEN 'bulk' WHEN bench.rnd(s, 101) < .10 THEN 'auto'
              WHEN bench.rnd(s, 101) < .35 THEN 'in' ELSE 'out' END AS kind,
         1 + floor(:members * bench.rnd(s, 102) ^ 1.3)::int AS member,
         1 + floor(:companies * bench.rnd(s, 103) ^ 1.6)::int AS company,
         -- a working day's time (07:00-19:00 in Berlin), within the year before the clock, skewed to recent
         least(date_trunc('second', (date_trunc('day', (:'clock'::timestamptz - interval '365 days' * bench.rnd(s, 104) ^ 2) AT TIME ZONE 'Europe/Berlin')
                                     + interval '7 hours' + interval '12 hours' * bench.rnd(s, 118)) AT TIME ZONE 'Europe/Berlin'),
               :'clock'::timestamptz - interval '10 minutes') AS sent_at,
         bench.rnd(s, 105) AS r_n, bench.rnd(s, 106) AS r_person
  FROM generate_series(1, :originals) s
)
SELECT b.*,
       CASE WHEN b.kind = 'out' THEN 1 + floor(3 * b.r_n)::int WHEN b.kind = 'in' AND bench.rnd(s, 107) < .3 THEN 2 ELSE 1 END AS people,
       CASE WHEN :members > 1 AND ((b.kind = 'out' AND bench.rnd(s, 108) < .2) OR (b.kind = 'in' AND bench.rnd(s, 108) < .1))
            THEN (b.member + floor((:members - 1) * bench.rnd(s, 109))::int) % :members + 1 END AS cc_member,
       CASE WHEN (b.kind = 'out' AND bench.rnd(s, 110) < .12) OR (b.kind = 'in' AND bench.rnd(s, 110) < .05)
            THEN 3 + floor(10 * bench.rnd(s, 111))::int END AS new_contact,
       CASE WHEN b.kind = 'out' AND bench.rnd(s, 112) < .03 THEN 1 + floor(200 * bench.rnd(s, 113))::int END AS prospect,
       b.kind IN ('out', 'in') AND bench.rnd(s, 114) < .3 AS html,
       b.kind IN ('out', 'in') AND bench.rnd(s, 115) < .3 AS reply,
       bench.pick(p.topics, bench.rnd(s, 116)) AS topic,
       3 + floor(5 * bench.rnd(s, 117))::int AS body_sentences
FROM base b CROSS JOIN bench.cap_pool p;

-- Everyone on each message, in header order: role from / to / cc.
CREATE TABLE bench.cap_addr AS
SELECT o.s, x.ord, x.role, x.name, x.address
FROM bench.cap_orig o
CROSS JOIN bench.cap_pool p
CROSS JOIN LATERAL (
  -- the member
  SELECT 0 AS ord, CASE WHEN o.kind = 'out' THEN 'from' ELSE 'to' END AS role,
         'Member ' || o.member AS name, 'member' || o.member || '@ourteam.example' AS address
  UNION ALL
  -- the people of the company (bulk: the company's newsletter instead)
  SELECT 10 + j, CASE WHEN o.kind <> 'out' AND j = 0 THEN 'from' WHEN j = 0 OR bench.rnd(o.s * 8 + j, 120) < .5 THEN 'to' ELSE 'cc' END,
         CASE WHEN o.kind = 'bulk' THEN 'Company ' || o.company || ' Newsletter' ELSE 'First' || (pp % 500) || ' Last' || pp END,
         CASE WHEN o.kind = 'bulk' THEN 'news@company' || o.company || '.example'
              ELSE 'p' || pp || '@company' || o.company || '.example' END
  FROM generate_series(0, o.people - 1) j
  CROSS JOIN LATERAL (SELECT (o.company - 1) * :per_company
                             + (floor(:per_company * o.r_person)::int + j * 3) % :per_company + 1 AS pp) q
  UNION ALL
  SELECT 20, CASE WHEN o.kind = 'out' THEN 'to' ELSE 'cc' END,
         bench.pick(p.first_names, bench.rnd(o.company * 100 + o.new_contact, 121)) || ' '
           || bench.pick(p.last_names, bench.rnd(o.company * 100 + o.new_contact, 122)),
         'contact' || o.new_contact || '@company' || o.company || '.example'
  WHERE o.new_contact IS NOT NULL
  UNION ALL
  SELECT 21, 'to', bench.pick(p.first_names, bench.rnd(o.prospect, 123)) || ' ' || bench.pick(p.last_names, bench.rnd(o.prospect, 124)),
         lower(bench.pick(p.first_names, bench.rnd(o.prospect, 123))) || '@prospect' || o.prospect || '.com'
  WHERE o.prospect IS NOT NULL
  UNION ALL
  SELECT 30, 'cc', 'Member ' || o.cc_member, 'member' || o.cc_member || '@ourteam.example'
  WHERE o.cc_member IS NOT NULL
) x;

-- The header fields, one row per message.
CREATE TABLE bench.cap_hdr AS
SELECT s, max(name) FILTER (WHERE role = 'from') AS from_name, max(address) FILTER (WHERE role = 'from') AS from_address,
       string_agg(bench.mbox(name, address), E',\r\n ' ORDER BY ord) FILTER (WHERE role = 'to') AS to_list,
       string_agg(bench.mbox(name, address), E',\r\n ' ORDER BY ord) FILTER (WHERE role = 'cc') AS cc_list
FROM bench.cap_addr GROUP BY s;

CREATE TABLE bench.cap_raw AS
SELECT o.s, o.kind, o.member, o.cc_member,
       mid.message_id,
       convert_to(concat_ws(E'\r\n',
         'Return-Path: <' || h.from_address || '>',
         'From: ' || bench.mbox(h.from_name, h.from_address),
         'To: ' || h.to_list,
         'Cc: ' || h.cc_list,
         'Subject: ' || subj.subject,
         'Date: ' || to_char(o.sent_at, 'Dy, DD Mon YYYY HH24:MI:SS ') || replace(to_char(o.sent_at, 'TZH:TZM'), ':', ''),
         'Message-ID: ' || mid.message_id,
         CASE WHEN o.reply THEN 'In-Reply-To: <thread-' || o.company || '-' || (o.s % 7) || '@mail.ourteam.example>' END,
         CASE WHEN o.reply THEN 'References: <thread-' || o.company || '-' || (o.s % 7) || '@mail.ourteam.example>' END,
         CASE WHEN o.kind = 'bulk' THEN 'List-Unsubscribe: <mailto:unsubscribe@company' || o.company
           || '.example?subject=unsubscribe>,' || E'\r\n <https://company' || o.company || '.example/unsubscribe?u=' || o.member || '>' END,
         CASE WHEN o.kind = 'bulk' AND o.s % 2 = 0 THEN 'Precedence: bulk' END,
         CASE WHEN o.kind = 'auto' THEN 'Auto-Submitted: auto-replied' END,
         'MIME-Version: 1.0',
         CASE WHEN o.html THEN 'Content-Type: multipart/alternative; boundary="=_b' || o.s || '"'
              ELSE 'Content-Type: text/plain; charset=us-ascii' || E'\r\nContent-Transfer-Encoding: 7bit' END,
         '',
         CASE WHEN o.html THEN concat_ws(E'\r\n',
                '--=_b' || o.s, 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit', '',
                body.plain, '',
                '--=_b' || o.s, 'Content-Type: text/html; charset=us-ascii', 'Content-Transfer-Encoding: 7bit', '',
                '<html><body>' || E'\r\n<p>' || replace(body.plain, E'\r\n\r\n', E'</p>\r\n<p>') || E'</p>\r\n</body></html>', '',
                '--=_b' || o.s || '--', '')
              ELSE body.plain || E'\r\n' END), 'UTF8') AS raw
FROM bench.cap_orig o
CROSS JOIN bench.cap_pool p
JOIN bench.cap_hdr h USING (s)
CROSS JOIN LATERAL (SELECT '<' || substr(md5('msg' || o.s), 1, 20) || '.' || o.s || '@'
                             || CASE WHEN o.kind = 'out' THEN 'mail.ourteam.example' ELSE 'mx.company' || o.company || '.example' END
                             || '>' AS message_id) mid
CROSS JOIN LATERAL (SELECT CASE o.kind
                      WHEN 'bulk' THEN 'Company ' || o.company || ' news: ' || o.topic || ' (issue ' || (o.s % 50) || ')'
                      WHEN 'auto' THEN 'Automatic reply: ' || o.topic
                      ELSE CASE WHEN o.reply THEN 'Re: ' ELSE '' END || initcap(o.topic) || ' (' || (o.s % 997) || ')' END AS subject) subj
CROSS JOIN LATERAL (
  SELECT CASE o.kind
           WHEN 'auto' THEN 'I am out of the office until next Monday with limited access to e-mail.'
                            || E'\r\n\r\n' || 'For urgent matters please contact the office.'
           ELSE 'Hello,' || E'\r\n\r\n'
                || (SELECT string_agg(bench.pick(p.sentences, bench.rnd(o.s * 16 + k, 125)), ' ' ORDER BY k)
                    FROM generate_series(1, o.body_sentences) k)
                || E'\r\n\r\n' || (SELECT string_agg(bench.pick(p.sentences, bench.rnd(o.s * 16 + k, 126)), ' ' ORDER BY k)
                                   FROM generate_series(1, 2) k)
                || E'\r\n\r\n' || 'Best regards,' || E'\r\n' || h.from_name
         END AS plain) body;

-- The stream: every original, plus ~3 % copies of out messages with a member in Cc, from that
-- member's mailbox, placed a little after the original.
SELECT (:messages - :originals)::int AS copies \gset
CREATE TABLE bench.capture_msg AS
WITH copies AS (
  SELECT s FROM bench.cap_raw WHERE kind = 'out' AND cc_member IS NOT NULL
  ORDER BY bench.rnd(s, 130) LIMIT :copies
), stream AS (
  SELECT r.s, false AS copy, r.s::float8 AS k,
         'member' || r.member || '@ourteam.example' AS mailbox
  FROM bench.cap_raw r
  UNION ALL
  SELECT r.s, true, r.s + 0.5 + floor(200 * bench.rnd(r.s, 131)),
         'member' || r.cc_member || '@ourteam.example'
  FROM bench.cap_raw r JOIN copies USING (s)
)
SELECT row_number() OVER (ORDER BY st.k, st.copy)::int AS n, st.s, st.copy,
       CASE WHEN st.copy THEN 'copy' ELSE r.kind END AS kind, st.mailbox, r.message_id, r.raw
FROM stream st JOIN bench.cap_raw r USING (s)
ORDER BY 1;
ALTER TABLE bench.capture_msg ADD PRIMARY KEY (n);

-- ---------------------------------------------------------------------------------------------
-- Calendar files.
CREATE TABLE bench.cap_event AS
WITH sized AS (
  SELECT f, bench.rnd(f, 201) < .15 AS recurring,
         CASE WHEN bench.rnd(f, 201) < .15 THEN 2 + floor(9 * bench.rnd(f, 202))::int ELSE 1 END AS total
  FROM generate_series(1, :events) f
), placed AS (
  SELECT *, sum(total) OVER (ORDER BY f) - total AS start FROM sized
)
SELECT f, recurring, least(total, :events - start)::int AS instances,
       1 + floor(:members * bench.rnd(f, 203) ^ 1.3)::int AS member,
       1 + floor(:companies * bench.rnd(f, 204) ^ 1.6)::int AS company,
       1 + floor(4 * bench.rnd(f, 205) ^ 1.5)::int AS people,
       -- local start: a day 300 days before the clock to 120 (series: 100) days after, 08:00-17:30
       (date_trunc('day', :'clock'::timestamptz AT TIME ZONE 'Europe/Berlin')
          + interval '1 day' * (floor((CASE WHEN recurring THEN 400 ELSE 420 END) * bench.rnd(f, 206))::int - 300)
          + interval '1 hour' * (8 + floor(10 * bench.rnd(f, 207))::int)
          + interval '30 minutes' * floor(2 * bench.rnd(f, 208))::int) AS local_start,
       interval '30 minutes' * (1 + floor(3 * bench.rnd(f, 209))::int) AS duration,
       CASE WHEN bench.rnd(f, 210) < .03 THEN 'CANCELLED' WHEN bench.rnd(f, 210) < .08 THEN 'TENTATIVE' ELSE 'CONFIRMED' END AS status,
       CASE WHEN bench.rnd(f, 211) < .1 THEN 3 + floor(10 * bench.rnd(f, 212))::int END AS new_contact,
       CASE WHEN :members > 1 AND bench.rnd(f, 213) < .1 THEN 1 + floor(:members * bench.rnd(f, 214))::int END AS other_member,
       bench.rnd(f, 215) < .5 AS organizer_attends,
       bench.pick(p.topics, bench.rnd(f, 216)) AS topic
FROM placed CROSS JOIN bench.cap_pool p
WHERE start < :events;

CREATE TABLE bench.capture_ics AS
SELECT e.f AS n, 'member' || e.member || '@ourteam.example' AS mailbox, e.instances, e.recurring,
       bench.ics_fold(concat_ws(E'\r\n',
         'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//crm_hygiene bench//capture_speed//EN', 'CALSCALE:GREGORIAN',
         'BEGIN:VTIMEZONE', 'TZID:Europe/Berlin',
         'BEGIN:DAYLIGHT', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'TZNAME:CEST', 'DTSTART:19700329T020000',
         'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT',
         'BEGIN:STANDARD', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'TZNAME:CET', 'DTSTART:19701025T030000',
         'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'END:STANDARD',
         'END:VTIMEZONE',
         'BEGIN:VEVENT',
         'UID:' || substr(md5('evt' || e.f), 1, 16) || '-' || e.f || '@cal.ourteam.example',
         'DTSTAMP:' || to_char((:'clock'::timestamptz - interval '400 days') AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
         'SEQUENCE:0',
         'DTSTART;TZID=Europe/Berlin:' || to_char(e.local_start, 'YYYYMMDD"T"HH24MISS'),
         'DTEND;TZID=Europe/Berlin:' || to_char(e.local_start + e.duration, 'YYYYMMDD"T"HH24MISS'),
         CASE WHEN e.recurring THEN 'RRULE:FREQ=WEEKLY;COUNT=' || e.instances END,
         'SUMMARY:' || CASE WHEN e.recurring THEN 'Weekly sync: ' ELSE 'Meeting: ' END || e.topic || ' (' || (e.f % 997) || ')',
         'DESCRIPTION:Agenda: ' || e.topic || '\, open questions\, next steps.',
         'LOCATION:' || CASE WHEN e.f % 3 = 0 THEN 'Video call' ELSE 'Office ' || e.company END,
         'STATUS:' || e.status,
         'ORGANIZER;CN="Member ' || e.member || '":mailto:member' || e.member || '@ourteam.example',
         CASE WHEN e.organizer_attends THEN 'ATTENDEE;CN="Member ' || e.member
           || '";ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:member' || e.member || '@ourteam.example' END,
         (SELECT string_agg('ATTENDEE;CN="First' || (pp % 500) || ' Last' || pp || '";ROLE=REQ-PARTICIPANT;PARTSTAT='
                   || bench.pick(ARRAY['ACCEPTED', 'ACCEPTED', 'ACCEPTED', 'TENTATIVE', 'DECLINED', 'NEEDS-ACTION'], bench.rnd(e.f * 8 + j, 220))
                   || ';RSVP=TRUE:mailto:p' || pp || '@company' || e.company || '.example', E'\r\n' ORDER BY j)
          FROM generate_series(0, e.people - 1) j
          CROSS JOIN LATERAL (SELECT (e.company - 1) * :per_company
                                     + (floor(:per_company * bench.rnd(e.f, 221))::int + j * 3) % :per_company + 1 AS pp) q),
         CASE WHEN e.new_contact IS NOT NULL THEN 'ATTENDEE;CN="' || bench.pick(p.first_names, bench.rnd(e.company * 100 + e.new_contact, 121))
           || ' ' || bench.pick(p.last_names, bench.rnd(e.company * 100 + e.new_contact, 122))
           || '";ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mailto:contact' || e.new_contact || '@company' || e.company || '.example' END,
         CASE WHEN e.other_member IS NOT NULL AND e.other_member <> e.member THEN 'ATTENDEE;CN="Member ' || e.other_member
           || '";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:member' || e.other_member || '@ourteam.example' END,
         'END:VEVENT',
         'END:VCALENDAR', '')) AS ics
FROM bench.cap_event e CROSS JOIN bench.cap_pool p
ORDER BY e.f;
ALTER TABLE bench.capture_ics ADD PRIMARY KEY (n);

DROP TABLE bench.cap_pool, bench.cap_orig, bench.cap_addr, bench.cap_hdr, bench.cap_raw, bench.cap_event;
DROP FUNCTION bench.pick(text[], float8), bench.ics_fold(text), bench.mbox(text, text);
VACUUM ANALYZE bench.capture_msg, bench.capture_ics;

-- What was generated (printed by the caller's psql).
\pset format aligned
\pset footer off
\pset tuples_only off
SELECT count(*) AS messages, count(*) FILTER (WHERE kind = 'out') AS out, count(*) FILTER (WHERE kind = 'in') AS "in",
       count(*) FILTER (WHERE kind = 'bulk') AS bulk, count(*) FILTER (WHERE kind = 'auto') AS auto,
       count(*) FILTER (WHERE kind = 'copy') AS copies, count(DISTINCT mailbox) AS mailboxes,
       round(avg(octet_length(raw))) AS avg_bytes, min(octet_length(raw)) AS min_bytes, max(octet_length(raw)) AS max_bytes,
       count(*) FILTER (WHERE position('multipart/alternative' IN convert_from(raw, 'UTF8')) > 0) AS multipart
FROM bench.capture_msg;
SELECT count(*) AS calendar_files, sum(instances) AS instances, count(*) FILTER (WHERE recurring) AS series,
       sum(instances) FILTER (WHERE recurring) AS series_instances, round(avg(octet_length(ics))) AS avg_bytes
FROM bench.capture_ics;
