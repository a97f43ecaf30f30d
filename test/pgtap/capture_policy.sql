-- The capture policy row of a workspace exists from the workspace's creation (workspace 1 from
-- the install), so that updating the policy before the first capture takes effect; a deleted row
-- comes back with the defaults on the next capture.
BEGIN;
SELECT plan(8);
SET LOCAL timezone = 'UTC';
SET LOCAL crm.clock = '2026-11-10 12:00+00';

SELECT results_eq($$SELECT create_people::text, create_companies, blocked_domains, max_participants
                    FROM crm.capture_policy WHERE workspace_id = 1$$,
  $$VALUES ('when_member_wrote', true, '{}'::text[], 50)$$,
  'workspace 1 has its policy row, with the defaults, from the install');

INSERT INTO crm.workspace (id, name) VALUES (504, 'capture policy');
SET LOCAL crm.workspace = '504';
SELECT results_eq($$SELECT create_people::text, recurrence_past, recurrence_ahead FROM crm.capture_policy WHERE workspace_id = 504$$,
  $$VALUES ('when_member_wrote', interval '365 days', interval '180 days')$$,
  'a new workspace has its policy row, with the defaults, as soon as it is created');

-- The README's example, before anything was ever captured in the workspace.
WITH u AS (UPDATE crm.capture_policy SET create_people = 'always', blocked_domains = '{Lawyers.com}'
           WHERE workspace_id = 504 RETURNING 1)
SELECT is((SELECT count(*) FROM u), 1::bigint, 'updating the policy before the first capture changes its row');

INSERT INTO crm.member (id, email, name) VALUES (5041, 'ann@ourco.com', 'Ann Member');
CREATE FUNCTION pg_temp.mail(sender text, recipient text, id text) RETURNS text LANGUAGE sql AS $$
  SELECT 'From: ' || sender || E'\r\nTo: ' || recipient || E'\r\nSubject: Hello\r\nDate: Mon, 9 Nov 2026 10:00:00 +0000\r\nMessage-ID: <'
         || id || E'>\r\n\r\nHello\r\n' $$;

SELECT results_eq($$SELECT outcome, reason FROM crm.ingest_email(pg_temp.mail('counsel@lawyers.com', 'ann@ourco.com', 'p1@lawyers.com'), 'ann@ourco.com')$$,
  $$VALUES ('skipped', 'blocked: domain lawyers.com')$$,
  'the first capture honours the domain blocked beforehand');
SELECT results_eq($$SELECT outcome FROM crm.ingest_email(pg_temp.mail('dana@client.example', 'ann@ourco.com', 'p2@client.example'), 'ann@ourco.com')$$,
  $$VALUES ('created')$$, 'a message from an unknown sender is filed');
SELECT is((SELECT count(*) FROM crm.person WHERE workspace_id = 504 AND email = 'dana@client.example'), 1::bigint,
  'and, by the create_people set beforehand (always), its sender becomes a person');

-- A row deleted by hand comes back with the defaults on the next capture.
DELETE FROM crm.capture_policy WHERE workspace_id = 504;
SELECT results_eq($$SELECT outcome FROM crm.ingest_email(pg_temp.mail('eve@other.example', 'ann@ourco.com', 'p3@other.example'), 'ann@ourco.com')$$,
  $$VALUES ('created')$$, 'capture works in a workspace whose policy row was deleted');
SELECT results_eq($$SELECT create_people::text, blocked_domains FROM crm.capture_policy WHERE workspace_id = 504$$,
  $$VALUES ('when_member_wrote', '{}'::text[])$$, 'and its row is back, with the defaults');

SELECT * FROM finish();
ROLLBACK;
