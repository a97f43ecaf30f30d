-- Benchmark workspace: the extension, a fixed clock, members, companies and people.
-- psql variables: clock, members, companies, per_company.
-- Everything is deterministic: ids are explicit and pseudo-random choices come from bench.rnd().
SET client_min_messages = warning;
CREATE EXTENSION crm_hygiene CASCADE;
LOAD 'crm_hygiene';
-- Every later session of this database sees the same clock (crm.now()).
ALTER DATABASE postgres SET crm.clock = :'clock';
SET crm.clock = :'clock';

CREATE SCHEMA bench;
-- A uniform pseudo-random number in [0, 1) from (n, salt): the same on every run and platform
-- (hashint8extended is the hash Postgres' hash partitioning relies on, so it never changes).
CREATE FUNCTION bench.rnd(n bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ((pg_catalog.hashint8extended(n, salt) >> 11) & 9007199254740991)::float8 / 9007199254740992.0 $$;

-- The team: member<m>@ourteam.example; every fourth member also has an alias.
INSERT INTO crm.member (id, workspace_id, email, aliases, name)
SELECT m, 1, 'member' || m || '@ourteam.example',
       CASE WHEN m % 4 = 0 THEN ARRAY['m' || m || '@ourteam-mail.example'] ELSE '{}' END,
       'Member ' || m
FROM generate_series(1, :members) m;
SELECT setval(pg_get_serial_sequence('crm.member', 'id'), :members);

-- Companies: company<c>.example.
INSERT INTO crm.company (id, workspace_id, name, domain, country, industry, employee_count)
SELECT c, 1, 'Company ' || c, 'company' || c || '.example',
       (ARRAY['DE', 'FR', 'GB', 'US', 'NL'])[1 + c % 5], (ARRAY['software', 'retail', 'finance', 'health'])[1 + c % 4],
       10 + (c * 37) % 5000
FROM generate_series(1, :companies) c;
SELECT setval(pg_get_serial_sequence('crm.company', 'id'), :companies);

-- People: per_company each, person p works at company (p - 1) / per_company + 1 and has the
-- address p<p>@company<c>.example; every 20th also has alt<p>@company<c>.example.
INSERT INTO crm.person (id, workspace_id, company_id, first_name, last_name, email, emails, title)
SELECT p, 1, c, 'First' || (p % 500), 'Last' || p, 'p' || p || '@company' || c || '.example',
       CASE WHEN p % 20 = 0 THEN ARRAY['alt' || p || '@company' || c || '.example'] ELSE '{}' END,
       (ARRAY['CEO', 'CTO', 'Buyer', 'Engineer', 'Manager'])[1 + p % 5]
FROM generate_series(1, :companies * :per_company) p
CROSS JOIN LATERAL (SELECT (p - 1) / :per_company + 1 AS c) x;
SELECT setval(pg_get_serial_sequence('crm.person', 'id'), :companies * :per_company);

VACUUM ANALYZE crm.member, crm.company, crm.person, crm.person_signal, crm.company_signal;
