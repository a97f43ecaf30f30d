-- crm.scan_duplicates over records written without the triggers: finds what they would have,
-- idempotent, keeps dismissals, stays in its workspace, and a scan cancelled by statement_timeout
-- leaves nothing half-written. Then crm.train_duplicate_model and the model's CHECK.
BEGIN;
SELECT plan(45);
SET LOCAL timezone = 'UTC';
SET LOCAL client_min_messages = warning;  -- the scan's progress notices

CREATE FUNCTION pg_temp.pairs(k text, ids bigint[], only_status text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(c.record_id || '-' || c.other_id, ' ' ORDER BY c.record_id, c.other_id), '')
  FROM crm.duplicate_candidate c
  WHERE c.kind = k AND (c.record_id = ANY (ids) OR c.other_id = ANY (ids))
    AND (only_status IS NULL OR c.status = only_status) $$;
CREATE FUNCTION pg_temp.open_count(k text, ws bigint DEFAULT 1) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM crm.duplicate_candidate WHERE kind = k AND workspace_id = ws AND status = 'open' $$;
-- Everything a user sees of the candidates, and the profiles, as one digest each.
CREATE FUNCTION pg_temp.candidates_digest() RETURNS text LANGUAGE sql AS $$
  SELECT md5(coalesce(string_agg(format('%s %s %s %s %s %s %s %s', workspace_id, kind, record_id, other_id, score, evidence, status, detected_at),
                                 E'\n' ORDER BY kind, record_id, other_id), ''))
  FROM crm.duplicate_candidate $$;
CREATE FUNCTION pg_temp.profiles_digest() RETURNS text LANGUAGE sql AS $$
  SELECT md5(coalesce(string_agg(format('%s %s %s %s %s', workspace_id, kind, record_id, fields, keys), E'\n' ORDER BY kind, record_id), ''))
  FROM crm.match_profile $$;
-- plpgsql's WHEN OTHERS (and so throws_ok) does not catch query_canceled: catch it by name.
CREATE FUNCTION pg_temp.sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN '00000';
EXCEPTION
  WHEN query_canceled THEN RETURN SQLSTATE;
  WHEN OTHERS THEN RETURN SQLSTATE;
END $$;

-- Records written while the insert triggers are off: no profiles, no candidates.
ALTER TABLE crm.person DISABLE TRIGGER person_duplicates_insert;
ALTER TABLE crm.company DISABLE TRIGGER company_duplicates_insert;
INSERT INTO crm.person (id, first_name, last_name, email, birth_date, city) VALUES
  (601, 'Gordon', 'Cole', 'gordon.cole@fbi.gov', NULL, NULL),
  (602, NULL, NULL, 'Gordon.Cole@FBI.gov', NULL, NULL),
  (603, 'Margaret', 'Lanterman', NULL, '1940-05-12', 'Twin Peaks'),
  (604, 'Maggie', 'Lanterman', NULL, '1940-05-12', 'Twin Peaks'),
  (605, 'Benjamin', 'Horne', 'ben@horne-enterprises.com', '1945-03-01', 'Twin Peaks');
INSERT INTO crm.company (id, name, domain) VALUES (701, 'The Acme Corporation, Inc.', 'acme.com'), (702, 'ACME Corp', 'www.acme.com'),
  (703, 'Joe''s Plumbing', 'gmail.com'), (704, 'Sunrise Bakery', 'gmail.com');
SELECT is(pg_temp.pairs('person', '{601,602,603,604,605}'), '', 'written with the insert trigger off: no candidates yet');
SELECT is((SELECT count(*)::int FROM crm.match_profile WHERE record_id BETWEEN 601 AND 605), 0, 'and no profiles');

SELECT is(crm.scan_duplicates('person'), 2::bigint, 'scan_duplicates returns the open candidates: 2');
SELECT is(pg_temp.pairs('person', '{601,602,603,604,605}', 'open'), '601-602 603-604', 'the scan finds the email and the nickname pair');
SELECT is((SELECT evidence -> 'fields' -> 'email' ->> 'level' FROM crm.duplicate_candidate WHERE kind = 'person' AND record_id = 601 AND other_id = 602),
          'exact', 'with evidence like the trigger''s');
SELECT is((SELECT count(*)::int FROM crm.match_profile WHERE kind = 'person' AND record_id BETWEEN 601 AND 605), 5, 'and builds every profile');
SELECT is(crm.scan_duplicates('company'), 1::bigint, 'a company scan: 1');
SELECT is(pg_temp.pairs('company', '{701,702,703,704}'), '701-702', 'Acme is found, the gmail.com companies are not');
SELECT is(pg_temp.pairs('person', '{701,702}'), '', 'a company scan writes no person candidates');

-- Idempotent.
CREATE TEMP TABLE first_scan AS SELECT pg_temp.candidates_digest() AS candidates, pg_temp.profiles_digest() AS profiles;
SELECT is(crm.scan_duplicates('person'), 2::bigint, 'a second scan returns the same count');
SELECT is(pg_temp.candidates_digest(), (SELECT candidates FROM first_scan), 'and leaves the same candidate rows');
SELECT is(pg_temp.profiles_digest(), (SELECT profiles FROM first_scan), 'and the same profiles');

-- A scan agrees with the triggers: the same records written through them give the same candidates.
ALTER TABLE crm.person ENABLE TRIGGER person_duplicates_insert;
ALTER TABLE crm.company ENABLE TRIGGER company_duplicates_insert;
SAVEPOINT through_triggers;
DELETE FROM crm.person WHERE id BETWEEN 601 AND 605;
INSERT INTO crm.person (id, first_name, last_name, email, birth_date, city) VALUES (601, 'Gordon', 'Cole', 'gordon.cole@fbi.gov', NULL, NULL);
INSERT INTO crm.person (id, first_name, last_name, email, birth_date, city) VALUES (602, NULL, NULL, 'Gordon.Cole@FBI.gov', NULL, NULL);
INSERT INTO crm.person (id, first_name, last_name, email, birth_date, city) VALUES (603, 'Margaret', 'Lanterman', NULL, '1940-05-12', 'Twin Peaks');
INSERT INTO crm.person (id, first_name, last_name, email, birth_date, city) VALUES (604, 'Maggie', 'Lanterman', NULL, '1940-05-12', 'Twin Peaks');
INSERT INTO crm.person (id, first_name, last_name, email, birth_date, city) VALUES (605, 'Benjamin', 'Horne', 'ben@horne-enterprises.com', '1945-03-01', 'Twin Peaks');
SELECT is(pg_temp.candidates_digest(), (SELECT candidates FROM first_scan), 'the triggers, record by record, give the scan''s candidates');
ROLLBACK TO SAVEPOINT through_triggers;

-- Dismissals survive scans; a pair that no longer matches is dropped by one.
SELECT crm.dismiss_duplicate('person', 602, 601);
SELECT is(crm.scan_duplicates('person'), 1::bigint, 'after a dismissal the scan counts one open candidate');
SELECT is((SELECT status FROM crm.duplicate_candidate WHERE kind = 'person' AND record_id = 601 AND other_id = 602), 'dismissed',
          'the dismissed pair stays dismissed across a scan');
SELECT is(crm.scan_duplicates('person'), 1::bigint, 'and across another');
ALTER TABLE crm.person DISABLE TRIGGER person_duplicates_update;
UPDATE crm.person SET first_name = 'Norma', last_name = 'Jennings', birth_date = '1958-09-09' WHERE id = 604;
ALTER TABLE crm.person ENABLE TRIGGER person_duplicates_update;
SELECT is(pg_temp.pairs('person', '{603,604}'), '603-604', 'an update behind the trigger''s back leaves a stale candidate');
SELECT is(crm.scan_duplicates('person'), 0::bigint, 'a scan drops it: no open candidates');
SELECT is(pg_temp.pairs('person', '{603,604}'), '', 'the stale pair is gone');
SELECT is(pg_temp.pairs('person', '{601,602}', 'dismissed'), '601-602', 'the dismissed pair is still there');

-- A scan stays in its workspace.
INSERT INTO crm.workspace (id, name) VALUES (2, 'other');
SET LOCAL crm.workspace = 2;
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (651, 'Gordon', 'Cole', 'gordon.cole@fbi.gov');
INSERT INTO crm.person (id, email) VALUES (652, 'gordon.cole@fbi.gov');
SELECT is(crm.scan_duplicates('person'), 1::bigint, 'a scan in workspace 2 counts workspace 2''s candidates');
SET LOCAL crm.workspace = 1;
CREATE TEMP TABLE ws2 AS SELECT * FROM crm.duplicate_candidate WHERE workspace_id = 2;
DELETE FROM crm.match_profile WHERE workspace_id = 1;
SELECT is(crm.scan_duplicates('person'), 0::bigint, 'a scan in workspace 1 after its profiles were lost');
SELECT set_eq('SELECT * FROM crm.duplicate_candidate WHERE workspace_id = 2', 'SELECT * FROM ws2',
              'leaves workspace 2''s candidates alone');
SELECT is((SELECT count(*)::int FROM crm.match_profile WHERE workspace_id = 2), 2, 'and its profiles');
SELECT is(pg_temp.pairs('person', '{601,602}', 'dismissed'), '601-602', 'the dismissal outlives lost profiles');
SELECT throws_ok($$SELECT crm.scan_duplicates('planet')$$, '22023', NULL, 'scan_duplicates: unknown kind');

-- 5,000 people written without the trigger, 200 of them written twice: a scan takes well over 20 ms.
ALTER TABLE crm.person DISABLE TRIGGER person_duplicates_insert;
INSERT INTO crm.person (id, first_name, last_name, email, birth_date)
SELECT 10000 + g, f, l, left(md5(g::text), 12) || '@gmail.com', date '1940-01-01' + abs(hashint4(g + 3)) % 20000
FROM generate_series(1, 5000) g,
     LATERAL (SELECT (ARRAY['James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'William', 'Elizabeth',
                            'David', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen',
                            'Daniel', 'Nancy', 'Matthew', 'Lisa', 'Anthony', 'Betty', 'Mark', 'Sandra', 'Steven', 'Ashley'])[1 + abs(hashint4(g)) % 30] AS f,
                     (ARRAY['Ander', 'Berg', 'Carl', 'Dahl', 'Eck', 'Fal', 'Gund', 'Hal', 'Ing', 'Jo', 'Kell', 'Lind', 'Mal',
                            'Nor', 'Ost', 'Pet', 'Quist', 'Ros', 'Sand', 'Tor', 'Ulf', 'Vik', 'Wall', 'Yng', 'Zet'])[1 + abs(hashint4(g + 1)) % 25]
                     || (ARRAY['son', 'berg', 'strom', 'gren', 'lund', 'holm', 'qvist', 'dahl', 'man', 'ius', 'ler', 'by', 'vik',
                               'ton', 'well', 'ford'])[1 + abs(hashint4(g + 2)) % 16] AS l) n;
INSERT INTO crm.person (id, first_name, last_name, email, birth_date)
SELECT 40000 + id, first_name, last_name, replace(email, '@', '+crm@'), birth_date FROM crm.person WHERE id BETWEEN 10001 AND 10200;
ALTER TABLE crm.person ENABLE TRIGGER person_duplicates_insert;
CREATE TEMP TABLE before_cancel AS SELECT pg_temp.candidates_digest() AS candidates, pg_temp.profiles_digest() AS profiles;

SAVEPOINT before_timeout;
SET LOCAL statement_timeout = '20ms';
SELECT is(pg_temp.sqlstate_of($$SELECT crm.scan_duplicates('person')$$), '57014', 'statement_timeout cancels a scan');
SET LOCAL statement_timeout = 0;
SELECT is(pg_temp.candidates_digest(), (SELECT candidates FROM before_cancel), 'the cancelled scan left the candidates as they were');
SELECT is(pg_temp.profiles_digest(), (SELECT profiles FROM before_cancel), 'and the profiles');
ROLLBACK TO SAVEPOINT before_timeout;
SET LOCAL statement_timeout = 0;
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (606, 'Gordon', 'Cole', 'GORDON.COLE@fbi.gov');
SELECT is(pg_temp.pairs('person', '{606}'), '601-606 602-606', 'after the cancelled scan the triggers still work');
SELECT cmp_ok(crm.scan_duplicates('person'), '>=', 202::bigint, 'a full scan then finds at least the 200 planted pairs');
SELECT is(crm.scan_duplicates('person'), pg_temp.open_count('person'), 'and returns the open candidates');
SELECT is((SELECT count(*)::int FROM crm.person p
           WHERE p.id BETWEEN 10001 AND 10200
             AND NOT EXISTS (SELECT FROM crm.duplicate_candidate c WHERE c.kind = 'person' AND c.status = 'open'
                             AND c.record_id = p.id AND c.other_id = p.id + 40000)), 0,
          'every planted pair is an open candidate');
SELECT is((SELECT count(*)::int FROM crm.match_profile WHERE kind = 'person' AND workspace_id = 1),
          (SELECT count(*)::int FROM crm.person WHERE workspace_id = 1), 'every person has a profile');

-- Training from this workspace's own records.
CREATE TEMP TABLE trained AS SELECT crm.train_duplicate_model('person') AS model;
SELECT ok((SELECT jsonb_typeof(model -> 'fields') = 'object' FROM trained), 'train_duplicate_model returns a model with "fields"');
SELECT set_eq($$SELECT jsonb_object_keys(model -> 'fields') FROM trained$$,
              $$SELECT jsonb_object_keys(crm.default_duplicate_model('person') -> 'fields')$$,
              'the fields of the default model');
SELECT is((SELECT m.model -> 'fields' FROM crm.duplicate_model m WHERE m.workspace_id = 1 AND m.kind = 'person'),
          (SELECT model -> 'fields' FROM trained), 'and stores it for the workspace');
SELECT isnt((SELECT trained_at FROM crm.duplicate_model WHERE workspace_id = 1 AND kind = 'person'), NULL, 'with when it was trained');
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (607, 'Dale', 'Cooper', 'dale.cooper@fbi.gov');
INSERT INTO crm.person (id, email) VALUES (608, 'Dale.Cooper@FBI.gov');
SELECT is(pg_temp.pairs('person', '{607,608}'), '607-608', 'with the trained model the same email still makes a candidate');
SELECT throws_ok($$INSERT INTO crm.duplicate_model (workspace_id, kind, model) VALUES (2, 'person', '{"fields": {"shoe_size": {"m": [0.9, 0.1], "u": [0.1, 0.9]}}}')$$,
                 '22023', 'invalid duplicate model: unknown field "shoe_size"', 'a model with an unknown field is refused, naming the field');
SELECT throws_ok($$INSERT INTO crm.duplicate_model (workspace_id, kind, model) VALUES (2, 'person', '{"fields": {"phone": {"m": [1.5, 0.05, 0.25], "u": [1e-6, 1e-5, 0.99]}}}')$$,
                 '22023', NULL, 'a model with a probability above 1 is refused');
SELECT throws_ok($$INSERT INTO crm.duplicate_model (workspace_id, kind, model) VALUES (2, 'company', '{"threshold": 0}')$$,
                 '22023', NULL, 'a model with threshold 0 is refused');

SELECT ok(NOT has_function_privilege('public', 'crm.scan_duplicates(text)', 'EXECUTE'),
          'scan_duplicates is for the roles a DBA grants it to');
SELECT ok(NOT has_function_privilege('public', 'crm.train_duplicate_model(text)', 'EXECUTE'),
          'train_duplicate_model is for the roles a DBA grants it to');

SELECT is_empty('SELECT * FROM crm.verify_signals()', 'signals are intact');
SELECT * FROM finish();
ROLLBACK;
