-- The workspace boundary: a role sees and writes only the workspaces it may use
-- (crm.workspace.roles), through every table, view and function, because every table of the
-- extension has a row-level security policy on workspace_id. crm.workspace's own policy decides
-- from its row alone; the others ask crm.workspace, whose policy has then already filtered it,
-- once per query (an InitPlan). The extension's owner bypasses the policies, so its SECURITY
-- DEFINER triggers derive across the whole table as before; SECURITY DEFINER functions that act
-- for a caller check crm._require_workspace instead. README, "Workspaces as a boundary".
ALTER TABLE crm.workspace ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.workspace
  USING (roles IS NULL OR EXISTS (SELECT FROM pg_catalog.unnest(roles) AS r(role)
                                  WHERE pg_catalog.pg_has_role(r.role, 'MEMBER')));

DO $$
DECLARE
  rel regclass;
BEGIN
  FOR rel IN
    SELECT c.oid::regclass FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped
    WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind = 'r'
    ORDER BY c.relname
  LOOP
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
    -- A policy's expression is bound when it is created, like a SQL-standard function body.
    EXECUTE pg_catalog.format('CREATE POLICY workspace_boundary ON %s '
                              'USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)))', rel);
  END LOOP;
END
$$;
