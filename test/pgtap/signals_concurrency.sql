-- Concurrent writers on the same records, the late-link race, and a backend terminated in the
-- middle of a transaction: nothing derived is lost or double-counted. Sessions are dblink
-- connections to this database, so this file commits its data and cleans up at the end.
SELECT plan(12);
SET crm.clock = '2026-03-01 00:00+00';
\ir include/sessions.sql
SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());
SELECT dblink_exec(c, 'SET crm.clock = ''2026-03-01 00:00+00''') FROM (VALUES ('a'), ('b')) v(c);

INSERT INTO crm.member (id, email) VALUES (901, 'mo@us.example');
INSERT INTO crm.company (id, name, domain) VALUES (901, 'Contended', 'contended.example');
INSERT INTO crm.person (id, email, company_id) VALUES (901, 'hot@contended.example', 901), (902, 'warm@contended.example', 901);

-- Two transactions add emails to the same two people at the same time; each commits.
CREATE FUNCTION pg_temp.add_emails(first_id int, n int) RETURNS text LANGUAGE sql AS $$
  SELECT format($q$
    BEGIN;
    INSERT INTO crm.interaction (id, kind, occurred_at)
      SELECT g, 'email', timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(%1$s, %1$s + %2$s - 1) g;
    INSERT INTO crm.participant (interaction_id, address, role)
      SELECT g, 'mo@us.example', 'from'::crm.participant_role FROM generate_series(%1$s, %1$s + %2$s - 1) g
      UNION ALL SELECT g, CASE WHEN g %% 2 = 0 THEN 'hot@contended.example' ELSE 'warm@contended.example' END, 'to'
      FROM generate_series(%1$s, %1$s + %2$s - 1) g;
    SELECT pg_sleep(0.2);
    COMMIT;$q$, first_id, n) $$;
SELECT dblink_send_query('a', pg_temp.add_emails(10000, 500));
SELECT dblink_send_query('b', pg_temp.add_emails(20000, 500));
SELECT pg_temp.drain('a');
SELECT pg_temp.drain('b');
SELECT is((SELECT sum(email_count)::int FROM crm.person_signal WHERE person_id IN (901, 902)), 1000,
          'concurrent inserts on the same people: every email counted once');
SELECT is((SELECT email_count::int FROM crm.company_signal WHERE company_id = 901), 1000, 'and once for their company');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after concurrent inserts');

-- Concurrent updates and deletes on the same people (slow path, row locks in id order).
SELECT dblink_send_query('a', 'BEGIN; UPDATE crm.interaction SET occurred_at = occurred_at - interval ''1 day'' WHERE id BETWEEN 10000 AND 10499; SELECT pg_sleep(0.2); COMMIT;');
SELECT dblink_send_query('b', 'BEGIN; DELETE FROM crm.interaction WHERE id BETWEEN 20000 AND 20249; SELECT pg_sleep(0.2); COMMIT;');
SELECT pg_temp.drain('a');
SELECT pg_temp.drain('b');
SELECT is((SELECT sum(email_count)::int FROM crm.person_signal WHERE person_id IN (901, 902)), 750,
          'concurrent updates and deletes on the same people');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after concurrent updates and deletes');

-- The late-link race, both ways: a participant written while the person with its address is
-- being created in another transaction ends up linked, whichever commits first.
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_exec('a', $$INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (30000, 'call', '2026-02-01')$$);
SELECT dblink_exec('a', $$INSERT INTO crm.participant (interaction_id, address, role) VALUES (30000, 'mo@us.example', 'from'), (30000, 'late@contended.example', 'to')$$);
SELECT dblink_send_query('b', $$INSERT INTO crm.person (id, email) VALUES (903, 'late@contended.example')$$);
SELECT pg_sleep(0.3);
SELECT dblink_exec('a', 'COMMIT');
SELECT pg_temp.drain('b');
SELECT is((SELECT person_id FROM crm.participant WHERE interaction_id = 30000 AND role = 'to'), 903::bigint,
          'participant first, person second: linked');

SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', $$INSERT INTO crm.person (id, email) VALUES (904, 'later@contended.example')$$);
SELECT dblink_send_query('a', $$BEGIN; INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (30001, 'call', '2026-02-02');
  INSERT INTO crm.participant (interaction_id, address, role) VALUES (30001, 'mo@us.example', 'from'), (30001, 'later@contended.example', 'to'); COMMIT;$$);
SELECT pg_sleep(0.3);
SELECT dblink_exec('b', 'COMMIT');
SELECT pg_temp.drain('a');
SELECT is((SELECT person_id FROM crm.participant WHERE interaction_id = 30001 AND role = 'to'), 904::bigint,
          'person first, participant second: linked');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after the late-link race');

-- Two sessions add someone each to the same committed call at the same time. Its audience
-- weighs every connection in it, so each must see the other's addition.
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (30002, 'call', '2026-02-03');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (30002, 'mo@us.example', 'from'), (30002, 'hot@contended.example', 'to');
SELECT dblink_send_query('a', $$BEGIN; INSERT INTO crm.participant (interaction_id, address, role)
  VALUES (30002, 'warm@contended.example', 'to'); SELECT pg_sleep(0.3); COMMIT;$$);
SELECT dblink_send_query('b', $$BEGIN; INSERT INTO crm.participant (interaction_id, address, role)
  VALUES (30002, 'guest@elsewhere.example', 'to'); SELECT pg_sleep(0.3); COMMIT;$$);
SELECT pg_temp.drain('a');
SELECT pg_temp.drain('b');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after two sessions add people to the same call');

-- A backend terminated in the middle of a transaction leaves nothing behind.
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_exec('a', $$INSERT INTO crm.interaction (id, kind, occurred_at) SELECT g, 'meeting', '2026-02-10' FROM generate_series(40000, 40099) g$$);
SELECT dblink_exec('a', $$INSERT INTO crm.participant (interaction_id, address, role) SELECT g, 'hot@contended.example', 'attendee' FROM generate_series(40000, 40099) g$$);
SELECT is((SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'), true,
          'terminate the writer mid-transaction');
SELECT pg_sleep(0.2);
SELECT is((SELECT meeting_count::int FROM crm.person_signal WHERE person_id = 901), 0, 'its meetings were never counted');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after a terminated backend');

SELECT dblink_disconnect('b');
DELETE FROM crm.interaction WHERE id >= 10000;
DELETE FROM crm.person WHERE id >= 901;
DELETE FROM crm.company WHERE id = 901;
DELETE FROM crm.member WHERE id = 901;
SELECT * FROM finish();
