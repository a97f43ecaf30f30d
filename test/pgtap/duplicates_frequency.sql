-- Term frequencies (issue 11): agreeing on a value many records hold weighs less. The counts in
-- crm.match_frequency follow every insert, update, delete and truncate; a stored pair is scored
-- again when a value it agrees on doubles, so the write path's pairs and scores stay exactly what
-- crm.scan_duplicates computes, after any mix of writes; find_duplicates scores an unsaved record
-- as its insert would.
BEGIN;
SELECT plan(12);
SET LOCAL timezone = 'UTC';

\ir include/frequency_counts.sql

INSERT INTO crm.person (id, first_name, last_name, city, birth_date)
SELECT 900 + i, 'Agnes', 'Pemberton', 'Bath', date '1960-01-02' + i FROM generate_series(1, 3) i;
SELECT is((SELECT records FROM crm.match_frequency
           WHERE kind = 'person' AND field = 'last_name' AND value = 'pemberton'), 3,
          'an insert counts its values');
INSERT INTO crm.company (id, name, street, city, postal_code)
VALUES (950, 'Palace Court', '3570 Las Vegas Boulevard South', 'Las Vegas', '89109');
SELECT is((SELECT array_agg(field || '=' || value ORDER BY field)::text FROM crm.match_frequency
           WHERE kind = 'company' AND workspace_id = 1 AND records > 0
             AND value IN ('palace court', '3570 las vegas blvd s', 'las vegas', '89109')),
          '{"city=las vegas","name=palace court",postal_code=89109,"street=3570 las vegas blvd s"}',
          'the counted fields of a company, normalised as its profile');
UPDATE crm.person SET last_name = 'Pembertone' WHERE id = 901;
DELETE FROM crm.person WHERE id = 902;
SELECT is((SELECT (records, peak)::text FROM crm.match_frequency
           WHERE kind = 'person' AND field = 'last_name' AND value = 'pemberton'), '(1,3)',
          'updates and deletes take their values out; the peak stays');

-- The same evidence on a rare and on a common surname.
INSERT INTO crm.person (id, first_name, last_name, city, birth_date) VALUES
  (911, 'Zebulon', 'Quarrington', 'Bath', '1970-03-04'),
  (912, 'Zebulon', 'Quarrington', 'Bath', '1970-03-05'),
  (913, 'John', 'Smith', 'Bath', '1970-03-04'),
  (914, 'John', 'Smith', 'Bath', '1970-03-05');
SELECT is((SELECT evidence->'fields'->'last_name'->>'frequency_adjustment' FROM crm.duplicate_candidate
           WHERE record_id = 913 AND other_id = 914), NULL, 'two Smiths: nothing to adjust yet');
-- 62 more Smiths elsewhere: 64 hold the surname, three doublings past the base of 8.
INSERT INTO crm.person (first_name, last_name, city)
SELECT 'Person' || i, 'Smith', 'Town ' || i FROM generate_series(1, 62) i;
SELECT is((SELECT evidence->'fields'->'last_name' FROM crm.duplicate_candidate
           WHERE record_id = 913 AND other_id = 914),
          '{"level": "exact", "records": 64, "weight": 7.04, "frequency_adjustment": -3}'::jsonb,
          'the stored pair was scored again when its surname grew common');
SELECT cmp_ok((SELECT score FROM crm.duplicate_candidate WHERE record_id = 913 AND other_id = 914), '<',
              (SELECT score FROM crm.duplicate_candidate WHERE record_id = 911 AND other_id = 912),
              'the common name scores below the rare one on the same evidence');
-- Mixed writes from a small pool of names, then a scan: the same pairs, the same scores.
SELECT setseed(0.11);
INSERT INTO crm.person (first_name, last_name, city, postal_code, birth_date)
SELECT (ARRAY['John', 'Jon', 'Mary', 'Maria', 'Ann', 'Anne'])[1 + floor(random() * 6)],
       (ARRAY['Smith', 'Smyth', 'Jones', 'Brown', 'Browne'])[1 + floor(random() * 5)],
       (ARRAY['Bath', 'Leeds', 'York'])[1 + floor(random() * 3)],
       (ARRAY['BA1 1AA', 'LS1 1AA', 'YO1 1AA', NULL])[1 + floor(random() * 4)],
       date '1970-01-01' + floor(random() * 40)::int
FROM generate_series(1, 150);
UPDATE crm.person SET first_name = 'Mary' WHERE id % 7 = 0 AND first_name = 'Maria';
UPDATE crm.person SET last_name = 'Jones', city = 'Leeds' WHERE id % 11 = 0;
DELETE FROM crm.person WHERE id % 13 = 0;
INSERT INTO crm.person (first_name, last_name, city, birth_date)
SELECT 'John', 'Jones', 'Leeds', date '1970-01-01' + i FROM generate_series(1, 40) i;
SELECT is(pg_temp.counts_differ(), 0::bigint, 'the counts are the stored profiles'' values');
CREATE TEMP TABLE written AS
  SELECT record_id, other_id, score, status FROM crm.duplicate_candidate WHERE kind = 'person';
SELECT ok((SELECT count(*) FROM written) > 100, 'the writes made pairs to compare');
SELECT lives_ok($$SELECT crm.scan_duplicates('person')$$, 'scan');
SELECT is((SELECT count(*) FROM written w FULL JOIN crm.duplicate_candidate c USING (record_id, other_id)
           WHERE c.kind IS DISTINCT FROM 'person' OR w.record_id IS NULL
              OR abs(w.score - c.score) > 1e-9 OR w.status <> c.status), 0::bigint,
          'the write path''s pairs and scores are the scan''s');

-- An unsaved record is scored as its insert would be: counted once more.
SELECT is((SELECT round(score::numeric, 12) FROM crm.find_duplicates('person',
             '{"first_name": "Zebulon", "last_name": "Quarrington", "city": "Bath", "birth_date": "1970-03-04"}')
           WHERE record_id = 912),
          (SELECT round(score::numeric, 12) FROM crm.duplicate_candidate WHERE record_id = 911 AND other_id = 912),
          'find_duplicates scores a probe like the stored pair');

TRUNCATE crm.person CASCADE;
SELECT is((SELECT count(*) FROM crm.match_frequency WHERE kind = 'person'), 0::bigint,
          'a truncated table starts its counts over');

SELECT * FROM finish();
ROLLBACK;
