-- Every write path keeps the interaction attributes exact: crm.verify_signals() is empty after
-- each, and the values are the ones a user expects.
BEGIN;
SELECT plan(41);
SET LOCAL timezone = 'UTC';
SET LOCAL crm.clock = '2026-03-01 12:00+00';

INSERT INTO crm.member (id, email) VALUES (1, 'ann@us.example'), (2, 'ben@us.example');
INSERT INTO crm.company (id, name, domain) VALUES (1, 'Umbrella', 'umbrella.example'), (2, 'Hooli', 'hooli.example');
INSERT INTO crm.person (id, email, company_id) VALUES (1, 'p1@umbrella.example', 1), (2, 'p2@umbrella.example', 1), (3, 'p3@hooli.example', 2);

CREATE FUNCTION pg_temp.attr(person bigint, col text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
  EXECUTE format('SELECT %I::text FROM crm.person_overview WHERE id = $1', col) INTO v USING person;
  RETURN v;
END $$;

-- INSERT, row by row in autocommit-like statements (the slow path for later participants).
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (1, 'email', '2026-02-01 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'ann@us.example', 'from');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'p1@umbrella.example', 'to');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'p2@umbrella.example', 'cc');
SELECT is(pg_temp.attr(1, 'last_outbound_email_at'), '2026-02-01 10:00:00+00', 'row-by-row insert: outbound email');
SELECT is(pg_temp.attr(1, 'last_interaction_member_id'), '1', 'row-by-row insert: member involved');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after row-by-row inserts');

-- A member added to an existing interaction changes everyone's member and direction.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (2, 'email', '2026-02-02 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (2, 'p1@umbrella.example', 'to');
SELECT is(pg_temp.attr(1, 'last_interaction_member_id'), NULL, 'no member yet');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (2, 'ben@us.example', 'from');
SELECT is(pg_temp.attr(1, 'last_interaction_member_id'), '2', 'member added later is the member involved');
SELECT is(pg_temp.attr(1, 'last_outbound_email_at'), '2026-02-02 10:00:00+00', 'and makes it outbound');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after adding a member later');

-- COPY (the fast path: interactions created in this transaction).
COPY crm.interaction (id, kind, occurred_at, status) FROM STDIN;
10	meeting	2026-02-10 09:00+00	confirmed
11	meeting	2026-04-10 09:00+00	confirmed
12	call	2026-02-11 09:00+00	canceled
13	email	2026-02-12 09:00+00	confirmed
\.
COPY crm.participant (interaction_id, address, role, response) FROM STDIN;
10	ann@us.example	organizer	accepted
10	p3@hooli.example	attendee	accepted
10	P1@umbrella.example	attendee	declined
11	ben@us.example	organizer	accepted
11	p3@hooli.example	attendee	tentative
12	ann@us.example	from	\N
12	p3@hooli.example	to	\N
13	p3@hooli.example	from	\N
13	ann@us.example	to	\N
\.
SELECT is(pg_temp.attr(3, 'meeting_count'), '1', 'COPY: one past meeting');
SELECT is(pg_temp.attr(3, 'next_meeting_at'), '2026-04-10 09:00:00+00', 'COPY: next meeting');
SELECT is(pg_temp.attr(3, 'last_inbound_email_at'), '2026-02-12 09:00:00+00', 'COPY: inbound email');
SELECT is(pg_temp.attr(3, 'interaction_count'), '2', 'COPY: canceled call not counted');
SELECT is(pg_temp.attr(1, 'meeting_count'), '0', 'COPY: declined meeting not counted');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after COPY');

-- UPDATE of every column that matters.
UPDATE crm.interaction SET occurred_at = '2026-01-15 10:00+00' WHERE id = 2;
SELECT is(pg_temp.attr(1, 'last_email_at'), '2026-02-01 10:00:00+00', 'occurred_at moved back lowers the max');
UPDATE crm.interaction SET kind = 'call' WHERE id = 13;
SELECT is(pg_temp.attr(3, 'email_count'), '0', 'kind changed from email');
UPDATE crm.interaction SET status = 'confirmed' WHERE id = 12;
SELECT is(pg_temp.attr(3, 'interaction_count'), '3', 'status changed from canceled');
UPDATE crm.participant SET response = 'accepted' WHERE interaction_id = 10 AND address = 'p1@umbrella.example';
SELECT is(pg_temp.attr(1, 'meeting_count'), '1', 'response changed from declined');
UPDATE crm.participant SET address = 'p2@umbrella.example' WHERE interaction_id = 10 AND address = 'p1@umbrella.example';
SELECT is(pg_temp.attr(2, 'meeting_count'), '1', 'address changed: the new person gains the meeting');
SELECT is(pg_temp.attr(1, 'meeting_count'), '0', 'address changed: the old person loses it');
UPDATE crm.participant SET person_id = 3 WHERE interaction_id = 1 AND address = 'p2@umbrella.example';
SELECT is(pg_temp.attr(2, 'email_count'), '1', 'person_id set by hand is overridden by the address');
UPDATE crm.participant SET member_id = NULL WHERE interaction_id = 1 AND role = 'from';
SELECT is(pg_temp.attr(1, 'last_interaction_member_id'), '1', 'member_id cleared by hand comes back from the address');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after participant and interaction updates');

-- A person's company and emails, a company's domain.
UPDATE crm.person SET company_id = 2 WHERE id = 2;
SELECT is((SELECT email_count::text FROM crm.company_overview WHERE id = 2), '1', 'company change moves activity');
UPDATE crm.person SET emails = '{p1-old@umbrella.example}' WHERE id = 1;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (20, 'call', '2026-02-20 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (20, 'ben@us.example', 'from'), (20, 'P1-OLD@umbrella.example', 'to');
SELECT is(pg_temp.attr(1, 'last_interaction_kind'), 'call', 'an additional email resolves');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (20, 'x@initrode.example', 'cc');
INSERT INTO crm.company (id, name, domain) VALUES (3, 'Initrode', 'initrode.example');
SELECT is((SELECT interaction_count::text FROM crm.company_overview WHERE id = 3), '1', 'a new company claims past activity of its domain');
UPDATE crm.company SET domain = 'initrode.example.net' WHERE id = 3;
SELECT is((SELECT interaction_count::text FROM crm.company_overview WHERE id = 3), '0', 'and loses it with its domain');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after record updates');

-- DELETE with cascades.
DELETE FROM crm.participant WHERE interaction_id = 20 AND role = 'from';
SELECT is(pg_temp.attr(1, 'last_interaction_member_id'), NULL, 'deleting the only member leaves no member involved');
DELETE FROM crm.interaction WHERE id IN (10, 11);
SELECT is(pg_temp.attr(3, 'next_meeting_at'), NULL, 'deleting an interaction cascades');
DELETE FROM crm.company WHERE id = 2;
SELECT is((SELECT company_id FROM crm.person WHERE id = 3), NULL, 'deleting a company unlinks its people');
DELETE FROM crm.member WHERE id = 2;
SELECT is((SELECT count(*)::int FROM crm.participant WHERE member_id = 2), 0, 'deleting a member unlinks its participants');
DELETE FROM crm.person WHERE id = 1;
SELECT is((SELECT count(*)::int FROM crm.participant WHERE person_id = 1), 0, 'deleting a person unlinks its participants');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after deletes');

-- Savepoints rolled back leave the fast path honest.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (30, 'email', '2026-02-25 10:00+00');
SAVEPOINT a;
INSERT INTO crm.participant (interaction_id, address, role) VALUES (30, 'ann@us.example', 'from');
ROLLBACK TO SAVEPOINT a;
INSERT INTO crm.participant (interaction_id, address, role) VALUES (30, 'p3@hooli.example', 'to');
SELECT is(pg_temp.attr(3, 'last_outbound_email_at'), NULL, 'a sender rolled back to a savepoint is not counted');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after savepoints');

-- Time passes: the view is right at once, tick() stores it.
SET LOCAL crm.clock = '2026-05-01 00:00+00';
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (40, 'meeting', '2026-04-20 10:00+00'), (41, 'meeting', '2026-06-20 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (40, 'ann@us.example', 'organizer'), (40, 'p3@hooli.example', 'attendee'),
                                                                  (41, 'ann@us.example', 'organizer'), (41, 'p3@hooli.example', 'attendee');
SET LOCAL crm.clock = '2026-07-01 00:00+00';
SELECT is(pg_temp.attr(3, 'last_meeting_at'), '2026-06-20 10:00:00+00', 'a passed meeting is the last meeting before tick()');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify before tick');
SELECT cmp_ok(crm.tick(), '>=', 1::bigint, 'tick refreshes what has passed');
SELECT is((SELECT last_meeting_at::text FROM crm.person_signal WHERE person_id = 3), '2026-06-20 10:00:00+00', 'stored after tick');

-- TRUNCATE.
TRUNCATE crm.participant;
SELECT is(pg_temp.attr(3, 'interaction_count'), '0', 'TRUNCATE empties the attributes');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after TRUNCATE');

SELECT * FROM finish();
ROLLBACK;
