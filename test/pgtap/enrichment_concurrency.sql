-- Enrichment and users writing one record at once (dblink): an enricher waits for a user's
-- uncommitted UPDATE and then respects it; two enrichers take turns, so a fill_if_empty field is
-- filled once and the second value becomes a suggestion. Sessions need committed data, so this
-- file commits its own and removes it at the end.
SELECT plan(7);
\ir include/sessions.sql
SET crm.clock = '2026-06-15 12:00:00+00';
SET crm.workspace = 142;
INSERT INTO crm.workspace (id, name) VALUES (142, 'enrichment concurrency');
INSERT INTO crm.person (id, first_name) VALUES (14201, 'Ann'), (14202, 'Bo');

SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());
SELECT dblink_exec(c, $$SET crm.workspace = '142'; SET crm.clock = '2026-06-15 12:00:00+00'$$) FROM (VALUES ('a'), ('b')) s(c);
CREATE FUNCTION pg_temp.waiting() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' $$;
CREATE FUNCTION pg_temp.result(conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  SELECT t.r INTO r FROM dblink_get_result(conn) AS t(r text);
  PERFORM pg_temp.drain(conn);
  RETURN r;
END $$;

-- A user's UPDATE in flight: the enricher waits, then sees the user's value and suggests.
SELECT dblink_exec('a', 'BEGIN');
SELECT dblink_exec('a', $$UPDATE crm.person SET title = 'Founder' WHERE id = 14201$$);
SELECT dblink_send_query('b', $$SELECT outcome FROM crm.enrich('person', 14201, '{"title": "Intern"}', 'scraper', 1, 'api')$$);
SELECT pg_sleep(0.3);
SELECT is(pg_temp.waiting(), 1::bigint, 'an enricher waits for a user''s uncommitted write of the record');
SELECT dblink_exec('a', 'COMMIT');
SELECT is(pg_temp.result('b'), 'suggested', 'then decides on the user''s committed value: a suggestion');
SELECT is((SELECT title FROM crm.person WHERE id = 14201), 'Founder', 'the user''s value stands');

-- Two enrichers at once.
SELECT dblink_exec('a', 'BEGIN');
SELECT * FROM dblink('a', $$SELECT outcome FROM crm.enrich('person', 14202, '{"title": "CTO"}', 'one', 0.9)$$) AS t(r text);
SELECT dblink_send_query('b', $$SELECT outcome FROM crm.enrich('person', 14202, '{"title": "CEO"}', 'two', 0.9)$$);
SELECT pg_sleep(0.3);
SELECT is(pg_temp.waiting(), 1::bigint, 'a second enricher of the same record waits for the first');
SELECT dblink_exec('a', 'COMMIT');
SELECT is(pg_temp.result('b'), 'suggested', 'then finds the field filled and suggests');
SELECT results_eq($$SELECT value, source FROM crm.field_provenance WHERE record_id = 14202$$,
                  $$VALUES ('"CTO"'::jsonb, 'one')$$, 'one write, one provenance row');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
SELECT is((SELECT count(*) FROM crm.field_suggestion WHERE workspace_id = 142 AND status = 'pending'), 2::bigint,
          'each value not written is one suggestion');
DELETE FROM crm.workspace WHERE id = 142;
SELECT * FROM finish();
