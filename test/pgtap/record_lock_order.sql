-- Lock order between record writers and writers of activity (README, "Concurrency"). A record
-- writer claims its addresses, then locks participant rows; an UPDATE of a participant's address
-- locks the row, then claims the new address. A record writer that meets a row being written must
-- not wait for it while holding its claims: it lets them go, waits, and claims again. Sessions are
-- dblink connections, so this file commits its data and cleans up at the end.
SELECT plan(7);
\ir include/sessions.sql
-- The result of an asynchronous statement: 'ok', or the SQLSTATE it failed with.
CREATE FUNCTION pg_temp.outcome(conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  result text := 'ok';
  n int;
BEGIN
  BEGIN
    LOOP
      SELECT count(*) INTO n FROM dblink_get_result(conn) AS r(x text);
      EXIT WHEN n = 0;
    END LOOP;
  EXCEPTION WHEN OTHERS THEN
    result := SQLSTATE;
    PERFORM count(*) FROM dblink_get_result(conn, false) AS r(x text);
  END;
  RETURN result;
END $$;
SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());
INSERT INTO crm.workspace (id, name) VALUES (71, 'lock order');
SET crm.workspace = 71;
SET crm.clock = '2026-03-01 12:00+00';
INSERT INTO crm.member (id, email) VALUES (711, 'mo@us71.example');
INSERT INTO crm.company (id, name, domain) VALUES (711, 'Old', 'old71.example'), (712, 'New', 'new71.example');
INSERT INTO crm.person (id, email, company_id) VALUES (711, 'hank@people71.example', 711);
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (7101, 'email', '2026-02-01'), (7102, 'email', '2026-02-02');
INSERT INTO crm.participant (id, interaction_id, address, role) VALUES
  (7101, 7101, 'mo@us71.example', 'from'), (7102, 7101, 'hank@people71.example', 'to'),
  (7103, 7102, 'mo@us71.example', 'from'), (7104, 7102, 'someone@else71.example', 'to');
SELECT dblink_exec(c, 'SET crm.workspace = 71; SET crm.clock = ''2026-03-01 12:00+00''; SET deadlock_timeout = ''50ms''')
FROM (VALUES ('a'), ('b')) v(c);

-- b holds participant 7102 (hank's); a moves hank to another company, which claims hank's address
-- and must relink 7102; then b gives participant 7104 hank's address, which claims it too.
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', $$UPDATE crm.participant SET response = 'accepted' WHERE id = 7102$$);
SELECT dblink_send_query('a', 'UPDATE crm.person SET company_id = 712 WHERE id = 711');
SELECT pg_sleep(0.3);
SELECT is((SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE crm.person SET company_id = 712%'),
          1, 'the record writer waits for the participant row');
SELECT is(dblink_exec('b', $$UPDATE crm.participant SET address = 'hank@people71.example' WHERE id = 7104$$),
          'UPDATE 1', 'the participant writer gets the claim the waiting record writer let go');
SELECT dblink_exec('b', 'COMMIT');
SELECT is(pg_temp.outcome('a'), 'ok', 'the record writer then completes: no deadlock');
SELECT is((SELECT array_agg(company_id ORDER BY id) FROM crm.participant WHERE id IN (7102, 7104)), '{712,712}'::bigint[],
          'both participants link to the new company');

-- Once more with the roles of the two rows' writers reversed: b locks the row, then a deletes the
-- person, whose relink needs that row, then b gives another participant the person's address.
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', $$UPDATE crm.participant SET response = 'declined' WHERE id = 7104$$);
SELECT dblink_send_query('a', 'DELETE FROM crm.person WHERE id = 711');
SELECT pg_sleep(0.3);
SELECT is(dblink_exec('b', $$UPDATE crm.participant SET address = 'HANK@people71.example' WHERE id = 7103$$),
          'UPDATE 1', 'a participant write during a deletion that waits for its row goes through');
SELECT dblink_exec('b', 'COMMIT');
SELECT is(pg_temp.outcome('a'), 'ok', 'the deletion then completes: no deadlock');

SELECT is_empty($$SELECT * FROM crm.verify_signals()$$, 'verify_signals empty after the races');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
RESET crm.workspace;
DELETE FROM crm.workspace WHERE id = 71;
SELECT * FROM finish();
