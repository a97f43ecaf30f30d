-- The extension installs into schema crm with the contract's objects.
CREATE EXTENSION crm_hygiene;
SELECT extname, extversion, extnamespace::regnamespace FROM pg_extension WHERE extname = 'crm_hygiene';

SELECT c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'crm' AND c.relkind IN ('r', 'v')
ORDER BY 1;

-- What BI tools select: every record column (but merged_into: tombstones are not in the view),
-- then the derived columns.
SELECT (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'crm' AND table_name = 'person') AS person_columns,
       (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'crm' AND table_name = 'person_overview') AS overview_columns;
SELECT o.column_name, o.data_type
FROM information_schema.columns o
WHERE o.table_schema = 'crm' AND o.table_name = 'person_overview'
  AND o.column_name NOT IN (SELECT column_name FROM information_schema.columns WHERE table_schema = 'crm' AND table_name = 'person')
ORDER BY o.ordinal_position;
CREATE FUNCTION pg_temp.derived_columns(view_name text, table_name text) RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(o.column_name::text ORDER BY o.ordinal_position) FROM information_schema.columns o
  WHERE o.table_schema = 'crm' AND o.table_name = view_name
    AND o.column_name NOT IN (SELECT t.column_name FROM information_schema.columns t
                              WHERE t.table_schema = 'crm' AND t.table_name = derived_columns.table_name) $$;
SELECT pg_temp.derived_columns('company_overview', 'company') = pg_temp.derived_columns('person_overview', 'person')
       AS company_overview_has_the_same_derived_columns;

-- Workspace 1 exists after install, and the next workspace gets id 2.
SELECT id, name FROM crm.workspace;
INSERT INTO crm.workspace (name) VALUES ('second') RETURNING id;

-- Mutating maintenance is not for PUBLIC; reads and the oracle are.
SELECT p.proname, has_function_privilege('public', p.oid, 'execute') AS public_can_execute
FROM pg_proc p WHERE p.pronamespace = 'crm'::regnamespace
  AND p.proname IN ('rebuild_signals', 'tick', 'verify_signals', 'stale_records', 'now', 'current_workspace')
ORDER BY 1;

-- SECURITY DEFINER: the triggers and the functions that write derived state for their callers.
-- Each pins search_path, and none is executable by PUBLIC.
SELECT p.oid::regprocedure AS security_definer,
       p.proconfig @> '{"search_path=pg_catalog, pg_temp"}' AS pinned,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p WHERE pronamespace = 'crm'::regnamespace AND prosecdef ORDER BY p.oid::regprocedure::text;
-- Functions that keep the caller's search_path: SQL-standard bodies (bound at install) and C
-- functions that run no SQL.
SELECT p.oid::regprocedure AS caller_path, l.lanname, p.prosqlbody IS NOT NULL AS standard_body
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE pronamespace = 'crm'::regnamespace
  AND NOT coalesce(p.proconfig @> '{"search_path=pg_catalog, pg_temp"}', false) ORDER BY p.oid::regprocedure::text;
-- Internal functions executable by PUBLIC: none.
SELECT p.oid::regprocedure AS public_internal FROM pg_proc p
WHERE pronamespace = 'crm'::regnamespace AND p.proname LIKE '\_%' AND has_function_privilege('public', p.oid, 'EXECUTE');
