-- crm.duplicate_sets does not chain (issue 11): two groups of duplicates joined by one pair stay
-- two sets, a chain of records each like the next is cut, and a group with a pair its members
-- missed stays one set. Sets are the same whichever order the records came in.
BEGIN;
SELECT plan(5);
SET LOCAL timezone = 'UTC';

CREATE FUNCTION pg_temp.sets(ids bigint[]) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(members, ' ' ORDER BY members), '')
  FROM (SELECT string_agg(record_id::text, ',' ORDER BY record_id) AS members
        FROM crm.duplicate_sets WHERE kind = 'person' AND record_id = ANY (ids) GROUP BY set_id) s $$;

-- Three copies of Katherine and three of Kate, each group sharing an address; one Katherine and
-- one Kate also share a second address (a shared family mailbox, say).
INSERT INTO crm.person (id, first_name, last_name, email, emails) VALUES
  (801, 'Katherine', 'Johnson', 'katherine.johnson@gmail.com', '{}'),
  (802, 'Katherine', 'Johnson', 'Katherine.Johnson@gmail.com', '{}'),
  (803, 'Katherine', 'Johnson', 'katherine.johnson+crm@gmail.com', '{johnsons.home@gmail.com}'),
  (804, 'Kate', 'Johnston', 'kjohnston@yahoo.com', '{johnsons.home@gmail.com}'),
  (805, 'Kate', 'Johnston', 'KJohnston@yahoo.com', '{}'),
  (806, 'Kate', 'Johnston', 'kjohnston@yahoo.com', '{}');
SELECT isnt_empty($$SELECT 1 FROM crm.duplicate_candidate WHERE kind = 'person' AND record_id = 803 AND other_id = 804 AND status = 'open'$$,
                  'the one pair between the groups is a candidate');
SELECT is(pg_temp.sets('{801,802,803,804,805,806}'), '801,802,803 804,805,806',
          'two groups joined by one pair are two sets, not one of six');

-- A chain: each record like the next only (the same phone, then the same address, ...).
INSERT INTO crm.person (id, first_name, last_name, email, phone, birth_date) VALUES
  (811, 'Ann', 'Marsh', 'ann.marsh@gmail.com', '+14155550101', NULL),
  (812, 'Ann', 'Marsh', 'ann.marsh@gmail.com', '+14155550102', '1980-05-05'),
  (813, 'Anne', 'Marsh', 'a.marsh@yahoo.com', '+14155550102', '1981-07-07'),
  (814, 'Annie', 'Marsh', 'annie.m@aol.com', '+14155550103', '1981-07-07'),
  (815, 'Annie', 'Marshall', 'annie.m@aol.com', '+14155550104', '1990-09-09');
SELECT cmp_ok((SELECT count(*)::int FROM crm.duplicate_candidate WHERE kind = 'person' AND record_id BETWEEN 811 AND 815
                AND other_id BETWEEN 811 AND 815 AND status = 'open'), '>=', 4, 'the chain''s links are candidates');
SELECT ok((SELECT max(n) FROM (SELECT count(*) AS n FROM crm.duplicate_sets WHERE kind = 'person'
           AND record_id BETWEEN 811 AND 815 GROUP BY set_id) s) <= 3, 'a chain of five is cut into sets of at most three');

-- Four copies of one man, one of them too mangled to match one other copy: still one set.
INSERT INTO crm.person (id, first_name, last_name, email, phone) VALUES
  (821, 'Tomasz', 'Kowalczyk', 'tomasz.kowalczyk@gmail.com', '+48225550100'),
  (822, 'Tomasz', 'Kowalczyk', 'tomasz.kowalczyk@gmail.com', NULL),
  (823, 'Tom', 'Kowalczyk', 'TomaszKowalczyk@gmail.com', '+48225550100'),
  (824, 'T.', 'Kowalczyk', NULL, '+48225550100');
SELECT is(pg_temp.sets('{821,822,823,824}'), '821,822,823,824', 'a dense group with a missing pair stays one set');

SELECT * FROM finish();
ROLLBACK;
