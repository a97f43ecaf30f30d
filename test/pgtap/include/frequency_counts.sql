-- The oracle of crm.match_frequency (included with \ir by the tests of the counts): a recount of
-- the stored profiles' values in SQL (crm._match_frequency_values), independent of the C++
-- trigger that keeps the table.
--
-- pg_temp.counts_differ(): how many (workspace, kind, field, value) have another count than the
-- recount (0 when the table is right).
CREATE FUNCTION pg_temp.counts_differ() RETURNS bigint LANGUAGE sql AS $$
  WITH actual AS (
    SELECT p.workspace_id, p.kind, v.field, v.value, count(*)::int AS records
    FROM crm.match_profile p CROSS JOIN LATERAL crm._match_frequency_values(p.kind, p.fields) v
    GROUP BY 1, 2, 3, 4)
  SELECT count(*) FROM actual a
  FULL JOIN (SELECT * FROM crm.match_frequency WHERE records > 0) f
    USING (workspace_id, kind, field, value)
  WHERE a.records IS DISTINCT FROM f.records
$$;
