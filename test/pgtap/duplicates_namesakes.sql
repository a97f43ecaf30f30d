-- Namesakes and values that identify nobody (issue 11). The demo's case: five "Richard Thompson"
-- at five companies, each first.last@ his own company's domain, are five people, not one set, and
-- under a `block` rule a sixth is not refused; a real duplicate still is. Placeholders ("N/A",
-- "Unknown", none@none.com) and titles written as the whole name agree on nothing, and a birth
-- date stored as 1 January counts as a year.
BEGIN;
SELECT plan(9);
SET LOCAL timezone = 'UTC';

INSERT INTO crm.company (id, name, domain)
SELECT 700 + i, 'Company ' || i, 'company' || i || '.example' FROM generate_series(1, 6) i;
INSERT INTO crm.person (id, first_name, last_name, email, company_id)
SELECT 700 + i, 'Richard', 'Thompson', 'richard.thompson@company' || i || '.example', 700 + i
FROM generate_series(1, 5) i;

SELECT is((SELECT count(*)::int FROM crm.duplicate_candidate
           WHERE kind = 'person' AND record_id BETWEEN 701 AND 705 AND status = 'open'), 0,
          'five namesakes at their own companies: no candidate pair');
SELECT is((SELECT count(*)::int FROM crm.duplicate_sets WHERE kind = 'person' AND record_id BETWEEN 701 AND 705), 0,
          'and no duplicate set');
SELECT is((SELECT count(*)::int FROM crm.find_duplicates('person',
             '{"first_name": "Richard", "last_name": "Thompson", "email": "richard.thompson@company9.example"}')), 0,
          'find_duplicates: a namesake at another company duplicates none of them');

SELECT lives_ok($$SELECT crm.set_duplicate_rule('person', 'block', 0.95)$$, 'a block rule at 0.95');
SELECT lives_ok($$INSERT INTO crm.person (id, first_name, last_name, email, company_id)
                  VALUES (706, 'Richard', 'Thompson', 'richard.thompson@company6.example', 706)$$,
                'a new namesake at his own company is not refused');
SELECT throws_ok($$INSERT INTO crm.person (id, first_name, last_name, email, company_id)
                   VALUES (707, 'Rich', 'Thompson', 'Richard.Thompson@company2.example', 702)$$,
                 '23505', NULL, 'the same man again (his address at his company) is refused');
SELECT lives_ok($$SELECT crm.set_duplicate_rule('person', 'allow', 0.9)$$, 'back to allow');

-- Placeholders and titles: records that say nothing about who they are pair with nobody.
INSERT INTO crm.person (id, first_name, last_name, email, city, postal_code) VALUES
  (711, 'N/A', 'Unknown', 'none@none.com', 'Unknown', '00000'),
  (712, 'n/a', 'UNKNOWN', 'none@none.com', 'n/a', '00000'),
  (713, 'Sir', 'Bt.', 'noemail@company1.example', 'unknown', '0');
SELECT is((SELECT count(*)::int FROM crm.duplicate_candidate
           WHERE kind = 'person' AND (record_id BETWEEN 711 AND 713 OR other_id BETWEEN 711 AND 713)), 0,
          'placeholder names, addresses, cities and postal codes pair nobody');

-- A 1 January birth date agrees as a year: the evidence says same_year, not exact.
INSERT INTO crm.person (id, first_name, last_name, birth_date, postal_code, email) VALUES
  (721, 'Ann', 'Lee', '1950-01-01', '10001', 'ann.lee@gmail.com'),
  (722, 'Ann', 'Lee', '1950-01-01', '10001', 'ann.lee@gmail.com');
SELECT is((SELECT evidence -> 'fields' -> 'birth_date' ->> 'level' FROM crm.duplicate_candidate
           WHERE kind = 'person' AND record_id = 721 AND other_id = 722), 'same_year',
          'two 1 January birth dates agree as far as the year');

SELECT * FROM finish();
ROLLBACK;
