-- The data-quality report (docs/QUALITY.md): every built-in check on a small crafted workspace,
-- thresholds at their boundaries, a workspace's own checks as rows, broken checks reported as
-- errors while the others run, the kind filter, daily snapshots and the view, the update-volume
-- outliers, tombstones left out, and a reader who sees only its workspace.
BEGIN;
SELECT plan(77);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
INSERT INTO crm.workspace (id, name) VALUES (85, 'quality'), (86, 'elsewhere');
-- The data as written: no enricher fills on write what the checks look for (docs/ENRICHMENT.md).
UPDATE crm.enrichment_policy SET on_write = false WHERE workspace_id IN (85, 86);
SET LOCAL crm.workspace = 86;
INSERT INTO crm.person (first_name, last_name, email) VALUES ('OTTO', 'OTHER', 'otto@@nowhere86');
SET LOCAL crm.workspace = 85;
INSERT INTO crm.member (id, email) VALUES (8501, 'me@us85.com');
INSERT INTO crm.company (id, name, domain, phone, country, owner_member_id) VALUES
  (8511, 'Acme', 'acme85.com', '+44 20 7946 0958', 'GB', 8501),
  (8512, 'Globex', 'globex85.io', NULL, NULL, NULL),
  (8513, 'Initech', 'not a domain', '12', 'US', NULL),
  (8514, 'Acme Ltd', 'localhost', NULL, NULL, NULL);
INSERT INTO crm.deal (id, company_id, name, stage, amount) VALUES
  (8531, 8511, 'Acme renewal', 'Closed Won', 1000),
  (8532, 8512, 'Globex pilot', 'proposal', NULL),
  (8533, 8513, 'Initech deal', 'closed_won', 500),
  (8534, 8512, 'Globex lost', 'lost', 10);
INSERT INTO crm.person (id, first_name, last_name, email, phone, title, company_id, owner_member_id, lifecycle_stage, country) VALUES
  (8521, 'Ann', 'Lee', 'ann@acme85.com', '+1 415 555 2671', 'CTO', 8511, 8501, 'customer', NULL),
  (8522, 'BOB', 'SMITH', 'bob@globex85.io', NULL, NULL, 8512, NULL, 'Customer', NULL),
  (8523, 'Cat', 'Doe', 'not-an-email', NULL, NULL, NULL, NULL, 'opportunity', NULL),
  (8524, 'Dan', 'Roe', 'dan@globex85.io', NULL, NULL, 8512, NULL, 'opportunity', NULL),
  (8525, 'Eve', 'Poe', 'eve@mail.globex85.io', 'abc', NULL, NULL, NULL, 'lead', NULL),
  (8526, 'ZED', 'ZULU', 'zed@@bad85', NULL, NULL, NULL, NULL, NULL, NULL),
  (8527, 'Frank', 'Moss', 'frank.moss@initech85.com', '+1 212 555 0101', NULL, 8513, NULL, NULL, 'US'),
  (8528, 'Frank', 'Moss', 'f.moss@initech85.com', '+1 212 555 0101', NULL, 8513, NULL, NULL, 'US');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (8541, 'email', '2026-06-01'), (8542, 'email', '2025-10-01');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (8541, 'me@us85.com', 'from'), (8541, 'ann@acme85.com', 'to'),
  (8542, 'me@us85.com', 'from'), (8542, 'dan@globex85.io', 'to');
-- Tombstones, each with values that would fail checks: they never count.
SELECT crm.merge('person', 8521, '{8526}');
SELECT crm.merge('company', 8511, '{8514}');

SELECT is((SELECT count(*) FROM crm.quality_check WHERE workspace_id = 85 AND built_in),
          (SELECT count(*) FROM crm.quality_check WHERE workspace_id = 1 AND built_in),
          'a new workspace gets the built-in checks that the install gave workspace 1');
SELECT is((SELECT count(*) FROM crm.quality_check q WHERE q.workspace_id = 85 AND q.name LIKE 'person.%.missing'
             AND q.name NOT LIKE 'person.%.key_fields_missing'),
          (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = 'crm.person'::regclass AND a.attnum > 0
             AND NOT a.attisdropped AND NOT a.attnotnull AND a.attname <> 'merged_into'),
          'one fill-rate check per nullable column of crm.person');

CREATE TEMP TABLE report AS SELECT * FROM crm.quality_report();
CREATE FUNCTION pg_temp.result(name text) RETURNS text LANGUAGE sql AS $$
  SELECT format('%s %s/%s %s', r.status, r.failing, r.total, coalesce(r.sample_ids::text, '-')) FROM report r WHERE r.check_name = name $$;

-- Completeness.
SELECT is(pg_temp.result('person.title.missing'), 'warn 6/7 {8522,8523,8524,8525,8527}', 'fill rate: title, 6 of 7 live people without (low: warns above half)');
SELECT is(pg_temp.result('person.email.missing'), 'pass 0/7 -', 'fill rate: email, every live person has one');
SELECT is(pg_temp.result('person.birth_date.missing'), 'fail 7/7 {8521,8522,8523,8524,8525}', '... none has a birth date; 5 sample ids at most');
SELECT is(pg_temp.result('company.owner_member_id.missing'), 'fail 2/3 {8512,8513}', 'fill rate: a company''s owner (a key field: fails above 30%)');
SELECT is(pg_temp.result('deal.amount.missing'), 'warn 1/4 {8532}', 'fill rate: a deal''s amount');
SELECT is(pg_temp.result('person.customer.key_fields_missing'), 'fail 1/2 {8522}', 'customers with a key field missing ("Customer" is a customer)');
SELECT is(pg_temp.result('person.opportunity.key_fields_missing'), 'fail 2/2 {8523,8524}', 'opportunities with a key field missing');
-- Validity.
SELECT is(pg_temp.result('person.email.invalid'), 'fail 1/7 {8523}', 'an email that is no address (the tombstone''s is not counted)');
SELECT is(pg_temp.result('person.phone.invalid'), 'fail 1/4 {8525}', 'a phone that is no number, of 4 given (national numbers read in the record''s country)');
SELECT is(pg_temp.result('company.phone.invalid'), 'fail 1/2 {8513}', 'a company''s phone that is no number');
SELECT is(pg_temp.result('company.domain.invalid'), 'fail 1/3 {8513}', 'a domain that is none (the tombstone''s localhost is not counted)');
SELECT is(pg_temp.result('person.name.capitals'), 'fail 1/7 {8522}', 'names in capitals: BOB SMITH (not ZED ZULU, a tombstone, nor OTTO of another workspace)');
-- Uniqueness, timeliness, consistency.
SELECT is(pg_temp.result('person.duplicates.open'), 'fail 2/7 {8527,8528}', 'people in open duplicate sets');
SELECT is((SELECT detail FROM report WHERE check_name = 'person.duplicates.open'), '1 open duplicate sets', '... in one set');
SELECT is(pg_temp.result('company.duplicates.open'), 'pass 0/3 -', 'no company duplicates');
SELECT is(pg_temp.result('person.stale'), 'fail 6/7 {8522,8523,8525,8527,8528}',
          'stale people: never contacted first, then Dan (last email 2025-10-01); not Ann (2026-06-01)');
SELECT is(pg_temp.result('company.stale'), 'warn 2/3 {8513,8512}', 'stale companies: Initech never, Globex in 2025');
SELECT is(pg_temp.result('person.company.missing_but_domain_matches'), 'fail 1/2 {8525}',
          'a person without company whose address (mail.globex85.io) is at a company''s domain');
SELECT is(pg_temp.result('person.customer.no_won_deal'), 'fail 1/2 {8522}', 'a customer whose company won no deal');
SELECT is(pg_temp.result('person.opportunity.no_open_deal'), 'fail 1/2 {8523}', 'an opportunity whose company (none) has no open deal');
SELECT is(pg_temp.result('company.won_deal.no_customer'), 'fail 1/2 {8513}', 'a company with a won deal and no customer among its people');
-- Usage.
SELECT is((SELECT failing FROM report WHERE check_name = 'person.fields.unused'),
          (SELECT count(*) FROM report WHERE check_name LIKE 'person.%.missing' AND check_name NOT LIKE '%key_fields%'
             AND failing = total),
          'unused fields: those no live person fills');
SELECT is((SELECT (total, status)::text FROM report WHERE check_name = 'person.fields.unused'),
          (SELECT (count(*), 'warn')::text FROM report WHERE check_name LIKE 'person.%.missing' AND check_name NOT LIKE '%key_fields%'),
          '... of every nullable field, and any warns');
SELECT ok((SELECT detail FROM report WHERE check_name = 'person.fields.unused') LIKE '%birth_date%', '... named in detail');
SELECT is((SELECT count(*) FROM report WHERE 8526 = ANY (sample_ids) OR 8514 = ANY (sample_ids)), 0::bigint,
          'no tombstone in any sample');
SELECT is((SELECT count(*) FROM report WHERE check_name LIKE '%.missing' AND check_name LIKE 'person.%'
             AND check_name NOT LIKE '%key_fields%' AND total <> 7), 0::bigint, 'every person check counts the 7 live people');

-- Thresholds: a share equal to a threshold is tolerated; above it warns or fails.
INSERT INTO crm.quality_check (name, category, kind, predicate, scope, warn_threshold, fail_threshold)
VALUES ('custom.quarter', 'validity', 'person', 'r.id = 8521', 'r.id IN (8521, 8522, 8523, 8524)', 0.25, 0.5);
SELECT is((SELECT status || ' ' || failing || '/' || total FROM crm.quality_report('person') WHERE check_name = 'custom.quarter'),
          'pass 1/4', 'a workspace''s own predicate, 1 in 4 failing, warn at 0.25: pass');
UPDATE crm.quality_check SET warn_threshold = 0.24 WHERE workspace_id = 85 AND name = 'custom.quarter';
SELECT is((SELECT status FROM crm.quality_report('person') WHERE check_name = 'custom.quarter'), 'warn', 'warn at 0.24: warn');
UPDATE crm.quality_check SET warn_threshold = 0.2, fail_threshold = 0.25 WHERE workspace_id = 85 AND name = 'custom.quarter';
SELECT is((SELECT status FROM crm.quality_report('person') WHERE check_name = 'custom.quarter'), 'warn', 'fail at 0.25: still warn');
UPDATE crm.quality_check SET fail_threshold = 0.24 WHERE workspace_id = 85 AND name = 'custom.quarter';
SELECT is((SELECT status FROM crm.quality_report('person') WHERE check_name = 'custom.quarter'), 'fail', 'fail at 0.24: fail');
UPDATE crm.quality_check SET predicate = 'false', warn_threshold = 0, fail_threshold = 0 WHERE workspace_id = 85 AND name = 'custom.quarter';
SELECT is((SELECT status || ' ' || failing FROM crm.quality_report('person') WHERE check_name = 'custom.quarter'), 'pass 0',
          'nothing failing passes, even at 0');
SELECT throws_ok($$UPDATE crm.quality_check SET warn_threshold = 0.6, fail_threshold = 0.5 WHERE workspace_id = 85 AND name = 'custom.quarter'$$,
                 '23514', NULL, 'warn above fail is refused');
SELECT throws_ok($$UPDATE crm.quality_check SET fail_threshold = 1.5 WHERE workspace_id = 85 AND name = 'custom.quarter'$$,
                 '23514', NULL, 'a threshold above 1 is refused');
SELECT throws_ok($$UPDATE crm.quality_check SET warn_threshold = -0.1 WHERE workspace_id = 85 AND name = 'custom.quarter'$$,
                 '23514', NULL, 'a negative threshold is refused');

-- A workspace's own metric, with its owner and due date.
INSERT INTO crm.quality_check (name, category, kind, severity, metric, owner_member_id, due_date, suggested_action)
VALUES ('custom.deals_without_amount', 'completeness', 'deal', 'critical',
        'SELECT count(*) FILTER (WHERE d.amount IS NULL) AS failing, count(*) AS total FROM crm.deal d
         WHERE d.workspace_id = $1 AND d.merged_into IS NULL -- a trailing comment',
        8501, '2026-07-01', 'ask sales');
SELECT results_eq($$SELECT category, kind, severity, status, failing, total, sample_ids, owner_member_id, due_date, suggested_action
                    FROM crm.quality_report() WHERE check_name = 'custom.deals_without_amount'$$,
                  $$VALUES ('completeness', 'deal', 'critical', 'fail', 1::bigint, 4::bigint, NULL::bigint[], 8501::bigint,
                            '2026-07-01'::date, 'ask sales')$$,
                  'a workspace''s own metric, with its owner, due date and action');

-- Checks that fail when they run are reported as errors; every other check still runs.
INSERT INTO crm.quality_check (name, category, kind, predicate) VALUES ('custom.broken_predicate', 'validity', 'person', 'r.email::int > 0');
INSERT INTO crm.quality_check (name, category, metric)
VALUES ('custom.broken_metric', 'usage', 'SELECT 1 / (count(*) - count(*)) AS failing, 1 AS total FROM crm.deal d');
CREATE FUNCTION pg_temp.sneak() RETURNS boolean LANGUAGE sql AS $$ INSERT INTO crm.member (email) VALUES ('sneak@us85.com') RETURNING true $$;
INSERT INTO crm.quality_check (name, category, kind, predicate) VALUES ('custom.sneaky', 'validity', 'person', 'pg_temp.sneak()');
CREATE TEMP TABLE broken AS SELECT * FROM crm.quality_report();
SELECT matches((SELECT status || ' ' || coalesce(failing::text, '-') || ' ' || detail FROM broken WHERE check_name = 'custom.broken_predicate'),
               '^error - 22P02: invalid input syntax for type integer: "[^"]+@', 'a predicate that fails reports error, with the message');
SELECT is((SELECT status || ' ' || detail FROM broken WHERE check_name = 'custom.broken_metric'), 'error 22012: division by zero',
          'a metric that fails reports error, with the message');
SELECT is((SELECT status || ' ' || detail FROM broken WHERE check_name = 'custom.sneaky'),
          'error 25006: cannot execute INSERT in a read-only transaction', 'a check cannot write: it runs read-only');
SELECT is((SELECT count(*) FROM crm.member WHERE email = 'sneak@us85.com'), 0::bigint, '... and wrote nothing');
SELECT lives_ok($$INSERT INTO crm.member (id, email) VALUES (8502, 'you@us85.com')$$, '... and the transaction can write again');
SELECT is((SELECT status || ' ' || failing || '/' || total FROM broken WHERE check_name = 'person.name.capitals'), 'fail 1/7',
          'the other person checks of the scan still count');
SELECT is((SELECT count(*) FROM broken WHERE status = 'error'), 3::bigint, 'only the three broken checks are errors');
SELECT is((SELECT count(*) FROM broken), (SELECT count(*) FROM report) + 5, 'and every check has its row');
DELETE FROM crm.quality_check WHERE workspace_id = 85 AND name IN ('custom.broken_predicate', 'custom.broken_metric', 'custom.sneaky');

-- What is refused when written: SQL that does not compile, a metric without its columns, a
-- data-modifying WITH, a predicate without a kind.
SELECT throws_ok($$INSERT INTO crm.quality_check (name, category, kind, predicate) VALUES ('bad', 'validity', 'person', 'r.nosuch IS NULL')$$,
                 '42703', NULL, 'a predicate naming no column');
SELECT throws_ok($$INSERT INTO crm.quality_check (name, category, kind, predicate) VALUES ('bad', 'validity', 'person', 'r.email ==')$$,
                 '42601', NULL, 'a predicate that does not parse');
SELECT throws_ok($$INSERT INTO crm.quality_check (name, category, metric) VALUES ('bad', 'usage', 'SELECT count(*) AS n, count(*) AS total FROM crm.deal d')$$,
                 '42703', NULL, 'a metric without the column failing');
SELECT throws_ok($$INSERT INTO crm.quality_check (name, category, metric)
                   VALUES ('bad', 'usage', 'WITH d AS (DELETE FROM crm.deal RETURNING 1) SELECT count(*) AS failing, count(*) AS total FROM d')$$,
                 '0A000', NULL, 'a metric that would delete');
SELECT throws_ok($$INSERT INTO crm.quality_check (name, category, predicate) VALUES ('bad', 'validity', 'true')$$,
                 '23514', NULL, 'a predicate without a kind');

-- The kind filter.
SELECT is((SELECT count(*) FROM crm.quality_report('deal') WHERE kind IS DISTINCT FROM 'deal'), 0::bigint, 'a kind: its checks only');
SELECT is((SELECT count(*) FROM crm.quality_report('deal')),
          (SELECT count(*) FROM crm.quality_check WHERE workspace_id = 85 AND kind = 'deal' AND enabled), '... all of them');
SELECT throws_ok($$SELECT * FROM crm.quality_report('account')$$, '22023', 'unknown record kind "account"', 'an unknown kind');
UPDATE crm.quality_check SET enabled = false WHERE workspace_id = 85 AND name = 'deal.stage.missing';
SELECT is((SELECT count(*) FROM crm.quality_report('deal') WHERE check_name = 'deal.stage.missing'), 0::bigint, 'a disabled check does not run');

-- Snapshots: one set a day, replaced by a second run of the day; the view shows the latest.
SELECT is(crm.take_quality_snapshot(), (SELECT count(*) FROM crm.quality_check WHERE workspace_id = 85 AND enabled),
          'a snapshot stores a row per enabled check');
SELECT crm.take_quality_snapshot();
SELECT is((SELECT count(*) FROM crm.quality_snapshot WHERE workspace_id = 85),
          (SELECT count(*) FROM crm.quality_check WHERE workspace_id = 85 AND enabled),
          'taken again the same day, it replaces the day''s rows');
DELETE FROM crm.quality_check WHERE workspace_id = 85 AND name = 'custom.quarter';
UPDATE crm.person SET first_name = 'Bob', last_name = 'Smith' WHERE id = 8522;
SELECT crm.take_quality_snapshot();
SELECT results_eq($$SELECT count(*) FILTER (WHERE check_name = 'custom.quarter'),
                           max(failing) FILTER (WHERE check_name = 'person.name.capitals'), count(DISTINCT taken_on)
                    FROM crm.quality_snapshot WHERE workspace_id = 85$$,
                  $$VALUES (0::bigint, 0::bigint, 1::bigint)$$, '... with today''s results, and without a check deleted since');
UPDATE crm.person SET email = 'cat@globex85.io' WHERE id = 8523;
SET LOCAL crm.clock = '2026-06-16 12:00:00+00';
SELECT crm.take_quality_snapshot();
SELECT results_eq($$SELECT taken_on, status, failing, total, previous_taken_on, previous_failing, failing_change
                    FROM crm.data_quality WHERE workspace_id = 85 AND check_name = 'person.email.invalid'$$,
                  $$VALUES ('2026-06-16'::date, 'pass', 0::bigint, 7::bigint, '2026-06-15'::date, 1::bigint, -1::bigint)$$,
                  'the view: the latest day, with the day before for the trend');
SELECT results_eq($$SELECT owner_member_id, due_date, failing_share FROM crm.data_quality WHERE workspace_id = 85 AND check_name = 'custom.deals_without_amount'$$,
                  $$VALUES (8501::bigint, '2026-07-01'::date, 0.25::float8)$$, '... with the check''s owner and due date, and the share');
SELECT is((SELECT count(*) FROM crm.data_quality WHERE workspace_id = 85),
          (SELECT count(*) FROM crm.quality_snapshot WHERE workspace_id = 85 AND taken_on = '2026-06-16'), '... one row per check of the latest day');
SELECT is(crm.take_quality_snapshot(86) > 0, true, 'a snapshot of another workspace, by its id');
SELECT is(current_setting('crm.workspace'), '85', '... leaves the session''s workspace as it was');
SELECT is((SELECT failing FROM crm.quality_snapshot WHERE workspace_id = 86 AND check_name = 'person.name.capitals'), 1::bigint,
          '... and reports that workspace');

-- The daily update volume: the last 24 hours against mean ± 3σ of the 28 days before. Later, so
-- that the writes above (merges, updates) are outside the window.
SET LOCAL crm.clock = '2026-09-01 12:00:00+00';
INSERT INTO crm.field_provenance (workspace_id, kind, record_id, field, value, source, source_kind, confidence,
                                  observed_at, written_at, actor)
SELECT 85, w.kind, w.record_id, w.field, '"x"', 'test', 'import', 1, t.at, t.at, 'test'
FROM (SELECT 'person' AS kind, 'title' AS field, d AS day, 2 AS n FROM generate_series(0, 28) d       -- steady: 2 a day
      UNION ALL SELECT 'person', 'phone', d, CASE WHEN d = 0 THEN 10 ELSE 1 END FROM generate_series(0, 28) d  -- 1 a day, 10 today
      UNION ALL SELECT 'person', 'city', d, CASE WHEN d = 0 THEN 3 ELSE 2 * (d % 2) END FROM generate_series(0, 28) d  -- 1 ± 1, 3 today
      UNION ALL SELECT 'person', 'country', d, CASE WHEN d = 0 THEN 0 ELSE 5 END FROM generate_series(1, 28) d  -- 5 a day, none today
      UNION ALL SELECT 'deal', 'stage', d, 1 FROM generate_series(0, 28) d) x
CROSS JOIN LATERAL generate_series(1, x.n) i
CROSS JOIN LATERAL (SELECT x.kind, x.field, 8521 + i % 5 AS record_id) w
CROSS JOIN LATERAL (SELECT crm.now() - x.day * interval '1 day' - interval '1 hour' AS at) t;
SELECT results_eq($$SELECT status, failing, total, sample_ids, detail FROM crm.quality_report('person') WHERE check_name = 'person.field_updates.outlier'$$,
                  $$VALUES ('fail', 2::bigint, 4::bigint, '{8521,8522,8523,8524,8525}'::bigint[],
                            'country: 0 writes in the last 24 hours, 5.0 ± 0.0 a day before; phone: 10 writes in the last 24 hours, 1.0 ± 0.0 a day before')$$,
                  'update volume: phone above and country below mean ± 3σ; title steady and city within 1 ± 3 are not');
SELECT results_eq($$SELECT status, failing, total FROM crm.quality_report('deal') WHERE check_name = 'deal.field_updates.outlier'$$,
                  $$VALUES ('pass', 0::bigint, 1::bigint)$$, 'a deal field written as every day is no outlier');

-- A reader: the report and the view of its own workspace only; no snapshot, no check of its own.
SET LOCAL crm.clock = '2026-06-16 12:00:00+00';
CREATE ROLE crm_test_quality_reader NOLOGIN;
CREATE ROLE crm_test_quality_other NOLOGIN;
CREATE ROLE crm_test_quality_maint NOLOGIN;
SELECT crm.grant_access('crm_test_quality_reader', 'reader');
SELECT crm.grant_access('crm_test_quality_maint', 'maintenance');
UPDATE crm.workspace SET roles = '{crm_test_quality_reader, crm_test_quality_maint}' WHERE id = 85;
UPDATE crm.workspace SET roles = '{crm_test_quality_other}' WHERE id = 86;
SELECT set_config('test.expected', (SELECT jsonb_agg(jsonb_build_array(check_name, status, failing, total, sample_ids) ORDER BY check_name)
                                    FROM crm.quality_report())::text, true);
SET LOCAL ROLE crm_test_quality_reader;
SELECT is((SELECT jsonb_agg(jsonb_build_array(check_name, status, failing, total, sample_ids) ORDER BY check_name) FROM crm.quality_report()),
          current_setting('test.expected')::jsonb, 'a reader gets the report of its workspace, as the owner does');
SELECT is((SELECT array_agg(DISTINCT workspace_id) FROM crm.data_quality), '{85}'::bigint[], 'a reader sees its workspace''s snapshots only');
SET LOCAL crm.workspace = 86;
SELECT is((SELECT count(*) FROM crm.quality_report()), 0::bigint, 'a workspace the reader may not use: no check, no row');
SET LOCAL crm.workspace = 85;
SELECT throws_ok($$SELECT crm.take_quality_snapshot()$$, '42501', NULL, 'a reader cannot take a snapshot');
SELECT throws_ok($$INSERT INTO crm.quality_check (name, category, kind, predicate) VALUES ('mine', 'validity', 'person', 'true')$$,
                 '42501', NULL, 'a reader cannot add a check');
RESET ROLE;
SET LOCAL ROLE crm_test_quality_maint;
SELECT lives_ok($$INSERT INTO crm.quality_check (name, category, kind, predicate) VALUES ('maint.own', 'validity', 'company', 'r.name IS NULL');
                  SELECT crm.take_quality_snapshot()$$, 'maintenance adds checks and takes snapshots');
RESET ROLE;
-- Stored SQL never runs with more rights than its author has: a check written by a role runs only
-- for a session whose login and role that author could act as; for anyone else it is not run.
SET LOCAL ROLE crm_test_quality_maint;
INSERT INTO crm.quality_check (name, category, metric, author)
VALUES ('maint.whoami', 'usage', 'SELECT 0::bigint AS failing, 1::bigint AS total, current_user::text AS detail', NULL);
RESET ROLE;
SELECT is((SELECT author FROM crm.quality_check WHERE workspace_id = 85 AND name = 'maint.whoami'),
          'crm_test_quality_maint'::regrole, 'the author is the role that wrote the SQL, whatever the row says');
SELECT results_eq($$SELECT status, left(detail, 5) FROM crm.quality_report() WHERE check_name = 'maint.whoami'$$,
                  $$VALUES ('error', '42501')$$, 'a superuser''s session does not run a role''s check (it would lend it its rights)');
SET LOCAL ROLE crm_test_quality_reader;
SELECT results_eq($$SELECT status, left(detail, 5) FROM crm.quality_report() WHERE check_name = 'maint.whoami'$$,
                  $$VALUES ('error', '42501')$$, 'nor does a reader''s');
SELECT is((SELECT status FROM crm.quality_report() WHERE check_name = 'person.email.invalid'), 'pass',
          '... while the built-in checks run as usual');
RESET ROLE;
SET SESSION AUTHORIZATION crm_test_quality_maint;
SELECT results_eq($$SELECT status, detail FROM crm.quality_report() WHERE check_name = 'maint.whoami'$$,
                  $$VALUES ('pass', 'crm_test_quality_maint')$$, 'the author''s own session runs it');
RESET SESSION AUTHORIZATION;
UPDATE crm.quality_check SET scope = NULL, metric = metric || ' ' WHERE workspace_id = 85 AND name = 'maint.whoami';
SELECT is((SELECT author FROM crm.quality_check WHERE workspace_id = 85 AND name = 'maint.whoami'),
          'crm_test_quality_maint'::regrole, 'a superuser editing a role''s SQL leaves it that role''s');

SELECT * FROM finish();
ROLLBACK;
