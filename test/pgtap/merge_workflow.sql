-- Merge requests (anyone who reads asks, the merge access approves or rejects) and bulk merges of
-- duplicate sets (each set on its own: one that fails is reported, the others are merged).
BEGIN;
SELECT plan(21);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SET LOCAL crm.workspace = 98;
INSERT INTO crm.workspace (id, name) VALUES (98, 'merge workflow');
INSERT INTO crm.member (id, email) VALUES (9811, 'me@us98.example');
INSERT INTO crm.person (id, first_name, last_name, email, city, birth_date) VALUES
  (9801, 'Ann', 'Lee', 'ann.lee@acme98.example', 'Leeds', '1980-01-02'),
  (9802, 'Anne', 'Lee', 'ann.lee@acme98.example', 'Leeds', '1980-01-02'),
  (9803, 'Bart', 'Quist', 'bart.quist@initech98.example', 'York', '1975-05-06'),
  (9804, 'Bart', 'Quist', 'bart.quist@initech98.example', 'York', '1975-05-06'),
  (9805, 'Cleo', 'Vance', 'cleo.vance@globex98.example', 'Bath', '1990-09-10'),
  (9806, 'Cleo', 'Vance', 'cleo.vance@globex98.example', 'Bath', '1990-09-10'),
  (9807, 'Dora', 'Wynn', 'dora@hooli98.example', NULL, NULL);
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9831, 'email', '2026-06-01'), (9832, 'email', '2026-06-02');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (9831, 'me@us98.example', 'from'), (9831, 'ann.lee@acme98.example', 'to'),
  (9832, 'me@us98.example', 'from'), (9832, 'dora@hooli98.example', 'to');

CREATE ROLE crm_test_wf_reader NOLOGIN;
CREATE ROLE crm_test_wf_merger NOLOGIN;
SELECT crm.grant_access('crm_test_wf_reader', 'reader');
SELECT crm.grant_access('crm_test_wf_merger', 'merge');

-- Requests.
SET LOCAL ROLE crm_test_wf_reader;
SELECT crm.request_merge('person', 9801, '{9807}') AS request \gset
SELECT throws_ok($$SELECT crm.request_merge('person', 9801, '{9899}')$$, 'P0002', NULL,
                 'a request the merge would refuse is refused when filed');
SELECT is((SELECT (status, requested_by)::text FROM crm.merge_request WHERE id = :request),
          ('pending', 'crm_test_wf_reader')::text, 'a reader files a request; it is pending, and says who asked');
SELECT is((SELECT preview - 'dry_run' FROM crm.merge_request WHERE id = :request),
          crm.merge('person', 9801, '{9807}', dry_run => true) - 'dry_run', 'the request carries its preview');
SELECT throws_ok('SELECT crm.approve_merge(' || :request || ')', '42501', NULL, 'a reader cannot approve');
SELECT throws_ok('SELECT crm.reject_merge(' || :request || ')', '42501', NULL, 'a reader cannot reject');
SELECT throws_ok($$INSERT INTO crm.merge_request (workspace_id, kind, survivor_id, other_ids, preview, requested_by)
                   VALUES (98, 'person', 1, '{2}', '{}', 'me')$$, '42501', NULL, 'nobody writes the requests table');
RESET ROLE;
SET LOCAL ROLE crm_test_wf_merger;
SELECT is(crm.approve_merge(:request) ->> 'request_id', :request::text, 'the merge access approves');
SELECT is((SELECT (status, decided_by, merge_id IS NOT NULL)::text FROM crm.merge_request WHERE id = :request),
          ('approved', 'crm_test_wf_merger', true)::text, 'the request is approved, by whom, with its merge');
SELECT is((SELECT merged_into FROM crm.person WHERE id = 9807), 9801::bigint, 'and the merge is done');
SELECT throws_ok('SELECT crm.approve_merge(' || :request || ')', '55000', NULL, 'a request is decided once');
SELECT crm.request_merge('person', 9803, '{9805}') AS second \gset
SELECT lives_ok('SELECT crm.reject_merge(' || :second || ')', 'the merge access rejects');
SELECT is((SELECT status FROM crm.merge_request WHERE id = :second), 'rejected', 'the request is rejected');
SELECT is((SELECT merged_into FROM crm.person WHERE id = 9805), NULL, 'and nothing was merged');
RESET ROLE;
SELECT lives_ok('SELECT crm.unmerge(' || (SELECT merge_id FROM crm.merge_request WHERE id = :request) || ')', 'undo the approved merge');

-- Bulk: three sets; one cannot be written (a trigger of the application refuses it).
SELECT is((SELECT count(DISTINCT set_id) FROM crm.duplicate_sets WHERE workspace_id = 98 AND kind = 'person'), 3::bigint,
          'three duplicate sets to merge');
CREATE FUNCTION pg_temp.refuse_cleo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.first_name = 'Cleo' THEN RAISE EXCEPTION 'Cleo stays as she is' USING ERRCODE = 'check_violation'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_cleo BEFORE UPDATE ON crm.person FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_cleo();
SET LOCAL ROLE crm_test_wf_reader;
SELECT throws_ok($$SELECT * FROM crm.merge_sets('person', 0.9)$$, '42501', NULL, 'bulk merging needs the merge access');
RESET ROLE;
SET LOCAL ROLE crm_test_wf_merger;
CREATE TEMP TABLE bulk AS SELECT * FROM crm.merge_sets('person', 0.9);
RESET ROLE;
SELECT is((SELECT string_agg(survivor || ':' || others::text || ':' || outcome, ' ' ORDER BY set_id) FROM bulk),
          '9801:{9802}:merged 9803:{9804}:merged 9805:{9806}:failed', 'each set merged on its own, into its most active record; one failed');
SELECT is((SELECT reason FROM bulk WHERE survivor = 9805), '23514: Cleo stays as she is', 'the failure says why');
SELECT is((SELECT count(*) FROM crm.person WHERE workspace_id = 98 AND merged_into IS NOT NULL), 2::bigint,
          'the failed set left nothing behind, the others are merged');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after the bulk merge');
DROP TRIGGER refuse_cleo ON crm.person;
SELECT throws_ok($$SELECT * FROM crm.merge_sets('person', 1.5)$$, '22023', NULL, 'a score outside (0, 1] is refused');

SELECT * FROM finish();
ROLLBACK;
