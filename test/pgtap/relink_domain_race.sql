-- A person is deleted while, in another transaction, the company owning the domain of the
-- person's address gives the domain up: the participant, now linked by its domain only, must end
-- on the domain's new owner whichever commits first (the relink claims the addresses' domains
-- too). test/load/mixed_records.sh found it: 56 participants left on the old owner.
-- Sessions are dblink connections, so this file commits its data and cleans up at the end.
SELECT plan(3);
\ir include/sessions.sql
SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());
INSERT INTO crm.workspace (id, name) VALUES (62, 'domain race');
SET crm.workspace = 62;
INSERT INTO crm.member (id, email) VALUES (621, 'mo@us62.example');
INSERT INTO crm.company (id, name, domain) VALUES (621, 'Owner', 'race62.example'), (622, 'Next', 'race62.example');
INSERT INTO crm.person (id, email) VALUES (621, 'p@race62.example');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (6201, 'email', '2026-02-01');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (6201, 'mo@us62.example', 'from'), (6201, 'p@race62.example', 'to');
SELECT dblink_exec(c, 'SET crm.workspace = 62') FROM (VALUES ('a'), ('b')) v(c);

-- The domain's owner gives it up and holds; the person is deleted meanwhile.
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_exec('a', $$UPDATE crm.company SET domain = 'other62.example' WHERE id = 621$$);
SELECT dblink_send_query('b', $$DELETE FROM crm.person WHERE id = 621$$);
SELECT pg_sleep(0.3);
SELECT dblink_exec('a', 'COMMIT');
SELECT pg_temp.drain('b', false);
SELECT is((SELECT (person_id, company_id)::text FROM crm.participant WHERE interaction_id = 6201 AND role = 'to'), '(,622)',
          'the participant of the deleted person links to the domain''s new owner');
SELECT is_empty($$SELECT * FROM crm.verify_signals()$$, 'verify_signals empty after the race');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
RESET crm.workspace;
DELETE FROM crm.workspace WHERE id = 62;
SELECT is((SELECT count(*) FROM crm.person WHERE workspace_id = 62), 0::bigint, 'cleaned up');
SELECT * FROM finish();
