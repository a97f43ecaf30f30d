-- The connection models' lock is taken by C++ (every activity writer, shared) and by SQL
-- (crm._model_changed, exclusive): both must name the same lock, or a model change would not wait
-- for the writers folding with the old model (src/pg/common/lock_keys.hpp).
BEGIN;
SELECT plan(3);
\ir include/sessions.sql
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SET LOCAL crm.workspace = 94;
INSERT INTO crm.workspace (id, name) VALUES (94, 'lock keys');
INSERT INTO crm.member (id, email) VALUES (9411, 'me@us94.example');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9431, 'email', '2026-06-01');
INSERT INTO crm.participant (interaction_id, address, role)
VALUES (9431, 'me@us94.example', 'from'), (9431, 'someone@them94.example', 'to');

SELECT ok(EXISTS (SELECT FROM pg_catalog.pg_locks
                  WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()
                    AND classid = 1668443496 AND objid = 1836016748 AND objsubid = 2
                    AND mode = 'ShareLock' AND granted),
          'an activity writer holds the models'' lock under the key crm._model_changed takes');

-- Another session changing a model must wait for this writer (lock_timeout ends the wait).
SELECT dblink_connect('lock_keys', pg_temp.here());
SELECT throws_ok($$SELECT dblink_exec('lock_keys', 'SET lock_timeout = ''200ms''; BEGIN; '
                   'SELECT pg_catalog.pg_advisory_xact_lock(1668443496, 1836016748); COMMIT')$$,
                 '55P03', NULL, 'the SQL side''s exclusive lock waits for the writer');
SELECT dblink_disconnect('lock_keys');

SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty');
SELECT * FROM finish();
ROLLBACK;
