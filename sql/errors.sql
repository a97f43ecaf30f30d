-- Bad input is refused with a clear message and a fitting SQLSTATE, and nothing is written.
\set SHOW_CONTEXT never
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (100, 'email', '2026-01-01');

INSERT INTO crm.interaction (kind, occurred_at) VALUES ('fax', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO crm.interaction (kind, occurred_at, status) VALUES ('call', '2026-01-01', 'maybe');
\echo :LAST_ERROR_SQLSTATE
-- (terse: the failing row would show created_at, which changes from run to run)
\set VERBOSITY terse
INSERT INTO crm.interaction (kind, occurred_at) VALUES ('call', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO crm.interaction (kind, occurred_at, ends_at) VALUES ('meeting', '2026-01-02', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO crm.interaction (kind, occurred_at) VALUES ('meeting', 'infinity');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
INSERT INTO crm.participant (interaction_id, address, role) VALUES (100, 'a@b.example', 'reader');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO crm.participant (interaction_id, address, role, response) VALUES (100, 'a@b.example', 'to', 'perhaps');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO crm.participant (interaction_id, address, role) VALUES (100, 'not an address', 'to');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO crm.participant (interaction_id, address, role) VALUES (100, repeat('x', 400) || '@b.example', 'to');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO crm.participant (interaction_id, address, role) VALUES (999, 'a@b.example', 'to');
\echo :LAST_ERROR_SQLSTATE

-- A participant in another workspace than its interaction, in a multi-row statement: the good
-- row is not written either.
INSERT INTO crm.workspace (id, name) VALUES (7, 'seven');
INSERT INTO crm.participant (interaction_id, address, role, workspace_id) VALUES
  (100, 'good@b.example', 'to', 1),
  (100, 'bad@b.example', 'cc', 7);
\echo :LAST_ERROR_SQLSTATE
-- Also when the interaction was created in the same transaction (the fast path).
BEGIN;
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (101, 'email', '2026-01-01');
INSERT INTO crm.participant (interaction_id, address, role, workspace_id) VALUES (101, 'x@b.example', 'to', 7);
ROLLBACK;
-- Ids an application gives must exist in the workspace.
INSERT INTO crm.participant (interaction_id, address, role, person_id) VALUES (100, '+1 555 010 0100', 'to', 424242);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS participants_written FROM crm.participant;

-- Errors raised by the C++ core surface with their SQLSTATE.
SELECT * FROM crm._signals_now('planet', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM crm.stale_records('planet', '1 day');
\echo :LAST_ERROR_SQLSTATE

-- The backend survived all of it.
SELECT 1 AS still_alive;
DELETE FROM crm.interaction;
DELETE FROM crm.workspace WHERE id = 7;
