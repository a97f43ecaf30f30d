-- A person's company changes while a participant for that person is being written in another
-- transaction: whichever commits first, the participant ends with the new company and
-- crm.verify_signals() is empty (by address, and by an explicit person_id with no address known).
-- Sessions are dblink connections, so this file commits its data and cleans up at the end.
SELECT plan(6);
\ir include/sessions.sql
SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());
INSERT INTO crm.workspace (id, name) VALUES (61, 'race');
SET crm.workspace = 61;
INSERT INTO crm.member (id, email) VALUES (611, 'mo@us61.example');
INSERT INTO crm.company (id, name) VALUES (611, 'Old'), (612, 'New');
INSERT INTO crm.person (id, email, company_id) VALUES (611, 'hank@people61.example', 611), (612, NULL, 611);
INSERT INTO crm.interaction (id, kind, occurred_at) SELECT g, 'email', '2026-02-01' FROM generate_series(6101, 6104) g;
SELECT dblink_exec(c, 'SET crm.workspace = 61') FROM (VALUES ('a'), ('b')) v(c);

-- 1. The company change first, the participant while it is uncommitted.
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_exec('a', 'UPDATE crm.person SET company_id = 612 WHERE id = 611');
SELECT dblink_send_query('b', $$INSERT INTO crm.participant (interaction_id, address, role) VALUES (6101, 'mo@us61.example', 'from'), (6101, 'hank@people61.example', 'to')$$);
SELECT pg_sleep(0.3);
SELECT dblink_exec('a', 'COMMIT');
SELECT pg_temp.drain('b', false);
SELECT is((SELECT company_id FROM crm.participant WHERE interaction_id = 6101 AND address = 'hank@people61.example'), 612::bigint,
          'a participant written during a company change gets the new company');

-- 2. The participant first, the company change while it is uncommitted.
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', $$INSERT INTO crm.participant (interaction_id, address, role) VALUES (6102, 'mo@us61.example', 'from'), (6102, 'hank@people61.example', 'to')$$);
SELECT dblink_send_query('a', 'UPDATE crm.person SET company_id = 611 WHERE id = 611');
SELECT pg_sleep(0.3);
SELECT dblink_exec('b', 'COMMIT');
SELECT pg_temp.drain('a', false);
SELECT is((SELECT array_agg(DISTINCT company_id) FROM crm.participant WHERE person_id = 611), '{611}'::bigint[],
          'a company change during a participant write relinks it too');

-- 3. By an explicit person_id (the person has no address): change first, then participant.
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_exec('a', 'UPDATE crm.person SET company_id = 612 WHERE id = 612');
SELECT dblink_send_query('b', $$INSERT INTO crm.participant (interaction_id, address, role, person_id) VALUES (6103, 'mo@us61.example', 'from', NULL), (6103, '+15550100611', 'to', 612)$$);
SELECT pg_sleep(0.3);
SELECT dblink_exec('a', 'COMMIT');
SELECT pg_temp.drain('b', false);
SELECT is((SELECT company_id FROM crm.participant WHERE interaction_id = 6103 AND person_id = 612), 612::bigint,
          'an explicit person_id written during a company change gets the new company');

-- 4. Participant first, then the change.
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', $$INSERT INTO crm.participant (interaction_id, address, role, person_id) VALUES (6104, '+15550100612', 'to', 612)$$);
SELECT dblink_send_query('a', 'UPDATE crm.person SET company_id = 611 WHERE id = 612');
SELECT pg_sleep(0.3);
SELECT dblink_exec('b', 'COMMIT');
SELECT pg_temp.drain('a', false);
SELECT is((SELECT array_agg(DISTINCT company_id) FROM crm.participant WHERE person_id = 612), '{611}'::bigint[],
          'a company change during an explicit-id participant write relinks it too');

SELECT is_empty($$SELECT * FROM crm.verify_signals()$$, 'verify_signals empty after the races');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
RESET crm.workspace;
DELETE FROM crm.workspace WHERE id = 61;
SELECT is((SELECT count(*) FROM crm.person WHERE workspace_id = 61), 0::bigint, 'cleaned up');
SELECT * FROM finish();
