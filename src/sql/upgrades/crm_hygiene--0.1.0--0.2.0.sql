-- crm_hygiene 0.1.0 -> 0.2.0. Frozen once 0.2.0 is released. test/release/upgrade_catalog.sh
-- checks that 0.1.0 upgraded with this script has exactly the catalog of a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION crm_hygiene UPDATE TO '0.2.0'" to load this file. \quit

-- Backups (docs/BACKUP.md): restore mode, and every table and sequence in pg_dump.
CREATE FUNCTION crm._restoring() RETURNS boolean
  AS 'MODULE_PATHNAME', 'crm_restoring' LANGUAGE C STABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION crm._person_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.person_signal (person_id, workspace_id) VALUES (NEW.id, NEW.workspace_id);
    PERFORM crm._set_record_addresses(NEW.workspace_id, NEW.id, NULL, NEW.emails || NEW.email);
    PERFORM crm._relink(NEW.workspace_id, NEW.emails || NEW.email, '{}', NULL, NULL, NULL);
  ELSIF TG_OP = 'UPDATE' THEN
    IF (NEW.emails || NEW.email) IS DISTINCT FROM (OLD.emails || OLD.email) THEN
      PERFORM crm._set_record_addresses(NEW.workspace_id, NEW.id, NULL, NEW.emails || NEW.email);
      PERFORM crm._relink(NEW.workspace_id, NEW.emails || NEW.email || OLD.emails || OLD.email, '{}', NEW.id, NULL, NULL);
    ELSIF NEW.company_id IS DISTINCT FROM OLD.company_id THEN
      PERFORM crm._relink(NEW.workspace_id, '{}', '{}', NEW.id, NULL, NULL);
    END IF;
  ELSE
    PERFORM crm._set_record_addresses(OLD.workspace_id, OLD.id, NULL, '{}');
    PERFORM crm._relink(OLD.workspace_id, OLD.emails || OLD.email, '{}', OLD.id, NULL, NULL);
    DELETE FROM crm.connection WHERE person_id = OLD.id;
    DELETE FROM crm.person_signal WHERE person_id = OLD.id;
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION crm._member_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    PERFORM crm._set_record_addresses(NEW.workspace_id, NULL, NEW.id, NEW.aliases || NEW.email);
    PERFORM crm._relink(NEW.workspace_id, NEW.aliases || NEW.email, '{}', NULL, NULL, NULL);
  ELSIF TG_OP = 'UPDATE' THEN
    IF (NEW.aliases || NEW.email) IS DISTINCT FROM (OLD.aliases || OLD.email) THEN
      PERFORM crm._set_record_addresses(NEW.workspace_id, NULL, NEW.id, NEW.aliases || NEW.email);
      PERFORM crm._relink(NEW.workspace_id, NEW.aliases || NEW.email || OLD.aliases || OLD.email, '{}', NULL, NEW.id, NULL);
    END IF;
  ELSE
    PERFORM crm._set_record_addresses(OLD.workspace_id, NULL, OLD.id, '{}');
    PERFORM crm._relink(OLD.workspace_id, OLD.aliases || OLD.email, '{}', NULL, OLD.id, NULL);
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION crm._company_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.company_signal (company_id, workspace_id) VALUES (NEW.id, NEW.workspace_id);
    IF NEW.domain IS NOT NULL THEN
      PERFORM crm._relink(NEW.workspace_id, '{}', ARRAY[NEW.domain], NULL, NULL, NULL);
    END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.domain IS DISTINCT FROM OLD.domain THEN
      PERFORM crm._relink(NEW.workspace_id, '{}', ARRAY[NEW.domain, OLD.domain], NULL, NULL, NEW.id);
    END IF;
  ELSE
    PERFORM crm._relink(OLD.workspace_id, '{}', ARRAY[OLD.domain], NULL, NULL, OLD.id);
    DELETE FROM crm.connection WHERE person_id IS NULL AND company_id = OLD.id;
    DELETE FROM crm.company_connection WHERE company_id = OLD.id;
    DELETE FROM crm.company_signal WHERE company_id = OLD.id;
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION crm._workspace_model() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- the dump brings the workspace's model
  INSERT INTO crm.connection_model (workspace_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION crm._model_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- connections are restored as dumped
  IF TG_OP = 'UPDATE' AND NEW.workspace_id = OLD.workspace_id
     AND (NEW.outbound_email, NEW.inbound_email, NEW.meeting, NEW.call, NEW.role_primary,
          NEW.role_cc, NEW.role_bcc, NEW.max_audience, NEW.half_life)
         IS NOT DISTINCT FROM
         (OLD.outbound_email, OLD.inbound_email, OLD.meeting, OLD.call, OLD.role_primary,
          OLD.role_cc, OLD.role_bcc, OLD.max_audience, OLD.half_life) THEN
    RETURN NULL;  -- scale and bands only change how stored state reads
  END IF;
  -- A new workspace (or a model row for one without records) has nothing to recompute.
  IF TG_OP = 'INSERT'
     AND NOT EXISTS (SELECT FROM crm.person_signal s WHERE s.workspace_id = NEW.workspace_id)
     AND NOT EXISTS (SELECT FROM crm.company_signal s WHERE s.workspace_id = NEW.workspace_id) THEN
    RETURN NULL;
  END IF;
  -- Exclusive against every writer of activity (they take it shared, src/pg/connection_store.cpp):
  -- nobody folds with the old model once the new one is in place.
  PERFORM pg_catalog.pg_advisory_xact_lock(1668443496, 1836016748);  -- 'crmh', 'modl'
  IF TG_OP <> 'INSERT' AND EXISTS (SELECT FROM crm.workspace w WHERE w.id = OLD.workspace_id) THEN
    PERFORM crm._recompute_connections(OLD.workspace_id);
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.workspace_id <> OLD.workspace_id) THEN
    PERFORM crm._recompute_connections(NEW.workspace_id);
  END IF;
  RETURN NULL;
END
$$;

DO $$
DECLARE
  rel regclass;
BEGIN
  FOR rel IN
    SELECT c.oid::regclass FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
    JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'crm_hygiene'
    WHERE c.relkind IN ('r', 'p', 'S')
    ORDER BY c.relname
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(rel, '');
  END LOOP;
END
$$;

-- Settings: crm.now() and crm.current_workspace() in C, so that using them loads the library
-- whose check hooks refuse a bad crm.clock or crm.workspace.
CREATE OR REPLACE FUNCTION crm.current_workspace() RETURNS bigint
  AS 'MODULE_PATHNAME', 'crm_current_workspace' LANGUAGE C STABLE PARALLEL SAFE COST 1;
CREATE OR REPLACE FUNCTION crm.now() RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'crm_now' LANGUAGE C STABLE PARALLEL SAFE COST 1;
