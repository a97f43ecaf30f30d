-- Only the changes that matter do work (issue 12): an update of a column nothing derives from (a
-- title) rewrites no profile, no address and no pair; an update of a column a profile reads
-- rewrites that record's profile and no other, also when both kinds of rows are in one statement.
BEGIN;
SELECT plan(5);
SET LOCAL timezone = 'UTC';

INSERT INTO crm.person (id, first_name, last_name, email, city)
VALUES (9101, 'Imogen', 'Fairweather', 'imogen@fairweather.example', 'Norwich'),
       (9102, 'Imogen', 'Fairweather', 'i.fairweather@post.example', 'Norwich'),
       (9103, 'Bartholomew', 'Quince', 'bart@quince.example', 'Ely');
CREATE TEMP TABLE before AS
SELECT 'profile' AS what, record_id AS id, ctid::text AS version FROM crm.match_profile
WHERE kind = 'person' AND record_id IN (9101, 9102, 9103)
UNION ALL SELECT 'address', person_id, ctid::text FROM crm.record_address WHERE person_id IN (9101, 9102, 9103)
UNION ALL SELECT 'pair', record_id, ctid::text FROM crm.duplicate_candidate
WHERE kind = 'person' AND record_id IN (9101, 9102, 9103);
SELECT cmp_ok((SELECT count(*) FROM before WHERE what = 'pair'), '>=', 1::bigint,
              'the two Imogen Fairweathers are a pair');

UPDATE crm.person SET title = 'Dr.' WHERE id IN (9101, 9102, 9103);
SELECT is((SELECT count(*) FROM before b
           WHERE NOT EXISTS (
             SELECT FROM crm.match_profile p WHERE b.what = 'profile' AND p.kind = 'person'
               AND p.record_id = b.id AND p.ctid::text = b.version
             UNION ALL SELECT FROM crm.record_address a WHERE b.what = 'address'
               AND a.person_id = b.id AND a.ctid::text = b.version
             UNION ALL SELECT FROM crm.duplicate_candidate c WHERE b.what = 'pair'
               AND c.kind = 'person' AND c.record_id = b.id AND c.ctid::text = b.version)),
          0::bigint, 'a title update rewrites no profile, address or pair');

UPDATE crm.person SET title = 'Prof.', city = CASE WHEN id = 9103 THEN 'Cambridge' ELSE city END
WHERE id IN (9101, 9103);
SELECT isnt((SELECT ctid::text FROM crm.match_profile WHERE kind = 'person' AND record_id = 9103),
            (SELECT version FROM before WHERE what = 'profile' AND id = 9103),
            'a city update in the same statement re-profiles its record');
SELECT is((SELECT ctid::text FROM crm.match_profile WHERE kind = 'person' AND record_id = 9101),
          (SELECT version FROM before WHERE what = 'profile' AND id = 9101),
          '... and leaves the title-only row''s profile as it was');
SELECT is((SELECT split_part(fields, U&'\001F', 7) FROM crm.match_profile
           WHERE kind = 'person' AND record_id = 9103), 'cambridge', 'with the new city');

SELECT * FROM finish();
ROLLBACK;
