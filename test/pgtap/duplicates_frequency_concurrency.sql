-- Term frequencies under concurrent writes (issue 11). A session makes a pair agreeing on "quill"
-- while another makes "quill" twice as common: the second waits for the first, so its re-scoring
-- sees the first's pair, and the stored pair ends as a scan
-- scores it. Many sessions inserting the same values keep exact counts. Sessions are dblink
-- connections to this database, so this file commits its data and cleans up at the end.
SELECT plan(6);
\ir include/sessions.sql
SET client_min_messages = warning;

-- Leftovers of an interrupted run.
DELETE FROM crm.person WHERE id BETWEEN 9300 AND 9399 OR last_name IN ('Quill', 'Vantongeren');

-- 15 people named Quill: one short of twice the surname base (8). Two of them are one person,
-- but one of the two was written with another birth date and town: no pair yet.
INSERT INTO crm.person (id, first_name, last_name, birth_date, city) VALUES
  (9301, 'Ada', 'Quill', '1950-05-06', 'Bath'),
  (9302, 'Ada', 'Quill', '1962-01-01', 'Leeds');
INSERT INTO crm.person (id, first_name, last_name, city)
SELECT 9310 + i, 'Person' || i, 'Quill', 'Town ' || i FROM generate_series(1, 13) i;

SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());
-- a: the record corrected; the pair appears, scored with "quill" at 15. The update changes no
-- count of "quill": what makes the other session wait for it is its FOR SHARE read of the counts
-- (or a key stripe both claim).
SELECT dblink_send_query('a', $$BEGIN; UPDATE crm.person SET birth_date = '1950-05-06', city = 'Bath' WHERE id = 9302;
  SELECT pg_sleep(0.5); COMMIT;$$);
SELECT pg_sleep(0.1);
-- b: the 16th Quill, while a's transaction is open.
SELECT dblink_send_query('b', $$INSERT INTO crm.person (id, first_name, last_name) VALUES (9330, 'Zed', 'Quill')$$);
SELECT pg_temp.drain('a');
SELECT pg_temp.drain('b');

SELECT is((SELECT (records, peak)::text FROM crm.match_frequency
           WHERE workspace_id = 1 AND kind = 'person' AND field = 'last_name' AND value = 'quill'),
          '(16,16)', 'sixteen Quills counted');
SELECT is((SELECT evidence->'fields'->'last_name'->>'frequency_adjustment' FROM crm.duplicate_candidate
           WHERE kind = 'person' AND record_id = 9301 AND other_id = 9302), '-1',
          'the pair the other session made meanwhile weighs the common surname less');

-- Eight sessions inserting people of one new surname at once: the counts stay exact.
SELECT dblink_connect('c' || i, pg_temp.here()) FROM generate_series(1, 8) i;
SELECT dblink_send_query('c' || i, format(
  $$INSERT INTO crm.person (first_name, last_name, city) SELECT 'P%s-' || g, 'Vantongeren', 'Ghent' FROM generate_series(1, 25) g$$, i))
FROM generate_series(1, 8) i;
SELECT pg_temp.drain('c' || i) FROM generate_series(1, 8) i;
SELECT is((SELECT records FROM crm.match_frequency
           WHERE workspace_id = 1 AND kind = 'person' AND field = 'last_name' AND value = 'vantongeren'),
          200, 'two hundred written by eight sessions, two hundred counted');

-- The write path's pairs are the scan's.
CREATE TEMP TABLE written AS
  SELECT record_id, other_id, score, status FROM crm.duplicate_candidate
  WHERE kind = 'person' AND workspace_id = 1;
SELECT lives_ok($$SELECT crm.scan_duplicates('person')$$, 'scan');
SELECT is((SELECT count(*) FROM written w
           FULL JOIN (SELECT * FROM crm.duplicate_candidate WHERE kind = 'person' AND workspace_id = 1) c
             USING (record_id, other_id)
           WHERE w.record_id IS NULL OR c.record_id IS NULL OR abs(w.score - c.score) > 1e-9
              OR w.status <> c.status), 0::bigint,
          'after concurrent writes, the stored pairs and scores are the scan''s');
SELECT is((SELECT score FROM written WHERE record_id = 9301 AND other_id = 9302),
          (SELECT score FROM crm.duplicate_candidate WHERE kind = 'person' AND record_id = 9301 AND other_id = 9302),
          'including the re-scored pair');

SELECT dblink_disconnect(c) FROM unnest(dblink_get_connections()) c;
DELETE FROM crm.person WHERE id BETWEEN 9300 AND 9399 OR last_name IN ('Quill', 'Vantongeren');
SELECT * FROM finish();
