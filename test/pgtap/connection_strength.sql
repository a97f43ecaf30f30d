-- Connection strength: the published reference values, arrival order, what adds nothing, time,
-- deletes, companies, the explanation, the per-workspace model, and the oracle after each.
BEGIN;
SELECT plan(49);
SET LOCAL timezone = 'UTC';
-- Day 364 of the reference scenarios (day 0 = 2026-01-01).
SET LOCAL crm.clock = '2026-12-31 00:00+00';

INSERT INTO crm.member (id, email) VALUES (1, 'ann@us.example'), (2, 'ben@us.example');
INSERT INTO crm.company (id, name, domain) VALUES (1, 'Umbrella', 'umbrella.example'), (2, 'Hooli', 'hooli.example');
INSERT INTO crm.person (id, email, company_id)
SELECT g, 'p' || g || '@umbrella.example', 1 FROM generate_series(1, 12) g;

-- Events at day 0, step, 2 step, ... <= 364 between member 1 and a person: outbound emails,
-- inbound emails and meetings as asked, inserted in the given order ('asc', 'desc', 'random').
CREATE FUNCTION pg_temp.scenario(person bigint, step int, outbound bool, inbound bool, meeting bool,
                                 arrival text DEFAULT 'asc') RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  e record;
  addr text := 'p' || person || '@umbrella.example';
  iid bigint;
BEGIN
  FOR e IN
    SELECT d, k FROM generate_series(0, 364, step) d,
           unnest(ARRAY[CASE WHEN outbound THEN 'out' END, CASE WHEN inbound THEN 'in' END,
                        CASE WHEN meeting THEN 'meet' END]) k
    WHERE k IS NOT NULL
    ORDER BY CASE arrival WHEN 'asc' THEN d WHEN 'desc' THEN -d ELSE (hashint4(d * 7 + length(k)) % 1000) END, k
  LOOP
    INSERT INTO crm.interaction (kind, occurred_at)
    VALUES (CASE WHEN e.k = 'meet' THEN 'meeting' ELSE 'email' END::crm.interaction_kind,
            timestamptz '2026-01-01 00:00+00' + e.d * interval '1 day')
    RETURNING id INTO iid;
    INSERT INTO crm.participant (interaction_id, address, role) VALUES
      (iid, CASE WHEN e.k = 'in' THEN addr ELSE 'ann@us.example' END,
            CASE WHEN e.k = 'meet' THEN 'organizer' ELSE 'from' END::crm.participant_role),
      (iid, CASE WHEN e.k = 'in' THEN 'ann@us.example' ELSE addr END,
            CASE WHEN e.k = 'meet' THEN 'attendee' ELSE 'to' END::crm.participant_role);
  END LOOP;
END $$;

CREATE FUNCTION pg_temp.strength(person bigint, member bigint DEFAULT 1) RETURNS float8 LANGUAGE sql AS $$
  SELECT coalesce((SELECT strength FROM crm.connection_strength WHERE person_id = person AND member_id = member), 0)
$$;

-- The reference values of the published model.
SELECT pg_temp.scenario(1, 7, true, true, false);
SELECT pg_temp.scenario(2, 30, true, true, false);
SELECT pg_temp.scenario(3, 91, true, true, false);
SELECT pg_temp.scenario(4, 7, true, false, false);
SELECT pg_temp.scenario(5, 30, false, false, true);
SELECT ok(abs(pg_temp.strength(1) - 0.9511) <= 0.001, 'weekly outbound and inbound email: 0.9511');
SELECT ok(abs(pg_temp.strength(2) - 0.5279) <= 0.001, 'every 30 days outbound and inbound: 0.5279');
SELECT ok(abs(pg_temp.strength(3) - 0.2763) <= 0.001, 'every 91 days outbound and inbound: 0.2763');
SELECT ok(abs(pg_temp.strength(4) - 0.3617) <= 0.001, 'weekly outbound with no reply: 0.3617');
SELECT ok(abs(pg_temp.strength(5) - 0.6727) <= 0.001, 'a meeting every 30 days: 0.6727');
SELECT is((SELECT band FROM crm.connection_strength WHERE person_id = 1), 'very strong', 'band of 0.95');
SELECT is((SELECT band FROM crm.connection_strength WHERE person_id = 3), 'weak', 'band of 0.28');
SELECT is((SELECT (emails_sent, emails_received, meetings, calls)::text FROM crm.connection_strength WHERE person_id = 1),
          '(53,53,0,0)', 'counts of the weekly scenario');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after the reference scenarios');

-- Arrival order changes nothing.
SELECT pg_temp.scenario(6, 7, true, true, true, 'asc');
SELECT pg_temp.scenario(7, 7, true, true, true, 'desc');
SELECT pg_temp.scenario(8, 7, true, true, true, 'random');
SELECT ok(abs(pg_temp.strength(7) - pg_temp.strength(6)) < 1e-12, 'newest first gives the same strength');
SELECT ok(abs(pg_temp.strength(8) - pg_temp.strength(6)) < 1e-12, 'shuffled arrival gives the same strength');
SELECT is((SELECT count(DISTINCT (emails_sent, emails_received, meetings, first_interaction_at, last_interaction_at))
           FROM crm.connection_strength WHERE person_id IN (6, 7, 8)), 1::bigint, 'and the same counts and dates');

-- A historical import in one statement (the bulk path) gives the same as row-by-row writes.
WITH d AS (SELECT g, k FROM generate_series(0, 364, 7) g, unnest(ARRAY['out', 'in', 'meet']) k),
     i AS (INSERT INTO crm.interaction (id, kind, occurred_at)
           SELECT 20000 + g * 3 + (CASE k WHEN 'out' THEN 0 WHEN 'in' THEN 1 ELSE 2 END),
                  CASE WHEN k = 'meet' THEN 'meeting' ELSE 'email' END::crm.interaction_kind,
                  timestamptz '2026-01-01 00:00+00' + g * interval '1 day' FROM d RETURNING id)
INSERT INTO crm.participant (interaction_id, address, role)
SELECT id, CASE WHEN (id - 20000) % 3 = 1 THEN 'p12@umbrella.example' ELSE 'ann@us.example' END,
       CASE (id - 20000) % 3 WHEN 2 THEN 'organizer' ELSE 'from' END::crm.participant_role FROM i
UNION ALL
SELECT id, CASE WHEN (id - 20000) % 3 = 1 THEN 'ann@us.example' ELSE 'p12@umbrella.example' END,
       CASE (id - 20000) % 3 WHEN 2 THEN 'attendee' ELSE 'to' END::crm.participant_role FROM i;
SELECT ok(abs(pg_temp.strength(12) - pg_temp.strength(6)) < 1e-12, 'a bulk import gives the same strength as row-by-row writes');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after the bulk import');

-- What adds nothing: a 200-person meeting, a canceled meeting, a declined attendee.
CREATE TEMP TABLE before AS SELECT person_id, member_id, strength FROM crm.connection_strength;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9001, 'meeting', '2026-12-01 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role)
SELECT 9001, 'ann@us.example', 'organizer'::crm.participant_role
UNION ALL SELECT 9001, 'p9@umbrella.example', 'attendee'
UNION ALL SELECT 9001, 'guest' || g || '@crowd.example', 'attendee' FROM generate_series(1, 199) g;
SELECT is(pg_temp.strength(9), 0::float8, 'a 200-person meeting adds nothing');
INSERT INTO crm.interaction (id, kind, occurred_at, status) VALUES (9002, 'meeting', '2026-12-02 10:00+00', 'canceled');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (9002, 'ann@us.example', 'organizer'), (9002, 'p10@umbrella.example', 'attendee');
SELECT is(pg_temp.strength(10), 0::float8, 'a canceled meeting adds nothing');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9003, 'meeting', '2026-12-03 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role, response) VALUES
  (9003, 'ann@us.example', 'organizer', 'accepted'), (9003, 'p11@umbrella.example', 'attendee', 'declined');
SELECT is(pg_temp.strength(11), 0::float8, 'a declined attendee adds nothing');
SELECT is_empty($$SELECT person_id, member_id, strength FROM crm.connection_strength
                  EXCEPT SELECT person_id, member_id, strength FROM before$$,
                'and no other pair changed');

-- A meeting five people attend: 1/sqrt(5) of a two-person meeting.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9004, 'meeting', '2026-12-30 00:00+00');
INSERT INTO crm.participant (interaction_id, address, role)
SELECT 9004, 'ben@us.example', 'organizer'::crm.participant_role
UNION ALL SELECT 9004, 'p' || g || '@umbrella.example', 'attendee' FROM generate_series(8, 12) g;
SELECT ok(abs(pg_temp.strength(12, 2) - (1 - exp(-2.5 / sqrt(5) * power(2, -1.0 / 90) / 10))) < 1e-12,
          'audience: a five-person meeting weighs 1/sqrt(5)');

-- A future meeting adds nothing until it starts, then counts without any write.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9005, 'meeting', '2027-01-05 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (9005, 'ben@us.example', 'organizer'), (9005, 'p1@umbrella.example', 'attendee');
SELECT is(pg_temp.strength(1, 2), 0::float8, 'a future meeting adds nothing yet');
SET LOCAL crm.clock = '2027-01-06 00:00+00';
SELECT ok(pg_temp.strength(1, 2) > 0, 'once it has started it counts, with no write');
SELECT is((SELECT strongest_connection_member_id FROM crm.person_overview WHERE id = 1), 1::bigint,
          'the overview reads the live state too');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify before tick');
SELECT ok(crm.tick() > 0, 'tick stores what has started');
SELECT is((SELECT meetings FROM crm.connection c WHERE person_id = 1 AND member_id = 2), 1::bigint,
          'tick folded the meeting into stored state');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after tick');
SET LOCAL crm.clock = '2026-12-31 00:00+00';

-- Deleting an interaction restores the previous value.
CREATE TEMP TABLE kept AS SELECT strength FROM crm.connection_strength WHERE person_id = 2 AND member_id = 1;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9006, 'call', '2026-12-20 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (9006, 'ann@us.example', 'from'), (9006, 'p2@umbrella.example', 'to');
SELECT ok(pg_temp.strength(2) > (SELECT strength FROM kept), 'a call strengthens the connection');
DELETE FROM crm.interaction WHERE id = 9006;
SELECT ok(abs(pg_temp.strength(2) - (SELECT strength FROM kept)) < 1e-12, 'deleting it restores the previous value');

-- Companies: the sum of R over people and unknown addresses at the domain.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9007, 'email', '2026-12-30 00:00+00'), (9008, 'email', '2026-12-30 00:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (9007, 'ben@us.example', 'from'), (9007, 'stranger@hooli.example', 'to'),
  (9008, 'ben@us.example', 'from'), (9008, 'other@hooli.example', 'to');
SELECT is((SELECT (people, band) FROM crm.company_connection_strength WHERE company_id = 2 AND member_id = 2)::text,
          '(2,"very weak")', 'unknown addresses at a company''s domain count as its people');
SELECT ok(abs((SELECT -ln(1 - strength) * 10 FROM crm.company_connection_strength WHERE company_id = 2 AND member_id = 2)
              - 2 * 0.25 * power(2, -1.0 / 90)) < 1e-12, 'company R is the sum of its people''s R');
SELECT is((SELECT strongest_connection_member_id FROM crm.company_overview WHERE id = 1), 1::bigint,
          'strongest connection of a company');
INSERT INTO crm.person (id, email, company_id) VALUES (13, 'stranger@hooli.example', 2);
SELECT is((SELECT people FROM crm.company_connection_strength WHERE company_id = 2 AND member_id = 2), 2::bigint,
          'an address that becomes a person is still one person');
UPDATE crm.person SET company_id = 1 WHERE id = 13;
SELECT is((SELECT people FROM crm.company_connection_strength WHERE company_id = 2 AND member_id = 2), 1::bigint,
          'a person who moves company takes the connection along');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after company changes');

-- A pending meeting with an unknown address at a company's domain gives the company nothing yet.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9010, 'meeting', '2027-02-01 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (9010, 'ann@us.example', 'organizer'), (9010, 'newbie@hooli.example', 'attendee');
SELECT is((SELECT (strength, band)::text FROM crm.company_connection_strength WHERE company_id = 2 AND member_id = 1),
          '(0,none)', 'a pending meeting with an unknown address adds nothing to its company yet');
SELECT is((SELECT strongest_connection_member_id FROM crm.company_overview WHERE id = 2), 2::bigint,
          'and does not make its member the strongest');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after a pending meeting with an unknown address');

-- The explanation adds up to what the view shows.
SELECT ok(abs((crm.explain_connection(1, 2) ->> 'strength')::float8 - pg_temp.strength(2)) < 1e-9,
          'explain_connection gives the strength the view shows');
SELECT is(jsonb_array_length(crm.explain_connection(1, 2) -> 'interactions'), 26,
          'explain_connection lists every contributing interaction');
SELECT ok(abs((SELECT sum((i ->> 'contribution')::float8) FROM jsonb_array_elements(crm.explain_connection(1, 2) -> 'interactions') i)
              - ((crm.explain_connection(1, 2) -> 'sums' ->> 'S_out')::float8 + (crm.explain_connection(1, 2) -> 'sums' ->> 'S_in')::float8)) < 1e-9,
          'the contributions add up to the sums');
SELECT throws_ok('SELECT crm.explain_connection(1, 424242)', 'P0002', 'person 424242 does not exist', 'explaining an unknown person');

-- The model is per workspace: the half-life reshapes stored state, bands only the reading.
UPDATE crm.connection_model SET half_life = '30 days' WHERE workspace_id = 1;
SELECT ok(pg_temp.strength(1) < 0.9511 - 0.01, 'a shorter half-life weakens old relationships');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after a model change');
UPDATE crm.connection_model SET half_life = '90 days', very_strong = 0.99 WHERE workspace_id = 1;
SELECT is((SELECT band FROM crm.connection_strength WHERE person_id = 1 AND member_id = 1), 'strong', 'band thresholds are settings');
SELECT throws_ok($$UPDATE crm.connection_model SET weak = 0.9 WHERE workspace_id = 1$$, '23514', NULL, 'bands must be ordered');
SELECT throws_ok($$UPDATE crm.connection_model SET meeting = 'NaN' WHERE workspace_id = 1$$, '23514', NULL, 'weights must be numbers');
-- With a long half-life old activity weighs a lot: increases must still add up exactly.
UPDATE crm.connection_model SET half_life = '3650 days' WHERE workspace_id = 1;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9011, 'email', '2026-12-30 00:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (9011, 'ben@us.example', 'from'), (9011, 'third@hooli.example', 'to');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after fast-path writes under a ten-year half-life');

-- Creating a workspace needs no right to recompute one: its model row has nothing to recompute.
-- It needs INSERT on the tables whose row each workspace gets with it (model, capture policy).
CREATE ROLE crm_tenant_admin NOLOGIN;
GRANT USAGE ON SCHEMA crm TO crm_tenant_admin;
GRANT SELECT, INSERT ON crm.workspace, crm.connection_model, crm.capture_policy TO crm_tenant_admin;
GRANT SELECT ON crm.person_signal, crm.company_signal TO crm_tenant_admin;
SELECT format('GRANT USAGE ON SEQUENCE %s TO crm_tenant_admin', pg_get_serial_sequence('crm.workspace', 'id')) \gexec
SET LOCAL ROLE crm_tenant_admin;
SELECT lives_ok($$INSERT INTO crm.workspace (name) VALUES ('second tenant')$$, 'a role without EXECUTE on _recompute_connections creates a workspace');
RESET ROLE;
SELECT is((SELECT half_life FROM crm.connection_model m JOIN crm.workspace w ON w.id = m.workspace_id WHERE w.name = 'second tenant'),
          interval '90 days', 'a new workspace gets the default model');

SELECT * FROM finish();
ROLLBACK;
