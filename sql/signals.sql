-- Interaction attributes: what counts, past and future, and how writes keep them exact.
SET crm.clock = '2026-06-15 12:00+00';
DELETE FROM crm.interaction; DELETE FROM crm.person; DELETE FROM crm.company; DELETE FROM crm.member;
INSERT INTO crm.member (id, email, name) VALUES (10, 'mia@us.example', 'Mia'), (11, 'noah@us.example', 'Noah');
INSERT INTO crm.company (id, name, domain) VALUES (20, 'Initech', 'initech.example');
INSERT INTO crm.person (id, first_name, email, company_id) VALUES
  (30, 'Peter', 'peter@initech.example', 20), (31, 'Joanna', 'joanna@chotchkies.example', NULL);

CREATE VIEW person_signals AS
SELECT id, last_interaction_at, last_interaction_kind AS kind, last_interaction_member_id AS member,
       first_email_at, last_email_at, last_inbound_email_at AS inbound, last_outbound_email_at AS outbound,
       first_meeting_at, last_meeting_at, next_meeting_at, next_interaction_at,
       email_count AS emails, meeting_count AS meetings, interaction_count AS total
FROM crm.person_overview ORDER BY id;

-- Outbound email (a member wrote), then an inbound reply, in one transaction each.
BEGIN;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (1, 'email', '2026-06-01 09:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'mia@us.example', 'from'), (1, 'peter@initech.example', 'to');
COMMIT;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (2, 'email', '2026-06-02 09:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (2, 'peter@initech.example', 'from'), (2, 'mia@us.example', 'to');
SELECT * FROM person_signals;

-- An email between two contacts with us in cc is neither inbound nor outbound for the recipient.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (3, 'email', '2026-06-03 09:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (3, 'joanna@chotchkies.example', 'from'), (3, 'peter@initech.example', 'to'), (3, 'noah@us.example', 'cc');
SELECT * FROM person_signals;

-- A past meeting, a future one, a canceled one, and one Peter declined.
INSERT INTO crm.interaction (id, kind, occurred_at, status) VALUES
  (4, 'meeting', '2026-06-10 15:00+00', 'confirmed'),
  (5, 'meeting', '2026-06-20 15:00+00', 'tentative'),
  (6, 'meeting', '2026-06-18 15:00+00', 'canceled'),
  (7, 'meeting', '2026-06-19 15:00+00', 'confirmed');
INSERT INTO crm.participant (interaction_id, address, role, response) VALUES
  (4, 'noah@us.example', 'organizer', 'accepted'), (4, 'peter@initech.example', 'attendee', 'accepted'),
  (5, 'mia@us.example', 'organizer', 'accepted'), (5, 'peter@initech.example', 'attendee', 'needs_action'),
  (6, 'mia@us.example', 'organizer', 'accepted'), (6, 'peter@initech.example', 'attendee', 'accepted'),
  (7, 'mia@us.example', 'organizer', 'accepted'), (7, 'peter@initech.example', 'attendee', 'declined');
SELECT * FROM person_signals;
SELECT id, last_interaction_at, last_interaction_member_id, next_meeting_at, email_count, meeting_count, interaction_count
FROM crm.company_overview;

-- The clock passes the tentative meeting: reads are right before any write, and crm.tick()
-- folds it into storage.
SET crm.clock = '2026-06-21 12:00+00';
SELECT * FROM person_signals;
SELECT person_id, meeting_count, next_meeting_at FROM crm.person_signal WHERE person_id = 30;
SELECT crm.tick() AS records_refreshed;
SELECT person_id, meeting_count, next_meeting_at FROM crm.person_signal WHERE person_id = 30;
SELECT crm.tick() AS records_refreshed_again;

-- Updates that lower a max or move an interaction recompute exactly.
UPDATE crm.interaction SET occurred_at = '2026-05-01 09:00+00' WHERE id = 2;
SELECT id, inbound, first_email_at, last_email_at, emails FROM person_signals WHERE id = 30;
UPDATE crm.interaction SET status = 'canceled' WHERE id = 5;
SELECT id, last_interaction_at, kind, meetings, total FROM person_signals WHERE id = 30;
UPDATE crm.participant SET response = 'accepted' WHERE interaction_id = 7 AND role = 'attendee';
SELECT id, last_interaction_at, kind, member, meetings FROM person_signals WHERE id = 30;
UPDATE crm.interaction SET kind = 'call' WHERE id = 4;
SELECT id, meetings, total FROM person_signals WHERE id = 30;
-- Changing the sender changes the direction of everyone's email.
UPDATE crm.participant SET address = 'someone@else.example' WHERE interaction_id = 1 AND role = 'from';
SELECT id, outbound, emails FROM person_signals WHERE id = 30;
SELECT * FROM crm.verify_signals();

-- Deletes.
DELETE FROM crm.participant WHERE interaction_id = 3 AND address = 'peter@initech.example';
DELETE FROM crm.interaction WHERE id = 7;
SELECT * FROM person_signals;
SELECT * FROM crm.verify_signals();

-- A rolled-back transaction leaves no trace.
BEGIN;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (8, 'call', '2026-06-21 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (8, 'noah@us.example', 'from'), (8, 'peter@initech.example', 'to');
SELECT total FROM person_signals WHERE id = 30;
ROLLBACK;
SELECT total FROM person_signals WHERE id = 30;

-- Savepoints: the part rolled back is gone, the rest stays.
BEGIN;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9, 'call', '2026-06-21 10:00+00');
SAVEPOINT s;
INSERT INTO crm.participant (interaction_id, address, role) VALUES (9, 'peter@initech.example', 'to');
ROLLBACK TO SAVEPOINT s;
INSERT INTO crm.participant (interaction_id, address, role) VALUES (9, 'joanna@chotchkies.example', 'to');
COMMIT;
SELECT id, total FROM person_signals;
SELECT * FROM crm.verify_signals();

-- Stale records, oldest first; Joanna's last interaction was the call above.
SELECT * FROM crm.stale_records('person', '1 day');
SELECT * FROM crm.stale_records('person', '30 days');
SELECT * FROM crm.stale_records('company', '1 day');

-- Rebuild from scratch changes nothing when everything is right.
SELECT crm.rebuild_signals() AS records_rewritten;
SELECT * FROM crm.verify_signals();

-- A meeting that started after the last write makes Peter current before tick() runs.
SET crm.clock = '2026-06-21 09:00+00';
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (50, 'meeting', '2026-06-21 11:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (50, 'mia@us.example', 'organizer'), (50, 'peter@initech.example', 'attendee');
SET crm.clock = '2026-06-21 12:00+00';
SELECT * FROM crm.stale_records('person', '1 day');
SELECT * FROM crm.verify_signals();

-- TRUNCATE empties every record's attributes.
TRUNCATE crm.interaction CASCADE;
SELECT * FROM person_signals;
SELECT * FROM crm.verify_signals();
DROP VIEW person_signals;
