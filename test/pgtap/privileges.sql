-- Roles and grants: the three kinds of access of crm.grant_access (README, "Roles and grants").
-- An application writes records and activity and the extension derives the rest; nobody but the
-- extension writes derived state, a reader only reads, maintenance runs the whole-workspace jobs,
-- and internal functions are nobody's to call. Restore mode is a superuser's only.
BEGIN;
SELECT plan(27);
SET LOCAL crm.clock = '2026-03-01 12:00+00';

CREATE ROLE crm_test_app NOLOGIN;
CREATE ROLE crm_test_reader NOLOGIN;
CREATE ROLE crm_test_maint NOLOGIN;
CREATE ROLE crm_test_nobody NOLOGIN;
SELECT crm.grant_access('crm_test_app', 'application');
SELECT crm.grant_access('crm_test_reader', 'reader');
SELECT crm.grant_access('crm_test_maint', 'maintenance');
SELECT throws_ok($$SELECT crm.grant_access('crm_test_nobody', 'admin')$$, '22023', NULL, 'an unknown access is refused');
GRANT USAGE ON SCHEMA crm TO crm_test_nobody;

INSERT INTO crm.member (id, email) VALUES (1, 'ann@us.example');

-- The application.
SET LOCAL ROLE crm_test_app;
SELECT lives_ok($$INSERT INTO crm.company (id, name, domain) VALUES (1, 'Globex', 'globex.example');
                  INSERT INTO crm.person (id, company_id, first_name, last_name, email) VALUES (1, 1, 'Hank', 'Scorpio', 'hank@globex.example');
                  INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (1, 'email', '2026-02-01');
                  INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'ann@us.example', 'from'), (1, 'hank@globex.example', 'to')$$,
                'the application writes records and activity with only the application grants');
SELECT is((SELECT interaction_count FROM crm.person_signal WHERE person_id = 1), 1::bigint, 'the extension derived the person''s signals');
SELECT throws_ok($$UPDATE crm.person_signal SET interaction_count = 1000$$, '42501', NULL, 'the application cannot forge person_signal');
SELECT throws_ok($$INSERT INTO crm.connection (workspace_id, member_id, person_id) VALUES (1, 1, 1)$$, '42501', NULL,
                 'the application cannot write connections');
SELECT throws_ok($$DELETE FROM crm.duplicate_candidate$$, '42501', NULL, 'the application cannot delete duplicate pairs');
SELECT throws_ok($$INSERT INTO crm.record_address (workspace_id, address, person_id) VALUES (1, 'x@y.example', 1)$$, '42501', NULL,
                 'the application cannot write the address book');
SELECT throws_ok($$UPDATE crm.match_profile SET fingerprint = 0$$, '42501', NULL, 'the application cannot write match profiles');
UPDATE crm.participant SET company_id = 999, person_id = NULL WHERE address = 'hank@globex.example';
SELECT is((SELECT (person_id, company_id)::text FROM crm.participant WHERE address = 'hank@globex.example'), '(1,1)',
          'a participant''s derived links are recomputed whatever the application writes into them');
-- Restore mode (docs/BACKUP.md) needs both settings off and a superuser. For the application,
-- row_security = off is refused outright by the workspace boundary's policies, and
-- check_function_bodies = off alone changes nothing.
SET LOCAL row_security = off;
SELECT throws_ok($$INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (2, 'call', '2026-02-02')$$, '42501', NULL,
                 'the application cannot turn row security off');
RESET row_security;
SET LOCAL check_function_bodies = off;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (2, 'call', '2026-02-02');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (2, 'ann@us.example', 'from'), (2, 'hank@globex.example', 'to');
RESET check_function_bodies;
SELECT is((SELECT interaction_count FROM crm.person_signal WHERE person_id = 1), 2::bigint,
          'restore mode is not for the application: its writes are still derived');
SELECT throws_ok($$SELECT crm.tick()$$, '42501', NULL, 'the application cannot run tick');
SELECT throws_ok($$SELECT crm._recompute_connections(1)$$, '42501', NULL, 'the application cannot call internal functions');
SELECT is((SELECT outcome FROM crm.ingest_email(E'From: Hank <hank@globex.example>\r\nTo: ann@us.example\r\nSubject: hi\r\nMessage-ID: <priv-1@globex.example>\r\nDate: Mon, 02 Feb 2026 10:00:00 +0000\r\n\r\nhello\r\n', 'ann@us.example')),
          'created', 'the application captures email');
SELECT lives_ok($$SELECT * FROM crm.person_overview$$, 'the application reads the overviews');
RESET ROLE;

-- The reader.
SET LOCAL ROLE crm_test_reader;
SELECT is((SELECT interaction_count FROM crm.person_overview WHERE id = 1), 3::bigint, 'the reader reads person_overview');
SELECT lives_ok($$SELECT * FROM crm.connection_strength; SELECT * FROM crm.company_overview;
                  SELECT * FROM crm.company_connection_strength; SELECT * FROM crm.duplicate_sets$$,
                'the reader reads every view');
SELECT throws_ok($$INSERT INTO crm.person (first_name) VALUES ('x')$$, '42501', NULL, 'the reader cannot write records');
SELECT throws_ok($$SELECT * FROM crm.ingest_email('x', 'ann@us.example')$$, '42501', NULL, 'the reader cannot capture');
SELECT throws_ok($$SELECT crm.dismiss_duplicate('person', 1, 2)$$, '42501', NULL, 'the reader cannot dismiss pairs');
RESET ROLE;

-- Maintenance.
SET LOCAL ROLE crm_test_maint;
SELECT lives_ok($$SELECT crm.tick(); SELECT crm.rebuild_signals(); SELECT crm.scan_duplicates('person')$$,
                'maintenance runs tick, rebuild and scan with no table grants');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'maintenance runs the oracle: empty');
SELECT lives_ok($$UPDATE crm.connection_model SET meeting = 3 WHERE workspace_id = 1$$, 'maintenance changes the connection model');
SELECT throws_ok($$INSERT INTO crm.person (first_name) VALUES ('x')$$, '42501', NULL, 'maintenance cannot write records');
RESET ROLE;

-- A role with no access at all.
SET LOCAL ROLE crm_test_nobody;
SELECT throws_ok($$SELECT * FROM crm._signals_now('person', 1)$$, '42501', NULL, 'internal functions are not executable by PUBLIC');
SELECT throws_ok($$SELECT * FROM crm.person$$, '42501', NULL, 'no grant, no records');
RESET ROLE;

SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty at the end');

SELECT * FROM finish();
ROLLBACK;
