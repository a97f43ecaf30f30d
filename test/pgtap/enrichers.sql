-- Built-in enrichers: each rule, tagged with its source; on write for small statements, on
-- demand for the rest; never over a user's value; one failing record skipped and logged.
BEGIN;
SELECT plan(27);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
INSERT INTO crm.workspace (id, name) VALUES (145, 'enrichers');
SET LOCAL crm.workspace = 145;
INSERT INTO crm.member (id, email) VALUES (14551, 'me@us145.com');

-- The pure parts.
SELECT results_eq($$SELECT * FROM crm.split_display_name('Dr. Ludwig van Beethoven, PhD')
                    UNION ALL SELECT * FROM crm.split_display_name('"Doe, Jane" (Acme)')$$,
                  $$VALUES ('Ludwig', 'van Beethoven'), ('Jane', 'Doe')$$, 'display names split, honorifics and suffixes dropped');
SELECT results_eq($$SELECT crm.country_code('deu'), crm.country_name('USA'), crm.country_time_zone('Germany'),
                           crm.country_time_zone('United States'), crm.phone_country('+442079460958')$$,
                  $$VALUES ('DE', 'United States', 'Europe/Berlin', NULL, 'GB')$$, 'countries, time zones, a phone''s country');

-- On write: one person at a work address, named only in the mail that brought them (companies
-- from domains are made on write where a workspace asks for it).
UPDATE crm.enrichment_policy SET on_write_rules = rules WHERE workspace_id = 145;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (14561, 'email', '2026-06-01');
INSERT INTO crm.participant (interaction_id, address, display_name, role) VALUES
  (14561, 'me@us145.com', 'Me', 'from'), (14561, 'jane.doe@initech145.com', 'Doe, Jane', 'to'),
  (14561, 'bob@gmail.com', 'Bob Jones', 'cc');
INSERT INTO crm.person (id, email, phone, country) VALUES (14501, 'jane.doe@initech145.com', '030 1234567', 'Germany');
SELECT results_eq($$SELECT first_name, last_name, phone, country, attributes ->> 'time_zone' FROM crm.person WHERE id = 14501$$,
                  $$VALUES ('Jane', 'Doe', '030 1234567', 'Germany', 'Europe/Berlin')$$,
                  'an inserted person gets a name from the display names of their mail and a time zone from the country');
SELECT results_eq($$SELECT c.name, c.domain FROM crm.person p JOIN crm.company c ON c.id = p.company_id WHERE p.id = 14501$$,
                  $$VALUES ('Initech145', 'initech145.com')$$, 'a company from the work domain, and the person linked to it');
SELECT results_eq($$SELECT field, source, source_kind, confidence FROM crm.field_history('person', 14501) ORDER BY field$$,
                  $$VALUES ('attributes.time_zone', 'rule:country_time_zone', 'rule', 0.8::float8),
                           ('company_id', 'rule:person_company_by_domain', 'rule', 0.9),
                           ('first_name', 'rule:name_from_display_name', 'rule', 0.6),
                           ('last_name', 'rule:name_from_display_name', 'rule', 0.6)$$,
                  'each value tagged with its rule');
SELECT results_eq($$SELECT field, value, source FROM crm.field_suggestion WHERE record_id = 14501$$,
                  $$VALUES ('phone', '"+49301234567"'::jsonb, 'rule:phone_e164')$$,
                  'the phone the application wrote is the user''s: E.164 is a suggestion (read in the person''s country)');
INSERT INTO crm.person (id, email) VALUES (14502, 'bob@gmail.com'), (14503, 'x@mailinator.com'), (14504, 'me2@us145.com');
SELECT is((SELECT count(*) FROM crm.company WHERE workspace_id = 145), 1::bigint,
          'no company from free or disposable mail, nor from the team''s own domain');
SELECT results_eq($$SELECT first_name, last_name, company_id FROM crm.person WHERE id = 14502$$,
                  $$VALUES ('Bob', 'Jones', NULL::bigint)$$, 'a free-mail person is named, and linked to no company');

-- A phone an import wrote through crm.enrich is not the user's: E.164 replaces it where the policy
-- lets the rule overwrite (on demand: automated writes do not start the enrichers again).
SELECT crm.set_field_policy('person', 'phone', 'overwrite_if_more_confident', 'rule:phone_e164');
INSERT INTO crm.person (id, first_name, last_name) VALUES (14505, 'Ann', 'Lee');
SELECT count(*) FROM crm.enrich('person', 14505, '{"phone": "(415) 555-2671"}', 'crm_csv', 0.9, 'import');

-- A user's value is never replaced; an opted-out record is left alone.
INSERT INTO crm.person (id, first_name, email, country) VALUES (14506, 'Zed', 'zed@initech145.com', 'France');
SELECT is((SELECT last_name FROM crm.person WHERE id = 14506), NULL, 'no display name, no surname');
SELECT is((SELECT attributes ->> 'time_zone' FROM crm.person WHERE id = 14506), 'Europe/Paris', 'France: Europe/Paris');
SELECT crm.set_enrichment_opt_out('person', 14506);
UPDATE crm.person SET country = 'Japan' WHERE id = 14506;
SELECT is((SELECT attributes ->> 'time_zone' FROM crm.person WHERE id = 14506), 'Europe/Paris',
          'an opted-out record is not enriched when its country changes');
SELECT crm.set_enrichment_opt_out('person', 14506, false);
UPDATE crm.person SET country = 'JP' WHERE id = 14506;
SELECT is((SELECT attributes ->> 'time_zone' FROM crm.person WHERE id = 14506), 'Europe/Paris',
          'a time zone set by a rule is not overwritten by the same rule later (fill_if_empty)');
SELECT is((SELECT value FROM crm.field_suggestion WHERE record_id = 14506 AND field = 'attributes.time_zone'),
          '"Asia/Tokyo"'::jsonb, '... it is suggested');

-- A bulk UPDATE of an input is enriched for its first on_write_max_rows rows only.
UPDATE crm.enrichment_policy SET on_write_max_rows = 1 WHERE workspace_id = 145;
UPDATE crm.person SET country = 'Italy' WHERE id IN (14502, 14503, 14504);
SELECT is((SELECT count(*) FROM crm.person WHERE id IN (14502, 14503, 14504) AND attributes ->> 'time_zone' = 'Europe/Rome'),
          1::bigint, 'a three-row UPDATE of countries with on_write_max_rows 1: one record enriched on write');
UPDATE crm.person SET country = NULL, attributes = '{}' WHERE id IN (14502, 14503, 14504);
SELECT count(*) FROM crm.field_suggestion WHERE false;

-- The rules write for the writer: not into columns it may not update.
CREATE ROLE crm_test_enrichers_narrow NOLOGIN;
SELECT crm.grant_access('crm_test_enrichers_narrow', 'reader');
GRANT UPDATE (email, phone, country) ON crm.person TO crm_test_enrichers_narrow;
UPDATE crm.person SET company_id = NULL WHERE id = 14502;
SET LOCAL SESSION AUTHORIZATION crm_test_enrichers_narrow;
UPDATE crm.person SET email = 'bob@initech145.com', country = 'Japan' WHERE id = 14502;
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT company_id, attributes ->> 'time_zone' FROM crm.person WHERE id = 14502$$,
                  $$VALUES (NULL::bigint, NULL::text)$$,
                  'a writer with UPDATE on email and country only gets no company_id or attributes from the rules');
UPDATE crm.person SET email = 'bob@gmail.com', country = NULL WHERE id = 14502;

-- Bulk statements are left to crm.run_enrichers.
UPDATE crm.enrichment_policy SET on_write_max_rows = 2 WHERE workspace_id = 145;
INSERT INTO crm.person (id, email, country) VALUES (14511, 'a@globex145.com', 'Japan'), (14512, 'b@globex145.com', 'Japan'),
  (14513, 'c@globex145.com', NULL);
SELECT is((SELECT count(*) FROM crm.person WHERE id BETWEEN 14511 AND 14513 AND (company_id IS NOT NULL OR attributes ? 'time_zone')),
          0::bigint, 'a statement of more rows than on_write_max_rows is not enriched on write');
-- One record that cannot be written: skipped and logged, the others enriched.
CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused by the application'; END $$;
CREATE TRIGGER refuse_14512 BEFORE UPDATE ON crm.person FOR EACH ROW WHEN (OLD.id = 14512) EXECUTE FUNCTION pg_temp.refuse();
SELECT results_eq($$SELECT record_kind, rule, applied, suggested, failed FROM crm.run_enrichers('person')$$,
                  $$VALUES ('person', 'company_from_email_domain', 1::bigint, 0::bigint, 0::bigint),
                           ('person', 'country_from_phone', 1, 0, 0), ('person', 'country_time_zone', 1, 1, 1),
                           ('person', 'person_company_by_domain', 2, 0, 1), ('person', 'phone_e164', 1, 1, 0)$$,
                  'run_enrichers: per rule what was written, suggested and failed');
DROP TRIGGER refuse_14512 ON crm.person;
SELECT results_eq($$SELECT phone, country FROM crm.person WHERE id = 14505$$,
                  $$VALUES ('+14155552671', 'United States')$$,
                  'an imported national number became E.164, and gave the country');
SELECT results_eq($$SELECT id, company_id IS NOT NULL, attributes ->> 'time_zone' FROM crm.person WHERE id BETWEEN 14511 AND 14513 ORDER BY id$$,
                  $$VALUES (14511::bigint, true, 'Asia/Tokyo'), (14512, false, NULL), (14513, true, NULL)$$,
                  'the failing record is skipped, the others are enriched');
SELECT results_eq($$SELECT rule, applied, failed FROM crm.run_enrichers('person') WHERE applied + failed > 0$$,
                  $$VALUES ('country_time_zone', 1::bigint, 0::bigint), ('person_company_by_domain', 1, 0)$$,
                  'a second run writes only what the failure left');
SELECT is_empty($$SELECT * FROM crm.run_enrichers('person') WHERE applied + failed > 0$$, 'a third writes nothing');

-- A workspace chooses its rules.
UPDATE crm.enrichment_policy SET rules = '{name_from_display_name}', on_write_max_rows = 100 WHERE workspace_id = 145;
INSERT INTO crm.person (id, email, country) VALUES (14521, 'd@umbrella145.com', 'Japan');
SELECT results_eq($$SELECT company_id, attributes FROM crm.person WHERE id = 14521$$, $$VALUES (NULL::bigint, '{}'::jsonb)$$,
                  'rules a workspace left out do not run');
UPDATE crm.enrichment_policy SET on_write = false, rules = DEFAULT WHERE workspace_id = 145;
INSERT INTO crm.person (id, email, country) VALUES (14522, 'e@umbrella145.com', 'Japan');
SELECT is((SELECT attributes FROM crm.person WHERE id = 14522), '{}'::jsonb, 'on_write false: nothing on write');
SELECT throws_ok($$SELECT * FROM crm.run_enrichers('deal')$$, '22023', NULL, 'deals have no built-in enrichers');
SELECT throws_ok($$UPDATE crm.enrichment_policy SET rules = '{guess_salary}' WHERE workspace_id = 145$$, '23514', NULL,
                 'an unknown rule is refused');

-- Records capture makes are automated writes: their fields have provenance and are no user's.
SELECT count(*) FROM crm.ingest_email(E'From: me@us145.com\r\nTo: "Kim Park" <kim@hooli145.com>\r\nSubject: hi\r\n'
                                      'Message-ID: <e145@x.example>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nbody\r\n');
SELECT results_eq($$SELECT p.first_name, f.source, f.source_kind, f.confidence, f.users
                    FROM crm.person p, crm.field_source('person', p.id, 'first_name') f WHERE p.email = 'kim@hooli145.com'$$,
                  $$VALUES ('Kim', 'rule:capture', 'rule', 0.6::float8, false)$$,
                  'a person capture made: named by rule:capture, not the user''s');
SELECT results_eq($$SELECT c.name, f.source, f.confidence FROM crm.company c, crm.field_source('company', c.id, 'name') f
                    WHERE c.domain = 'hooli145.com'$$,
                  $$VALUES ('Hooli145', 'rule:capture', 0.5::float8)$$, 'and the company it made for the domain');

SELECT finish();
ROLLBACK;
