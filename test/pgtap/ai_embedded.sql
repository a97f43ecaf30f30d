-- AI attributes with the embedded default (no endpoint): declared and checked, queued only when a
-- declared input changes, coalesced per record, classified by a fastText model trained on the
-- labels people gave, summarised and scored deterministically, extracted by rules, written through
-- the provenance path (never over a user's value; review mode suggests), retried, then failed.
BEGIN;
SELECT plan(63);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SET LOCAL crm.ai_base_url = '';
SET LOCAL crm.ai_retry_delay = 0;
SET LOCAL crm.ai_max_attempts = 2;
INSERT INTO crm.workspace (id, name) VALUES (151, 'ai embedded'), (152, 'ai elsewhere');
SET LOCAL crm.workspace = 151;
INSERT INTO crm.member (id, email, name) VALUES (15191, 'me@us151.com', 'Mia Member');

-- Companies people labelled, and two they did not.
INSERT INTO crm.company (id, name, domain, industry) VALUES
  (15101, 'Acme Software', 'acmesoft.io', 'software'), (15102, 'Beta Apps', 'betaapps.io', 'software'),
  (15103, 'Code Labs', 'codelabs.dev', 'software'), (15104, 'Shop Mart', 'shopmart.com', 'retail'),
  (15105, 'Fashion Store', 'fashionstore.com', 'retail'), (15106, 'Grocery Store', 'grocerystore.com', 'retail'),
  (15107, 'Bank One', 'bankone.com', 'finance'), (15108, 'Capital Bank', 'capitalbank.com', 'finance'),
  (15109, 'Credit Bank', 'creditbank.com', 'finance'),
  (15110, 'Data Software', 'datasoftware.io', NULL), (15111, 'Mega Store', 'megastore.com', NULL);

-- Declaring: every mistake is 22023 before anything is written.
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'guess', '{}')$$, '22023', NULL, 'an unknown type is refused');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'classify', '{"labels": ["one"]}')$$, '22023', NULL,
                 'a classifier needs two labels or more');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'classify', '{"labels": ["a", "b"], "inputs": ["nope"]}')$$,
                 '22023', 'company has no field "nope" to read', 'an input must be a field of the record');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'classify', '{"labels": ["a", "b"], "target": "id"}')$$,
                 '22023', 'company has no field "id" to write', 'the target must be a writable field');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'extract', '{"schema": {"type": "object", "properties": {"a": {"type": "string", "pattern": "x"}}}}')$$,
                 '22023', NULL, 'a schema keyword outside the supported subset is refused');
SELECT throws_ok($$SELECT crm.define_ai_attribute('deal', 'x', 'summarize', '{}')$$, '22023', 'deals have no signals input',
                 'deals have no activity to summarise');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'Bad Name', 'summarize', '{}')$$, '22023', NULL, 'names are identifiers');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'summarize', '{"interactions": -1}')$$, '22023', NULL,
                 'a spec number out of range is refused when declared, not when every job fails');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'classify', '{"labels": ["a", "b"], "target": "name", "inputs": ["name"]}')$$,
                 '22023', 'an AI attribute cannot read the field it writes (name)', 'an attribute reading its own output would queue itself forever');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'score', '{"rules": [{"field": "employee_count", "op": "at_least", "value": "many", "points": 5}], "inputs": ["employee_count"]}')$$,
                 '22023', NULL, 'a score rule whose value its op cannot compare with is refused');
SELECT throws_ok($$SELECT crm.define_ai_attribute('company', 'x', 'extract', '{"schema": {"type": "object", "properties": {"a": {"type": "string"}}}, "rules": {"a": {"pattern": "x", "from": "city"}}, "inputs": ["name"]}')$$,
                 '22023', NULL, 'an extract rule must read one of the inputs');
SELECT is((SELECT count(*) FROM crm.ai_attribute), 0::bigint, 'nothing was written by the refused definitions');

-- Defining queues every record of the workspace.
SELECT lives_ok($$SELECT crm.define_ai_attribute('company', 'industry_guess', 'classify',
                   '{"labels": ["software", "retail", "finance"], "target": "industry", "inputs": ["name", "domain"]}')$$,
                'a classify attribute into a column');
SELECT results_eq($$SELECT attribute, pending FROM crm.ai_status WHERE attribute = 'industry_guess'$$,
                  $$VALUES ('industry_guess', 11::bigint)$$, 'every company is due');

SELECT results_eq($$SELECT outcome, count(*) FROM crm.run_ai_jobs(100) GROUP BY 1 ORDER BY 1$$,
                  $$VALUES ('applied', 2::bigint), ('user_value', 9::bigint)$$,
                  'the two unlabelled companies are filled; the nine labelled by people are left alone, no model run');
SELECT results_eq($$SELECT id, industry FROM crm.company WHERE id IN (15110, 15111) ORDER BY id$$,
                  $$VALUES (15110::bigint, 'software'), (15111::bigint, 'retail')$$,
                  'the classifier trained on the labels people gave fills the rest');
SELECT ok((SELECT bool_and(r.confidence > 0 AND r.confidence <= 1 AND r.model LIKE 'embedded:fasttext%')
           FROM crm.ai_result r WHERE r.record_id IN (15110, 15111)), 'with a confidence, and the model named');
SELECT results_eq($$SELECT source, source_kind FROM crm.field_source('company', 15110, 'industry')$$,
                  $$VALUES ('ai:industry_guess', 'ai')$$, 'the provenance says which AI attribute wrote it');
SELECT results_eq($$SELECT examples FROM crm.ai_model$$, $$VALUES (9)$$, 'the model is kept, with its example count');

-- Only a declared input queues work; repeated changes make one job.
UPDATE crm.company SET phone = '+1 555 0100' WHERE id = 15111;
SELECT is((SELECT count(*) FROM crm.ai_inbox), 0::bigint, 'a change of a field no attribute reads queues nothing');
UPDATE crm.company SET name = 'Mega Store Inc' WHERE id = 15111;
UPDATE crm.company SET name = 'Mega Store Group' WHERE id = 15111;
SELECT is((SELECT count(*) FROM crm.ai_inbox), 2::bigint, 'each change of an input appends a request');
SELECT results_eq($$SELECT * FROM crm.run_ai_jobs(10)$$, $$VALUES ('industry_guess', 15111::bigint, 'unchanged')$$,
                  'two requests for one record are one job; the same answer again writes nothing');
SELECT is((SELECT count(*) FROM crm.field_provenance WHERE record_id = 15111 AND field = 'industry'), 1::bigint,
          'no second provenance row for the same value');
-- The input hash: a request whose inputs are as last seen runs nothing.
INSERT INTO crm.ai_inbox VALUES (151, (SELECT id FROM crm.ai_attribute WHERE name = 'industry_guess'), 15111, now());
SELECT results_eq($$SELECT outcome FROM crm.run_ai_jobs(10)$$, $$VALUES ('unchanged')$$,
                  'inputs already seen: nothing is asked again');

-- A user's value stands: the attribute never writes over it.
UPDATE crm.company SET industry = 'finance' WHERE id = 15110;
UPDATE crm.company SET name = 'Data Software Bank' WHERE id = 15110;
SELECT results_eq($$SELECT outcome FROM crm.run_ai_jobs(10)$$, $$VALUES ('user_value')$$, 'a user''s value is never replaced');
SELECT is((SELECT industry FROM crm.company WHERE id = 15110), 'finance', 'the user''s value is there');

-- Summaries from the derived signals and the recent subjects, the same for the same inputs.
INSERT INTO crm.person (id, company_id, first_name, email) VALUES (15121, 15104, 'Sam', 'sam@shopmart.com');
INSERT INTO crm.interaction (id, kind, occurred_at, subject) VALUES
  (15131, 'email', '2026-06-01 10:00+00', 'Pricing for the store rollout'),
  (15132, 'meeting', '2026-06-10 15:00+00', 'Rollout review');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (15131, 'me@us151.com', 'from'), (15131, 'sam@shopmart.com', 'to'),
  (15132, 'me@us151.com', 'organizer'), (15132, 'sam@shopmart.com', 'attendee');
SELECT lives_ok($$SELECT crm.define_ai_attribute('company', 'relationship', 'summarize', '{}')$$, 'a summary attribute');
SELECT ok((SELECT count(*) FILTER (WHERE outcome = 'applied') = 11 FROM crm.run_ai_jobs(100)), 'every company summarised');
SELECT is((SELECT attributes ->> 'relationship' FROM crm.company WHERE id = 15104),
          '2 interactions (1 emails, 1 meetings) since 2026-06-01; last meeting on 2026-06-10; weak connection, closest to Mia Member; recent: "Rollout review"; "Pricing for the store rollout".',
          'the summary states the activity and its subjects');
SELECT is((SELECT attributes ->> 'relationship' FROM crm.company WHERE id = 15105), 'No interactions yet.', 'and says so when there is none');
INSERT INTO crm.interaction (id, kind, occurred_at, subject) VALUES (15133, 'email', '2026-06-12 09:00+00', 'Contract draft');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (15133, 'sam@shopmart.com', 'from'), (15133, 'me@us151.com', 'to');
SELECT results_eq($$SELECT attribute, record_id, outcome FROM crm.run_ai_jobs(100)$$,
                  $$VALUES ('relationship', 15104::bigint, 'applied')$$,
                  'new activity queues the summary of its company only, which replaces its own earlier one');
SELECT ok((SELECT attributes ->> 'relationship' LIKE '3 interactions%"Contract draft"%' FROM crm.company WHERE id = 15104),
          'the new summary has the new subject');

-- Scores and extraction by declared rules.
SELECT lives_ok($$SELECT crm.define_ai_attribute('company', 'fit', 'score',
  '{"rules": [{"field": "industry", "op": "equals", "value": "retail", "points": 50},
              {"field": "interaction_count", "op": "at_least", "value": 2, "points": 30},
              {"field": "last_interaction_at", "op": "within_days", "value": 30, "points": 20},
              {"field": "last_interaction_at", "op": "within_days", "value": 10.0, "points": 5}],
    "inputs": ["industry", "signals"]}')$$, 'a score by rules');
SELECT lives_ok($$SELECT crm.define_ai_attribute('company', 'next_step', 'extract',
  '{"schema": {"type": "object", "properties": {"step": {"type": "string", "maxLength": 40}}, "required": ["step"], "additionalProperties": false},
    "rules": {"step": {"pattern": "(contract|pricing|review)"}}}')$$, 'an extraction by rules');
SELECT lives_ok($$SELECT crm.run_ai_jobs(100)$$, 'run');
SELECT results_eq($$SELECT (attributes ->> 'fit')::int, attributes -> 'next_step' FROM crm.company WHERE id = 15104$$,
                  $$VALUES (100, '{"step": "Contract"}'::jsonb)$$, 'the score adds the rules that hold; the newest subject that matches is extracted');
SELECT results_eq($$SELECT (attributes ->> 'fit')::int, attributes -> 'next_step' FROM crm.company WHERE id = 15105$$,
                  $$VALUES (50, NULL::jsonb)$$, 'without activity: only the industry scores, nothing is extracted');

-- A score over dates is computed again when days passing change it, and only then.
SELECT results_eq($$SELECT r.record_id, r.due_at FROM crm.ai_result r JOIN crm.ai_attribute a ON a.id = r.attribute_id
                    WHERE a.name = 'fit' AND r.record_id IN (15104, 15105) ORDER BY 1$$,
                  $$VALUES (15104::bigint, '2026-06-22 09:00+00'::timestamptz), (15105, NULL)$$,
                  'a score holding within_days rules is due when the first of them stops holding (the last interaction + 10 days); one holding none is not');
SET LOCAL crm.clock = '2026-06-22 09:00:00+00';
SELECT is_empty($$SELECT * FROM crm.run_ai_jobs(100)$$, 'on that day the rule still holds: nothing is queued');
SET LOCAL crm.clock = '2026-06-22 09:00:01+00';
SELECT results_eq($$SELECT attribute, record_id, outcome FROM crm.run_ai_jobs(100)$$,
                  $$VALUES ('fit', 15104::bigint, 'unchanged')$$,
                  'a moment later that record alone is scored again (still 100: the other rules make the cap)');
SELECT is((SELECT r.due_at FROM crm.ai_result r JOIN crm.ai_attribute a ON a.id = r.attribute_id AND a.name = 'fit' WHERE r.record_id = 15104),
          '2026-07-12 09:00+00'::timestamptz, 'and is due when the next rule stops holding');
UPDATE crm.ai_attribute SET enabled = false WHERE name = 'fit';
SET LOCAL crm.clock = '2026-07-12 09:00:01+00';
SELECT is_empty($$SELECT * FROM crm.run_ai_jobs(100)$$, 'a paused attribute is not scored again');
SELECT is((SELECT r.due_at FROM crm.ai_result r JOIN crm.ai_attribute a ON a.id = r.attribute_id AND a.name = 'fit' WHERE r.record_id = 15104),
          '2026-07-12 09:00+00'::timestamptz, 'and its result stays due');
UPDATE crm.ai_attribute SET enabled = true WHERE name = 'fit';
SELECT results_eq($$SELECT attribute, record_id, outcome FROM crm.run_ai_jobs(100)$$,
                  $$VALUES ('fit', 15104::bigint, 'applied')$$, 'resumed, the record is scored again');
SELECT results_eq($$SELECT (c.attributes ->> 'fit')::int, r.due_at FROM crm.company c
                    JOIN crm.ai_result r ON r.record_id = c.id JOIN crm.ai_attribute a ON a.id = r.attribute_id AND a.name = 'fit'
                    WHERE c.id = 15104$$,
                  $$VALUES (80, NULL::timestamptz)$$, 'without the points of the lapsed rules, and due no more');
SELECT is_empty($$SELECT * FROM crm.run_ai_jobs(100)$$, 'nothing more is queued as time passes');
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SELECT results_eq($$SELECT crm._ai_rule_score(r, '{"fields": {"d": "2026-02-30"}}', '2026-03-01'), crm._ai_rule_score_due(r, '{"fields": {"d": "2026-02-30"}}', '2026-03-01'),
                           crm._ai_rule_score(r, '{"fields": {"d": "2026-02-20 soon"}}', '2026-03-01'),
                           crm._ai_rule_score(r, '{"fields": {"d": "2026-02-20"}}', '2026-03-01'), crm._ai_rule_score_due(r, '{"fields": {"d": "2026-02-20"}}', '2026-03-01')
                    FROM (SELECT '[{"field": "d", "op": "within_days", "value": 30.0, "points": 10}]'::jsonb) x(r)$$,
                  $$VALUES (0, NULL::timestamptz, 0, 10, '2026-03-22'::timestamptz)$$,
                  'a text that only looks like a date does not hold (nor fails the job); days written 30.0 are read');

-- A request that arrives while its job runs keeps the job queued, whatever its time stamp (a
-- writer's request carries its transaction's start, which may be before the claim).
SELECT crm._ai_enqueue_all(a) FROM crm.ai_attribute a WHERE a.name = 'fit';
SELECT crm._ai_claim() AS claimed \gset
SELECT ok(:claimed IS NOT NULL, 'a job claimed');
INSERT INTO crm.ai_inbox SELECT 151, j.attribute_id, j.record_id, '-infinity' FROM crm.ai_job j WHERE j.id = :claimed;
SELECT is(crm._ai_collect(), 0::bigint, 'the request is collected into the running job (nothing goes back to the inbox)');
SELECT is(crm._ai_run(:claimed), 'unchanged', 'the run ends');
SELECT is((SELECT status FROM crm.ai_job j WHERE j.id = :claimed), 'pending',
          'and the job stays queued for the request that came meanwhile');
-- Redefined while a job runs: the claim and its lease stand, nothing of the old spec is written.
SELECT ok(crm._ai_claim() IS NOT NULL, 'another job claimed');
SELECT crm.define_ai_attribute('company', 'fit', 'score',
  '{"rules": [{"field": "industry", "op": "equals", "value": "retail", "points": 40}], "inputs": ["industry", "signals"]}');
SELECT results_eq($$SELECT status, next_attempt_at > now() FROM crm.ai_job j WHERE j.claimed_by = pg_backend_pid()$$,
                  $$VALUES ('running', true)$$, 'a redefinition leaves a running claim and its lease alone');
SELECT is((SELECT crm._ai_run(j.id) FROM crm.ai_job j WHERE j.claimed_by = pg_backend_pid()), 'redefined',
          'its run writes nothing of the old version');
SELECT lives_ok($$SELECT crm.run_ai_jobs(100)$$, 'the new version runs');
SELECT is((SELECT (attributes ->> 'fit')::int FROM crm.company WHERE id = 15104), 40, 'with the new rules');

-- Review mode: suggestions, nothing written.
UPDATE crm.company SET industry = NULL WHERE id = 15111;
SELECT lives_ok($$SELECT crm.define_ai_attribute('company', 'industry_guess', 'classify',
                   '{"labels": ["software", "retail", "finance"], "target": "industry", "inputs": ["name", "domain"], "review": true}')$$,
                'redefined in review mode: a new version');
SELECT is((SELECT version FROM crm.ai_attribute WHERE name = 'industry_guess'), 2, 'the spec changed: version 2');
SELECT ok((SELECT count(*) FILTER (WHERE outcome = 'suggested') = 1 FROM crm.run_ai_jobs(100)), 'the empty field gets a suggestion');
SELECT results_eq($$SELECT c.industry, s.source, s.status FROM crm.company c JOIN crm.field_suggestion s ON s.record_id = c.id AND s.field = 'industry'
                    WHERE c.id = 15111$$, $$VALUES (NULL::text, 'ai:industry_guess', 'pending')$$, 'and stays empty until someone accepts it');

-- A classifier with too few labelled examples waits, visibly.
SELECT lives_ok($$SELECT crm.define_ai_attribute('person', 'stage_guess', 'classify',
                   '{"labels": ["lead", "astronaut"], "target": "lifecycle_stage", "engine": "embedded"}')$$, 'a classifier into a picklist');
SELECT ok((SELECT count(*) FILTER (WHERE outcome = 'waiting') = 1 FROM crm.run_ai_jobs(100)),
          'too few labelled examples: the job waits');
SELECT ok((SELECT wait_reasons[1] LIKE 'the classifier needs labelled examples%' FROM crm.ai_status WHERE attribute = 'stage_guess'),
          'visibly, with the reason');

SELECT * FROM finish();
ROLLBACK;
