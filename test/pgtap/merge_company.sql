-- Merging companies (and deals, at the end): the survivor takes the others' people, deals and activity (a merged company's
-- domain resolves to the survivor), the tombstone leaves every view, and unmerge gives it all back.
-- Also the guards a review asked for: a choice from nobody, an empty required field, a set with a
-- dismissed pair, a reference declared by someone else than the table's owner.
BEGIN;
SELECT plan(30);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SET LOCAL crm.workspace = 88;
INSERT INTO crm.workspace (id, name) VALUES (88, 'company merges');
INSERT INTO crm.member (id, email) VALUES (8821, 'me@us88.example');
INSERT INTO crm.company (id, name, domain, city, industry, created_at) VALUES
  (8801, 'Acme', 'acme88.example', 'Leeds', NULL, '2026-02-01'),
  (8802, 'ACME Inc.', 'acme-inc88.example', NULL, 'Manufacturing', '2026-01-01'),
  (8803, 'Other', 'other88.example', 'York', NULL, '2026-03-01');
INSERT INTO crm.person (id, first_name, last_name, email, company_id) VALUES
  (8811, 'Ann', 'Lee', 'ann@acme88.example', 8801), (8812, 'Bo', 'Day', 'bo@acme-inc88.example', 8802),
  (8813, 'Cy', 'Fox', 'cy@other88.example', 8803);
INSERT INTO crm.deal (id, company_id, name, stage) VALUES (8831, 8802, 'Anvils', 'proposal'), (8832, 8803, 'Rockets', 'won');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (8841, 'email', '2026-06-01'), (8842, 'meeting', '2026-06-05');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (8841, 'me@us88.example', 'from'), (8841, 'bo@acme-inc88.example', 'to'), (8841, 'sales@acme-inc88.example', 'cc'),
  (8842, 'me@us88.example', 'organizer'), (8842, 'ann@acme88.example', 'attendee'), (8842, 'cy@other88.example', 'attendee');

CREATE FUNCTION pg_temp.snapshot() RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object(
    'company', (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.id) FROM crm.company c WHERE c.workspace_id = 88),
    'person', (SELECT jsonb_agg(to_jsonb(p) ORDER BY p.id) FROM crm.person p WHERE p.workspace_id = 88),
    'deal', (SELECT jsonb_agg(to_jsonb(d) ORDER BY d.id) FROM crm.deal d WHERE d.workspace_id = 88),
    'participant', (SELECT jsonb_agg(jsonb_build_array(p.id, p.member_id, p.person_id, p.company_id) ORDER BY p.id)
                    FROM crm.participant p WHERE p.workspace_id = 88),
    'company_signal', (SELECT jsonb_agg(to_jsonb(s) - 'strongest_rank' || jsonb_build_object('rank', round(s.strongest_rank::numeric, 9)) ORDER BY s.company_id)
                       FROM crm.company_signal s WHERE s.workspace_id = 88),
    'company_connection', (SELECT jsonb_agg(jsonb_build_array(c.company_id, c.member_id, c.people, round(c.rank::numeric, 9))
                                            ORDER BY c.company_id, c.member_id)
                           FROM crm.company_connection c WHERE c.workspace_id = 88),
    'connection', (SELECT jsonb_agg(jsonb_build_array(c.member_id, c.person_id, c.address_key, c.company_id, round(c.rank::numeric, 9))
                                    ORDER BY c.member_id, c.person_id, c.address_key)
                   FROM crm.connection c WHERE c.workspace_id = 88),
    'match_profile', (SELECT jsonb_agg(to_jsonb(m) ORDER BY m.kind, m.record_id) FROM crm.match_profile m WHERE m.workspace_id = 88)) $$;
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty before');
CREATE TEMP TABLE original AS SELECT pg_temp.snapshot() AS s;

SELECT is((crm.merge('company', 8801, '{8802}', dry_run => true) -> 'moves') - 'references'::text - 'duplicate_candidate'::text,
          '{"person": 1, "deal": 1, "participant": 2, "tombstones": 1, "tombstones_redirected": 0}'::jsonb,
          'the preview counts the people, deals and participants that move');
SELECT is(crm.merge('company', 8801, '{8802}', dry_run => true) #>> '{fields,industry,chosen}', 'Manufacturing',
          'an empty field of the survivor takes the other''s value');
SELECT (crm.merge('company', 8801, '{8802}') ->> 'merge_id')::bigint AS m \gset
SELECT is((SELECT merged_into FROM crm.company WHERE id = 8802), 8801::bigint, 'the other company is a tombstone');
SELECT is(crm.resolve_id('company', 8802), 8801::bigint, 'its id resolves to the survivor');
SELECT is((SELECT company_id FROM crm.person WHERE id = 8812), 8801::bigint, 'its people moved to the survivor');
SELECT is((SELECT company_id FROM crm.deal WHERE id = 8831), 8801::bigint, 'so did its deals');
SELECT is((SELECT company_id FROM crm.participant WHERE address = 'sales@acme-inc88.example'), 8801::bigint,
          'an address at the merged company''s domain belongs to the survivor');
SELECT is((SELECT count(*) FROM crm.company_overview WHERE id = 8802), 0::bigint, 'the tombstone is in no view');
SELECT is((SELECT count(*) FROM crm.company_connection_strength WHERE company_id = 8802), 0::bigint, '... nor has connections');
SELECT is((SELECT interaction_count FROM crm.company_overview WHERE id = 8801), 2::bigint, 'the survivor has all the activity');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after the merge');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (8842, 'new@acme-inc88.example', 'cc');
SELECT is((SELECT company_id FROM crm.participant WHERE address = 'new@acme-inc88.example'), 8801::bigint,
          'activity written later at the merged domain lands on the survivor');
DELETE FROM crm.participant WHERE address = 'new@acme-inc88.example';
INSERT INTO crm.person (id, first_name, last_name, email, company_id) VALUES (8814, 'Di', 'Gale', 'di@elsewhere88.example', 8802);
INSERT INTO crm.deal (id, company_id, name) VALUES (8833, 8802, 'Hammers');
SELECT is((SELECT company_id FROM crm.person WHERE id = 8814), 8801::bigint,
          'a person written later with the merged company''s id belongs to the survivor');
SELECT is((SELECT company_id FROM crm.deal WHERE id = 8833), 8801::bigint, '... and so does a deal');
DELETE FROM crm.deal WHERE id = 8833;
DELETE FROM crm.person WHERE id = 8814;
SELECT throws_ok($$UPDATE crm.company SET merged_into = NULL WHERE id = 8802$$, '42501', NULL, 'nobody brings a tombstone back by hand');
SELECT lives_ok('SELECT crm.unmerge(' || :m || ')', 'unmerge');
SELECT is(pg_temp.snapshot(), (SELECT s FROM original),
          'merge then unmerge: companies, people, deals, links, derived rows and profiles as before');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after the unmerge');

-- Guards.
SELECT throws_ok($$SELECT crm.merge('company', 8801, '{8802}', '{"city": {"from": null}}')$$, '22023', NULL,
                 'a value taken from nobody is refused');
SELECT throws_ok($$SELECT crm.merge('company', 8801, '{8802}', '{"attributes": null}')$$, '23502', NULL,
                 'a choice that empties a required field is refused before anything is written');
CREATE ROLE crm_test_company_maint NOLOGIN;
SELECT crm.grant_access('crm_test_company_maint', 'maintenance');
CREATE TABLE public.crm_test_contract (id bigint PRIMARY KEY, company_id bigint);
GRANT SELECT ON public.crm_test_contract TO crm_test_company_maint;
SET LOCAL ROLE crm_test_company_maint;
SELECT throws_ok($$SELECT crm.register_merge_reference('company', 'public.crm_test_contract', 'company_id')$$, '42501', NULL,
                 'only the owner of a table declares its references');
RESET ROLE;
SELECT lives_ok($$SELECT crm.register_merge_reference('company', 'public.crm_test_contract', 'company_id')$$,
                'the owner does');
INSERT INTO public.crm_test_contract VALUES (1, 8802);
SELECT crm.merge('company', 8801, '{8802}') IS NOT NULL AS merged;
SELECT is((SELECT company_id FROM public.crm_test_contract WHERE id = 1), 8801::bigint,
          'a declared reference to a company moves with the merge');
-- Three of a kind, two of which users said are not duplicates: bulk merging never joins those two.
SELECT crm.unmerge((SELECT max(id) FROM crm.merge_log WHERE workspace_id = 88));
UPDATE crm.company SET name = 'Acme', domain = 'acme-inc88.example', city = 'Leeds' WHERE id IN (8801, 8802, 8803);
SELECT crm.dismiss_duplicate('company', 8801, 8803);
CREATE TEMP TABLE bulk AS SELECT * FROM crm.merge_sets('company', 0.5);
SELECT isnt(crm.resolve_id('company', 8801), crm.resolve_id('company', 8803),
            'a set with a pair users dismissed is not merged into one ('
            || (SELECT string_agg(outcome, ',') FROM bulk) || ')');
-- Deals: the others become tombstones, ids resolve, and an unmerge gives them back.
INSERT INTO crm.deal (id, company_id, name, stage, amount) VALUES (8835, 8801, 'Anvils 2026', NULL, 1000), (8836, 8801, 'Anvils', 'proposal', NULL);
CREATE TEMP TABLE deals_before AS SELECT jsonb_agg(to_jsonb(d) ORDER BY d.id) AS s FROM crm.deal d WHERE d.id IN (8835, 8836);
SELECT is(crm.merge('deal', 8835, '{8836}') #>> '{record,stage}', 'proposal', 'deals merge by the same rules');
SELECT is(crm.resolve_id('deal', 8836), 8835::bigint, 'a merged deal''s id resolves to the survivor');
SELECT lives_ok('SELECT crm.unmerge(' || (SELECT max(id) FROM crm.merge_log WHERE kind = 'deal') || ')', 'a deal merge is undone');
SELECT is((SELECT jsonb_agg(to_jsonb(d) ORDER BY d.id) FROM crm.deal d WHERE d.id IN (8835, 8836)), (SELECT s FROM deals_before),
          'and the deals are as before');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty at the end');

SELECT * FROM finish();
ROLLBACK;
