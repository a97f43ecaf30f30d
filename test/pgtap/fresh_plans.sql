-- Writes into a database whose tables have never been analysed (a bulk load into a fresh
-- database) keep to index probes: a company written with its domain resolves again only the
-- participants at that domain, not every unlinked participant of the workspace (it did, at 2 s
-- per company, in the demo's trade-show import). Counted by function calls, never by time.
BEGIN;
SELECT plan(3);
SET LOCAL track_functions = 'all';  -- crm._link_changes is C
-- Plans as a session keeps them after a few executions (generic), made without statistics.
SET LOCAL plan_cache_mode = force_generic_plan;
SET LOCAL crm.workspace = 81;
INSERT INTO crm.workspace (id, name) VALUES (81, 'fresh');
INSERT INTO crm.member (email) VALUES ('ann@us81.example');
INSERT INTO crm.interaction (id, kind, occurred_at) SELECT g, 'email', '2026-02-01' FROM generate_series(810001, 830000) g;
INSERT INTO crm.participant (interaction_id, address, role)
SELECT g, 'someone' || g || '@elsewhere' || (g % 50) || '.example', 'to'::crm.participant_role FROM generate_series(810001, 830000) g
UNION ALL SELECT g, 'x' || g || '@initech81.example', 'cc' FROM generate_series(810001, 810003) g;
-- As a database that was never analysed: no statistics, no size estimate.
DELETE FROM pg_statistic WHERE starelid = 'crm.participant'::regclass;
UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid IN ('crm.participant'::regclass, 'crm.participant_unlinked_domain_idx'::regclass);

CREATE TEMP TABLE calls_before AS
  SELECT coalesce(pg_stat_get_xact_function_calls('crm._link_changes(crm.participant)'::regprocedure), 0) AS n;
INSERT INTO crm.company (name, domain) VALUES ('Initech', 'initech81.example');
-- Each of the 3 is asked twice (to choose the rows, then in the UPDATE); counted from below
-- too, so that a count that stopped counting cannot pass.
SELECT ok(pg_stat_get_xact_function_calls('crm._link_changes(crm.participant)'::regprocedure)
            - (SELECT n FROM calls_before) BETWEEN 3 AND 10,
          'a new company resolves again only the participants at its domain (3), not the 20,000 others');
SELECT is((SELECT count(*) FROM crm.participant p JOIN crm.company c ON c.id = p.company_id
           WHERE c.domain = 'initech81.example'), 3::bigint, 'and links them');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty');

SELECT * FROM finish();
ROLLBACK;
