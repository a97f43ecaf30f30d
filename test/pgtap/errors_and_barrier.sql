-- Bad input: refused with a fitting SQLSTATE and nothing written. The C++ barrier: core errors
-- keep their SQLSTATE, a statement_timeout stops a long call, the backend survives.
BEGIN;
SELECT plan(19);

-- plpgsql's WHEN OTHERS (and so throws_ok) does not catch query_canceled: catch it by name.
CREATE FUNCTION pg_temp.sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN '00000';
EXCEPTION
  WHEN query_canceled THEN RETURN SQLSTATE;
  WHEN OTHERS THEN RETURN SQLSTATE;
END $$;
INSERT INTO crm.member (id, email) VALUES (1, 'ann@us.example');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (1, 'email', '2026-01-01');
INSERT INTO crm.workspace (id, name) VALUES (2, 'other');

SELECT throws_ok($$INSERT INTO crm.interaction (kind, occurred_at) VALUES ('fax', now())$$, '22P02', NULL, 'unknown kind');
SELECT throws_ok($$INSERT INTO crm.interaction (kind, occurred_at, status) VALUES ('call', now(), 'maybe')$$, '22P02', NULL, 'unknown status');
SELECT throws_ok($$INSERT INTO crm.interaction (kind, occurred_at) VALUES ('call', NULL)$$, '23502', NULL, 'NULL occurred_at');
SELECT throws_ok($$INSERT INTO crm.interaction (kind, occurred_at, ends_at) VALUES ('meeting', now(), now() - interval '1 hour')$$,
                 '23514', NULL, 'ends_at before occurred_at');
SELECT throws_ok($$INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'a@b.example', 'reader')$$, '22P02', NULL, 'unknown role');
SELECT throws_ok($$INSERT INTO crm.participant (interaction_id, address, role, response) VALUES (1, 'a@b.example', 'to', 'perhaps')$$,
                 '22P02', NULL, 'unknown response');
SELECT throws_ok($$INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'a@b.example', 'to'), (1, 'hello world', 'cc')$$,
                 '22P02', '"hello world" is neither an email address nor a phone number', 'an address that is neither email nor phone');
SELECT throws_ok($$INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, repeat('a', 1000000) || '@b.example', 'to')$$,
                 '54000', 'participant address is too long', 'an oversized address');
SELECT throws_ok($$INSERT INTO crm.participant (interaction_id, address, role, workspace_id) VALUES (1, 'a@b.example', 'to', 2)$$,
                 '23503', 'interaction 1 belongs to workspace 1, participant to workspace 2', 'participant in another workspace');
SELECT throws_ok($$INSERT INTO crm.participant (interaction_id, address, role, member_id) VALUES (1, '+1 555 0100 999', 'to', 99)$$,
                 '23503', 'member 99 does not exist in workspace 1', 'a member id that does not exist');
SELECT is((SELECT count(*)::int FROM crm.participant), 0, 'nothing was written by the refused statements');

SAVEPOINT moved;
INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'ann@us.example', 'from'), (1, 'x@y.example', 'to');
SELECT throws_ok($$UPDATE crm.participant SET workspace_id = 2 WHERE address = 'x@y.example'$$,
                 '23503', 'interaction 1 belongs to workspace 1, participant to workspace 2', 'a participant moved to another workspace');
ROLLBACK TO SAVEPOINT moved;

SELECT throws_ok($$SELECT * FROM crm._signals_now('planet', 1)$$, '22023', 'unknown record kind "planet"', 'a core error keeps its SQLSTATE');
SELECT throws_ok($$UPDATE crm.member SET workspace_id = 2$$, '0A000', NULL, 'records cannot change workspace');

-- Enough activity that a full verification takes well over the timeout.
INSERT INTO crm.person (email) SELECT 'p' || g || '@big.example' FROM generate_series(1, 2000) g;
INSERT INTO crm.interaction (id, kind, occurred_at)
SELECT 1000 + g, 'email', timestamptz '2025-01-01' + g * interval '1 minute' FROM generate_series(1, 40000) g;
INSERT INTO crm.participant (interaction_id, address, role)
SELECT 1000 + g, 'ann@us.example', 'from'::crm.participant_role FROM generate_series(1, 40000) g
UNION ALL SELECT 1000 + g, 'p' || (g % 2000 + 1) || '@big.example', 'to' FROM generate_series(1, 40000) g;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'bulk insert verified');

SAVEPOINT before_timeout;
SET LOCAL statement_timeout = '30ms';
SELECT is(pg_temp.sqlstate_of('SELECT count(*) FROM crm._verify_signal_state()'), '57014',
          'statement_timeout cancels a long C++ call');
SET LOCAL statement_timeout = '30ms';
SELECT is(pg_temp.sqlstate_of('SELECT crm.rebuild_signals()'), '57014', 'statement_timeout cancels a rebuild');
ROLLBACK TO SAVEPOINT before_timeout;
SET LOCAL statement_timeout = 0;
SELECT is(crm.rebuild_signals(), 0::bigint, 'a canceled rebuild left nothing half-written');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'and the backend is alive and consistent');

SELECT * FROM finish();
ROLLBACK;
