-- Deleting a workspace removes everything of it, records, activity, settings, capture's log and
-- derived state, in one statement, and leaves every other workspace exactly as it was.
BEGIN;
SELECT plan(4);
SET LOCAL crm.clock = '2026-03-01 12:00+00';

CREATE FUNCTION pg_temp.workspace_rows(ws bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  t regclass;
  n bigint;
  total bigint := 0;
BEGIN
  FOR t IN SELECT c.oid FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id'
           WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind = 'r' LOOP
    EXECUTE format('SELECT count(*) FROM %s WHERE workspace_id = $1', t) INTO n USING ws;
    total := total + n;
  END LOOP;
  RETURN total;
END $$;

-- Two workspaces alike; the second one goes.
INSERT INTO crm.workspace (id, name) VALUES (31, 'kept'), (32, 'doomed');
DO $$
DECLARE
  ws bigint;
BEGIN
  FOREACH ws IN ARRAY ARRAY[31, 32] LOOP
    PERFORM pg_catalog.set_config('crm.workspace', ws::text, true);
    INSERT INTO crm.member (email) VALUES ('ann@us' || ws || '.example');
    INSERT INTO crm.company (id, name, domain) VALUES (ws * 10, 'Globex', 'globex' || ws || '.example');
    INSERT INTO crm.person (id, company_id, first_name, last_name, email)
    VALUES (ws * 10, ws * 10, 'Hank', 'Scorpio', 'hank@globex' || ws || '.example'),
           (ws * 10 + 1, ws * 10, 'Hank', 'Scorpio', 'h.scorpio@globex' || ws || '.example');
    INSERT INTO crm.deal (company_id, name) VALUES (ws * 10, 'Big deal');
    INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (ws * 10, 'email', '2026-02-01'), (ws * 10 + 1, 'meeting', '2026-04-01');
    INSERT INTO crm.participant (interaction_id, address, role)
    VALUES (ws * 10, 'ann@us' || ws || '.example', 'from'), (ws * 10, 'hank@globex' || ws || '.example', 'to'),
           (ws * 10, 'someone@globex' || ws || '.example', 'cc'),
           (ws * 10 + 1, 'ann@us' || ws || '.example', 'organizer'), (ws * 10 + 1, 'h.scorpio@globex' || ws || '.example', 'attendee');
    PERFORM crm.ingest_email(convert_to(format(E'From: Hank <hank@globex%s.example>\r\nTo: ann@us%s.example\r\nSubject: hi\r\nMessage-ID: <ws-%s@globex.example>\r\nDate: Mon, 02 Feb 2026 10:00:00 +0000\r\n\r\nhello\r\n', ws, ws, ws), 'UTF8'),
                             'ann@us' || ws || '.example');
  END LOOP;
END $$;
RESET crm.workspace;
CREATE TEMP TABLE kept_before AS SELECT pg_temp.workspace_rows(31) AS n;

SELECT lives_ok($$DELETE FROM crm.workspace WHERE id = 32$$, 'a workspace with records, activity and captures can be deleted');
SELECT is(pg_temp.workspace_rows(32), 0::bigint, 'nothing of the deleted workspace is left in any crm table');
SELECT is(pg_temp.workspace_rows(31), (SELECT n FROM kept_before), 'the other workspace keeps every row');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'derived state exact afterwards');

SELECT * FROM finish();
ROLLBACK;
