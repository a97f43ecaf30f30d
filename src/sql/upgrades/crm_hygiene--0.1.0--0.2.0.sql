-- crm_hygiene 0.1.0 -> 0.2.0. Frozen once 0.2.0 is released. test/release/upgrade_catalog.sh
-- checks that 0.1.0 upgraded with this script has exactly the catalog of a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION crm_hygiene UPDATE TO '0.2.0'" to load this file. \quit

-- A bare clone (issue 10): every workspace has its crm.capture_policy row from its creation, so
-- that the policy can be updated before the first capture; existing workspaces get theirs now.
COMMENT ON TABLE crm.capture_policy IS
  'per workspace: which people and companies capture creates, blocked addresses and domains, the most participants an item may have, the recurrence window; a row with the defaults is created with each workspace';
INSERT INTO crm.capture_policy (workspace_id) SELECT w.id FROM crm.workspace w ON CONFLICT DO NOTHING;

CREATE FUNCTION crm._workspace_capture_policy() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO crm.capture_policy (workspace_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER workspace_capture_policy AFTER INSERT ON crm.workspace
  FOR EACH ROW EXECUTE FUNCTION crm._workspace_capture_policy();
