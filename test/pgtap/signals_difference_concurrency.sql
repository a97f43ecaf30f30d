-- Participant changes applied as a difference, by concurrent transactions on the same
-- interactions: each must take its difference over what the other committed, never over what its
-- own statement began with, or a change is taken out twice. Under REPEATABLE READ, where the
-- interaction is read in the transaction's snapshot, the records are recomputed instead (or the
-- write fails with a serialization error). Sessions are dblink connections to this database, so
-- this file commits its data and cleans up at the end.
SELECT plan(6);
SET crm.clock = '2026-03-01 00:00+00';
\ir include/sessions.sql
SELECT dblink_connect('a', pg_temp.here());
SELECT dblink_connect('b', pg_temp.here());
SELECT dblink_exec(c, 'SET crm.clock = ''2026-03-01 00:00+00''') FROM (VALUES ('a'), ('b')) v(c);

INSERT INTO crm.member (id, email) VALUES (951, 'dee@us.example');
INSERT INTO crm.company (id, name, domain) VALUES (951, 'Shared', 'shared.example');
INSERT INTO crm.person (id, email, company_id)
SELECT 950 + i, 'c' || i || '@shared.example', 951 FROM generate_series(1, 6) i;
INSERT INTO crm.interaction (id, kind, occurred_at)
SELECT 40000 + g, (ARRAY['email', 'meeting'])[1 + g % 2]::crm.interaction_kind,
       timestamptz '2026-01-01' + g * interval '1 hour'
FROM generate_series(1, 40) g;
INSERT INTO crm.participant (interaction_id, address, role)
SELECT 40000 + g, 'dee@us.example', 'from'::crm.participant_role FROM generate_series(1, 40) g
UNION ALL
SELECT 40000 + g, 'c' || 1 + (g + k) % 6 || '@shared.example', 'to'
FROM generate_series(1, 40) g, generate_series(0, 3) k;
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'the starting state is exact');

-- Two sessions write one participant row at a time of the same interactions, each transaction
-- holding its claims for a moment so that the other's statements queue behind it. (One write per
-- transaction, each in its own BEGIN and COMMIT, since statements sent in one string otherwise
-- share a transaction: one writing the same records in several statements may deadlock with
-- another, as README "Concurrency" says.)
CREATE FUNCTION pg_temp.one_row_writes(seed int) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(format($q$
    BEGIN;
    UPDATE crm.participant SET response = CASE WHEN response IS NULL THEN 'declined' END::crm.participant_response
      WHERE id = (SELECT id FROM crm.participant WHERE interaction_id = %1$s AND member_id IS NULL ORDER BY id LIMIT 1 OFFSET %2$s);
    SELECT pg_sleep(0.005);
    COMMIT;
    BEGIN;
    DELETE FROM crm.participant
      WHERE id = (SELECT id FROM crm.participant WHERE interaction_id = %3$s AND member_id IS NULL ORDER BY id DESC LIMIT 1);
    SELECT pg_sleep(0.005);
    COMMIT;
    BEGIN;
    INSERT INTO crm.participant (interaction_id, address, role) VALUES (%3$s, 'c%4$s@shared.example', 'cc');
    COMMIT;$q$,
    40001 + (g * 7 + seed) % 40, (g + seed) % 3, 40001 + (g * 3 + seed) % 40, 1 + (g + seed) % 6), E'\n')
  FROM generate_series(1, 30) g $$;
SELECT dblink_send_query('a', pg_temp.one_row_writes(1));
SELECT dblink_send_query('b', pg_temp.one_row_writes(2));
SELECT pg_temp.drain('a', false);
SELECT pg_temp.drain('b', false);
SELECT is((SELECT count(*)::int FROM crm.participant WHERE interaction_id BETWEEN 40001 AND 40040), 200,
          'both sessions wrote all of their rows');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'concurrent one-row writes on the same interactions');

-- REPEATABLE READ: a takes its snapshot, b then removes a contact of an interaction and commits,
-- and a has another contact of the same interaction decline it (the audience a sees still has the
-- contact b removed).
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (40100, 'email', '2026-02-01'), (40101, 'email', '2026-02-02');
INSERT INTO crm.participant (interaction_id, address, role)
SELECT i, 'dee@us.example', 'from'::crm.participant_role FROM (VALUES (40100), (40101)) v(i)
UNION ALL
SELECT i, 'c' || k || '@shared.example', 'to' FROM (VALUES (40100), (40101)) v(i), generate_series(1, 4) k;
SELECT dblink_exec('a', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT n FROM dblink('a', 'SELECT count(*) FROM crm.participant') AS t(n bigint);
SELECT dblink_exec('b', $$DELETE FROM crm.participant WHERE interaction_id = 40100 AND address = 'c1@shared.example'$$);
SELECT lives_ok($$SELECT dblink_exec('a', 'UPDATE crm.participant SET response = ''declined''
                     WHERE interaction_id = 40100 AND address = ''c4@shared.example''', false)$$,
                'a write under REPEATABLE READ over a change committed since its snapshot');
SELECT dblink_exec('a', 'COMMIT', false);
SELECT dblink_exec('a', 'ROLLBACK', false);
SELECT is_empty('SELECT * FROM crm.verify_signals()',
                'REPEATABLE READ: the committed change is not taken out twice');

-- The same with a participant added to the interaction, the path of inserts into older ones.
SELECT dblink_exec('a', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT n FROM dblink('a', 'SELECT count(*) FROM crm.participant') AS t(n bigint);
SELECT dblink_exec('b', $$DELETE FROM crm.participant WHERE interaction_id = 40101 AND address = 'c1@shared.example'$$);
SELECT dblink_exec('a', $$INSERT INTO crm.participant (interaction_id, address, role) VALUES (40101, 'c5@shared.example', 'cc')$$, false);
SELECT dblink_exec('a', 'COMMIT', false);
SELECT dblink_exec('a', 'ROLLBACK', false);
SELECT is_empty('SELECT * FROM crm.verify_signals()',
                'REPEATABLE READ: an insert into an older interaction');

SELECT dblink_disconnect('a');
SELECT dblink_disconnect('b');
DELETE FROM crm.interaction WHERE id BETWEEN 40001 AND 40101;
DELETE FROM crm.person WHERE id BETWEEN 951 AND 956;
DELETE FROM crm.company WHERE id = 951;
DELETE FROM crm.member WHERE id = 951;
SELECT * FROM finish();
