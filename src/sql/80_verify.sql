-- The oracle: one row per difference between stored state and a from-scratch recomputation.
-- Covers participant links (each participant's member, person and company against a fresh
-- resolution of its address), missing signal rows, and every stored attribute. A tombstone
-- (crm.merge) owns no address and has no signal row; an id that names one stands for the record
-- it was merged into. After every table it reads exists (src/sql/70_merge.sql adds merged_into).
-- Whole-table joins: hash joins, whatever the (possibly missing) statistics of tables filled in
-- this very transaction suggest.
CREATE FUNCTION crm.verify_signals()
RETURNS TABLE (record_kind text, record_id bigint, field text, stored text, expected text)
LANGUAGE sql
SET enable_nestloop = off
AS $$
  -- Address book: exactly the canonical addresses of every member and person.
  WITH expected_addresses AS (
    SELECT m.workspace_id, a AS address, m.id AS member_id, NULL::bigint AS person_id
    FROM crm.member m, pg_catalog.unnest(crm.normalize_addresses(m.aliases || m.email)) a
    UNION ALL
    SELECT p.workspace_id, a, NULL, p.id
    FROM crm.person p, pg_catalog.unnest(crm.normalize_addresses(p.emails || p.email)) a
    WHERE p.merged_into IS NULL
  ), stored_addresses AS (
    SELECT workspace_id, address, member_id, person_id FROM crm.record_address
  ), owner AS (
    SELECT DISTINCT ON (workspace_id, address) workspace_id, address, member_id, person_id
    FROM crm.record_address ORDER BY workspace_id, address, member_id NULLS LAST, person_id
  ), domain_owner AS (
    -- The lowest id holding the domain, or the company that one was merged into.
    SELECT DISTINCT ON (c.workspace_id, crm.normalize_address(c.domain)) c.workspace_id,
           crm.normalize_address(c.domain) AS domain, coalesce(c.merged_into, c.id) AS id
    FROM crm.company c WHERE c.domain IS NOT NULL ORDER BY 1, 2, c.id
  ), links AS (
    -- Participant links recomputed from scratch: the address owner (member before person), else
    -- the ids the row carries while their records exist, else the company owning the domain.
    SELECT p.id, p.member_id, p.person_id, p.company_id,
           CASE WHEN o.member_id IS NOT NULL THEN o.member_id
                WHEN o.person_id IS NOT NULL THEN NULL ELSE gm.id END AS e_member,
           CASE WHEN o.member_id IS NOT NULL THEN NULL
                WHEN o.person_id IS NOT NULL THEN o.person_id
                WHEN gm.id IS NOT NULL THEN NULL ELSE gp.id END AS e_person,
           CASE WHEN o.member_id IS NOT NULL THEN NULL
                WHEN o.person_id IS NOT NULL THEN op.company_id
                WHEN gm.id IS NOT NULL THEN NULL
                WHEN gp.id IS NOT NULL THEN gp.company_id ELSE d.id END AS e_company
    FROM crm.participant p
    LEFT JOIN owner o ON o.workspace_id = p.workspace_id AND o.address = p.address
    LEFT JOIN crm.person op ON op.id = o.person_id
    LEFT JOIN crm.member gm ON gm.id = p.member_id AND gm.workspace_id = p.workspace_id
    LEFT JOIN crm.person given ON given.id = p.person_id AND given.workspace_id = p.workspace_id
    LEFT JOIN crm.person gp ON gp.id = coalesce(given.merged_into, given.id) AND gp.workspace_id = p.workspace_id
    LEFT JOIN domain_owner d ON d.workspace_id = p.workspace_id AND d.domain = crm.address_domain(p.address)
  )
  SELECT 'address', coalesce(x.member_id, x.person_id), x.address, 'missing', 'present'
  FROM (SELECT * FROM expected_addresses EXCEPT ALL SELECT * FROM stored_addresses) x
  UNION ALL
  SELECT 'address', coalesce(x.member_id, x.person_id), x.address, 'present', 'missing'
  FROM (SELECT * FROM stored_addresses EXCEPT ALL SELECT * FROM expected_addresses) x
  UNION ALL
  SELECT 'person', p.id, 'signal row', 'missing', 'present'
  FROM crm.person p
  WHERE p.merged_into IS NULL AND NOT EXISTS (SELECT FROM crm.person_signal s WHERE s.person_id = p.id)
  UNION ALL
  SELECT 'person', s.person_id, 'signal row', 'present', 'missing'
  FROM crm.person_signal s
  WHERE NOT EXISTS (SELECT FROM crm.person p WHERE p.id = s.person_id AND p.merged_into IS NULL)
  UNION ALL
  SELECT 'company', c.id, 'signal row', 'missing', 'present'
  FROM crm.company c
  WHERE c.merged_into IS NULL AND NOT EXISTS (SELECT FROM crm.company_signal s WHERE s.company_id = c.id)
  UNION ALL
  SELECT 'company', s.company_id, 'signal row', 'present', 'missing'
  FROM crm.company_signal s
  WHERE NOT EXISTS (SELECT FROM crm.company c WHERE c.id = s.company_id AND c.merged_into IS NULL)
  UNION ALL
  SELECT 'participant', l.id, f.field, f.stored, f.expected
  FROM links l
  CROSS JOIN LATERAL (VALUES ('member_id', l.member_id::text, l.e_member::text),
                             ('person_id', l.person_id::text, l.e_person::text),
                             ('company_id', l.company_id::text, l.e_company::text)) f(field, stored, expected)
  WHERE f.stored IS DISTINCT FROM f.expected
  UNION ALL
  SELECT * FROM crm._verify_signal_state()
$$;
COMMENT ON FUNCTION crm.verify_signals() IS 'lists every difference between stored derived state and a from-scratch recomputation; empty when all is right';
