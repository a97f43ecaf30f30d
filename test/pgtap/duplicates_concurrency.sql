-- Duplicates written by two sessions at once: each pair is found exactly once whichever commits
-- first, the block rule lets only one of two concurrent duplicates in, and a scan cancelled by
-- statement_timeout in another session leaves the committed candidates as they were. Sessions
-- are dblink connections to this database, so this file commits its data and cleans up at the end.
SELECT plan(14);
\ir include/sessions.sql
-- The same, for a query that may fail: returns the remote error message (NULL if none) and
-- leaves the connection outside any transaction.
CREATE FUNCTION pg_temp.drain_error(conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  n int;
  empty int := 0;
  failed boolean := false;
  message text;
BEGIN
  SET LOCAL client_min_messages = warning;
  FOR i IN 1..50 LOOP
    SELECT count(*) INTO n FROM dblink_get_result(conn, false) AS r(x text);
    IF n = 0 THEN
      empty := empty + 1;
      message := nullif(dblink_error_message(conn), 'OK');
      failed := failed OR message IS NOT NULL;
      EXIT WHEN empty = 2;
    ELSE
      empty := 0;
    END IF;
  END LOOP;
  PERFORM dblink_exec(conn, 'ROLLBACK', false);
  RETURN CASE WHEN failed THEN coalesce(message, 'error') END;
END $$;
CREATE FUNCTION pg_temp.pairs(k text, ids bigint[]) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(c.record_id || '-' || c.other_id || ' ' || c.status, ', ' ORDER BY c.record_id, c.other_id), '')
  FROM crm.duplicate_candidate c WHERE c.kind = k AND (c.record_id = ANY (ids) OR c.other_id = ANY (ids)) $$;
CREATE FUNCTION pg_temp.candidates_digest() RETURNS text LANGUAGE sql AS $$
  SELECT md5(coalesce(string_agg(format('%s %s %s %s %s %s %s %s', workspace_id, kind, record_id, other_id, score, evidence, status, detected_at),
                                 E'\n' ORDER BY kind, record_id, other_id), ''))
  FROM crm.duplicate_candidate $$;
CREATE FUNCTION pg_temp.profiles_digest() RETURNS text LANGUAGE sql AS $$
  SELECT md5(coalesce(string_agg(format('%s %s %s %s %s', workspace_id, kind, record_id, fields, keys), E'\n' ORDER BY kind, record_id), ''))
  FROM crm.match_profile $$;
-- Leftovers of an interrupted run.
DELETE FROM crm.person WHERE id BETWEEN 9100 AND 9199 OR id BETWEEN 100001 AND 120000;
DELETE FROM crm.duplicate_rule WHERE workspace_id = 1;

SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());

-- Two new people with the same mailbox, in transactions open at the same time.
SELECT dblink_send_query('a', $$BEGIN; INSERT INTO crm.person (id, first_name, last_name, email)
  VALUES (9101, 'Annie', 'Blackburn', 'annie.blackburn@gmail.com'); SELECT pg_sleep(0.3); COMMIT;$$);
SELECT dblink_send_query('b', $$BEGIN; INSERT INTO crm.person (id, first_name, last_name, email)
  VALUES (9102, 'Annie', 'Blackburn', 'AnnieBlackburn+crm@gmail.com'); SELECT pg_sleep(0.3); COMMIT;$$);
SELECT pg_temp.drain('a');
SELECT pg_temp.drain('b');
SELECT is(pg_temp.pairs('person', '{9101,9102}'), '9101-9102 open', 'two sessions insert the same person: exactly one candidate');

-- The same, with the later transaction committing first.
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_exec('a', $$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (9103, 'Thomas', 'Eckhardt', 'eckhardt@hk-trading.com')$$);
SELECT dblink_send_query('b', $$BEGIN; INSERT INTO crm.person (id, first_name, last_name, email)
  VALUES (9104, 'Thomas', 'Eckhardt', 'Eckhardt@HK-Trading.com'); COMMIT;$$);
SELECT pg_sleep(0.3);
SELECT dblink_exec('a', 'COMMIT');
SELECT pg_temp.drain('b');
SELECT is(pg_temp.pairs('person', '{9103,9104}'), '9103-9104 open', 'the second to start commits first: exactly one candidate');

-- Both duplicate a committed record and each other.
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (9105, 'Pete', 'Martell', 'pete@packard-sawmill.com');
SELECT dblink_send_query('a', $$BEGIN; INSERT INTO crm.person (id, first_name, last_name, email)
  VALUES (9106, 'Pete', 'Martell', 'Pete@Packard-Sawmill.com'); SELECT pg_sleep(0.3); COMMIT;$$);
SELECT dblink_send_query('b', $$BEGIN; INSERT INTO crm.person (id, first_name, last_name, email)
  VALUES (9107, 'Peter', 'Martell', 'PETE@packard-sawmill.com'); SELECT pg_sleep(0.3); COMMIT;$$);
SELECT pg_temp.drain('a');
SELECT pg_temp.drain('b');
SELECT is(pg_temp.pairs('person', '{9105,9106,9107}'), '9105-9106 open, 9105-9107 open, 9106-9107 open',
          'two sessions duplicate a committed record: three pairs, each once');

-- One session updates a record to match what another inserts.
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (9108, 'Tommy', 'Hill', 'hawk@twinpeaks-sheriff.gov');
SELECT dblink_send_query('a', $$BEGIN; UPDATE crm.person SET first_name = 'Andy', last_name = 'Brennan', email = 'andy.brennan@twinpeaks-sheriff.gov'
  WHERE id = 9108; SELECT pg_sleep(0.3); COMMIT;$$);
SELECT dblink_send_query('b', $$BEGIN; INSERT INTO crm.person (id, first_name, last_name, email)
  VALUES (9109, 'Andy', 'Brennan', 'Andy.Brennan@twinpeaks-sheriff.gov'); SELECT pg_sleep(0.3); COMMIT;$$);
SELECT pg_temp.drain('a');
SELECT pg_temp.drain('b');
SELECT is(pg_temp.pairs('person', '{9108,9109}'), '9108-9109 open', 'an update and an insert that meet in concurrent transactions: one candidate');

-- Under the block rule only one of two concurrent duplicates gets in.
SELECT lives_ok($$SELECT crm.set_duplicate_rule('person', 'block', 0.9)$$, 'set the block rule');
SELECT dblink_send_query('a', $$BEGIN; INSERT INTO crm.person (id, first_name, last_name, email)
  VALUES (9110, 'Lucy', 'Moran', 'lucy.moran@twinpeaks-sheriff.gov'); SELECT pg_sleep(0.3); COMMIT;$$);
SELECT dblink_send_query('b', $$BEGIN; INSERT INTO crm.person (id, first_name, last_name, email)
  VALUES (9111, 'Lucy', 'Moran', 'Lucy.Moran@TwinPeaks-Sheriff.gov'); SELECT pg_sleep(0.3); COMMIT;$$);
CREATE TEMP TABLE block_errors AS SELECT pg_temp.drain_error('a') AS a, pg_temp.drain_error('b') AS b;
SELECT is((SELECT count(*)::int FROM crm.person WHERE id IN (9110, 9111)), 1, 'block: of two concurrent duplicates exactly one is written');
SELECT is((SELECT num_nonnulls(a, b) FROM block_errors), 1, 'block: the other session gets an error');
DELETE FROM crm.duplicate_rule WHERE workspace_id = 1;

SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify after concurrent duplicates');

-- A scan cancelled at the top level of another session: the committed state is unchanged.
INSERT INTO crm.person (id, first_name, last_name, email)
SELECT 100000 + g, initcap(translate(left(md5(g || 'f'), 7), '0123456789', 'aeioubrstl')),
       initcap(translate(left(md5(g || 'l'), 9), '0123456789', 'aeioukmnpv')), left(md5(g || 'e'), 12) || '@gmail.com'
FROM generate_series(1, 2000) g;
SELECT ok((SELECT count(*) FROM crm.match_profile WHERE kind = 'person' AND record_id BETWEEN 100001 AND 120000) = 2000,
          'a 2,000-row insert builds every profile');
CREATE TEMP TABLE before_cancel AS SELECT pg_temp.candidates_digest() AS candidates, pg_temp.profiles_digest() AS profiles;
SELECT dblink_exec('a', $$SET statement_timeout = '5ms'$$);
SELECT dblink_send_query('a', $$SELECT crm.scan_duplicates('person')$$);
SELECT matches(pg_temp.drain_error('a'), 'statement timeout', 'statement_timeout cancels a scan in another session');
SELECT dblink_exec('a', 'RESET statement_timeout');
SELECT is(pg_temp.candidates_digest(), (SELECT candidates FROM before_cancel), 'the cancelled scan committed no candidate change');
SELECT is(pg_temp.profiles_digest(), (SELECT profiles FROM before_cancel), 'nor any profile change');
SELECT is((SELECT n FROM dblink('a', $$SELECT crm.scan_duplicates('person')$$) AS t(n bigint)),
          (SELECT count(*) FROM crm.duplicate_candidate WHERE kind = 'person' AND workspace_id = 1 AND status = 'open'),
          'the session scans again without the timeout');
SELECT is(pg_temp.candidates_digest(), (SELECT candidates FROM before_cancel), 'and a complete scan of a consistent state changes nothing');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
DELETE FROM crm.person WHERE id BETWEEN 9100 AND 9199 OR id BETWEEN 100001 AND 120000;
SELECT * FROM finish();
