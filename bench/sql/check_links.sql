-- An independent, set-based check of the participant links the resolution trigger wrote: the
-- documented rule (member first, then person by primary or additional email, lowest id first;
-- otherwise the company whose domain the address has), computed with joins instead of one
-- crm._resolve_participant() call per row. Also checks that addresses are stored canonical.
-- Prints one line: participants, wrong links, non-canonical addresses.
WITH m AS (
  SELECT x.workspace_id, a, min(x.id) AS id
  FROM crm.member x CROSS JOIN LATERAL unnest(crm.normalize_addresses(x.aliases || x.email)) a
  GROUP BY 1, 2
), p AS (
  SELECT DISTINCT ON (x.workspace_id, a) x.workspace_id, a, x.id, x.company_id
  FROM crm.person x CROSS JOIN LATERAL unnest(crm.normalize_addresses(x.emails || x.email)) a
  ORDER BY x.workspace_id, a, x.id
), c AS (
  SELECT DISTINCT ON (x.workspace_id, crm.normalize_address(x.domain)) x.workspace_id, crm.normalize_address(x.domain) AS d, x.id
  FROM crm.company x WHERE x.domain IS NOT NULL
  ORDER BY x.workspace_id, crm.normalize_address(x.domain), x.id
)
SELECT count(*) AS participants,
       count(*) FILTER (WHERE (t.member_id, t.person_id, t.company_id) IS DISTINCT FROM
                              (m.id, CASE WHEN m.id IS NULL THEN p.id END,
                               CASE WHEN m.id IS NOT NULL THEN NULL WHEN p.id IS NOT NULL THEN p.company_id ELSE c.id END)) AS wrong_links,
       count(*) FILTER (WHERE t.address IS DISTINCT FROM crm.normalize_address(t.address)) AS non_canonical
FROM crm.participant t
LEFT JOIN m ON m.workspace_id = t.workspace_id AND m.a = crm.normalize_address(t.address)
LEFT JOIN p ON p.workspace_id = t.workspace_id AND p.a = crm.normalize_address(t.address)
LEFT JOIN c ON c.workspace_id = t.workspace_id AND c.d = crm.address_domain(t.address);
