-- The extension's settings refuse what they cannot use: a bad crm.clock would otherwise break
-- every later statement of the session (every trigger and view reads it).
BEGIN;
SELECT plan(10);
\ir include/sessions.sql

-- A value set before the library is loaded cannot be checked then; loading it (any crm function
-- does) checks it, warns and ignores it. A new session shows it.
SELECT is(dblink_exec(pg_temp.here(), $$SET crm.clock = 'garbage'$$), 'SET',
          'before the library is loaded, a bad crm.clock is only a placeholder');
SELECT is((SELECT t FROM dblink(pg_temp.here(),
             $$SET crm.clock = 'garbage'; SELECT crm.now() = now()$$) AS r(t boolean)), true,
          'loading the library ignores a bad crm.clock set before: crm.now() is now(), no error');

DO $$ BEGIN PERFORM crm.now(); END $$;  -- loads the library in this session

SELECT throws_ok($$SET crm.clock = 'garbage'$$, '22023', NULL, 'crm.clock refuses text that is no timestamp');
SELECT throws_ok($$SET crm.clock = 'infinity'$$, '22023', NULL, 'crm.clock refuses infinity (activity times are finite)');
SELECT throws_ok($$SET crm.clock = '2026-02-30 10:00+00'$$, '22023', NULL, 'crm.clock refuses a date that does not exist');
SELECT throws_ok($$SELECT pg_catalog.set_config('crm.clock', '300000-01-01', true)$$, '22023', NULL,
                 'crm.clock refuses a timestamp out of range');
SELECT is(crm.now(), now(), 'after refused values the clock is still now()');

SET LOCAL crm.clock = '2026-03-01 12:00+00';
SELECT is(crm.now(), '2026-03-01 12:00+00'::timestamptz, 'a timestamp is accepted');
SET LOCAL crm.clock = '';
SELECT is(crm.now(), now(), 'an empty clock means now()');
SELECT throws_ok($$SET crm.workspace = 'x'$$, '22023', NULL, 'crm.workspace refuses what is not a workspace id');

SELECT * FROM finish();
ROLLBACK;
