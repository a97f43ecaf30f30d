-- crm.workspace.roles makes a workspace a boundary: a role sees nothing of a workspace it may
-- not use, through any table, view or function, cannot write into it, and gets no fact of it in
-- an error message; the extension still derives across the whole table (links, signals, pairs).
BEGIN;
SELECT plan(19);
SET LOCAL crm.clock = '2026-03-01 12:00+00';

CREATE ROLE crm_ws_a NOLOGIN;
CREATE ROLE crm_ws_b NOLOGIN;
SELECT crm.grant_access('crm_ws_a', 'application');
SELECT crm.grant_access('crm_ws_b', 'application');
INSERT INTO crm.workspace (id, name, roles) VALUES (71, 'a', '{crm_ws_a}'), (72, 'b', '{crm_ws_b}');

-- The same data in both workspaces, written by the superuser.
DO $$
DECLARE
  ws bigint;
BEGIN
  FOREACH ws IN ARRAY ARRAY[71, 72] LOOP
    PERFORM pg_catalog.set_config('crm.workspace', ws::text, true);
    INSERT INTO crm.member (id, email) VALUES (ws * 10, 'ann@us.example');
    INSERT INTO crm.company (id, name, domain) VALUES (ws * 10, 'Globex', 'globex.example');
    INSERT INTO crm.person (id, company_id, first_name, last_name, email, city)
    VALUES (ws * 10, ws * 10, 'Hank', 'Scorpio', 'hank@globex.example', 'Springfield'),
           (ws * 10 + 1, ws * 10, 'Hank', 'Scorpio', 'h.scorpio@globex.example', 'Springfield');
    INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (ws * 10, 'email', '2026-02-01');
    INSERT INTO crm.participant (interaction_id, address, role)
    VALUES (ws * 10, 'ann@us.example', 'from'), (ws * 10, 'hank@globex.example', 'to'), (ws * 10, 'x@globex.example', 'cc');
  END LOOP;
END $$;
RESET crm.workspace;

CREATE FUNCTION pg_temp.foreign_rows() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  t regclass;
  n bigint;
  total bigint := 0;
BEGIN
  FOR t IN SELECT c.oid FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id'
           WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind IN ('r', 'v') LOOP
    EXECUTE format('SELECT count(*) FROM %s WHERE workspace_id = 72', t) INTO n;
    total := total + n;
  END LOOP;
  RETURN total;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.foreign_rows() TO crm_ws_a;
CREATE TEMP TABLE own_connections AS SELECT count(*) AS n FROM crm.connection_strength WHERE workspace_id = 71;
GRANT SELECT ON own_connections TO crm_ws_a;

SET LOCAL ROLE crm_ws_a;
SET LOCAL crm.workspace = 71;
SELECT is(pg_temp.foreign_rows(), 0::bigint, 'no table or view shows a row of a workspace the role may not use');
SELECT is((SELECT array_agg(id ORDER BY id) FROM crm.workspace WHERE id IN (71, 72)), '{71}'::bigint[],
          'crm.workspace lists only the workspaces the role may use');
SELECT is((SELECT count(*) FROM crm.person_overview), 2::bigint, 'the role sees its own workspace''s people');
SELECT is((SELECT count(*) FROM crm.connection_strength), (SELECT n FROM own_connections),
          'connection_strength: only the role''s workspace');
SELECT is((SELECT count(*) FROM crm.duplicate_sets WHERE workspace_id <> 71), 0::bigint, 'duplicate_sets: only the role''s workspace');
SELECT results_eq($$SELECT record_id FROM crm.find_duplicates('person', '{"first_name": "Hank", "last_name": "Scorpio", "email": "hank@globex.example"}')$$,
                  $$VALUES (710::bigint)$$, 'find_duplicates in the role''s own workspace');
SELECT results_eq($$SELECT record_id FROM crm.resolve('hank@globex.example')$$, $$VALUES (710::bigint)$$,
                  'resolve in the role''s own workspace');
SET LOCAL crm.workspace = 72;
SELECT throws_ok($$SELECT * FROM crm.find_duplicates('person', '{"first_name": "Hank", "last_name": "Scorpio", "email": "hank@globex.example"}')$$,
                 '42501', 'workspace 72 is not available to role "crm_ws_a"', 'find_duplicates refuses a foreign workspace');
SELECT throws_ok($$SELECT * FROM crm.resolve('Hank Scorpio')$$, '42501', 'workspace 72 is not available to role "crm_ws_a"',
                 'resolve refuses a foreign workspace');
SELECT is((SELECT count(*) FROM crm.stale_records('person', '1 day')), 0::bigint, 'stale_records in a foreign workspace lists nothing');
SELECT throws_ok($$INSERT INTO crm.person (first_name) VALUES ('Intruder')$$, '42501', NULL, 'no record written into a foreign workspace');
UPDATE crm.person SET title = 'x' WHERE workspace_id = 72;
SELECT throws_ok($$SELECT * FROM crm.ingest_email(E'From: hank@globex.example\r\nTo: ann@us.example\r\nSubject: x\r\nMessage-ID: <b-1@x>\r\nDate: Mon, 02 Feb 2026 10:00:00 +0000\r\n\r\nx\r\n', 'ann@us.example')$$,
                 '42501', 'workspace 72 is not available to role "crm_ws_a"', 'capture refuses a foreign workspace');
SELECT throws_ok($$SELECT crm.dismiss_duplicate('person', 720, 721)$$, '42501', NULL, 'dismissal refuses a foreign workspace');
SET LOCAL crm.workspace = 79;
SELECT throws_ok($$SELECT * FROM crm.ingest_calendar('x', 'ann@us.example')$$, '42501',
                 'workspace 79 is not available to role "crm_ws_a"',
                 'a workspace that does not exist gets the same refusal: existence is not revealed');
SET LOCAL crm.workspace = 71;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (711, 'call', '2026-02-02');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (711, 'ann@us.example', 'from'), (711, 'h.scorpio@globex.example', 'to');
RESET ROLE;
SELECT is((SELECT person_id FROM crm.participant WHERE interaction_id = 711 AND role = 'to'), 711::bigint,
          'a participant written by the role links to its own workspace''s person');
SELECT is((SELECT interaction_count FROM crm.person_signal WHERE person_id = 711), 1::bigint,
          'and the extension derived its signals, whatever the role may see');
SELECT is((SELECT count(*) FROM crm.person WHERE workspace_id = 72 AND title IS NOT NULL), 0::bigint,
          'no record of a foreign workspace updated');
SELECT is((SELECT count(*) FROM crm.duplicate_candidate WHERE workspace_id = 72), 1::bigint,
          'the foreign workspace''s own pair is intact');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty');

SELECT * FROM finish();
ROLLBACK;
