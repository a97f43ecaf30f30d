-- One-row updates and deletes of participants, participants added to older interactions, and
-- changes of an interaction's kind, status or time are applied as a difference (what the
-- interaction gave each record before, replaced by what it gives now) instead of recomputing
-- every record in the interaction. Every kind of change, including those that take a record's extreme away (its
-- last interaction, its only inbound email, a contact's only pair) and fall back to a recompute,
-- must leave crm.verify_signals() empty; so must a long random sequence of them.
BEGIN;
SELECT plan(25);
SET LOCAL timezone = 'UTC';
SET LOCAL crm.clock = '2026-03-01 12:00+00';

INSERT INTO crm.member (id, email) VALUES (1, 'ann@us.example'), (2, 'ben@us.example'), (3, 'cy@us.example');
INSERT INTO crm.company (id, name, domain) VALUES (1, 'Umbrella', 'umbrella.example'), (2, 'Hooli', 'hooli.example');
INSERT INTO crm.person (id, email, company_id)
SELECT i, 'p' || i || '@' || CASE WHEN i % 2 = 0 THEN 'umbrella' ELSE 'hooli' END || '.example', 1 + i % 2
FROM generate_series(1, 12) i;

-- 400 interactions over a year, past and future, of every kind, with a member and two to five
-- contacts (people, and addresses no person owns at both companies' domains).
SELECT setseed(0.42);
INSERT INTO crm.interaction (id, kind, occurred_at, status)
SELECT i, (ARRAY['email', 'email', 'meeting', 'call', 'note'])[1 + floor(random() * 5)::int]::crm.interaction_kind,
       '2026-03-01 12:00+00'::timestamptz - (random() * 330 - 30) * interval '1 day',
       CASE WHEN random() < 0.05 THEN 'canceled' ELSE 'confirmed' END::crm.interaction_status
FROM generate_series(1, 400) i;
INSERT INTO crm.participant (interaction_id, address, role)
SELECT i, 'ann@us.example', CASE WHEN i % 3 = 0 THEN 'to' ELSE 'from' END::crm.participant_role
FROM generate_series(1, 400) i;
INSERT INTO crm.participant (interaction_id, address, role, response)
SELECT i, CASE WHEN random() < 0.8 THEN 'p' || (1 + floor(random() * 12)::int) ELSE 'x' || (random() * 5)::int END
          || '@' || CASE WHEN random() < 0.5 THEN 'umbrella' ELSE 'hooli' END || '.example',
       CASE WHEN i % 3 = 0 THEN 'from' ELSE 'to' END::crm.participant_role,
       CASE WHEN random() < 0.1 THEN 'declined' END::crm.participant_response
FROM generate_series(1, 400) i, generate_series(1, 2 + (random() * 3)::int) k;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'the starting state is exact');

-- A response flip changes the audience of the interaction: every record in it is reweighed.
UPDATE crm.participant SET response = 'declined'
WHERE id = (SELECT min(id) FROM crm.participant WHERE response IS NULL AND member_id IS NULL AND interaction_id > 200);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'a contact declining');
UPDATE crm.participant SET response = NULL
WHERE id = (SELECT min(id) FROM crm.participant WHERE response = 'declined' AND member_id IS NULL);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'a decline taken back');

-- The last interaction of a person taken away: its extremes must be found again.
DELETE FROM crm.participant WHERE id = (
  SELECT p.id FROM crm.participant p JOIN crm.person_signal s ON s.person_id = p.person_id
  WHERE p.interaction_id = s.last_interaction_id ORDER BY p.id LIMIT 1);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'a person''s last interaction deleted');

-- The member of an interaction removed, then another member put in: lead member and directions change.
DELETE FROM crm.participant WHERE interaction_id = 17 AND member_id IS NOT NULL;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'the only member of an interaction deleted');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (17, 'ben@us.example', 'from');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'another member added to an older interaction');

-- Re-addressed: the participant moves from one person (and company) to another.
UPDATE crm.participant SET address = 'p3@hooli.example'
WHERE id = (SELECT min(id) FROM crm.participant WHERE person_id = 2 AND interaction_id > 100);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'a participant re-addressed to another person and company');

-- Moved to another interaction, and its role changed.
UPDATE crm.participant SET interaction_id = 33, role = 'cc'
WHERE id = (SELECT min(id) FROM crm.participant WHERE interaction_id = 34 AND member_id IS NULL);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'a participant moved to another interaction');

-- An address contact (no person) whose only interaction goes: the company's contact pair vanishes.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (500, 'email', '2026-01-05 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (500, 'ben@us.example', 'from'), (500, 'lonely@umbrella.example', 'to');
SELECT isnt_empty($$SELECT 1 FROM crm.connection WHERE person_id IS NULL AND company_id = 1 AND member_id = 2$$,
  'an address contact has a pair with its company');
DELETE FROM crm.participant WHERE interaction_id = 500 AND address = 'lonely@umbrella.example';
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'an address contact''s only interaction taken away');

-- Future interactions (next meeting) lose and gain participants.
UPDATE crm.participant SET response = 'declined' WHERE id = (
  SELECT min(p.id) FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
  WHERE i.occurred_at > '2026-03-01 12:00+00' AND i.kind = 'meeting' AND p.person_id IS NOT NULL AND p.response IS NULL);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'a contact declining a future meeting');

-- Every participant of an interaction deleted in one statement, then the interaction itself.
DELETE FROM crm.participant WHERE interaction_id = 41;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'all participants of an interaction deleted');
DELETE FROM crm.interaction WHERE id = 42;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'an interaction deleted with its participants');
DELETE FROM crm.interaction WHERE id IN (43, 44, 45);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'three interactions deleted in one statement');
-- A deletion rolled back leaves its interaction remembered as deleting: nothing may use that.
SAVEPOINT undone;
DELETE FROM crm.interaction WHERE id = 46;
ROLLBACK TO SAVEPOINT undone;
UPDATE crm.interaction SET occurred_at = occurred_at + interval '1 hour' WHERE id = 46;
DELETE FROM crm.participant WHERE id = (SELECT max(id) FROM crm.participant WHERE interaction_id = 46);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'a deletion rolled back to a savepoint');
DELETE FROM crm.interaction WHERE id = 46;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'and the same interaction deleted after all');

-- People deleted and created again: their participants fall back to address contacts of the
-- company owning the domain, which takes the difference from the person's pairs.
DELETE FROM crm.person WHERE id = 7;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'a person with activity deleted');
INSERT INTO crm.person (id, email, company_id) VALUES (7, 'p7@hooli.example', 2);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'and created again: the participants link back');

-- An interaction's kind, status or time changed: folded as it was and as it is.
UPDATE crm.interaction SET occurred_at = occurred_at - interval '3 days' WHERE id = 60;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'an interaction moved back in time');
UPDATE crm.interaction SET occurred_at = '2026-02-28 12:00+00' WHERE id = 61;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'an interaction moved to become everyone''s last');
UPDATE crm.interaction SET occurred_at = '2026-03-15 12:00+00', kind = 'meeting' WHERE id = 62;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'an email turned into a future meeting');
UPDATE crm.interaction SET status = 'canceled' WHERE id IN (63, 64);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'two interactions canceled in one statement');

-- A long random sequence of one-row writes of every kind, checked along the way.
CREATE FUNCTION pg_temp.churn(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  target bigint;
  op int;
BEGIN
  FOR k IN 1 .. n LOOP
    SELECT id INTO target FROM crm.participant ORDER BY random() LIMIT 1;
    op := floor(random() * 8)::int;
    IF op = 0 THEN
      UPDATE crm.participant SET response = (CASE WHEN response IS NULL THEN 'declined' END)::crm.participant_response WHERE id = target;
    ELSIF op = 1 THEN
      DELETE FROM crm.participant WHERE id = target;
    ELSIF op = 2 THEN
      UPDATE crm.participant SET role = (CASE WHEN role = 'to' THEN 'from' ELSE 'to' END)::crm.participant_role WHERE id = target;
    ELSIF op = 3 THEN
      UPDATE crm.participant SET address = 'p' || (1 + floor(random() * 12)::int) || '@'
        || CASE WHEN random() < 0.5 THEN 'umbrella' ELSE 'hooli' END || '.example'
      WHERE id = target AND member_id IS NULL;
    ELSIF op = 5 THEN
      UPDATE crm.interaction SET occurred_at = occurred_at + (random() * 20 - 10) * interval '1 day'
      WHERE id = (SELECT interaction_id FROM crm.participant WHERE id = target);
    ELSIF op = 6 THEN
      UPDATE crm.interaction SET status = (CASE WHEN status = 'canceled' THEN 'confirmed' ELSE 'canceled' END)::crm.interaction_status,
                                 kind = (CASE WHEN kind = 'email' THEN 'meeting' ELSE 'email' END)::crm.interaction_kind
      WHERE id = (SELECT interaction_id FROM crm.participant WHERE id = target);
    ELSIF op = 7 THEN
      DELETE FROM crm.interaction WHERE id = (SELECT interaction_id FROM crm.participant WHERE id = target);
    ELSE
      INSERT INTO crm.participant (interaction_id, address, role)
      VALUES ((SELECT id FROM crm.interaction ORDER BY random() LIMIT 1),
              (ARRAY['ann', 'ben', 'cy'])[1 + floor(random() * 3)::int] || '@us.example', 'cc');
    END IF;
  END LOOP;
END $$;
SELECT pg_temp.churn(150);
SELECT is_empty('SELECT * FROM crm.verify_signals()', '150 random one-row writes');
SELECT pg_temp.churn(150);
SELECT is_empty('SELECT * FROM crm.verify_signals()', '300 random one-row writes');

-- The same writes made again by a later clock, once some future interactions have started.
SET LOCAL crm.clock = '2026-03-20 12:00+00';
SELECT pg_temp.churn(100);
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'random one-row writes after the clock moved on');

SELECT * FROM finish();
ROLLBACK;
