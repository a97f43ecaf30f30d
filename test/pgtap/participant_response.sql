-- A participant's response counts only as "declined or not": answers that are not a decline
-- change nothing derived (the statement trigger skips them), a decline and its withdrawal change
-- the meeting's counts and connections. After each step the stored signals equal a recomputation.
BEGIN;
SELECT plan(8);
INSERT INTO crm.workspace (id, name) VALUES (72, 'responses');
SET LOCAL crm.workspace = 72;
SET LOCAL crm.clock = '2026-03-01 12:00+00';
INSERT INTO crm.member (id, email) VALUES (721, 'mo@us72.example');
INSERT INTO crm.company (id, name, domain) VALUES (721, 'Acme', 'acme72.example');
INSERT INTO crm.person (id, email, company_id) VALUES (721, 'ann@acme72.example', 721), (722, 'bob@acme72.example', 721);
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (7201, 'meeting', '2026-02-01 10:00+00');
INSERT INTO crm.participant (id, interaction_id, address, role) VALUES
  (7201, 7201, 'mo@us72.example', 'organizer'), (7202, 7201, 'ann@acme72.example', 'attendee'),
  (7203, 7201, 'bob@acme72.example', 'attendee');
CREATE TEMP TABLE before AS
  SELECT p.person_id, p.meeting_count, p.strongest_member_id, p.strongest_rank FROM crm.person_signal p WHERE p.workspace_id = 72;

UPDATE crm.participant SET response = 'accepted' WHERE id = 7202;
UPDATE crm.participant SET response = 'tentative' WHERE id = 7202;
UPDATE crm.participant SET response = 'needs_action' WHERE id = 7203;
SELECT is_empty($$SELECT * FROM crm.verify_signals()$$, 'answers other than a decline leave the signals exact');
SELECT results_eq($$SELECT p.person_id, p.meeting_count, p.strongest_member_id, p.strongest_rank FROM crm.person_signal p WHERE p.workspace_id = 72 ORDER BY 1$$,
                  $$SELECT * FROM before ORDER BY 1$$, 'and unchanged');

UPDATE crm.participant SET response = 'declined' WHERE id = 7202;
SELECT is((SELECT meeting_count FROM crm.person_signal WHERE person_id = 721), 0::bigint, 'a decline takes the meeting away');
SELECT isnt((SELECT strongest_rank FROM crm.person_signal WHERE person_id = 722), (SELECT strongest_rank FROM before WHERE person_id = 722),
            'and changes the audience of the others');
SELECT is_empty($$SELECT * FROM crm.verify_signals()$$, 'exact after the decline');

UPDATE crm.participant SET response = 'accepted' WHERE id = 7202;
SELECT is((SELECT meeting_count FROM crm.person_signal WHERE person_id = 721), 1::bigint, 'withdrawing the decline gives the meeting back');
SELECT results_eq($$SELECT p.person_id, p.meeting_count, p.strongest_member_id, p.strongest_rank FROM crm.person_signal p WHERE p.workspace_id = 72 ORDER BY 1$$,
                  $$SELECT * FROM before ORDER BY 1$$, 'as it was before');
SELECT is_empty($$SELECT * FROM crm.verify_signals()$$, 'exact at the end');
SELECT * FROM finish();
ROLLBACK;
