-- Writes into a database whose tables have never been analysed (a bulk load into a fresh
-- database) keep to index probes: a company written with its domain resolves again only the
-- participants at that domain, not every unlinked participant of the workspace (it did, at 2 s
-- per company, in the demo's trade-show import). Counted by rows read, never by time.
BEGIN;
SELECT plan(3);
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

-- Participant rows read (index fetches and scanned rows) by this transaction so far.
CREATE TEMP TABLE read_before AS
  SELECT pg_stat_get_xact_tuples_fetched('crm.participant'::regclass)
         + pg_stat_get_xact_tuples_returned('crm.participant'::regclass) AS n;
INSERT INTO crm.company (name, domain) VALUES ('Initech', 'initech81.example');
-- The 3 are read by the relink's probe, again under lock by its UPDATE, and by the participant
-- triggers that fold them (their interactions' other participants): a handful, not 20,000.
SELECT ok(pg_stat_get_xact_tuples_fetched('crm.participant'::regclass)
            + pg_stat_get_xact_tuples_returned('crm.participant'::regclass)
            - (SELECT n FROM read_before) BETWEEN 3 AND 100,
          'a new company reads again only the participants at its domain (3), not the 20,000 others');
SELECT is((SELECT count(*) FROM crm.participant p JOIN crm.company c ON c.id = p.company_id
           WHERE c.domain = 'initech81.example'), 3::bigint, 'and links them');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty');

SELECT * FROM finish();
ROLLBACK;
