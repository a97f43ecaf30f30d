-- Labels that stay consistent: picklists per workspace (lifecycle stage and deal stage by
-- default, industry and attributes when declared), synonyms landing on one value, unknown labels
-- refused with 22023 naming the allowed values, automated changes only forward, a user's back.
BEGIN;
SELECT plan(27);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
INSERT INTO crm.workspace (id, name) VALUES (143, 'labels'), (144, 'other labels');
SET LOCAL crm.workspace = 143;

SELECT results_eq($$SELECT value FROM crm.picklist_value WHERE workspace_id = 143 AND field = 'lifecycle_stage'
                    ORDER BY position NULLS LAST$$,
                  $$VALUES ('subscriber'), ('lead'), ('marketing qualified lead'), ('sales qualified lead'),
                           ('opportunity'), ('customer'), ('evangelist'), ('other')$$,
                  'a new workspace has the default lifecycle stages, in order, plus other');
INSERT INTO crm.person (id, first_name, lifecycle_stage) VALUES
  (14301, 'A', 'MQL'), (14302, 'B', 'Marketing Qualified Lead'), (14303, 'C', 'mql '), (14304, 'D', 'Customer'),
  (14305, 'E', NULL), (14306, 'F', 'marketing-qualified');
SELECT results_eq($$SELECT lifecycle_stage FROM crm.person WHERE id BETWEEN 14301 AND 14306 ORDER BY id$$,
                  $$VALUES ('marketing qualified lead'), ('marketing qualified lead'), ('marketing qualified lead'),
                           ('customer'), (NULL), ('marketing qualified lead')$$,
                  '"MQL", "Marketing Qualified Lead", "mql " and "marketing-qualified" land on one value');
SELECT throws_ok($$INSERT INTO crm.person (first_name, lifecycle_stage) VALUES ('G', 'Prospect')$$, '22023',
                 '"Prospect" is not a value of person.lifecycle_stage in workspace 143',
                 'an unknown label is refused with 22023');
SELECT throws_like($$UPDATE crm.person SET lifecycle_stage = 'hot' WHERE id = 14305$$,
                   '%not a value of person.lifecycle_stage%', 'on UPDATE too');
SELECT is((SELECT count(*) FROM crm.person WHERE id = 14305 AND lifecycle_stage IS NULL), 1::bigint, '... writing nothing');
CREATE FUNCTION pg_temp.detail_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
  EXECUTE q;
  RETURN NULL;
EXCEPTION WHEN invalid_parameter_value THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RETURN d;
END $$;
SELECT is(pg_temp.detail_of($$UPDATE crm.person SET lifecycle_stage = 'hot' WHERE id = 14305$$),
          'allowed: subscriber, lead, marketing qualified lead, sales qualified lead, opportunity, customer, evangelist, other',
          'the error names the allowed values in order');
UPDATE crm.person SET lifecycle_stage = 'Lead' WHERE id = 14304;
SELECT is((SELECT lifecycle_stage FROM crm.person WHERE id = 14304), 'lead', 'a user may move a stage back');

-- Deal stages.
INSERT INTO crm.company (id, name) VALUES (14311, 'Initech');
INSERT INTO crm.deal (id, company_id, name, stage) VALUES (14321, 14311, 'Renewal', 'Closed Won'), (14322, 14311, 'Upsell', 'PROPOSAL');
SELECT results_eq($$SELECT stage FROM crm.deal WHERE id IN (14321, 14322) ORDER BY id$$, $$VALUES ('won'), ('proposal')$$,
                  'deal stages are a picklist too: "Closed Won" is won');

-- Automated changes only move forward.
SELECT is((SELECT outcome FROM crm.enrich('person', 14305, '{"lifecycle_stage": "SQL"}', 'scoring', 0.9, 'rule')), 'applied',
          'an empty stage is filled, the synonym stored as its value');
SELECT is((SELECT lifecycle_stage FROM crm.person WHERE id = 14305), 'sales qualified lead', '... as sales qualified lead');
SELECT crm.set_field_policy('person', 'lifecycle_stage', 'always', 'scoring');
SELECT results_eq($$SELECT outcome, reason FROM crm.enrich('person', 14305, '{"lifecycle_stage": "lead"}', 'scoring', 0.9, 'rule')$$,
                  $$VALUES ('suggested', 'an automated change only moves an ordered field forward')$$,
                  'an automated change back is a suggestion, whatever the policy');
SELECT is((SELECT outcome FROM crm.enrich('person', 14305, '{"lifecycle_stage": "other"}', 'scoring', 0.9, 'rule')), 'suggested',
          '... and so is a move out of the order');
SELECT is((SELECT outcome FROM crm.enrich('person', 14305, '{"lifecycle_stage": "opportunity"}', 'scoring', 0.9, 'rule')), 'applied',
          'forward it is written');
SELECT is((SELECT outcome FROM crm.enrich('person', 14305, '{"lifecycle_stage": "Opportunity"}', 'scoring', 0.9, 'rule')), 'unchanged',
          'the same stage in other letters is unchanged');
SELECT throws_ok($$SELECT * FROM crm.enrich('person', 14305, '{"lifecycle_stage": "Zombie"}', 'scoring', 0.9, 'rule')$$, '22023', NULL,
                 'an enricher''s unknown label is refused like any write');

-- A workspace's own picklists: industry, an attribute, its own lifecycle order.
SELECT crm.declare_picklist('company', 'industry', '{Software,Manufacturing,Retail}', false);
SELECT crm.add_label_synonyms('company', 'industry', 'Software', '{SaaS,"computer software"}');
INSERT INTO crm.company (id, name, industry) VALUES (14312, 'Hooli', 'saas'), (14313, 'Acme', 'Computer-Software');
SELECT results_eq($$SELECT industry FROM crm.company WHERE id IN (14312, 14313) ORDER BY id$$,
                  $$VALUES ('Software'), ('Software')$$, 'a declared industry picklist with synonyms');
SELECT throws_ok($$INSERT INTO crm.company (name, industry) VALUES ('X', 'Mining')$$, '22023', NULL,
                 'an industry outside it is refused');
SELECT crm.declare_picklist('person', 'attributes.persona', '{Champion,"Economic buyer",Blocker}', false);
UPDATE crm.person SET attributes = '{"persona": "economic-buyer", "notes": "anything"}' WHERE id = 14301;
SELECT is((SELECT attributes FROM crm.person WHERE id = 14301), '{"persona": "Economic buyer", "notes": "anything"}'::jsonb,
          'an attribute picklist normalises its key and leaves the others alone');
SELECT throws_ok($$UPDATE crm.person SET attributes = '{"persona": 3}' WHERE id = 14302$$, '22023', NULL,
                 'a picklist attribute takes text only');
SELECT crm.declare_picklist('person', 'lifecycle_stage', '{lead,trial,customer}', true, '{other}');
SELECT is((SELECT lifecycle_stage FROM crm.person WHERE id = 14302), 'marketing qualified lead',
          'values no longer listed stay on the records that hold them');
SELECT throws_ok($$INSERT INTO crm.person (first_name, lifecycle_stage) VALUES ('H', 'MQL')$$, '22023', NULL,
                 '... but are refused in new writes');
SELECT is((SELECT crm._label_rank(143, 'person', 'lifecycle_stage', 'Trial')), 2, 'the workspace''s own order');
SET LOCAL crm.workspace = 144;
SELECT is(crm.label_value('person', 'lifecycle_stage', 'MQL'), 'marketing qualified lead',
          'another workspace keeps the default order');
SELECT crm.declare_picklist('person', 'attributes.interest', '{Интерес,Büro}', false);
SELECT is(crm.label_value('person', 'attributes.interest', 'интерес'), 'Интерес',
          'labels in any script match, whatever the collation (keys transliterated in C++)');
SELECT is(crm.label_value('person', 'attributes.interest', 'BURO'), 'Büro', '"BURO" is "Büro"');
SET LOCAL crm.workspace = 143;
SELECT throws_ok($$SELECT crm.declare_picklist('company', 'industry', '{Software,SaaS,Retail}', false)$$, '22023',
                 '"SaaS" is a synonym of another value of company.industry', 'a value may not be another value''s synonym');
SELECT throws_ok($$SELECT crm.declare_picklist('person', 'title', '{CEO}')$$, '22023', NULL,
                 'only stages, industry and attributes can be picklists');

SELECT finish();
ROLLBACK;
