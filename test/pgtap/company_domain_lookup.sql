-- Finding the company that owns a domain reads that company, not the table: capture's new people
-- (crm._capture_records) and participant resolution (crm._resolve_address) once walked the primary
-- key in order and tested every company's domain, 8 ms a person at 5,000 companies. Counted by
-- company pages read, never by time; the owner has the highest id, the worst case of that walk.
-- The companies are committed and analysed first (an ANALYZE inside the test's transaction
-- would stop its row counters), and removed with their workspace at the end.
INSERT INTO crm.workspace (id, name) VALUES (97, 'many companies');
SET crm.workspace = 97;
INSERT INTO crm.company (name, domain) SELECT 'Company ' || g, 'c' || g || '.example97' FROM generate_series(1, 3000) g;
INSERT INTO crm.company (id, name, domain) VALUES (979797, 'Zeta', 'zeta97.example');
ANALYZE crm.company;

BEGIN;
SELECT plan(4);
-- Plans as a session keeps them after a few executions (generic): the walk was the generic plan.
SET LOCAL plan_cache_mode = force_generic_plan;
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
INSERT INTO crm.member (email) VALUES ('me@us97.example');

-- Pages of crm.company read (buffer hits included): the walk reads every page of the table.
CREATE FUNCTION pg_temp.companies_read() RETURNS bigint LANGUAGE sql AS $$
  SELECT pg_stat_get_xact_blocks_fetched('crm.company'::regclass) $$;
CREATE TEMP TABLE seen (n bigint);

INSERT INTO seen SELECT pg_temp.companies_read();
SELECT crm.ingest_email(E'From: Me <me@us97.example>\r\nTo: Nell Newman <nell@zeta97.example>\r\n'
                        'Subject: hello\r\nMessage-ID: <lookup-1@us97.example>\r\n'
                        'Date: Mon, 01 Jun 2026 10:00:00 +0000\r\n\r\nHi Nell\r\n', 'me@us97.example');
SELECT is((SELECT company_id FROM crm.person WHERE email = 'nell@zeta97.example'), 979797::bigint,
          'capture creates the person at the company owning the domain');
SELECT cmp_ok(pg_temp.companies_read() - (SELECT n FROM seen), '<', 15::bigint,
              'reading a few pages of companies, not all of them');

UPDATE seen SET n = pg_temp.companies_read();
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (979701, 'email', '2026-06-01');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (979701, 'someone@zeta97.example', 'to');
SELECT is((SELECT company_id FROM crm.participant WHERE interaction_id = 979701), 979797::bigint,
          'an unknown address at the domain links to its company');
SELECT cmp_ok(pg_temp.companies_read() - (SELECT n FROM seen), '<', 15::bigint,
              'resolution reads a few pages too');

SELECT * FROM finish();
ROLLBACK;
DELETE FROM crm.workspace WHERE id = 97;
