-- The duplicate trigger reads the written records from its transition table, not through SQL;
-- crm.scan_duplicates reads them through SQL (to_char, array_to_string, ::text). Both must build
-- the same profile from the same row, whatever the session's DateStyle and whatever the values:
-- dates before Christ and infinity, NULL elements in emails, attributes, several workspaces in
-- one statement. And the counts the C++ frequency trigger keeps must equal a recount in SQL.
BEGIN;
SELECT plan(4);
SET LOCAL timezone = 'UTC';
SET LOCAL datestyle = 'SQL, DMY';

INSERT INTO crm.workspace (id, name) VALUES (71, 'rows a'), (72, 'rows b');
INSERT INTO crm.company (id, workspace_id, name, domain, street, city, postal_code, country, attributes)
VALUES (7101, 71, 'Halden Instruments GmbH', 'halden.example', 'Hauptstraße 5', 'Köln', '50667', 'DE',
        '{"size": "51-200"}'),
       (7201, 72, 'Halden Instruments', NULL, NULL, 'Cologne', NULL, NULL, '{}');
INSERT INTO crm.person (id, workspace_id, company_id, first_name, last_name, email, emails, phone,
                        street, city, postal_code, country, birth_date, attributes)
VALUES (7111, 71, 7101, 'Jürgen', 'Müller-Lüdenscheidt', 'j.mueller@halden.example',
        ARRAY['jm@post.example', NULL, 'JMueller@Halden.Example'], '+49 221 123456',
        'Hauptstraße 5', 'Köln', '50667', 'DE', date '1961-07-04', '{"nickname": "Jo"}'),
       (7112, 71, NULL, 'Caesar', 'Julius', NULL, '{}', NULL, NULL, 'Roma', NULL, 'IT',
        date '0044-03-15 BC', '{}'),
       (7211, 72, NULL, 'Ada', 'Lovelace', 'ada@example.org', '{}', NULL, NULL, NULL, NULL, 'GB',
        'infinity', '{}'),
       (7212, 72, 7201, 'Ada', 'Lovelace', 'ada@example.org', '{}', NULL, NULL, 'London', NULL, 'GB',
        date '1815-12-10', '{}');

CREATE TEMP TABLE written AS
SELECT kind, record_id, fields, keys, fingerprint FROM crm.match_profile
WHERE record_id IN (7101, 7201, 7111, 7112, 7211, 7212);
SELECT is((SELECT count(*) FROM written), 6::bigint, 'every written record has a profile');

-- Profiles built again by the scan, through SQL.
DELETE FROM crm.match_profile WHERE record_id IN (7101, 7201, 7111, 7112, 7211, 7212);
SET LOCAL crm.workspace = '71';
SELECT crm.scan_duplicates('person'), crm.scan_duplicates('company');
SET LOCAL crm.workspace = '72';
SELECT crm.scan_duplicates('person'), crm.scan_duplicates('company');
RESET crm.workspace;
SELECT is((SELECT count(*) FROM written w JOIN crm.match_profile p USING (kind, record_id)
           WHERE (p.fields, p.keys, p.fingerprint) IS NOT DISTINCT FROM (w.fields, w.keys, w.fingerprint)),
          6::bigint, 'the trigger builds the profile the scan builds, under another DateStyle too');
SELECT is((SELECT split_part(fields, U&'\001F', 5) FROM crm.match_profile
           WHERE kind = 'person' AND record_id = 7112), '00440315',
          'a date before Christ reads as to_char writes it');

\ir include/frequency_counts.sql
UPDATE crm.person SET city = 'Bonn' WHERE id = 7111;
UPDATE crm.person SET title = 'Dr.' WHERE id = 7112;
DELETE FROM crm.person WHERE id = 7211;
SELECT is(pg_temp.counts_differ(), 0::bigint,
          'the counts are the profiles'' values after inserts, updates, deletes and re-scans');

SELECT * FROM finish();
ROLLBACK;
