-- AI attributes through an OpenAI-compatible endpoint: the deterministic stub of the protocol
-- (test/ai/stub_server.py) that scripts/test starts on 127.0.0.1 (CRM_AI_STUB_URL). Valid replies
-- are written; invalid ones are retried, then failed, never written; the API key never shows;
-- budgets stop calls; writers never wait for the endpoint.
\getenv stub_url CRM_AI_STUB_URL
BEGIN;
SELECT plan(44);
SELECT ok(:'stub_url' LIKE 'http://127.0.0.1:%', 'the stub endpoint is running (scripts/test starts it; CRM_AI_STUB_URL)');
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SET LOCAL crm.ai_retry_delay = 0;
SET LOCAL crm.ai_max_attempts = 2;
SET LOCAL crm.ai_timeout = 2000;
SELECT set_config('crm.ai_base_url', :'stub_url', true);
INSERT INTO crm.workspace (id, name) VALUES (161, 'ai endpoint');
SET LOCAL crm.workspace = 161;
CREATE TEMP TABLE stub_stats (body jsonb);
CREATE FUNCTION pg_temp.stub(path text) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE stub_stats;
  -- As CSV with quote and delimiter characters JSON never holds raw: the body arrives untouched.
  EXECUTE format('COPY stub_stats FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')', format('curl -sf -X %s %s%s', CASE WHEN path = '/reset' THEN 'POST' ELSE 'GET' END,
                 replace(current_setting('crm.ai_base_url'), '/v1', ''), path));
  RETURN (SELECT body FROM stub_stats);
END $$;
SELECT pg_temp.stub('/reset');

INSERT INTO crm.company (id, name, domain) VALUES (16101, 'Acme', 'acme161.io'), (16102, 'Beta', 'beta161.com'),
  (16103, 'Gamma', 'gamma161.com');

-- A valid reply is written, with its model and tokens; the request always carries the schema.
SET LOCAL crm.ai_model = 'stub';
SELECT lives_ok($$SELECT crm.define_ai_attribute('company', 'segment', 'classify', '{"labels": ["smb", "mid", "enterprise"]}')$$,
                'a classify attribute');
SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(10) GROUP BY 1$$, $$VALUES ('applied', 3::bigint)$$,
                  'three calls, three values');
SELECT ok((SELECT bool_and(attributes ->> 'segment' IN ('smb', 'mid', 'enterprise')) FROM crm.company WHERE workspace_id = 161),
          'each a label of the set');
SELECT results_eq($$SELECT DISTINCT r.model, r.tokens > 0 FROM crm.ai_result r$$, $$VALUES ('stub', true)$$,
                  'the result names the model and its tokens');
SELECT is((SELECT calls FROM crm.ai_usage WHERE workspace_id = 161), 3::bigint, 'the calls are counted for the workspace''s day');
SELECT ok((SELECT tokens FROM crm.ai_usage WHERE workspace_id = 161) = (SELECT sum(tokens) FROM crm.ai_result),
          'and the tokens the endpoint reported, not the reservations');
SELECT results_eq($$SELECT s -> 'last_request' -> 'response_format' ->> 'type',
                           s -> 'last_request' -> 'response_format' -> 'json_schema' -> 'schema' -> 'properties' -> 'label' -> 'enum'
                    FROM pg_temp.stub('/stats') s$$,
                  $$VALUES ('json_schema', '["smb", "mid", "enterprise"]'::jsonb)$$,
                  'every request asks for JSON constrained by the schema');

-- Replies that do not validate are retried, then failed, and never written.
SELECT pg_temp.stub('/reset');
SELECT lives_ok($$SELECT crm.define_ai_attribute('company', 'tier', 'classify', '{"labels": ["a", "b"], "model": "stub-invalid"}')$$,
                'an attribute whose endpoint answers outside the label set');
SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(10) GROUP BY 1$$, $$VALUES ('retry', 3::bigint)$$, 'first attempts: retry');
SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(10) GROUP BY 1$$, $$VALUES ('failed', 3::bigint)$$,
                  'second attempts: failed (crm.ai_max_attempts = 2)');
SELECT ok((SELECT bool_and(error LIKE '22000: the reply does not match the schema: at /label%' AND attempts = 2) FROM crm.ai_failed_job),
          'the failed job keeps the error');
SELECT is((SELECT count(*) FROM crm.company WHERE attributes ? 'tier'), 0::bigint, 'nothing invalid was written');
SELECT results_eq($$SELECT attribute, failed FROM crm.ai_status WHERE attribute = 'tier'$$, $$VALUES ('tier', 3::bigint)$$,
                  'crm.ai_status counts them');
SELECT lives_ok($$SELECT crm.define_ai_attribute('company', 'tier', 'classify', '{"labels": ["a", "b"], "model": "stub-invalid-once"}')$$,
                'the endpoint fixed');
SELECT is(crm.retry_ai_jobs('tier'), 0::bigint, 'redefining queued every record already, so nothing failed is queued twice');
SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(10) GROUP BY 1 ORDER BY 1$$, $$VALUES ('retry', 3::bigint)$$,
                  'an invalid first answer is retried');
SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(10) GROUP BY 1 ORDER BY 1$$, $$VALUES ('applied', 3::bigint)$$,
                  'and the valid second one written');
SELECT lives_ok($$SELECT crm.drop_ai_attribute('company', 'tier')$$, 'dropped');

-- Not JSON, cut short, a server error: retried, then failed.
UPDATE crm.ai_attribute SET enabled = false;
SELECT crm.define_ai_attribute('company', 'broken', 'summarize', '{"model": "stub-not-json"}');
SELECT lives_ok($$SELECT crm.run_ai_jobs(10)$$, 'a reply that is not JSON');
SELECT ok((SELECT bool_and(last_error LIKE '22000: the reply is not JSON%') FROM crm.ai_job j JOIN crm.ai_attribute a ON a.id = j.attribute_id WHERE a.name = 'broken'),
          'is an error of the job, not of the caller');
SELECT crm.define_ai_attribute('company', 'broken', 'summarize', '{"model": "stub-error-503"}');
SELECT crm.run_ai_jobs(10);
SELECT ok((SELECT bool_and(last_error LIKE '08000: the endpoint answered HTTP 503%') FROM crm.ai_job j JOIN crm.ai_attribute a ON a.id = j.attribute_id WHERE a.name = 'broken'),
          'an HTTP error is a connection exception with the server''s message');

-- The API key: sent, never shown. The stub echoes a wrong key in its 401, as providers do.
SELECT crm.define_ai_attribute('company', 'broken', 'summarize', '{"model": "stub-auth"}');
COPY (SELECT 'sk-test-SECRET-4242-abcdef') TO '/tmp/crm_ai_endpoint_test_wrong.key';
SET LOCAL crm.ai_api_key_file = '/tmp/crm_ai_endpoint_test_wrong.key';
SELECT crm.run_ai_jobs(10);
SELECT ok((SELECT bool_and(last_error LIKE '08000: the endpoint answered HTTP 401%' AND position('SECRET' IN last_error) = 0)
           FROM crm.ai_job j JOIN crm.ai_attribute a ON a.id = j.attribute_id WHERE a.name = 'broken'),
          'a refused key fails the job without the key in the error');
SELECT is((SELECT count(*) FROM crm.ai_status s WHERE s::text LIKE '%SECRET%'), 0::bigint, 'nor in crm.ai_status');
SELECT is((SELECT count(*) FROM pg_settings WHERE setting LIKE '%SECRET%'), 0::bigint, 'nor in any setting: the key is in a file');
SET LOCAL crm.ai_api_key_file = '/nonexistent/crm.key';
SELECT throws_ok($$SELECT crm._ai_chat('{"messages": [], "schema": {}}')$$, '58030',
                 'could not read the AI API key file /nonexistent/crm.key', 'an unreadable key file is a clear error');
COPY (SELECT '  test-key-ok  ') TO '/tmp/crm_ai_endpoint_test_right.key';
SET LOCAL crm.ai_api_key_file = '/tmp/crm_ai_endpoint_test_right.key';
SELECT crm.define_ai_attribute('company', 'broken', 'summarize', '{"model": "stub-auth", "instructions": "v2"}');
SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(10) GROUP BY 1$$, $$VALUES ('applied', 3::bigint)$$,
                  'the right key is sent as a bearer token');
UPDATE crm.ai_attribute SET enabled = false;

-- Budgets: a hard stop; jobs over it wait, visibly.
SELECT pg_temp.stub('/reset');
SELECT crm.set_ai_budget((SELECT calls + 1 FROM crm.ai_usage WHERE workspace_id = 161), NULL);
SELECT crm.define_ai_attribute('company', 'pitch', 'summarize', '{"model": "stub"}');
SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(10) GROUP BY 1 ORDER BY 1$$, $$VALUES ('applied', 1::bigint)$$,
                  'one call left of today''s budget: one job runs');
SELECT results_eq($$SELECT waiting, wait_reasons FROM crm.ai_status WHERE attribute = 'pitch'$$,
                  $$SELECT 2::bigint, ARRAY[format('budget: %s calls and any tokens a day', calls_per_day)] FROM crm.ai_budget WHERE workspace_id = 161$$,
                  'the others wait for tomorrow, with the reason');
SELECT is((SELECT calls FROM crm.ai_usage WHERE workspace_id = 161), (SELECT calls_per_day FROM crm.ai_budget WHERE workspace_id = 161),
          'the day''s calls are at the budget, not past it');
SELECT is((pg_temp.stub('/stats') ->> 'requests')::int, 1, 'the endpoint got exactly the calls the budget allowed');

SELECT crm.set_ai_budget(NULL, NULL);
UPDATE crm.ai_attribute SET enabled = false;

-- Jobs that need no call (inputs already seen) take nothing of the budget.
SELECT crm.set_ai_budget((SELECT calls + 1 FROM crm.ai_usage WHERE workspace_id = 161), NULL);
UPDATE crm.ai_attribute SET enabled = true WHERE name = 'segment';
SELECT crm._ai_enqueue_all(a) FROM crm.ai_attribute a WHERE a.name = 'segment';
SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(10) GROUP BY 1$$, $$VALUES ('unchanged', 3::bigint)$$,
                  'three records whose inputs were seen');
SELECT is((SELECT calls + 1 FROM crm.ai_usage WHERE workspace_id = 161), (SELECT calls_per_day FROM crm.ai_budget WHERE workspace_id = 161),
          'cost no call of the budget');
SELECT crm.set_ai_budget(NULL, NULL);
UPDATE crm.ai_attribute SET enabled = false;

-- An opted-out record's inputs never leave the database.
SELECT pg_temp.stub('/reset');
SELECT crm.set_enrichment_opt_out('company', 16102);
SELECT crm.define_ai_attribute('company', 'pitch2', 'summarize', '{"model": "stub"}');
SELECT results_eq($$SELECT record_id, outcome FROM crm.run_ai_jobs(10) ORDER BY 1$$,
                  $$VALUES (16101::bigint, 'applied'), (16102, 'opted_out'), (16103, 'applied')$$,
                  'an opted-out record is skipped before the call');
SELECT is((pg_temp.stub('/stats') ->> 'requests')::int, 2, 'two calls, not three');
UPDATE crm.ai_attribute SET enabled = false;

-- The tokens budget is a hard stop too: a call starts only if its prompt and max_tokens still fit.
SELECT crm.set_ai_budget(NULL, (SELECT tokens + 150 FROM crm.ai_usage WHERE workspace_id = 161));
SELECT crm.define_ai_attribute('company', 'pitch3', 'summarize', '{"model": "stub", "max_tokens": 100}');
SELECT lives_ok($$SELECT crm.run_ai_jobs(10)$$, 'run within a tokens budget');
SELECT ok((SELECT u.tokens <= b.tokens_per_day FROM crm.ai_usage u JOIN crm.ai_budget b USING (workspace_id) WHERE workspace_id = 161),
          'the day''s tokens never pass the budget');
SELECT ok((SELECT waiting > 0 AND wait_reasons[1] LIKE 'budget:%tokens a day' FROM crm.ai_status WHERE attribute = 'pitch3'),
          'the calls that would pass it wait, with the reason');
SELECT crm.set_ai_budget(NULL, NULL);
UPDATE crm.ai_attribute SET enabled = false;

-- A prompt's template is filled in one pass: a value that reads {{interactions}} stays text.
UPDATE crm.company SET name = 'Evil {{interactions}} Inc' WHERE id = 16103;
SELECT crm.define_ai_attribute('company', 'ask', 'prompt', '{"model": "stub", "template": "Who is {{name}}?", "inputs": ["name"]}');
SELECT lives_ok($$SELECT crm.run_ai_jobs(10)$$, 'a prompt attribute');
SELECT ok((SELECT s -> 'last_request' -> 'messages' -> 1 ->> 'content' = 'Who is Evil {{interactions}} Inc?' FROM pg_temp.stub('/stats') s),
          'the record''s text is not expanded as a placeholder');

-- A maintenance role runs the jobs of the workspaces it may act in, and no others.
UPDATE crm.ai_attribute SET enabled = false;
INSERT INTO crm.workspace (id, name, roles) VALUES (162, 'closed', ARRAY['pg_monitor']::regrole[]);
INSERT INTO crm.company (id, workspace_id, name) VALUES (16201, 162, 'Closed Co');
INSERT INTO crm.ai_attribute (workspace_id, kind, name, type, spec, inputs, target)
VALUES (162, 'company', 'closed', 'summarize', '{"model": "stub"}', '{name}', 'attributes.closed');
INSERT INTO crm.ai_job (workspace_id, attribute_id, record_id, requested_at)
SELECT 162, id, 16201, now() FROM crm.ai_attribute WHERE name = 'closed';
CREATE ROLE crm_ai_maintainer;
SELECT crm.grant_access('crm_ai_maintainer', 'maintenance');
SET LOCAL ROLE crm_ai_maintainer;
SELECT is((SELECT count(*) FROM crm.run_ai_jobs(10)), 0::bigint, 'another workspace''s jobs are not the role''s to run');
SELECT throws_ok($$SELECT crm.start_ai_workers(1)$$, '42501', NULL, 'a role that cannot log in cannot start workers that would run as it');
SELECT throws_ok($$SELECT crm._ai_run(1)$$, '42501', NULL, 'nor run a job itself: only run_ai_jobs and the workers do, for their own claims');
RESET ROLE;
SELECT is((SELECT count(*) FROM crm.ai_job j JOIN crm.ai_attribute a ON a.id = j.attribute_id WHERE a.name = 'closed'), 1::bigint,
          'the job is still queued');

SELECT * FROM finish();
ROLLBACK;
