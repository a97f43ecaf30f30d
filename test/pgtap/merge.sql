-- Merging people (docs/MERGE.md): the rules of each field, the preview that is the result, the
-- tombstones and what follows them (activity, ids, duplicates, views), and unmerge, which gives
-- back every record, link and pair exactly as before, or refuses with the conflicts.
BEGIN;
SELECT plan(71);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SET LOCAL crm.workspace = 95;
INSERT INTO crm.workspace (id, name) VALUES (95, 'merges');
INSERT INTO crm.member (id, email) VALUES (9511, 'me@us95.example'), (9512, 'you@us95.example');
INSERT INTO crm.company (id, name, domain) VALUES (9521, 'Acme', 'acme95.example'), (9522, 'Initech', 'initech95.example');
INSERT INTO crm.person (id, first_name, last_name, email, emails, phone, title, city, company_id,
                        lifecycle_stage, attributes, created_at)
VALUES (9501, 'Ann', 'Lee', 'ann@acme95.example', '{}', NULL, NULL, 'Leeds', 9521,
        'lead', '{"tier": "gold"}', '2026-03-01'),
       (9502, 'Anne', 'Lee', 'Ann.Lee@Mail95.example', '{ann@acme95.example, al@home95.example}', '', 'CTO', NULL, NULL,
        'Customer', '{"tier": "silver", "source": "fair"}', '2026-01-01'),
       (9503, 'Ann', 'Lee', NULL, '{annie@old95.example}', '+44 20 7946 0958', 'VP', 'Leeds', 9522,
        'MQL', '{}', '2026-02-01'),
       (9504, 'Bob', 'Stone', 'bob@acme95.example', '{}', NULL, NULL, NULL, 9521, NULL, '{}', '2026-04-01');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES
  (9531, 'email', '2026-06-01'), (9532, 'meeting', '2026-06-10'), (9533, 'email', '2026-05-01'),
  (9534, 'meeting', '2026-07-01');
INSERT INTO crm.participant (interaction_id, address, role)
VALUES (9531, 'me@us95.example', 'from'), (9531, 'ann.lee@mail95.example', 'to'), (9531, 'bob@acme95.example', 'cc'),
       (9532, 'you@us95.example', 'organizer'), (9532, 'ann@acme95.example', 'attendee'), (9532, 'al@home95.example', 'attendee'),
       (9533, 'annie@old95.example', 'from'), (9533, 'me@us95.example', 'to'),
       (9534, 'me@us95.example', 'organizer'), (9534, 'annie@old95.example', 'attendee');
-- A participant the application linked by id: its address belongs to nobody.
INSERT INTO crm.participant (interaction_id, address, role, person_id) VALUES (9533, 'assistant@elsewhere95.example', 'cc', 9503);

-- Everything a merge may touch, as one value: records and links exactly, derived rows with their
-- floating sums rounded (an unmerge folds them back as differences).
CREATE FUNCTION pg_temp.snapshot() RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object(
    'person', (SELECT jsonb_agg(to_jsonb(p) ORDER BY p.id) FROM crm.person p WHERE p.workspace_id = 95),
    'participant', (SELECT jsonb_agg(jsonb_build_array(p.id, p.member_id, p.person_id, p.company_id) ORDER BY p.id)
                    FROM crm.participant p WHERE p.workspace_id = 95),
    'record_address', (SELECT jsonb_agg(to_jsonb(a) ORDER BY a.address, a.person_id, a.member_id)
                       FROM crm.record_address a WHERE a.workspace_id = 95),
    'person_signal', (SELECT jsonb_agg(to_jsonb(s) - 'strongest_rank' || jsonb_build_object('rank', round(s.strongest_rank::numeric, 9)) ORDER BY s.person_id)
                      FROM crm.person_signal s WHERE s.workspace_id = 95),
    'company_signal', (SELECT jsonb_agg(to_jsonb(s) - 'strongest_rank' || jsonb_build_object('rank', round(s.strongest_rank::numeric, 9)) ORDER BY s.company_id)
                       FROM crm.company_signal s WHERE s.workspace_id = 95),
    'connection', (SELECT jsonb_agg(jsonb_build_array(c.member_id, c.person_id, c.address_key, c.company_id, c.emails_sent,
                                                      c.emails_received, c.meetings, round(c.rank::numeric, 9))
                                    ORDER BY c.member_id, c.person_id, c.address_key)
                   FROM crm.connection c WHERE c.workspace_id = 95),
    'company_connection', (SELECT jsonb_agg(jsonb_build_array(c.company_id, c.member_id, c.people, round(c.rank::numeric, 9))
                                            ORDER BY c.company_id, c.member_id)
                           FROM crm.company_connection c WHERE c.workspace_id = 95),
    'match_profile', (SELECT jsonb_agg(to_jsonb(m) ORDER BY m.record_id) FROM crm.match_profile m WHERE m.workspace_id = 95),
    'duplicate_candidate', (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.record_id, c.other_id)
                            FROM crm.duplicate_candidate c WHERE c.workspace_id = 95)) $$;

-- A dismissal the users made: it must survive a merge and its undoing.
UPDATE crm.duplicate_candidate SET status = 'dismissed' WHERE kind = 'person' AND record_id = 9501 AND other_id = 9503;
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty before');
CREATE TEMP TABLE original AS SELECT pg_temp.snapshot() AS s;

-- The preview writes nothing.
CREATE TEMP TABLE preview AS SELECT crm.merge('person', 9501, '{9502, 9503}', dry_run => true) AS p;
SELECT is(pg_temp.snapshot(), (SELECT s FROM original), 'a dry run writes nothing');
SELECT is((SELECT p ->> 'dry_run' FROM preview), 'true', 'the preview says it is one');

-- The rules, as the preview states them.
SELECT is((SELECT p #> '{fields,first_name}' FROM preview),
          '{"survivor": "Ann", "others": ["Anne", "Ann"], "chosen": "Ann", "rule": "the survivor''s value"}'::jsonb,
          'a field the survivor has keeps the survivor''s value, and shows the others''');
SELECT is((SELECT p #>> '{fields,phone,chosen}' FROM preview), '+44 20 7946 0958',
          'an empty field takes the first non-empty value in the order given (a blank one is empty)');
SELECT is((SELECT p #>> '{fields,title,chosen}' FROM preview), 'CTO', '... the first, not the last');
SELECT is((SELECT p #> '{fields,emails,chosen}' FROM preview),
          '["Ann.Lee@Mail95.example", "al@home95.example", "annie@old95.example"]'::jsonb,
          'addresses are united once each (compared as the address book does), the survivor''s primary not repeated');
SELECT is((SELECT p #>> '{fields,email,chosen}' FROM preview), 'ann@acme95.example', 'the survivor''s primary stays primary');
SELECT is((SELECT p #>> '{fields,lifecycle_stage,chosen}' FROM preview), 'customer', 'the furthest lifecycle stage wins (stored as its picklist value)');
SELECT is((SELECT p #> '{fields,attributes,chosen}' FROM preview), '{"tier": "gold", "source": "fair"}'::jsonb,
          'custom attributes: every key, the survivor''s value first');
SELECT is((SELECT (p #>> '{fields,created_at,chosen}')::timestamptz FROM preview), '2026-01-01'::timestamptz,
          'the earliest creation');
SELECT is((SELECT p #> '{moves}' FROM preview),
          '{"participant": 5, "duplicate_candidate": 2, "tombstones": 2, "tombstones_redirected": 0, "references": {}}'::jsonb,
          'the preview counts the rows that move');

-- Choices override any rule; a bad one changes nothing.
SELECT is(crm.merge('person', 9501, '{9502}', '{"title": {"from": 9502}, "city": "Bath"}', true) #>> '{record,city}', 'Bath',
          'a choice gives a field its value');
SELECT is(crm.merge('person', 9501, '{9502}', '{"first_name": {"from": 9502}}', true) #>> '{fields,first_name,rule}',
          'chosen: person 9502''s value', '... or takes it from one of the records, and says so');
SELECT throws_ok($$SELECT crm.merge('person', 9501, '{9502}', '{"shoe_size": 42}')$$, '22023', NULL,
                 'a choice of a field that does not exist is refused');
SELECT throws_ok($$SELECT crm.merge('person', 9501, '{9502}', '{"birth_date": "soon"}')$$, '22007', NULL,
                 'a choice that is no value of its field is refused');
SELECT throws_ok($$SELECT crm.merge('person', 9501, '{9502}', '{"title": {"from": 9504}}')$$, '22023', NULL,
                 'a value can only come from a record of the merge');
SELECT is(pg_temp.snapshot(), (SELECT s FROM original), 'refused merges wrote nothing');

-- Bad requests.
SELECT throws_ok($$SELECT crm.merge('person', 9501, '{9501}')$$, '22023', NULL, 'the survivor cannot be one of the others');
SELECT throws_ok($$SELECT crm.merge('person', 9501, '{}')$$, '22023', NULL, 'a merge needs another record');
SELECT throws_ok($$SELECT crm.merge('person', 9501, '{9599}')$$, 'P0002', NULL, 'a record that does not exist is refused');
SELECT throws_ok($$SELECT crm.merge('person', 9501, ARRAY(SELECT g FROM generate_series(9400, 9449) g))$$, '54000', NULL,
                 'at most 50 records a merge');
SELECT throws_ok($$SELECT crm.merge('deal', 9599, '{9598}')$$, 'P0002', NULL, 'a deal that does not exist is refused');
SELECT throws_ok($$SELECT crm.merge('pet', 1, '{2}')$$, '22023', NULL, 'an unknown kind is refused');

-- The merge.
CREATE TEMP TABLE merged AS SELECT crm.merge('person', 9501, '{9502, 9503}') AS m;
SELECT is((SELECT m -> 'fields' FROM merged), (SELECT p -> 'fields' FROM preview), 'the merge decided as previewed');
SELECT is((SELECT to_jsonb(p) - 'updated_at' FROM crm.person p WHERE id = 9501),
          (SELECT (p -> 'record') - 'updated_at' FROM preview), 'the survivor is the previewed record');
SELECT is((SELECT array_agg(merged_into ORDER BY id) FROM crm.person WHERE id IN (9502, 9503)), '{9501,9501}'::bigint[],
          'the others are tombstones of the survivor');
SELECT is((SELECT to_jsonb(p) FROM crm.person p WHERE id = 9502) - 'merged_into',
          (SELECT s -> 'person' -> 1 FROM original) - 'merged_into', 'a tombstone keeps its own fields');
SELECT is(crm.resolve_id('person', 9503), 9501::bigint, 'a tombstone''s id resolves to the survivor');
SELECT is(crm.resolve_id('person', 9501), 9501::bigint, 'a live id resolves to itself');
SELECT is(crm.resolve_id('person', 9599), NULL, 'an unknown id resolves to nothing');
SELECT is((SELECT count(*) FROM crm.participant WHERE person_id IN (9502, 9503)), 0::bigint,
          'no participant links to a tombstone');
SELECT is((SELECT person_id FROM crm.participant WHERE address = 'assistant@elsewhere95.example'), 9501::bigint,
          'a participant linked by id follows its record to the survivor');
SELECT is((SELECT (interaction_count, next_meeting_at)::text FROM crm.person_overview WHERE id = 9501),
          (3, timestamptz '2026-07-01')::text, 'the survivor''s activity is all of theirs, past and planned');
SELECT is((SELECT count(*) FROM crm.person_overview WHERE id IN (9502, 9503)), 0::bigint, 'tombstones are not in the views');
SELECT is((SELECT count(*) FROM crm.person_signal WHERE person_id IN (9502, 9503)), 0::bigint, 'tombstones have no signal row');
SELECT is((SELECT count(*) FROM crm.duplicate_candidate WHERE kind = 'person' AND (record_id IN (9502, 9503) OR other_id IN (9502, 9503))),
          0::bigint, 'no duplicate pair keeps a tombstone');
SELECT is((SELECT count(*) FROM crm.connection_strength WHERE person_id IN (9502, 9503)), 0::bigint,
          'tombstones have no connection');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after the merge');
SELECT is((SELECT (survivor_id, merged_ids, merged_by)::text FROM crm.merge_log WHERE id = (SELECT (m ->> 'merge_id')::bigint FROM merged)),
          (9501, '{9502,9503}'::bigint[], current_user::text)::text, 'the log says who merged what');

-- Activity written later with a tombstone's id lands on the survivor.
INSERT INTO crm.participant (interaction_id, address, role, person_id) VALUES (9534, 'pa@elsewhere95.example', 'cc', 9502);
SELECT is((SELECT person_id FROM crm.participant WHERE address = 'pa@elsewhere95.example'), 9501::bigint,
          'an id other systems hold keeps working');
DELETE FROM crm.participant WHERE address = 'pa@elsewhere95.example';

-- The same merge again does nothing; a tombstone cannot be merged; merged_into is the merge's.
SELECT is(crm.merge('person', 9501, '{9502, 9503}') - 'others',
          jsonb_build_object('kind', 'person', 'survivor', 9501, 'merge_id', (SELECT (m ->> 'merge_id')::bigint FROM merged), 'noop', true),
          'repeating a merge is a no-op');
SELECT throws_ok($$SELECT crm.merge('person', 9504, '{9502}')$$, '55000', NULL, 'a tombstone cannot be merged again');
SELECT throws_ok($$UPDATE crm.person SET merged_into = 9501 WHERE id = 9504$$, '42501', NULL,
                 'nobody makes a tombstone by hand');
SELECT throws_ok($$UPDATE crm.person SET merged_into = NULL WHERE id = 9502$$, '42501', NULL,
                 '... or brings one back by hand');

-- Unmerge gives everything back.
SELECT is((crm.unmerge((SELECT (m ->> 'merge_id')::bigint FROM merged)) -> 'restored'), '[9501, 9502, 9503]'::jsonb,
          'unmerge restores the records of the merge');
SELECT is(pg_temp.snapshot(), (SELECT s FROM original),
          'merge then unmerge: every record, link, address, pair, profile and derived row as before');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after the unmerge');
SELECT isnt((SELECT unmerged_at FROM crm.merge_log WHERE id = (SELECT (m ->> 'merge_id')::bigint FROM merged)), NULL,
            'the log says it was undone');
SELECT throws_ok(format('SELECT crm.unmerge(%s)', (SELECT m ->> 'merge_id' FROM merged)), '55000', NULL,
                 'a merge is undone once');

-- Chains: a later merge of the survivor must be undone first; a merge of a survivor redirects
-- its tombstones, and undoing it points them back.
CREATE TEMP TABLE m1 AS SELECT (crm.merge('person', 9501, '{9502}') ->> 'merge_id')::bigint AS id;
CREATE TEMP TABLE m2 AS SELECT (crm.merge('person', 9501, '{9503}') ->> 'merge_id')::bigint AS id;
SELECT throws_ok(format('SELECT crm.unmerge(%s)', (SELECT id FROM m1)), '55000', NULL,
                 'a merge whose survivor changed since cannot be undone');
SELECT lives_ok(format('SELECT crm.unmerge(%s)', (SELECT id FROM m2)), 'the later merge is undone first');
CREATE TEMP TABLE m3 AS SELECT (crm.merge('person', 9504, '{9501}') ->> 'merge_id')::bigint AS id;
SELECT is((SELECT merged_into FROM crm.person WHERE id = 9502), 9504::bigint,
          'merging a survivor redirects its tombstones: ids resolve in one step');
SELECT is((SELECT person_id FROM crm.participant WHERE address = 'ann.lee@mail95.example'), 9504::bigint,
          'the activity of a chain lands on the last survivor');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after a chain of merges');
SELECT lives_ok(format('SELECT crm.unmerge(%s)', (SELECT id FROM m3)), 'the chain is undone from its end');
SELECT is((SELECT merged_into FROM crm.person WHERE id = 9502), 9501::bigint, '... and the redirected tombstone points back');
SELECT lives_ok(format('SELECT crm.unmerge(%s)', (SELECT id FROM m1)), '... to its start');
SELECT is(pg_temp.snapshot(), (SELECT s FROM original), 'a chain of merges and unmerges leaves everything as it was');

-- A change since the merge is a conflict, listed.
CREATE TEMP TABLE m4 AS SELECT (crm.merge('person', 9501, '{9502}') ->> 'merge_id')::bigint AS id;
UPDATE crm.person SET title = 'CEO' WHERE id = 9501;
SELECT throws_like(format('SELECT crm.unmerge(%s)', (SELECT id FROM m4)), '%cannot be undone%',
                   'a record changed since the merge stops the unmerge');
UPDATE crm.person SET title = 'CTO' WHERE id = 9501;
SELECT lives_ok(format('SELECT crm.unmerge(%s)', (SELECT id FROM m4)), 'once the change is taken back, the merge can be undone');

-- A blocking duplicate rule refuses new duplicates, not merges of them, nor their undoing.
SELECT crm.set_duplicate_rule('person', 'block', 0.5);
SELECT (crm.merge('person', 9501, '{9502}') ->> 'merge_id')::bigint AS blocked_merge \gset
SELECT lives_ok('SELECT crm.unmerge(' || :blocked_merge || ')', 'a merge and its undoing pass a blocking rule');
SELECT throws_ok($$INSERT INTO crm.person (first_name, last_name, email, city, company_id) VALUES ('Ann', 'Lee', 'ann@acme95.example', 'Leeds', 9521)$$,
                 '23505', NULL, 'the rule still blocks a new duplicate');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty');
SELECT crm.set_duplicate_rule('person', 'allow', 0.9);

-- Who may: whoever reads may preview; merging and unmerging need the merge access.
CREATE ROLE crm_test_merge_reader NOLOGIN;
CREATE ROLE crm_test_merger NOLOGIN;
SELECT crm.grant_access('crm_test_merge_reader', 'reader');
SELECT crm.grant_access('crm_test_merger', 'merge');
SET LOCAL ROLE crm_test_merge_reader;
SELECT is(crm.merge('person', 9501, '{9502}', dry_run => true) #>> '{fields,title,chosen}', 'CTO', 'a reader previews a merge');
SELECT throws_ok($$SELECT crm.merge('person', 9501, '{9502}')$$, '42501', NULL, 'a reader cannot merge');
RESET ROLE;
SET LOCAL ROLE crm_test_merger;
SELECT (crm.merge('person', 9501, '{9502}') ->> 'merge_id')::bigint AS m5 \gset
SELECT is((SELECT merged_into FROM crm.person WHERE id = 9502), 9501::bigint, 'the merge access merges');
SELECT is((SELECT merged_by FROM crm.merge_log WHERE id = :m5), 'crm_test_merger', '... as itself in the log');
RESET ROLE;
SET LOCAL ROLE crm_test_merge_reader;
SELECT throws_ok('SELECT crm.unmerge(' || :m5 || ')', '42501', NULL, 'a reader cannot unmerge');
RESET ROLE;
SET LOCAL ROLE crm_test_merger;
SELECT lives_ok('SELECT crm.unmerge(' || :m5 || ')', 'the merge access unmerges');
RESET ROLE;
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty at the end');

SELECT * FROM finish();
ROLLBACK;
