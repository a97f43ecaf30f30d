-- A bulk insert (more records than the write path probes one by one, 5,000: it reads the
-- workspace's profiles instead, and derives the counts before it from those after) keeps the
-- counts and the pairs a scan would make. (The derivation's cost at 1,000,000 records is a unit
-- test: Frequency.CountsBeforeAMillionRowInsertInOnePass.)
BEGIN;
SELECT plan(4);
SET LOCAL timezone = 'UTC';

\ir include/frequency_counts.sql
INSERT INTO crm.workspace (id, name) VALUES (81, 'bulk');
INSERT INTO crm.person (workspace_id, first_name, last_name, city, postal_code, birth_date)
-- Every record twice (i / 2): 4,000 pairs among 8,000 records.
SELECT 81, 'Given' || (i / 2 % 97), 'Surname' || (i / 2 % 3000), 'Town' || (i / 2 % 50),
       lpad((i / 2 % 400)::text, 5, '0'), date '1950-01-01' + (i / 2 % 2000)
FROM generate_series(0, 7999) i;
SELECT is((SELECT count(*) FROM crm.match_profile WHERE workspace_id = 81), 8000::bigint,
          'an 8,000-row insert profiles every record');

SELECT is(pg_temp.counts_differ(), 0::bigint, 'its counts are its profiles'' values');

CREATE TEMP TABLE written AS
SELECT record_id, other_id, score FROM crm.duplicate_candidate WHERE workspace_id = 81;
SELECT cmp_ok((SELECT count(*) FROM written), '>=', 4000::bigint, 'the insert made its pairs');
SET LOCAL crm.workspace = '81';
SELECT crm.scan_duplicates('person');
SELECT is((SELECT count(*) FROM written w
           FULL JOIN (SELECT record_id, other_id, score FROM crm.duplicate_candidate
                      WHERE workspace_id = 81 AND status = 'open') s USING (record_id, other_id)
           WHERE w.score IS NULL OR s.score IS NULL OR abs(w.score - s.score) > 1e-9), 0::bigint,
          'its pairs and scores are the scan''s');

SELECT * FROM finish();
ROLLBACK;
