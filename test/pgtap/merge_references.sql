-- An application's own references to people (crm.register_merge_reference): a merge moves them
-- to the survivor, the preview counts them, an unmerge puts each back, and a reference changed
-- since the merge is a conflict.
BEGIN;
SELECT plan(15);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SET LOCAL crm.workspace = 99;
INSERT INTO crm.workspace (id, name) VALUES (99, 'merge references');
INSERT INTO crm.person (id, first_name, last_name, email) VALUES
  (9901, 'Ann', 'Lee', 'ann@a99.example'), (9902, 'Anne', 'Lee', 'anne@b99.example'), (9903, 'Bo', 'Day', 'bo@c99.example');
CREATE TABLE public.crm_test_ticket (region text, id bigint, person_id bigint, note text, PRIMARY KEY (region, id));
CREATE TABLE public.crm_test_keyless (person_id bigint);
CREATE TABLE public.crm_test_named (person text, id bigint PRIMARY KEY);
INSERT INTO public.crm_test_ticket VALUES ('eu', 1, 9901, 'mine'), ('eu', 2, 9902, 'hers'), ('us', 2, 9902, 'hers too'),
                                          ('us', 3, 9903, 'someone else'), ('us', 4, NULL, 'nobody');

SELECT throws_ok($$SELECT crm.register_merge_reference('person', 'public.crm_test_ticket', 'owner')$$, '42703', NULL,
                 'a column that does not exist is refused');
SELECT throws_ok($$SELECT crm.register_merge_reference('person', 'public.crm_test_named', 'person')$$, '42804', NULL,
                 'a column that cannot hold an id is refused');
SELECT throws_ok($$SELECT crm.register_merge_reference('person', 'public.crm_test_keyless', 'person_id')$$, '42P16', NULL,
                 'a table without a primary key is refused (rows are logged by it)');
SELECT throws_ok($$SELECT crm.register_merge_reference('pet', 'public.crm_test_ticket', 'person_id')$$, '22023', NULL,
                 'only references to people, companies and deals');
SELECT lives_ok($$SELECT crm.register_merge_reference('person', 'public.crm_test_ticket', 'person_id')$$, 'a reference is registered');
SELECT is((SELECT key_columns FROM crm.merge_reference WHERE table_name = 'public.crm_test_ticket'), '{region,id}'::name[],
          'with its table''s primary key');

CREATE TEMP TABLE before AS SELECT jsonb_agg(to_jsonb(t) ORDER BY region, id) AS s FROM public.crm_test_ticket t;
SELECT is(crm.merge('person', 9901, '{9902}', dry_run => true) #> '{moves,references}', '{"public.crm_test_ticket.person_id": 2}'::jsonb,
          'the preview counts the references that move');
SELECT (crm.merge('person', 9901, '{9902}') ->> 'merge_id')::bigint AS m \gset
SELECT is((SELECT array_agg(person_id ORDER BY region, id) FROM public.crm_test_ticket), '{9901,9901,9901,9903,NULL}'::bigint[],
          'the merge moves them to the survivor, and nothing else');
SELECT is((SELECT jsonb_array_length(moved #> '{references,0,rows}') FROM crm.merge_log WHERE id = :m), 2,
          'the log keeps each row it moved');
SELECT lives_ok('SELECT crm.unmerge(' || :m || ')', 'unmerge');
SELECT is((SELECT jsonb_agg(to_jsonb(t) ORDER BY region, id) FROM public.crm_test_ticket t), (SELECT s FROM before),
          'unmerge puts each reference back');

SELECT (crm.merge('person', 9901, '{9902}') ->> 'merge_id')::bigint AS m2 \gset
UPDATE public.crm_test_ticket SET person_id = 9903 WHERE region = 'us' AND id = 2;
SELECT throws_like('SELECT crm.unmerge(' || :m2 || ')', '%cannot be undone%', 'a reference changed since the merge is a conflict');
UPDATE public.crm_test_ticket SET person_id = 9901 WHERE region = 'us' AND id = 2;
SELECT lives_ok('SELECT crm.unmerge(' || :m2 || ')', 'taken back, the merge can be undone');
SELECT is(crm.unregister_merge_reference('person', 'public.crm_test_ticket', 'person_id'), true, 'a reference is unregistered');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty');

SELECT * FROM finish();
ROLLBACK;
