-- Duplicate detection, what is matched: people by normalised email (case, Gmail dots and +tags,
-- googlemail), by name, birth date and address (typos, nicknames); companies by normalised name
-- and registrable domain; free-mail domains and generic addresses never make a match on their
-- own; the evidence; crm.find_duplicates; workspaces never meet.
BEGIN;
SELECT plan(46);
SET LOCAL timezone = 'UTC';

-- The pairs (lower id first) among the candidates touching any of ids, as 'a-b a-b ...'.
CREATE FUNCTION pg_temp.pairs(k text, ids bigint[], only_status text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(c.record_id || '-' || c.other_id, ' ' ORDER BY c.record_id, c.other_id), '')
  FROM crm.duplicate_candidate c
  WHERE c.kind = k AND (c.record_id = ANY (ids) OR c.other_id = ANY (ids))
    AND (only_status IS NULL OR c.status = only_status) $$;
-- The candidate row of a pair, whichever order its ids come in.
CREATE FUNCTION pg_temp.pair(k text, a bigint, b bigint) RETURNS SETOF crm.duplicate_candidate LANGUAGE sql AS $$
  SELECT * FROM crm.duplicate_candidate c WHERE c.kind = k AND c.record_id = least(a, b) AND c.other_id = greatest(a, b) $$;
-- The level the evidence of a pair gives a field.
CREATE FUNCTION pg_temp.level(k text, a bigint, b bigint, field text) RETURNS text LANGUAGE sql AS $$
  SELECT evidence -> 'fields' -> field ->> 'level' FROM pg_temp.pair(k, a, b) $$;

-- Same mailbox, written differently; the later record carries only its email.
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (101, 'John', 'Smith', 'john.smith@gmail.com');
INSERT INTO crm.person (id, email) VALUES (102, '  JohnSmith+crm@GMail.com ');
SELECT is(pg_temp.pairs('person', '{101,102}'), '101-102', 'Gmail dots, +tag and case: one candidate, lower id first');
SELECT is((SELECT status FROM pg_temp.pair('person', 101, 102)), 'open', 'the candidate is open');
SELECT cmp_ok((SELECT score FROM pg_temp.pair('person', 101, 102)), '>=', 0.9::float8, 'same email: score at least 0.9');
SELECT is(pg_temp.level('person', 101, 102, 'email'), 'exact', 'the evidence names the email field, level exact');
SELECT is((SELECT workspace_id FROM pg_temp.pair('person', 101, 102)), 1::bigint, 'the candidate is in the records'' workspace');

INSERT INTO crm.person (id, first_name, last_name, email) VALUES (103, 'Maria', 'Garcia', 'Maria.Garcia@Example.org');
INSERT INTO crm.person (id, email) VALUES (104, 'maria.garcia@EXAMPLE.ORG');
SELECT is(pg_temp.pairs('person', '{103,104}'), '103-104', 'an address differing only in case');
SELECT is(pg_temp.level('person', 103, 104, 'email'), 'exact', 'with exact email evidence');

INSERT INTO crm.person (id, first_name, last_name, email) VALUES (105, 'Pat', 'Lee', 'pat.lee@googlemail.com');
INSERT INTO crm.person (id, email) VALUES (106, 'patlee+newsletter@gmail.com');
SELECT is(pg_temp.pairs('person', '{105,106}'), '105-106', 'googlemail.com is gmail.com');

-- An email in emails[] counts like the main one.
INSERT INTO crm.person (id, first_name, last_name, email, emails) VALUES (107, 'Ines', 'Duarte', 'ines@duarte-design.com', '{ines.duarte@yahoo.com}');
INSERT INTO crm.person (id, email) VALUES (108, 'INES.DUARTE@yahoo.com');
SELECT is(pg_temp.pairs('person', '{107,108}'), '107-108', 'an additional address in emails[] matches');

-- Near-duplicates without an email in common.
INSERT INTO crm.person (id, first_name, last_name, birth_date, street, city, postal_code, email) VALUES
  (111, 'Katherine', 'Johnson', '1975-08-26', '12 Main Street', 'Springfield', '62701', 'kj@johnson-family.net');
INSERT INTO crm.person (id, first_name, last_name, birth_date, street, city, postal_code) VALUES
  (112, 'Katherine', 'Jonhson', '1975-08-26', '12 Main St.', 'Springfield', '62701');
SELECT is(pg_temp.pairs('person', '{111,112}'), '111-112', 'typo in the surname, same birth date and address: candidate');
SELECT cmp_ok((SELECT score FROM pg_temp.pair('person', 111, 112)), '>=', 0.9::float8, 'with a score of at least 0.9');
SELECT isnt(pg_temp.level('person', 111, 112, 'last_name'), NULL, 'the evidence covers the surname');
SELECT is(pg_temp.level('person', 111, 112, 'birth_date'), 'exact', 'and the birth date, exact');
SELECT ok(NOT (SELECT evidence -> 'fields' ? 'email' FROM pg_temp.pair('person', 111, 112)),
          'a field only one record has is not evidence');

INSERT INTO crm.person (id, first_name, last_name, birth_date) VALUES (113, 'Robert', 'Miller', '1968-02-03');
INSERT INTO crm.person (id, first_name, last_name, birth_date, city, postal_code) VALUES (114, 'Bob', 'Miller', '1968-02-03', 'Portland', '97201');
SELECT is(pg_temp.pairs('person', '{113,114}'), '113-114', 'Bob ~ Robert with the same surname and birth date: candidate');
SELECT is(pg_temp.level('person', 113, 114, 'first_name'), 'nickname', 'the evidence calls the given names nicknames');

-- Different people.
INSERT INTO crm.person (id, first_name, last_name, birth_date, city, email) VALUES
  (115, 'Alice', 'Wong', '1990-11-30', 'Seattle', 'alice.wong@northwind-traders.com');
INSERT INTO crm.person (id, first_name, last_name, birth_date, city) VALUES (116, 'Alicia', 'Wang', '1961-01-15', 'Boston');
SELECT is(pg_temp.pairs('person', '{115,116}'), '', 'similar names, different birth date and city: no candidate');
INSERT INTO crm.person (id, first_name, last_name, birth_date, city, email) VALUES
  (117, 'Michael', 'Brown', '1980-01-01', 'Denver', 'mbrown@alpha-widgets.com'),
  (118, 'Michael', 'Brown', '1955-07-19', 'Miami', 'mike.brown@beta-logistics.net');
SELECT is(pg_temp.pairs('person', '{117,118}'), '', 'two Michael Browns born 25 years apart in different cities: no candidate');
SELECT is(pg_temp.pairs('person', '{115,116,117,118}'), '', 'none of the different people is a candidate of anyone');

-- A shared generic address says little: two colleagues both recorded with info@.
INSERT INTO crm.company (id, name, domain) VALUES (205, 'Cyberdyne Systems', 'cyberdyne.com');
INSERT INTO crm.person (id, first_name, last_name, email, company_id) VALUES
  (121, 'Sarah', 'Connor', 'info@cyberdyne.com', 205),
  (122, 'Kyle', 'Reese', 'INFO@cyberdyne.com', 205);
SELECT is(pg_temp.pairs('person', '{121,122}'), '', 'a shared info@ address and different names: no candidate');
-- The same two people in two statements (one compared with the other as it is written).
INSERT INTO crm.person (id, first_name, last_name, email, company_id) VALUES (123, 'Miles', 'Dyson', 'sales@cyberdyne.com', 205);
INSERT INTO crm.person (id, first_name, last_name, email, company_id) VALUES (124, 'John', 'Henry', 'Sales@Cyberdyne.com', 205);
SELECT is(pg_temp.pairs('person', '{123,124}'), '', 'a shared sales@ address written one at a time: no candidate');

-- Companies.
INSERT INTO crm.company (id, name, domain) VALUES (201, 'The Acme Corporation, Inc.', 'acme.com');
INSERT INTO crm.company (id, name, domain) VALUES (202, 'ACME Corp', 'www.acme.com');
SELECT is(pg_temp.pairs('company', '{201,202}'), '201-202', '''The Acme Corporation, Inc.'' at acme.com ~ ''ACME Corp'' at www.acme.com');
SELECT cmp_ok((SELECT score FROM pg_temp.pair('company', 201, 202)), '>=', 0.9::float8, 'with a score of at least 0.9');
SELECT ok((SELECT evidence -> 'fields' ?& ARRAY['name', 'domain'] FROM pg_temp.pair('company', 201, 202)),
          'the evidence names the name and the domain');
SELECT is(pg_temp.pairs('person', '{201,202}'), '', 'company candidates are not person candidates');

INSERT INTO crm.company (id, name, domain, city) VALUES (203, 'Joe''s Plumbing', 'gmail.com', 'Springfield');
INSERT INTO crm.company (id, name, domain, city) VALUES (204, 'Sunrise Bakery', 'www.gmail.com', 'Springfield');
INSERT INTO crm.company (id, name, domain, city) VALUES (206, 'Lakeside Dental', 'GMAIL.COM', 'Springfield');
SELECT is(pg_temp.pairs('company', '{203,204,206}'), '', 'companies on gmail.com with different names: no candidate');

-- The check an app makes before creating a record: nothing is written.
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
  SELECT format('%s candidates, %s profiles', (SELECT count(*) FROM crm.duplicate_candidate), (SELECT count(*) FROM crm.match_profile)) $$;
CREATE TEMP TABLE before_find AS SELECT pg_temp.written() AS written;
SELECT results_eq(
  $$SELECT record_id FROM crm.find_duplicates('person', '{"first_name": "Bob", "last_name": "Miller", "birth_date": "1968-02-03", "city": "Portland", "postal_code": "97201"}')$$,
  $$VALUES (114::bigint), (113::bigint)$$,
  'find_duplicates: both Millers, the exact one first');
SELECT ok((SELECT bool_and(score >= 0.9 AND score <= 1) AND bool_and(evidence -> 'fields' ? 'last_name')
           FROM crm.find_duplicates('person', '{"first_name": "Bob", "last_name": "Miller", "birth_date": "1968-02-03", "city": "Portland", "postal_code": "97201"}')),
          'each with its score and evidence');
SELECT ok((SELECT coalesce(bool_and(score <= prev), true) FROM (
             SELECT score, lag(score) OVER (ORDER BY ordinality) AS prev
             FROM crm.find_duplicates('person', '{"first_name": "Bob", "last_name": "Miller", "birth_date": "1968-02-03", "city": "Portland", "postal_code": "97201"}')
                  WITH ORDINALITY) s WHERE prev IS NOT NULL),
          'best first');
SELECT results_eq(
  $$SELECT record_id FROM crm.find_duplicates('person', '{"first_name": "Bob", "last_name": "Miller", "birth_date": "1968-02-03", "city": "Portland", "postal_code": "97201"}', 1)$$,
  $$VALUES (114::bigint)$$,
  'max_results 1: only the best');
SELECT results_eq(
  $$SELECT record_id FROM crm.find_duplicates('person', (SELECT to_jsonb(p) FROM crm.person p WHERE id = 114))$$,
  $$VALUES (113::bigint)$$,
  'a record given with its "id" is not its own duplicate');
SELECT set_eq(
  $$SELECT record_id FROM crm.find_duplicates('person', '{"email": "J.O.H.N.Smith+signup@googlemail.com"}')$$,
  $$VALUES (101::bigint), (102::bigint)$$,
  'find_duplicates by a normalised email');
SELECT is_empty(
  $$SELECT * FROM crm.find_duplicates('person', '{"first_name": "Zelda", "last_name": "Fitzgerald", "email": "zelda@jazzage.org"}')$$,
  'nobody like the record: no rows');
SELECT set_eq(
  $$SELECT record_id FROM crm.find_duplicates('company', '{"name": "Acme Corporation", "domain": "http://acme.com/about"}')$$,
  $$VALUES (201::bigint), (202::bigint)$$,
  'find_duplicates for a company');
SELECT is_empty(
  $$SELECT * FROM crm.find_duplicates('company', '{"name": "Quiet Cafe", "domain": "gmail.com", "city": "Springfield"}')$$,
  'a company on gmail.com finds nobody by that domain');
SELECT throws_ok($$SELECT * FROM crm.find_duplicates('planet', '{}')$$, '22023', NULL, 'find_duplicates: unknown kind');
SELECT is(pg_temp.written(), (SELECT written FROM before_find), 'find_duplicates wrote nothing');

-- Workspaces never meet: the same records in workspace 2.
INSERT INTO crm.workspace (id, name) VALUES (2, 'other');
SET LOCAL crm.workspace = 2;
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (301, 'John', 'Smith', 'john.smith@gmail.com');
INSERT INTO crm.company (id, name, domain) VALUES (401, 'ACME Corp', 'acme.com');
SELECT is(pg_temp.pairs('person', '{301}'), '', 'an identical person in another workspace: no candidate');
SELECT is(pg_temp.pairs('company', '{401}'), '', 'an identical company in another workspace: no candidate');
SELECT results_eq($$SELECT record_id FROM crm.find_duplicates('person', '{"first_name": "John", "last_name": "Smith", "email": "john.smith@gmail.com"}')$$,
                  $$VALUES (301::bigint)$$, 'find_duplicates in workspace 2 returns only its own record');
INSERT INTO crm.person (id, email) VALUES (302, 'johnsmith@gmail.com');
SELECT is(pg_temp.pairs('person', '{301,302}'), '301-302', 'within workspace 2 the same records are candidates');
SELECT is((SELECT workspace_id FROM pg_temp.pair('person', 301, 302)), 2::bigint, 'in workspace 2');
SET LOCAL crm.workspace = 1;
SELECT set_eq($$SELECT record_id FROM crm.find_duplicates('person', '{"email": "john.smith@gmail.com"}')$$,
              $$VALUES (101::bigint), (102::bigint)$$, 'find_duplicates in workspace 1 returns only workspace 1''s records');
-- A row written into workspace 2 from a session of workspace 1 is matched in its own workspace.
INSERT INTO crm.person (id, workspace_id, first_name, last_name, email) VALUES (303, 2, 'Maria', 'Garcia', 'maria.garcia@example.org');
SELECT is(pg_temp.pairs('person', '{303}'), '', 'a workspace 2 row written from workspace 1 meets no workspace 1 record');
SELECT is((SELECT count(*)::int FROM crm.duplicate_candidate c
           WHERE EXISTS (SELECT FROM crm.person p WHERE p.id = c.record_id AND p.workspace_id <> c.workspace_id)
              OR EXISTS (SELECT FROM crm.person p WHERE p.id = c.other_id AND p.workspace_id <> c.workspace_id)), 0,
          'no person candidate joins records of different workspaces');

SELECT is_empty('SELECT * FROM crm.verify_signals()', 'signals are intact');
SELECT * FROM finish();
ROLLBACK;
