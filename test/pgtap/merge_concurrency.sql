-- Merges by two sessions at once (dblink): overlapping merges, one wins and the other fails with
-- a clear SQLSTATE, never a deadlock or half a merge; the same merge twice is one merge; activity
-- written to a record being merged waits and lands on the survivor. Sessions need committed
-- data, so this file commits its own and removes it at the end.
SELECT plan(13);
\ir include/sessions.sql
SET crm.clock = '2026-06-15 12:00:00+00';
SET crm.workspace = 96;
INSERT INTO crm.workspace (id, name) VALUES (96, 'merge concurrency');
INSERT INTO crm.member (id, email) VALUES (9611, 'me@us96.example');
INSERT INTO crm.person (id, first_name, last_name, email) VALUES
  (9601, 'Ann', 'Lee', 'ann@a96.example'), (9602, 'Anne', 'Lee', 'anne@b96.example'),
  (9603, 'Annie', 'Lee', 'annie@c96.example'), (9604, 'Bo', 'Day', 'bo@a96.example'),
  (9605, 'Bob', 'Day', 'bob@b96.example'), (9606, 'Cy', 'Fox', 'cy@a96.example'),
  (9607, 'Cyd', 'Fox', 'cyd@b96.example'), (9608, 'Di', 'Gale', 'di@a96.example'),
  (9609, 'Dee', 'Gale', 'dee@b96.example');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9631, 'email', '2026-06-01');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (9631, 'me@us96.example', 'from'), (9631, 'anne@b96.example', 'to'), (9631, 'bob@b96.example', 'cc');

SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());
SELECT dblink_exec(c, $$SET crm.workspace = '96'; SET crm.clock = '2026-06-15 12:00:00+00'$$) FROM (VALUES ('a'), ('b')) s(c);
-- What a statement returned in the other session, or the SQLSTATE it failed with.
SELECT dblink_exec('b', $outer$CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $f$
  DECLARE r text;
  BEGIN
    EXECUTE q INTO r;
    RETURN r;
  EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
  END $f$$outer$);
CREATE FUNCTION pg_temp.waiting() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' $$;
CREATE FUNCTION pg_temp.result(conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  SELECT t.r INTO r FROM dblink_get_result(conn) AS t(r text);
  PERFORM pg_temp.drain(conn);
  RETURN r;
END $$;

-- Two merges of one record into different survivors: the second waits, then fails cleanly.
SELECT dblink_exec('a', 'BEGIN');
SELECT * FROM dblink('a', $$SELECT crm.merge('person', 9601, '{9602}')::text$$) AS t(r text);
SELECT dblink_send_query('b', $$SELECT pg_temp.try('SELECT crm.merge(''person'', 9603, ''{9602}'')::text')$$);
SELECT pg_sleep(0.3);
SELECT is(pg_temp.waiting(), 1::bigint, 'the second merge waits for the first');
SELECT dblink_exec('a', 'COMMIT');
SELECT is(pg_temp.result('b'), 'error 55000', 'then fails: the record is a tombstone now (55000), no deadlock');
SELECT is((SELECT merged_into FROM crm.person WHERE id = 9602), 9601::bigint, 'the first merge stands, whole');

-- Two merges in opposite directions.
SELECT dblink_exec('a', 'BEGIN');
SELECT * FROM dblink('a', $$SELECT crm.merge('person', 9603, '{9601}')::text$$) AS t(r text);
SELECT dblink_send_query('b', $$SELECT pg_temp.try('SELECT crm.merge(''person'', 9601, ''{9603}'')::text')$$);
SELECT pg_sleep(0.3);
SELECT dblink_exec('a', 'COMMIT');
SELECT is(pg_temp.result('b'), 'error 55000', 'opposite merges: one wins, the other fails cleanly');
SELECT is((SELECT array_agg(coalesce(merged_into, 0) ORDER BY id) FROM crm.person WHERE id IN (9601, 9602, 9603)),
          '{9603,9603,0}'::bigint[], 'the winner''s tombstones name it, in one step');

-- The same merge twice at once: one merge.
SELECT dblink_exec('a', 'BEGIN');
SELECT * FROM dblink('a', $$SELECT crm.merge('person', 9606, '{9607}')::text$$) AS t(r text);
SELECT dblink_send_query('b', $$SELECT pg_temp.try('SELECT crm.merge(''person'', 9606, ''{9607}'')::text')$$);
SELECT pg_sleep(0.3);
SELECT dblink_exec('a', 'COMMIT');
SELECT is(pg_temp.result('b')::jsonb ->> 'noop', 'true', 'the same merge again, waiting for the first, is a no-op');
SELECT is((SELECT count(*) FROM crm.merge_log WHERE workspace_id = 96 AND survivor_id = 9606), 1::bigint, 'one merge logged');

-- Activity for a record being merged waits for the merge and lands on the survivor.
SELECT dblink_exec('a', 'BEGIN');
SELECT * FROM dblink('a', $$SELECT crm.merge('person', 9604, '{9605}')::text$$) AS t(r text);
SELECT dblink_send_query('b', $$SELECT pg_temp.try('WITH p AS (INSERT INTO crm.participant (interaction_id, address, role) '
                                 'VALUES (9631, ''bob@b96.example'', ''bcc'') RETURNING person_id) SELECT person_id::text FROM p')$$);
SELECT pg_sleep(0.3);
SELECT is(pg_temp.waiting(), 1::bigint, 'a participant written to the merged record''s address waits for the merge');
SELECT dblink_exec('a', 'COMMIT');
SELECT is(pg_temp.result('b'), '9604', 'then links to the survivor');

-- Activity written by id for a record being merged (its address known to nobody): it waits for
-- the merge, then links to the survivor, not to the tombstone.
SELECT dblink_exec('a', 'BEGIN');
SELECT * FROM dblink('a', $$SELECT crm.merge('person', 9608, '{9609}')::text$$) AS t(r text);
SELECT dblink_send_query('b', $$SELECT pg_temp.try('WITH p AS (INSERT INTO crm.participant (interaction_id, address, role, person_id) '
                                 'VALUES (9631, ''assistant@elsewhere96.example'', ''cc'', 9609) RETURNING person_id) SELECT person_id::text FROM p')$$);
SELECT pg_sleep(0.3);
SELECT is(pg_temp.waiting(), 1::bigint, 'a participant written with the id of a record being merged waits for the merge');
SELECT dblink_exec('a', 'COMMIT');
SELECT is(pg_temp.result('b'), '9608', 'then links to the survivor');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'verify_signals empty');
SELECT is((SELECT count(*) FROM crm.person WHERE workspace_id = 96 AND merged_into IS NULL), 4::bigint,
          'four live people of nine: each merge whole');
DELETE FROM crm.workspace WHERE id = 96;
SELECT * FROM finish();
