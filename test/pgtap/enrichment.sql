-- Enrichment that never blindly overwrites (docs/ENRICHMENT.md): every policy against an empty
-- field, a user's value and a less and a more confident automated value; a user's own UPDATE
-- locks a field and clearing it releases it; suggestions, rejections, idempotence, opt-out,
-- provenance through merges and deletes, bad input, roles and workspaces.
BEGIN;
SELECT plan(62);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
INSERT INTO crm.workspace (id, name) VALUES (14, 'enrichment'), (141, 'elsewhere');
SET LOCAL crm.workspace = 14;

-- Sixteen people: four states of the title field, each offered a title by four sources whose
-- policies differ.
CREATE TEMP TABLE states (state text, base bigint);
INSERT INTO states VALUES ('empty', 1400), ('user', 1410), ('lower', 1420), ('higher', 1430);
CREATE TEMP TABLE policies (n int, policy text);
INSERT INTO policies VALUES (1, 'never'), (2, 'fill_if_empty'), (3, 'overwrite_if_more_confident'), (4, 'always');
INSERT INTO crm.person (id, first_name) SELECT s.base + p.n, 'P' || (s.base + p.n) FROM states s, policies p;
SELECT crm.set_field_policy('person', 'title', p.policy, 'src_' || p.policy) FROM policies p;
UPDATE crm.person SET title = 'Mine' WHERE id BETWEEN 1411 AND 1414;
SELECT count(*) FROM policies p, crm.enrich('person', 1420 + p.n, '{"title": "Auto"}', 'seed', 0.5);
SELECT count(*) FROM policies p, crm.enrich('person', 1430 + p.n, '{"title": "Auto"}', 'seed', 0.9);

SELECT results_eq(
  $$SELECT s.state, p.policy, e.outcome
    FROM states s CROSS JOIN policies p
    CROSS JOIN LATERAL crm.enrich('person', s.base + p.n, '{"title": "Offered"}', 'src_' || p.policy, 0.8) e
    ORDER BY s.base, p.n$$,
  $$VALUES ('empty', 'never', 'suggested'), ('empty', 'fill_if_empty', 'applied'),
           ('empty', 'overwrite_if_more_confident', 'applied'), ('empty', 'always', 'applied'),
           ('user', 'never', 'suggested'), ('user', 'fill_if_empty', 'suggested'),
           ('user', 'overwrite_if_more_confident', 'suggested'), ('user', 'always', 'suggested'),
           ('lower', 'never', 'suggested'), ('lower', 'fill_if_empty', 'suggested'),
           ('lower', 'overwrite_if_more_confident', 'applied'), ('lower', 'always', 'applied'),
           ('higher', 'never', 'suggested'), ('higher', 'fill_if_empty', 'suggested'),
           ('higher', 'overwrite_if_more_confident', 'suggested'), ('higher', 'always', 'applied')$$,
  'every policy against an empty field, a user''s value, and a less and a more confident automated value');
SELECT results_eq(
  $$SELECT id, title FROM crm.person WHERE id BETWEEN 1401 AND 1434 ORDER BY id$$,
  $$VALUES (1401::bigint, NULL), (1402, 'Offered'), (1403, 'Offered'), (1404, 'Offered'),
           (1411, 'Mine'), (1412, 'Mine'), (1413, 'Mine'), (1414, 'Mine'),
           (1421, 'Auto'), (1422, 'Auto'), (1423, 'Offered'), (1424, 'Offered'),
           (1431, 'Auto'), (1432, 'Auto'), (1433, 'Auto'), (1434, 'Offered')$$,
  'the records hold what the decisions said');
SELECT is((SELECT count(*) FROM crm.field_suggestion WHERE record_id BETWEEN 1401 AND 1434 AND status = 'pending'),
          10::bigint, 'each value not written is a pending suggestion');
SELECT results_eq(
  $$SELECT reason FROM crm.field_suggestion WHERE record_id IN (1401, 1412, 1433) ORDER BY record_id$$,
  $$VALUES ('the field''s policy for this source is never'), ('the field holds a user''s value'),
           ('confidence 0.8 is not above the current 0.9 (api)')$$,
  'a suggestion says why it was not written');
-- A policy for the field and any source is less specific than one for the source.
SELECT crm.set_field_policy('person', 'title', 'always');
SELECT is((SELECT outcome FROM crm.enrich('person', 1431, '{"title": "Again"}', 'src_never', 0.8)), 'suggested',
          'a source''s own policy wins over the field''s policy for any source');
SELECT is((SELECT outcome FROM crm.enrich('person', 1431, '{"title": "Again"}', 'someone', 0.1)), 'applied',
          '... which other sources follow');

-- Provenance: what wrote each value, readable per field.
SELECT results_eq(
  $$SELECT field, value, source, source_kind, confidence, observed_at, written_at, actor = current_user
    FROM crm.field_history('person', 1423, 'title')$$,
  $$VALUES ('title', '"Auto"'::jsonb, 'seed', 'api', 0.5::float8, '2026-06-15 12:00:00+00'::timestamptz,
            '2026-06-15 12:00:00+00'::timestamptz, true),
           ('title', '"Offered"', 'src_overwrite_if_more_confident', 'api', 0.8, '2026-06-15 12:00:00+00',
            '2026-06-15 12:00:00+00', true)$$,
  'field_history lists every write of a field, oldest first, with source, kind, confidence and actor');
SELECT results_eq(
  $$SELECT value, source, source_kind, confidence, users FROM crm.field_source('person', 1423, 'title')$$,
  $$VALUES ('"Offered"'::jsonb, 'src_overwrite_if_more_confident', 'api', 0.8::float8, false)$$,
  'field_source names the source of the value the field holds');
SELECT results_eq(
  $$SELECT value, source, source_kind, users FROM crm.field_source('person', 1411, 'title')$$,
  $$VALUES ('"Mine"'::jsonb, 'user', 'user', true)$$, 'a user''s UPDATE is recorded as the user''s');
SELECT results_eq(
  $$SELECT value, source, users FROM crm.field_source('person', 1411, 'first_name')$$,
  $$VALUES ('"P1411"'::jsonb, NULL::text, true)$$,
  'a value nothing recorded (written at INSERT) has no source and counts as a user''s');
SELECT count(*) FROM crm.enrich('person', 1401, '{"city": "Oslo"}', 'census', 0.9, 'import', '2020-01-01');
SELECT is((SELECT observed_at FROM crm.field_source('person', 1401, 'city')),
          '2020-01-01 00:00:00+00'::timestamptz, 'observed_at keeps when the source saw the value');

-- Idempotence: offering the same values again writes nothing.
UPDATE crm.person SET updated_at = '2026-01-01' WHERE id = 1402;
SELECT is((SELECT count(*) FROM crm.field_provenance WHERE record_id = 1402), 1::bigint, 'one provenance row after the first write');
SELECT results_eq($$SELECT field, outcome FROM crm.enrich('person', 1402, '{"title": "Offered"}', 'src_fill_if_empty', 0.8)$$,
                  $$VALUES ('title', 'unchanged')$$, 'the same value again is unchanged');
SELECT is((SELECT count(*) FROM crm.field_provenance WHERE record_id = 1402), 1::bigint, '... and leaves no new provenance row');
SELECT is((SELECT updated_at FROM crm.person WHERE id = 1402), '2026-01-01 00:00:00+00'::timestamptz, '... nor a new updated_at');
SELECT is((SELECT count(*) FROM crm.enrich('person', 1412, '{"title": "Offered"}', 'src_fill_if_empty', 0.8)
           WHERE outcome = 'suggested'), 1::bigint, 'a value suggested again is still suggested');
SELECT is((SELECT count(*) FROM crm.field_suggestion WHERE record_id = 1412), 1::bigint, '... as the same one suggestion');
SELECT is((SELECT outcome FROM crm.enrich('person', 1402, '{"title": null}', 'src_fill_if_empty', 0.8)), 'unchanged',
          'an offered null clears nothing');

-- A user's write locks the field; clearing it releases it.
UPDATE crm.person SET title = 'Chief' WHERE id = 1402;
SELECT is((SELECT outcome FROM crm.enrich('person', 1402, '{"title": "CTO"}', 'someone', 1)), 'suggested',
          'after a user''s UPDATE no source (policy always, confidence 1) changes the field');
UPDATE crm.person SET title = NULL WHERE id = 1402;
SELECT is((SELECT outcome FROM crm.enrich('person', 1402, '{"title": "CTO"}', 'someone', 1)), 'applied',
          'once the user clears it, the field is filled again');
SELECT is((SELECT users FROM crm.field_source('person', 1402, 'title')), false, '... by the source, not the user');

-- Suggestions: accept makes the value the user's, reject keeps it from coming back.
SELECT crm.reject_suggestion((SELECT id FROM crm.field_suggestion WHERE record_id = 1412));
SELECT is((SELECT outcome FROM crm.enrich('person', 1412, '{"title": "Offered"}', 'src_fill_if_empty', 0.8)), 'rejected_before',
          'a rejected value from the same source does not come back');
SELECT is((SELECT outcome FROM crm.enrich('person', 1412, '{"title": "Offered"}', 'another', 0.8)), 'suggested',
          '... from another source it is a new suggestion');
SELECT crm.accept_suggestion((SELECT id FROM crm.field_suggestion WHERE record_id = 1431 AND source = 'src_never' AND value = '"Again"'));
SELECT results_eq($$SELECT title, (crm.field_source('person', id, 'title')).users FROM crm.person WHERE id = 1431$$,
                  $$VALUES ('Again', true)$$, 'an accepted suggestion is written and becomes the user''s');
SELECT throws_ok($$SELECT crm.accept_suggestion((SELECT id FROM crm.field_suggestion WHERE record_id = 1412 AND source = 'src_fill_if_empty'))$$,
                 '55000', NULL, 'a decided suggestion cannot be decided again');
SELECT throws_ok($$SELECT crm.reject_suggestion(-1)$$, 'P0002', NULL, 'an unknown suggestion is P0002');

-- Attributes are fields of their own.
SELECT results_eq($$SELECT field, outcome FROM crm.enrich('person', 1403, '{"attributes": {"tier": "gold", "seats": 40}}', 'crm_import', 0.9, 'import')$$,
                  $$VALUES ('attributes.seats', 'applied'), ('attributes.tier', 'applied')$$, 'attribute keys are offered one by one');
UPDATE crm.person SET attributes = attributes || '{"tier": "platinum"}' WHERE id = 1403;
SELECT results_eq($$SELECT field, outcome FROM crm.enrich('person', 1403, '{"attributes": {"tier": "silver", "seats": 41}}', 'crm_import', 0.9, 'import')$$,
                  $$VALUES ('attributes.seats', 'suggested'), ('attributes.tier', 'suggested')$$,
                  'a user''s edit of one key locks that key; the other stays the import''s (fill_if_empty keeps it)');
SELECT results_eq($$SELECT source_kind FROM crm.field_source('person', 1403, 'attributes.tier')
                    UNION ALL SELECT source_kind FROM crm.field_source('person', 1403, 'attributes.seats')$$,
                  $$VALUES ('user'), ('import')$$, 'field_source reads attribute keys');

-- Types: values go through the column's type.
INSERT INTO crm.company (id, name) VALUES (1451, 'Initech');
SELECT results_eq($$SELECT outcome FROM crm.enrich('company', 1451, '{"employee_count": "250"}', 'registry', 0.9)
                    UNION ALL SELECT outcome FROM crm.enrich('company', 1451, '{"employee_count": 250}', 'registry', 0.9)$$,
                  $$VALUES ('applied'), ('unchanged')$$, '"250" and 250 are the same employee count');

-- Opt-out.
SELECT crm.set_enrichment_opt_out('person', 1404);
SELECT results_eq($$SELECT outcome FROM crm.enrich('person', 1404, '{"city": "Rome"}', 'someone', 1)$$,
                  $$VALUES ('opted_out')$$, 'an opted-out record takes no automated value');
SELECT is((SELECT count(*) FROM crm.field_suggestion WHERE record_id = 1404 AND field = 'city'), 0::bigint, '... and no suggestion');
SELECT crm.set_enrichment_opt_out('person', 1404, false);
SELECT is((SELECT outcome FROM crm.enrich('person', 1404, '{"city": "Rome"}', 'someone', 1)), 'applied', 'opted back in, it does');

-- Merges: a value the survivor takes from another record keeps its provenance, and a user's
-- value stays the user's; unmerge takes the merge's rows away.
INSERT INTO crm.person (id, first_name, last_name) VALUES (1461, 'Ann', 'Lee'), (1462, 'Ann', 'Lee');
SELECT count(*) FROM crm.enrich('person', 1462, '{"title": "Buyer"}', 'apollo', 0.6);
UPDATE crm.person SET city = 'Bergen' WHERE id = 1462;
SELECT is((crm.merge('person', 1461, '{1462}') ->> 'merge_id') IS NOT NULL, true, 'merge');
SELECT results_eq($$SELECT field, value, source_kind, confidence FROM crm.field_history('person', 1461) ORDER BY field$$,
                  $$VALUES ('city', '"Bergen"'::jsonb, 'user', 1::float8), ('title', '"Buyer"', 'merge', 0.6)$$,
                  'the survivor''s new values are the merge''s, with the confidence they had; the user''s stays the user''s');
SELECT is((SELECT outcome FROM crm.enrich('person', 1461, '{"city": "Oslo"}', 'someone', 1)), 'suggested',
          'a user''s value merged in is still locked');
SELECT crm.unmerge((SELECT max(id) FROM crm.merge_log WHERE survivor_id = 1461));
SELECT is((SELECT count(*) FROM crm.field_provenance WHERE record_id = 1461 AND source LIKE 'merge:%'), 0::bigint,
          'unmerge takes the merge''s provenance away');

-- Deleting a record deletes its provenance, suggestions and opt-out.
SELECT crm.set_enrichment_opt_out('person', 1411);
DELETE FROM crm.person WHERE id IN (1411, 1423);
SELECT is((SELECT count(*) FROM crm.field_provenance WHERE record_id IN (1411, 1423))
          + (SELECT count(*) FROM crm.field_suggestion WHERE record_id IN (1411, 1423))
          + (SELECT count(*) FROM crm.enrichment_opt_out WHERE record_id IN (1411, 1423)), 0::bigint,
          'a deleted record leaves no provenance, suggestion or opt-out behind');

-- Bad input: clear errors, nothing written.
SELECT throws_ok($$SELECT * FROM crm.enrich('widget', 1, '{}', 's')$$, '22023', NULL, 'unknown kind');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1401, '{"shoe_size": 9}', 's')$$, '22023', NULL, 'unknown field');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1401, '{"title": "Ok", "birth_date": "soon"}', 's')$$, '22023', NULL,
                 'a value the column cannot take');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1401, '{"title": "x"}', 's', 1.5)$$, '22023', NULL, 'confidence above 1');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1401, '{"title": "x"}', 's', 1, 'merge')$$, '22023', NULL,
                 'only merges write as merges');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1411, '{"title": "x"}', 's', 1, 'user')$$, '22023', NULL,
                 'no source may declare its value a user''s (which would pass every lock)');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1401, '{"phone": "+14155552671"}', 'rule:phone_e164', 1, 'rule')$$, '22023', NULL,
                 'the extension''s own source names are reserved (their policies, unmerge''s clean-up)');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1401, '[1]', 's')$$, '22023', NULL, 'values must be an object');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 999999, '{"title": "x"}', 's')$$, 'P0002', NULL, 'an unknown record');
SELECT throws_ok($$SELECT crm.set_field_policy('person', 'title', 'sometimes')$$, '22023', NULL, 'unknown policy');

-- A field_provenance a DBA gave a trigger of its own still gets every row, and the trigger sees
-- them (user writes skip the executor only while the table has no trigger to fire).
CREATE TABLE pg_temp.audited (field text);
CREATE FUNCTION pg_temp.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO pg_temp.audited VALUES (NEW.field); RETURN NULL; END $$;
CREATE TRIGGER audit_provenance AFTER INSERT ON crm.field_provenance FOR EACH ROW EXECUTE FUNCTION pg_temp.audit();
UPDATE crm.person SET postal_code = '0150', last_name = 'Berg' WHERE id = 1401;
SELECT results_eq($$SELECT field FROM pg_temp.audited ORDER BY 1$$, $$VALUES ('last_name'), ('postal_code')$$,
                  'a trigger on field_provenance sees the rows of a user''s write');
DROP TRIGGER audit_provenance ON crm.field_provenance;
UPDATE crm.person SET postal_code = '0151' WHERE id = 1401;
SELECT results_eq($$SELECT field, value, source_kind FROM crm.field_history('person', 1401) WHERE field IN ('last_name', 'postal_code')$$,
                  $$VALUES ('last_name', '"Berg"'::jsonb, 'user'), ('postal_code', '"0150"', 'user'), ('postal_code', '"0151"', 'user')$$,
                  'written either way, the rows are the same');

-- A DBA's column with a default on field_provenance: user writes take the SQL path and honour it.
ALTER TABLE crm.field_provenance ADD COLUMN dba_note text NOT NULL DEFAULT 'n/a';
UPDATE crm.person SET postal_code = '0152' WHERE id = 1401;
SELECT is((SELECT dba_note FROM crm.field_provenance WHERE record_id = 1401 AND value = '"0152"'), 'n/a',
          'a column a DBA added to field_provenance gets its default');
ALTER TABLE crm.field_provenance DROP COLUMN dba_note;
ALTER TABLE crm.field_provenance ADD CONSTRAINT dba_value_given CHECK (value <> '"forbidden"') NOT VALID;
SELECT throws_ok($$UPDATE crm.person SET postal_code = 'forbidden' WHERE id = 1401$$, '23514', NULL,
                 'a CHECK a DBA added to field_provenance is honoured too');
ALTER TABLE crm.field_provenance DROP CONSTRAINT dba_value_given;

-- Merging companies: the people who named a merged company keep the standing of that value.
INSERT INTO crm.company (id, name) VALUES (1481, 'Umbrella'), (1482, 'Umbrella Corp');
INSERT INTO crm.person (id, first_name) VALUES (1483, 'Ada'), (1484, 'Bea');
SELECT count(*) FROM crm.enrich('person', 1483, '{"company_id": 1482}', 'registry', 0.7, 'rule');
UPDATE crm.person SET company_id = 1482 WHERE id = 1484;
SELECT is((crm.merge('company', 1481, '{1482}') ->> 'merge_id') IS NOT NULL, true, 'companies merged');
SELECT results_eq($$SELECT p.id, p.company_id, s.source_kind, s.confidence, s.users
                    FROM crm.person p, crm.field_source('person', p.id, 'company_id') s WHERE p.id IN (1483, 1484) ORDER BY p.id$$,
                  $$VALUES (1483::bigint, 1481::bigint, 'merge', 0.7::float8, false), (1484, 1481, 'user', 1, true)$$,
                  'a rule''s company stays a rule''s (overwritable), a user''s stays the user''s');
SELECT crm.unmerge((SELECT max(id) FROM crm.merge_log WHERE survivor_id = 1481));
SELECT results_eq($$SELECT p.id, p.company_id, s.source FROM crm.person p, crm.field_source('person', p.id, 'company_id') s
                    WHERE p.id IN (1483, 1484) ORDER BY p.id$$,
                  $$VALUES (1483::bigint, 1482::bigint, 'registry'), (1484, 1482, 'user')$$,
                  'unmerged, the people''s values have their old provenance again');

-- Roles and workspaces.
INSERT INTO crm.person (id, workspace_id, first_name) VALUES (1471, 141, 'Other');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1471, '{"title": "x"}', 's')$$, 'P0002', NULL,
                 'a record of another workspace cannot be enriched from this one');
CREATE ROLE crm_test_enrich_app NOLOGIN;
SELECT crm.grant_access('crm_test_enrich_app', 'application');
CREATE ROLE crm_test_enrich_narrow NOLOGIN;
SELECT crm.grant_access('crm_test_enrich_narrow', 'reader');
GRANT EXECUTE ON FUNCTION crm.enrich(text, bigint, jsonb, text, float8, text, timestamptz),
                          crm.set_enrichment_opt_out(text, bigint, boolean), crm.reject_suggestion(bigint),
                          crm._pending_suggestion(bigint) TO crm_test_enrich_narrow;
UPDATE crm.workspace SET roles = '{crm_test_enrich_narrow}' WHERE id = 141;
SET LOCAL ROLE crm_test_enrich_narrow;
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1401, '{"title": "x"}', 's')$$, '42501', NULL,
                 'a role that may not UPDATE people cannot write them through crm.enrich');
SELECT throws_ok($$SELECT crm.set_enrichment_opt_out('person', 1401)$$, '42501', NULL, '... nor opt them out');
SELECT throws_ok($$SELECT crm.reject_suggestion((SELECT id FROM crm.field_suggestion WHERE record_id = 1413 AND status = 'pending' LIMIT 1))$$,
                 '42501', NULL, '... nor reject a suggestion for them');
RESET ROLE;
SET LOCAL ROLE crm_test_enrich_app;
SET LOCAL crm.workspace = 141;
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1471, '{"title": "x"}', 's')$$, '42501', NULL,
                 'an application role cannot enrich in a workspace closed to it');
RESET ROLE;
SET LOCAL crm.workspace = 14;
CREATE ROLE crm_test_enrich_reader NOLOGIN;
SELECT crm.grant_access('crm_test_enrich_reader', 'reader');
SET LOCAL ROLE crm_test_enrich_reader;
SELECT is((SELECT count(*) FROM crm.field_history('person', 1402)), 4::bigint, 'a reader reads provenance');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 1401, '{"title": "x"}', 's')$$, '42501', NULL,
                 'a reader cannot enrich');
RESET ROLE;

SELECT finish();
ROLLBACK;
