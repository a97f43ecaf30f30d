-- Duplicate detection as records live: the workspace's rule (allow, alert, block), updates and
-- deletes keeping the candidates right, dismissals, and the connected sets of candidates.
BEGIN;
SELECT plan(74);
SET LOCAL timezone = 'UTC';

CREATE FUNCTION pg_temp.pairs(k text, ids bigint[], only_status text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(c.record_id || '-' || c.other_id, ' ' ORDER BY c.record_id, c.other_id), '')
  FROM crm.duplicate_candidate c
  WHERE c.kind = k AND (c.record_id = ANY (ids) OR c.other_id = ANY (ids))
    AND (only_status IS NULL OR c.status = only_status) $$;
CREATE FUNCTION pg_temp.pair(k text, a bigint, b bigint) RETURNS SETOF crm.duplicate_candidate LANGUAGE sql AS $$
  SELECT * FROM crm.duplicate_candidate c WHERE c.kind = k AND c.record_id = least(a, b) AND c.other_id = greatest(a, b) $$;
CREATE FUNCTION pg_temp.status(k text, a bigint, b bigint) RETURNS text LANGUAGE sql AS $$
  SELECT status FROM pg_temp.pair(k, a, b) $$;
CREATE FUNCTION pg_temp.profiles(k text, ids bigint[]) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(record_id::text, ' ' ORDER BY record_id), '') FROM crm.match_profile
  WHERE kind = k AND record_id = ANY (ids) $$;
-- SQLSTATE, message and DETAIL of the error a statement raises (NULL when it succeeds).
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text;
  message text;
  detail text;
BEGIN
  EXECUTE query;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
  RETURN state || ': ' || message || ' / ' || coalesce(detail, '');
END $$;

-- A pair dismissed before any rule is set (used under the block rule below).
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (511, 'Shelly', 'Johnson', 'shelly@double-r-diner.com');
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (512, 'Shelly', 'Johnson', 'Shelly@Double-R-Diner.com');
SELECT crm.dismiss_duplicate('person', 511, 512);

-- Rules. Allow is the default.
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (501, 'Dale', 'Cooper', 'dale.cooper@fbi.gov');
SELECT lives_ok($$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (502, 'Dale', 'Cooper', 'Dale.Cooper@FBI.gov')$$,
                'allow (the default): a duplicate is written');
SELECT is(pg_temp.pairs('person', '{502}'), '501-502', 'and its candidate recorded');

SELECT lives_ok($$SELECT crm.set_duplicate_rule('person', 'alert', 0.9)$$, 'set_duplicate_rule: alert');
SELECT is((SELECT action || ' ' || threshold FROM crm.duplicate_rule WHERE workspace_id = 1 AND kind = 'person'), 'alert 0.9',
          'the rule is stored for this workspace and kind');
SET LOCAL client_min_messages = error;  -- the WARNING itself is shown by the pg_regress test sql/duplicates.sql
SELECT lives_ok($$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (503, 'Dale', 'Cooper', ' dale.cooper@fbi.gov')$$,
                'alert: a duplicate is written (with a WARNING)');
SET LOCAL client_min_messages = notice;
SELECT is(pg_temp.pairs('person', '{503}'), '501-503 502-503', 'alert: its candidates are recorded');

SELECT lives_ok($$SELECT crm.set_duplicate_rule('person', 'block', 0.9)$$, 'set_duplicate_rule: block');
SELECT is((SELECT action FROM crm.duplicate_rule WHERE workspace_id = 1 AND kind = 'person'), 'block', 'a second rule replaces the first');
SELECT throws_ok($$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (504, 'Dale', 'Cooper', 'DALE.COOPER@fbi.gov')$$,
                 '23505', NULL, 'block: a duplicate is refused with 23505');
SELECT matches(pg_temp.error_of($$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (504, 'Dale', 'Cooper', 'DALE.COOPER@fbi.gov')$$),
               '^23505: .*\m50[123]\M', 'block: the error names an existing record');
SELECT is((SELECT count(*)::int FROM crm.person WHERE id = 504), 0, 'block: the person is not written');
SELECT is(pg_temp.profiles('person', '{504}'), '', 'block: nor its profile');
SELECT is(pg_temp.pairs('person', '{504}'), '', 'block: nor any candidate');
SELECT throws_ok($$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (506, 'Windom', 'Earle', 'earle@fbi-retired.org'),
                                                                                    (507, 'Windom', 'Earle', 'Earle@FBI-Retired.org')$$,
                 '23505', NULL, 'block: two duplicates of each other in one statement are refused');
SELECT is((SELECT count(*)::int FROM crm.person WHERE id IN (506, 507)), 0, 'and neither is written');
SELECT lives_ok($$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (505, 'Audrey', 'Horne', 'audrey@horne-enterprises.com')$$,
                'block: someone new is written');
SELECT throws_ok($$UPDATE crm.person SET first_name = 'Dale', last_name = 'Cooper', email = 'dale.cooper@fbi.gov' WHERE id = 505$$,
                 '23505', NULL, 'block: an update making a duplicate is refused');
SELECT is((SELECT first_name || ' ' || email FROM crm.person WHERE id = 505), 'Audrey audrey@horne-enterprises.com',
          'and the record is unchanged');
SELECT is(pg_temp.pairs('person', '{505}'), '', 'and has no candidate');
SELECT lives_ok($$UPDATE crm.person SET title = 'Waitress' WHERE id = 512$$,
                'block: an immaterial update of a record whose pair was dismissed is written');
SELECT is(pg_temp.status('person', 511, 512), 'dismissed', 'and the pair stays dismissed');
-- The rule is per kind and per workspace.
INSERT INTO crm.company (id, name, domain) VALUES (591, 'Double R Diner', 'double-r-diner.com');
SELECT lives_ok($$INSERT INTO crm.company (id, name, domain) VALUES (592, 'Double R Diner', 'www.double-r-diner.com')$$,
                'a person rule does not apply to companies');
SELECT is(pg_temp.pairs('company', '{592}'), '591-592', 'the company candidate is recorded');
INSERT INTO crm.workspace (id, name) VALUES (2, 'other');
SET LOCAL crm.workspace = 2;
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (581, 'Dale', 'Cooper', 'dale.cooper@fbi.gov');
SELECT lives_ok($$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (582, 'Dale', 'Cooper', 'dale.cooper@fbi.gov')$$,
                'workspace 1''s rule does not apply in workspace 2');
SET LOCAL crm.workspace = 1;
SELECT lives_ok($$SELECT crm.set_duplicate_rule('person', 'allow', 1)$$, 'set_duplicate_rule: allow, threshold 1');
SELECT lives_ok($$INSERT INTO crm.person (id, first_name, last_name, email) VALUES (504, 'Dale', 'Cooper', 'DALE.COOPER@fbi.gov')$$,
                'allow again: the duplicate is written');

SELECT throws_ok($$SELECT crm.set_duplicate_rule('planet', 'block', 0.9)$$, '22023', NULL, 'set_duplicate_rule: unknown kind');
SELECT throws_ok($$SELECT crm.set_duplicate_rule('person', 'ignore', 0.9)$$, '22023', NULL, 'set_duplicate_rule: unknown action');
SELECT throws_ok($$SELECT crm.set_duplicate_rule('person', 'block', 0)$$, '22023', NULL, 'set_duplicate_rule: threshold 0');
SELECT throws_ok($$SELECT crm.set_duplicate_rule('person', 'block', 1.5)$$, '22023', NULL, 'set_duplicate_rule: threshold above 1');
SELECT throws_ok($$SELECT crm.set_duplicate_rule('person', 'block', 'NaN')$$, '22023', NULL, 'set_duplicate_rule: threshold NaN');
SELECT throws_ok($$SELECT crm.set_duplicate_rule('person', 'block', NULL)$$, '22023', NULL, 'set_duplicate_rule: no threshold');
SELECT is((SELECT action || ' ' || threshold FROM crm.duplicate_rule WHERE workspace_id = 1 AND kind = 'person'), 'allow 1',
          'refused rules change nothing');

-- Updates.
INSERT INTO crm.person (id, first_name, last_name, birth_date, email) VALUES (521, 'Laura', 'Palmer', '1972-07-22', 'laura.palmer@twinpeaks-high.org');
INSERT INTO crm.person (id, first_name, last_name, birth_date, email) VALUES (522, 'Laura', 'Palmer', '1972-07-22', 'Laura.Palmer@twinpeaks-high.org');
SELECT is(pg_temp.pairs('person', '{521,522}'), '521-522', 'a pair to update');
UPDATE crm.duplicate_candidate SET detected_at = '2001-02-03 04:05+00' WHERE kind = 'person' AND record_id = 521 AND other_id = 522;
CREATE TEMP TABLE laura AS SELECT score, evidence FROM pg_temp.pair('person', 521, 522);
UPDATE crm.person SET title = 'Homecoming Queen', lifecycle_stage = 'customer', updated_at = now() WHERE id = 522;
SELECT is((SELECT detected_at FROM pg_temp.pair('person', 521, 522)), '2001-02-03 04:05+00'::timestamptz,
          'an immaterial update (title, lifecycle stage) keeps the candidate and when it was detected');
SELECT is((SELECT status FROM pg_temp.pair('person', 521, 522)), 'open', 'still open');
SELECT ok((SELECT p.score = l.score AND p.evidence = l.evidence FROM pg_temp.pair('person', 521, 522) p, laura l), 'with the same score and evidence');
UPDATE crm.person SET email = upper(email) WHERE id = 521;
SELECT is((SELECT detected_at FROM pg_temp.pair('person', 521, 522)), '2001-02-03 04:05+00'::timestamptz,
          'an email rewritten in capitals is no material change either');
UPDATE crm.person SET first_name = 'Donna', last_name = 'Hayward', birth_date = '1973-03-04', email = 'donna.hayward@twinpeaks-high.org'
WHERE id = 522;
SELECT is(pg_temp.pairs('person', '{521,522}'), '', 'an update that stops matching removes the candidate');
UPDATE crm.person SET first_name = 'Laura', last_name = 'Palmer', birth_date = '1972-07-22', email = 'laura.palmer@twinpeaks-high.org'
WHERE id = 522;
SELECT is(pg_temp.pairs('person', '{521,522}', 'open'), '521-522', 'an update that starts matching creates an open candidate');
UPDATE crm.person SET first_name = 'Leland', birth_date = '1948-01-01', email = 'leland@palmer-law.com' WHERE id = 521;
SELECT is(pg_temp.pairs('person', '{521,522}'), '', 'an update of the other record (the lower id) that stops matching removes it too');
UPDATE crm.person SET last_name = 'Hayward' WHERE id IN (521, 522);
UPDATE crm.person SET first_name = 'Laura', birth_date = '1972-07-22', email = 'laura.palmer@twinpeaks-high.org' WHERE id IN (521, 522);
SELECT is(pg_temp.pairs('person', '{521,522}', 'open'), '521-522', 'both records updated in one statement to match: one candidate');

INSERT INTO crm.company (id, name, domain) VALUES (531, 'Great Northern Hotel', 'greatnorthern.com');
INSERT INTO crm.company (id, name, domain) VALUES (532, 'The Great Northern Hotel, LLC', 'www.greatnorthern.com');
SELECT is(pg_temp.pairs('company', '{531,532}'), '531-532', 'a company pair');
UPDATE crm.company SET industry = 'Hospitality', employee_count = 80 WHERE id = 531;
SELECT is(pg_temp.pairs('company', '{531,532}'), '531-532', 'an immaterial company update keeps it');
UPDATE crm.company SET name = 'Packard Sawmill', domain = 'packard-sawmill.com' WHERE id = 532;
SELECT is(pg_temp.pairs('company', '{531,532}'), '', 'a company update that stops matching removes it');

-- Deletes.
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (541, 'Harry', 'Truman', 'harry@twinpeaks-sheriff.gov');
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (542, 'Harry', 'Truman', 'Harry@TwinPeaks-Sheriff.gov');
INSERT INTO crm.person (id, first_name, last_name, email, phone) VALUES (543, 'Harry S.', 'Truman', 'harry@twinpeaks-sheriff.gov', '+1 425 555 0101');
SELECT is(pg_temp.pairs('person', '{541,542,543}'), '541-542 541-543 542-543', 'three records, three pairs');
DELETE FROM crm.person WHERE id = 542;
SELECT is(pg_temp.pairs('person', '{541,542,543}'), '541-543', 'deleting a record removes its candidates, whichever side it is on');
SELECT is(pg_temp.profiles('person', '{541,542,543}'), '541 543', 'and its profile only');
DELETE FROM crm.person WHERE id = 541;
SELECT is(pg_temp.pairs('person', '{541,543}'), '', 'deleting the lower id of a pair removes it');
SELECT is(pg_temp.profiles('person', '{541,542,543}'), '543', 'and that record''s profile');
INSERT INTO crm.company (id, name, domain) VALUES (533, 'Great Northern', 'greatnorthern.com');
SELECT is(pg_temp.pairs('company', '{531,533}'), '531-533', 'a company pair to delete');
DELETE FROM crm.company WHERE id = 533;
SELECT is(pg_temp.pairs('company', '{531,533}'), '', 'deleting a company removes its candidates');
SELECT is(pg_temp.profiles('company', '{531,533}'), '531', 'and its profile');

-- Dismissals.
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (551, 'Josie', 'Packard', 'josie@packard-sawmill.com');
INSERT INTO crm.person (id, email) VALUES (552, 'Josie@Packard-Sawmill.com');
SELECT lives_ok($$SELECT crm.dismiss_duplicate('person', 552, 551)$$, 'dismiss_duplicate, ids in either order');
SELECT is(pg_temp.status('person', 551, 552), 'dismissed', 'the pair is dismissed');
UPDATE crm.person SET title = 'Owner', lifecycle_stage = 'lead' WHERE id = 551;
SELECT is(pg_temp.status('person', 551, 552), 'dismissed', 'an immaterial update keeps it dismissed');
UPDATE crm.person SET phone = '+1 425 555 0188' WHERE id = 552;
SELECT is(pg_temp.status('person', 551, 552), 'open', 'a new phone reopens it');
SELECT crm.dismiss_duplicate('person', 551, 552);
UPDATE crm.person SET last_name = 'Packard-Martell' WHERE id = 551;
SELECT is(pg_temp.status('person', 551, 552), 'open', 'a changed last name that still matches reopens it');
SELECT crm.dismiss_duplicate('person', 551, 552);
INSERT INTO crm.person (id, first_name, email) VALUES (553, 'Josie', 'josie@packard-sawmill.com');
SELECT is(pg_temp.pairs('person', '{551,552,553}', 'open'), '551-553 552-553', 'a third duplicate arrives: its pairs are open');
SELECT is(pg_temp.status('person', 551, 552), 'dismissed', 'and the dismissed pair stays dismissed');
SELECT throws_ok($$SELECT crm.dismiss_duplicate('person', 551, 999999)$$, 'P0002', NULL, 'dismissing an unknown pair');
SELECT throws_ok($$SELECT crm.dismiss_duplicate('company', 551, 553)$$, 'P0002', NULL, 'dismissing a pair of the wrong kind');
SET LOCAL crm.workspace = 2;
SELECT throws_ok($$SELECT crm.dismiss_duplicate('person', 551, 553)$$, 'P0002', NULL, 'dismissing another workspace''s pair');
SET LOCAL crm.workspace = 1;
SELECT is(pg_temp.status('person', 551, 553), 'open', 'which stays open');

-- Connected sets: A ~ B by email, B ~ C by phone, A and C nothing alike. B has the smallest id.
INSERT INTO crm.person (id, first_name, last_name, email) VALUES (563, 'Alex', 'Turner', 'alex.turner@arctic-monkeys.co.uk');
INSERT INTO crm.person (id, first_name, last_name, phone) VALUES (562, 'Jamie', 'Cook', '+1 415 555 0134');
INSERT INTO crm.person (id, email, phone) VALUES (561, 'Alex.Turner@Arctic-Monkeys.co.uk', '(415) 555-0134');
SELECT is(pg_temp.pairs('person', '{561,562,563}'), '561-562 561-563', 'A ~ B and B ~ C, not A ~ C');
SELECT results_eq($$SELECT workspace_id, kind, set_id, record_id FROM crm.duplicate_sets WHERE record_id IN (561, 562, 563) ORDER BY record_id$$,
                  $$VALUES (1::bigint, 'person', 561::bigint, 561::bigint), (1, 'person', 561, 562), (1, 'person', 561, 563)$$,
                  'one set of all three, its id the smallest record id');
SELECT is_empty($$SELECT kind, record_id FROM crm.duplicate_sets GROUP BY kind, record_id HAVING count(*) > 1$$,
                'no record is in two sets');
SELECT is_empty($$SELECT s.record_id FROM crm.duplicate_sets s WHERE s.kind = 'person'
                  AND NOT EXISTS (SELECT FROM crm.duplicate_candidate c WHERE c.kind = 'person' AND c.status = 'open'
                                  AND s.record_id IN (c.record_id, c.other_id))$$,
                'every record of a set has an open candidate');
SELECT crm.dismiss_duplicate('person', 562, 561);
SELECT results_eq($$SELECT set_id, record_id FROM crm.duplicate_sets WHERE record_id IN (561, 562, 563) ORDER BY record_id$$,
                  $$VALUES (561::bigint, 561::bigint), (561, 563)$$,
                  'a dismissed pair does not link: C leaves the set');
SELECT is_empty($$SELECT kind, set_id FROM crm.duplicate_sets GROUP BY kind, set_id HAVING count(DISTINCT workspace_id) > 1$$,
                'no set spans two workspaces');
SELECT is_empty($$SELECT * FROM crm.duplicate_sets WHERE kind = 'person' AND record_id IN (581, 582) AND workspace_id <> 2$$,
                'workspace 2''s records are only ever in workspace 2''s sets');

SAVEPOINT truncated;
TRUNCATE crm.person;
SELECT is((SELECT count(*)::int FROM crm.duplicate_candidate WHERE kind = 'person')
          + (SELECT count(*)::int FROM crm.match_profile WHERE kind = 'person'), 0, 'TRUNCATE removes every person candidate and profile');
SELECT isnt((SELECT count(*)::int FROM crm.duplicate_candidate WHERE kind = 'company'), 0, 'and leaves the company candidates');
ROLLBACK TO SAVEPOINT truncated;

SELECT is_empty('SELECT * FROM crm.verify_signals()', 'signals are intact');
SELECT * FROM finish();
ROLLBACK;
