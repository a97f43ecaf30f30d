-- Duplicate people and companies, caught as they are written: the candidates and their evidence,
-- the check before creating a record, the workspace's rule, dismissals, sets and scans.
DELETE FROM crm.interaction; DELETE FROM crm.person; DELETE FROM crm.company; DELETE FROM crm.member;
\set SHOW_CONTEXT never

INSERT INTO crm.person (id, first_name, last_name, email, city) VALUES (1, 'Robert', 'Miller', 'bob.miller@gmail.com', 'Portland');
INSERT INTO crm.person (id, first_name, last_name, email, city) VALUES (2, 'Bob', 'Miller', 'Bob.Miller+crm@googlemail.com', 'Portland');
INSERT INTO crm.person (id, first_name, last_name, email, city) VALUES (3, 'Alice', 'Wong', 'alice@northwind-traders.com', 'Seattle');
SELECT workspace_id, kind, record_id, other_id, score >= 0.9 AS probable, status FROM crm.duplicate_candidate ORDER BY kind, record_id, other_id;
SELECT f.key AS field, f.value ->> 'level' AS level
FROM crm.duplicate_candidate c, jsonb_each(c.evidence -> 'fields') f
WHERE c.kind = 'person' AND c.record_id = 1 AND c.other_id = 2 ORDER BY 1;

-- Companies: legal forms, 'the', case and www. do not matter; free mail never makes a match.
INSERT INTO crm.company (id, name, domain) VALUES (1, 'The Acme Corporation, Inc.', 'acme.com'), (2, 'ACME Corp', 'www.acme.com'),
  (3, 'Joe''s Plumbing', 'gmail.com'), (4, 'Sunrise Bakery', 'gmail.com');
SELECT kind, record_id, other_id, score >= 0.9 AS probable FROM crm.duplicate_candidate WHERE kind = 'company';

-- The check an app makes before creating a record.
SELECT record_id, score >= 0.9 AS probable, evidence -> 'fields' -> 'email' ->> 'level' AS email
FROM crm.find_duplicates('person', '{"first_name": "Rob", "last_name": "Miller", "email": "BobMiller@gmail.com"}');
SELECT record_id FROM crm.find_duplicates('person', '{"first_name": "Rob", "last_name": "Miller", "email": "BobMiller@gmail.com"}', 1);
SELECT * FROM crm.find_duplicates('planet', '{}');

-- The workspace's rule: alert warns, block refuses.
SELECT crm.set_duplicate_rule('person', 'alert', 0.9);
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (4, 'Rob', 'Miller', 'bobmiller@gmail.com');
SELECT crm.set_duplicate_rule('person', 'block', 0.9);
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (5, 'Bobby', 'Miller', 'b.o.b.miller@gmail.com');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS written FROM crm.person WHERE id = 5;
SELECT crm.set_duplicate_rule('person', 'sometimes', 0.9);
\echo :LAST_ERROR_SQLSTATE
SELECT crm.set_duplicate_rule('person', 'allow', 0.9);

-- Dismissing a pair; the connected sets of what remains open.
SELECT crm.dismiss_duplicate('person', 4, 1);
SELECT record_id, other_id, status FROM crm.duplicate_candidate WHERE kind = 'person' ORDER BY record_id, other_id;
SELECT kind, set_id, record_id FROM crm.duplicate_sets ORDER BY kind, set_id, record_id;
SELECT crm.dismiss_duplicate('person', 1, 3);
\echo :LAST_ERROR_SQLSTATE

-- A scan rebuilds the candidates from the records and keeps dismissals.
SELECT crm.scan_duplicates('person') AS open_candidates;
SELECT record_id, other_id, status FROM crm.duplicate_candidate WHERE kind = 'person' ORDER BY record_id, other_id;

-- Deleting a record takes its candidates and profile with it.
DELETE FROM crm.person WHERE id = 2;
SELECT record_id, other_id, status FROM crm.duplicate_candidate WHERE kind = 'person' ORDER BY record_id, other_id;
SELECT kind, record_id FROM crm.match_profile ORDER BY kind, record_id;

DELETE FROM crm.person; DELETE FROM crm.company; DELETE FROM crm.duplicate_rule;
SELECT * FROM crm.verify_signals();
