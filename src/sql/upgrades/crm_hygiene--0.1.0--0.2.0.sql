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
      -- The person's addresses too: relinking claims them, so a participant being written for
      -- one of them concurrently either waits and sees the new company or is seen and relinked.
      PERFORM crm._relink(NEW.workspace_id, NEW.emails || NEW.email, '{}', NEW.id, NULL, NULL);
    END IF;
  ELSE
    PERFORM crm._set_record_addresses(OLD.workspace_id, OLD.id, NULL, '{}');
    -- Deleting a workspace deletes its activity too: nothing is left to relink, and relinking
    -- would touch participants whose interactions the same cascade has removed.
    IF EXISTS (SELECT FROM crm.workspace w WHERE w.id = OLD.workspace_id) THEN
      PERFORM crm._relink(OLD.workspace_id, OLD.emails || OLD.email, '{}', OLD.id, NULL, NULL);
    END IF;
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
    IF EXISTS (SELECT FROM crm.workspace w WHERE w.id = OLD.workspace_id) THEN  -- see _person_relink
      PERFORM crm._relink(OLD.workspace_id, OLD.aliases || OLD.email, '{}', NULL, OLD.id, NULL);
    END IF;
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
    IF EXISTS (SELECT FROM crm.workspace w WHERE w.id = OLD.workspace_id) THEN  -- see _person_relink
      PERFORM crm._relink(OLD.workspace_id, '{}', ARRAY[OLD.domain], NULL, NULL, OLD.id);
    END IF;
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

-- search_path-proof bodies: SQL-standard bodies bound at install, still inlined.
CREATE OR REPLACE FUNCTION crm.normalize_address(address text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.translate(pg_catalog.btrim(address, E' \t\n\r\013\f'),
                            'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');

CREATE OR REPLACE FUNCTION crm.address_domain(address text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN nullif(pg_catalog.split_part(crm.normalize_address(address), '@', 2), '');

CREATE OR REPLACE FUNCTION crm.normalize_addresses(addresses text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT coalesce(pg_catalog.array_agg(DISTINCT crm.normalize_address(a)) FILTER (WHERE nullif(pg_catalog.btrim(a), '') IS NOT NULL), '{}')
  FROM pg_catalog.unnest(addresses) AS a;
END;

CREATE OR REPLACE FUNCTION crm._resolve_address(ws bigint, addr text)
RETURNS TABLE (member_id bigint, person_id bigint, company_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT o.member_id, o.person_id,
         CASE WHEN o.member_id IS NOT NULL THEN NULL
              WHEN o.person_id IS NOT NULL THEN (SELECT p.company_id FROM crm.person p WHERE p.id = o.person_id)
              ELSE (SELECT c.id FROM crm.company c
                    WHERE c.workspace_id = ws AND crm.normalize_address(c.domain) = crm.address_domain(addr)
                      AND c.domain IS NOT NULL
                    ORDER BY c.id LIMIT 1) END
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT a.member_id, a.person_id FROM crm.record_address a
                     WHERE a.workspace_id = ws AND a.address = crm.normalize_address(addr)
                     ORDER BY a.member_id NULLS LAST, a.person_id LIMIT 1) o ON true;
END;

CREATE OR REPLACE FUNCTION crm._link_changes(p crm.participant) RETURNS boolean
LANGUAGE sql
BEGIN ATOMIC
  SELECT (r.member_id, r.person_id, r.company_id) IS DISTINCT FROM (p.member_id, p.person_id, p.company_id)
  FROM crm._resolve_participant(p.workspace_id, p.address, p.person_id, p.member_id, false) r;
END;

-- Roles and grants (README): one tested set of grants per kind of access.
CREATE FUNCTION crm.grant_access(grantee regrole, access text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF access IS NULL OR access NOT IN ('reader', 'application', 'maintenance') THEN
    RAISE EXCEPTION 'unknown access "%"', access
      USING ERRCODE = 'invalid_parameter_value', HINT = 'use ''reader'', ''application'' or ''maintenance''';
  END IF;
  EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA crm TO %s', grantee);
  EXECUTE pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA crm TO %s', grantee);
  -- What the views call (security_invoker views run their functions as the reader).
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._signals_now(text, bigint), '
    'crm._connections_now(text, bigint), crm._duplicate_sets(), '
    'crm._strength(float8, interval, float8, timestamptz), crm._band(float8, float8, float8, float8, float8) TO %s', grantee);
  IF access = 'application' THEN
    EXECUTE pg_catalog.format('GRANT INSERT, UPDATE, DELETE ON crm.member, crm.company, crm.person, crm.deal, '
      'crm.interaction, crm.participant TO %s', grantee);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.ingest_emails(bytea[], text), '
      'crm.ingest_email(bytea, text), crm.ingest_email(text, text), crm.ingest_calendar(text, text), '
      'crm.dismiss_duplicate(text, bigint, bigint) TO %s', grantee);
  ELSIF access = 'maintenance' THEN
    EXECUTE pg_catalog.format('GRANT INSERT, UPDATE, DELETE ON crm.workspace, crm.connection_model, '
      'crm.duplicate_model, crm.duplicate_rule, crm.capture_policy TO %s', grantee);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.tick(), crm.rebuild_signals(), '
      'crm.scan_duplicates(text), crm.train_duplicate_model(text), crm._verify_signal_state() TO %s', grantee);
  END IF;
END
$$;
COMMENT ON FUNCTION crm.grant_access(regrole, text) IS
  'grants a role one kind of access: reader (views and tables, read only), application (reader + records, activity, capture), maintenance (reader + tick, rebuild, scan, train, settings)';
REVOKE ALL ON FUNCTION crm.grant_access(regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION crm._resolve_participant(ws bigint, addr text, given_person bigint, given_member bigint,
                                         strict boolean,
                                         OUT member_id bigint, OUT person_id bigint, OUT company_id bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  person_company bigint;
BEGIN
  SELECT r.member_id, r.person_id, r.company_id INTO member_id, person_id, company_id
  FROM crm._resolve_address(ws, addr) r;
  IF member_id IS NOT NULL OR person_id IS NOT NULL THEN
    RETURN;
  END IF;
  IF given_member IS NOT NULL THEN
    PERFORM FROM crm.member x WHERE x.id = given_member AND x.workspace_id = ws FOR KEY SHARE;
    IF FOUND THEN
      member_id := given_member;
      company_id := NULL;
      RETURN;
    ELSIF strict THEN
      RAISE EXCEPTION 'member % does not exist in workspace %', given_member, ws
        USING ERRCODE = 'foreign_key_violation', DETAIL = pg_catalog.format('participant address %L', addr);
    END IF;
  END IF;
  IF given_person IS NOT NULL THEN
    -- FOR SHARE, not KEY SHARE: it waits for a concurrent change of the person's company and
    -- reads the committed one, which that change's relink could not see here.
    SELECT x.company_id INTO person_company FROM crm.person x
    WHERE x.id = given_person AND x.workspace_id = ws FOR SHARE;
    IF FOUND THEN
      person_id := given_person;
      company_id := person_company;
    ELSIF strict THEN
      RAISE EXCEPTION 'person % does not exist in workspace %', given_person, ws
        USING ERRCODE = 'foreign_key_violation', DETAIL = pg_catalog.format('participant address %L', addr);
    END IF;
  END IF;
END
$$;


-- Concurrency (issue 10): record triggers per statement, claiming all of a statement's addresses
-- at once and relinking its participants in one UPDATE; ids carried over lock no record.
DROP TRIGGER person_relink ON crm.person;
DROP TRIGGER member_relink ON crm.member;
DROP TRIGGER company_relink ON crm.company;
DROP FUNCTION crm._set_record_addresses(bigint, bigint, bigint, text[]);
DROP FUNCTION crm._relink(bigint, text[], text[], bigint, bigint, bigint);
-- A record statement's claims (addrs[i] in wss[i], domains[i] in domain_wss[i]): all or none.
CREATE FUNCTION crm._claim_addresses(wss bigint[], addrs text[], domain_wss bigint[], domains text[]) RETURNS void
  AS 'MODULE_PATHNAME', 'crm_claim_record_addresses' LANGUAGE C STRICT;

CREATE OR REPLACE FUNCTION crm._resolve_participant(ws bigint, addr text, given_person bigint, given_member bigint,
                                         strict boolean,
                                         OUT member_id bigint, OUT person_id bigint, OUT company_id bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  person_company bigint;
BEGIN
  SELECT r.member_id, r.person_id, r.company_id INTO member_id, person_id, company_id
  FROM crm._resolve_address(ws, addr) r;
  IF member_id IS NOT NULL OR person_id IS NOT NULL THEN
    RETURN;
  END IF;
  -- Ids just written (strict) lock the record they name until commit. Ids carried over need no
  -- lock: they are on a participant row that already exists, and every change of a record that
  -- could drop or move them (its deletion, its company) relinks that row by UPDATE, so the row
  -- lock orders the two writers. (Locking the record here, from a relink that holds address
  -- claims, would wait for a record writer that waits for those claims.)
  IF given_member IS NOT NULL THEN
    IF strict THEN
      PERFORM FROM crm.member x WHERE x.id = given_member AND x.workspace_id = ws FOR KEY SHARE;
    ELSE
      PERFORM FROM crm.member x WHERE x.id = given_member AND x.workspace_id = ws;
    END IF;
    IF FOUND THEN
      member_id := given_member;
      company_id := NULL;
      RETURN;
    ELSIF strict THEN
      RAISE EXCEPTION 'member % does not exist in workspace %', given_member, ws
        USING ERRCODE = 'foreign_key_violation', DETAIL = pg_catalog.format('participant address %L', addr);
    END IF;
  END IF;
  IF given_person IS NOT NULL THEN
    IF strict THEN
      -- FOR SHARE, not KEY SHARE: it waits for a concurrent change of the person's company and
      -- reads the committed one, which that change's relink could not see here.
      SELECT x.company_id INTO person_company FROM crm.person x
      WHERE x.id = given_person AND x.workspace_id = ws FOR SHARE;
    ELSE
      SELECT x.company_id INTO person_company FROM crm.person x
      WHERE x.id = given_person AND x.workspace_id = ws;
    END IF;
    IF FOUND THEN
      person_id := given_person;
      company_id := person_company;
    ELSIF strict THEN
      RAISE EXCEPTION 'person % does not exist in workspace %', given_person, ws
        USING ERRCODE = 'foreign_key_violation', DETAIL = pg_catalog.format('participant address %L', addr);
    END IF;
  END IF;
END
$$;

CREATE FUNCTION crm._relink(wss bigint[], addrs text[], domain_wss bigint[], domains text[],
                            persons bigint[], members bigint[], companies bigint[])
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  ids bigint[];
  busy bigint[];
BEGIN
  LOOP
    -- A subtransaction: when a row is busy, what it claimed and locked is let go at once.
    BEGIN
      PERFORM crm._claim_addresses(wss, addrs, domain_wss, domains);
      -- Every arm is an index probe, so the cached plan stays good as tables grow.
      ids := ARRAY(
        SELECT p.id FROM crm.participant p
        WHERE p.id OPERATOR(pg_catalog.=) ANY (ARRAY(
          SELECT p.id FROM ROWS FROM (pg_catalog.unnest(wss), pg_catalog.unnest(addrs)) AS a(ws, address)
            JOIN crm.participant p ON p.workspace_id OPERATOR(pg_catalog.=) a.ws AND p.address OPERATOR(pg_catalog.=) a.address
          UNION
          SELECT p.id FROM ROWS FROM (pg_catalog.unnest(domain_wss), pg_catalog.unnest(domains)) AS d(ws, domain)
            JOIN crm.participant p ON p.workspace_id OPERATOR(pg_catalog.=) d.ws
             AND crm.address_domain(p.address) OPERATOR(pg_catalog.=) d.domain AND p.person_id IS NULL AND p.member_id IS NULL
          UNION
          SELECT p.id FROM crm.participant p WHERE p.person_id OPERATOR(pg_catalog.=) ANY (persons)
          UNION
          SELECT p.id FROM crm.participant p WHERE p.member_id OPERATOR(pg_catalog.=) ANY (members)
          UNION
          SELECT p.id FROM crm.participant p WHERE p.company_id OPERATOR(pg_catalog.=) ANY (companies)))
          AND crm._link_changes(p));
      IF pg_catalog.cardinality(ids) OPERATOR(pg_catalog.=) 0 THEN RETURN; END IF;
      -- Rows another transaction is writing (an UPDATE of a participant's address locks the row,
      -- then claims the new address) are not waited for while holding this statement's claims.
      busy := ARRAY(WITH locked AS (SELECT p.id FROM crm.participant p WHERE p.id OPERATOR(pg_catalog.=) ANY (ids)
                                    FOR NO KEY UPDATE SKIP LOCKED)
                    SELECT x FROM pg_catalog.unnest(ids) x
                    WHERE NOT EXISTS (SELECT FROM locked l WHERE l.id OPERATOR(pg_catalog.=) x));
      IF pg_catalog.cardinality(busy) OPERATOR(pg_catalog.=) 0 THEN
        UPDATE crm.participant p SET address = p.address
        WHERE p.id OPERATOR(pg_catalog.=) ANY (ids) AND crm._link_changes(p);
        RETURN;
      END IF;
      RAISE EXCEPTION USING ERRCODE = 'CRM01';
    EXCEPTION WHEN SQLSTATE 'CRM01' THEN
      -- Wait for the busy rows' writers to finish, holding nothing of this statement (not even
      -- a lock on those rows: the block rolls it back), then claim and read everything again.
      BEGIN
        PERFORM FROM crm.participant p WHERE p.id OPERATOR(pg_catalog.=) ANY (busy) FOR SHARE;
        RAISE EXCEPTION USING ERRCODE = 'CRM01';
      EXCEPTION WHEN SQLSTATE 'CRM01' THEN
        NULL;
      END;
    END;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION crm._person_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  wss bigint[];
  addrs text[];
  persons bigint[];
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.person_signal (person_id, workspace_id) SELECT n.id, n.workspace_id FROM new_rows n;
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, NULL, n.id
    FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email)) a;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, a AS address
          FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email)) a) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', '{}', '{}', '{}');
  ELSIF TG_OP = 'UPDATE' THEN
    -- People whose addresses changed: rewritten, and the old and the new addresses relinked.
    -- People whose company changed: their addresses are relinked too, because relinking claims
    -- them, so a participant written for one of them concurrently either waits and sees the new
    -- company or is seen and relinked.
    DELETE FROM crm.record_address a USING new_rows n, old_rows o
    WHERE o.id OPERATOR(pg_catalog.=) n.id AND a.person_id OPERATOR(pg_catalog.=) n.id
      AND (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email);
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, NULL, n.id
    FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
         pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email)) a
    WHERE (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email);
    persons := ARRAY(
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id
      WHERE (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email)
         OR n.company_id IS DISTINCT FROM o.company_id);
    IF pg_catalog.cardinality(persons) OPERATOR(pg_catalog.=) 0 THEN RETURN NULL; END IF;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, a AS address
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
               pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email
                 OPERATOR(pg_catalog.||) CASE WHEN (n.emails OPERATOR(pg_catalog.||) n.email)
                                                   IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email)
                                              THEN o.emails OPERATOR(pg_catalog.||) o.email ELSE '{}' END)) a
          WHERE n.id OPERATOR(pg_catalog.=) ANY (persons)) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', persons, '{}', '{}');
  ELSE
    DELETE FROM crm.record_address a USING old_rows o WHERE a.person_id OPERATOR(pg_catalog.=) o.id;
    -- Deleting a workspace deletes its activity too: nothing is left to relink, and relinking
    -- would touch participants whose interactions the same cascade has removed.
    persons := ARRAY(SELECT o.id FROM old_rows o
                     WHERE EXISTS (SELECT FROM crm.workspace w WHERE w.id OPERATOR(pg_catalog.=) o.workspace_id));
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT o.workspace_id, a AS address
          FROM old_rows o, pg_catalog.unnest(crm.normalize_addresses(o.emails OPERATOR(pg_catalog.||) o.email)) a
          WHERE o.id OPERATOR(pg_catalog.=) ANY (persons)) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', persons, '{}', '{}');
    DELETE FROM crm.connection c USING old_rows o WHERE c.person_id OPERATOR(pg_catalog.=) o.id;
    DELETE FROM crm.person_signal s USING old_rows o WHERE s.person_id OPERATOR(pg_catalog.=) o.id;
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION crm._member_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  wss bigint[];
  addrs text[];
  members bigint[];
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, n.id, NULL
    FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.aliases OPERATOR(pg_catalog.||) n.email)) a;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, a AS address
          FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.aliases OPERATOR(pg_catalog.||) n.email)) a) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', '{}', '{}', '{}');
  ELSIF TG_OP = 'UPDATE' THEN
    members := ARRAY(
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id
      WHERE (n.aliases OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.aliases OPERATOR(pg_catalog.||) o.email));
    IF pg_catalog.cardinality(members) OPERATOR(pg_catalog.=) 0 THEN RETURN NULL; END IF;
    DELETE FROM crm.record_address a WHERE a.member_id OPERATOR(pg_catalog.=) ANY (members);
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, n.id, NULL
    FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.aliases OPERATOR(pg_catalog.||) n.email)) a
    WHERE n.id OPERATOR(pg_catalog.=) ANY (members);
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, a AS address
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
               pg_catalog.unnest(crm.normalize_addresses(n.aliases OPERATOR(pg_catalog.||) n.email
                 OPERATOR(pg_catalog.||) o.aliases OPERATOR(pg_catalog.||) o.email)) a
          WHERE n.id OPERATOR(pg_catalog.=) ANY (members)) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', '{}', members, '{}');
  ELSE
    DELETE FROM crm.record_address a USING old_rows o WHERE a.member_id OPERATOR(pg_catalog.=) o.id;
    members := ARRAY(SELECT o.id FROM old_rows o  -- see _person_relink
                     WHERE EXISTS (SELECT FROM crm.workspace w WHERE w.id OPERATOR(pg_catalog.=) o.workspace_id));
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT o.workspace_id, a AS address
          FROM old_rows o, pg_catalog.unnest(crm.normalize_addresses(o.aliases OPERATOR(pg_catalog.||) o.email)) a
          WHERE o.id OPERATOR(pg_catalog.=) ANY (members)) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', '{}', members, '{}');
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION crm._company_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  wss bigint[];
  addrs text[];
  companies bigint[];
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    IF crm._restoring() THEN RETURN OLD; END IF;
    -- BEFORE DELETE: ON DELETE SET NULL relinks the company's people (their triggers claim their
    -- addresses and lock signal rows) before this statement's own relink claims the domain. Both
    -- are claimed here first, at once, so that the deletion never waits for a claim while it
    -- holds signal rows.
    IF EXISTS (SELECT FROM crm.workspace w WHERE w.id OPERATOR(pg_catalog.=) OLD.workspace_id) THEN
      SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
        INTO wss, addrs
      FROM (SELECT DISTINCT p.workspace_id, a AS address
            FROM crm.person p, pg_catalog.unnest(crm.normalize_addresses(p.emails OPERATOR(pg_catalog.||) p.email)) a
            WHERE p.company_id OPERATOR(pg_catalog.=) OLD.id) r;
      PERFORM crm._claim_addresses(wss, addrs,
        CASE WHEN OLD.domain IS NULL THEN '{}' ELSE ARRAY[OLD.workspace_id] END,
        CASE WHEN OLD.domain IS NULL THEN '{}' ELSE ARRAY[crm.normalize_address(OLD.domain)] END);
    END IF;
    RETURN OLD;
  END IF;
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.company_signal (company_id, workspace_id) SELECT n.id, n.workspace_id FROM new_rows n;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.domain), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, crm.normalize_address(n.domain) AS domain
          FROM new_rows n WHERE nullif(pg_catalog.btrim(n.domain), '') IS NOT NULL) r;
    PERFORM crm._relink('{}', '{}', wss, addrs, '{}', '{}', '{}');
  ELSIF TG_OP = 'UPDATE' THEN
    companies := ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id
                       WHERE n.domain IS DISTINCT FROM o.domain);
    IF pg_catalog.cardinality(companies) OPERATOR(pg_catalog.=) 0 THEN RETURN NULL; END IF;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.domain), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, crm.normalize_address(d) AS domain
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
               pg_catalog.unnest(ARRAY[n.domain, o.domain]) d
          WHERE n.id OPERATOR(pg_catalog.=) ANY (companies) AND nullif(pg_catalog.btrim(d), '') IS NOT NULL) r;
    PERFORM crm._relink('{}', '{}', wss, addrs, '{}', '{}', companies);
  ELSE
    companies := ARRAY(SELECT o.id FROM old_rows o  -- see _person_relink
                       WHERE EXISTS (SELECT FROM crm.workspace w WHERE w.id OPERATOR(pg_catalog.=) o.workspace_id));
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.domain), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT o.workspace_id, crm.normalize_address(o.domain) AS domain
          FROM old_rows o
          WHERE o.id OPERATOR(pg_catalog.=) ANY (companies) AND nullif(pg_catalog.btrim(o.domain), '') IS NOT NULL) r;
    PERFORM crm._relink('{}', '{}', wss, addrs, '{}', '{}', companies);
    DELETE FROM crm.connection c USING old_rows o
    WHERE c.person_id IS NULL AND c.company_id OPERATOR(pg_catalog.=) o.id;
    DELETE FROM crm.company_connection c USING old_rows o WHERE c.company_id OPERATOR(pg_catalog.=) o.id;
    DELETE FROM crm.company_signal s USING old_rows o WHERE s.company_id OPERATOR(pg_catalog.=) o.id;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER person_relink_insert AFTER INSERT ON crm.person
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._person_relink();
CREATE TRIGGER person_relink_update AFTER UPDATE ON crm.person
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._person_relink();
CREATE TRIGGER person_relink_delete AFTER DELETE ON crm.person
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._person_relink();
CREATE TRIGGER member_relink_insert AFTER INSERT ON crm.member
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._member_relink();
CREATE TRIGGER member_relink_update AFTER UPDATE ON crm.member
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._member_relink();
CREATE TRIGGER member_relink_delete AFTER DELETE ON crm.member
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._member_relink();
CREATE TRIGGER company_relink_claim BEFORE DELETE ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._company_relink();
CREATE TRIGGER company_relink_insert AFTER INSERT ON crm.company
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._company_relink();
CREATE TRIGGER company_relink_update AFTER UPDATE ON crm.company
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._company_relink();
CREATE TRIGGER company_relink_delete AFTER DELETE ON crm.company
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._company_relink();


-- Hardening: keep this section last; every function above is in its final form here.
DO $$
DECLARE
  fn record;
  -- C functions that only compute: no SPI, no catalog lookup by name.
  pure_c constant text[] := ARRAY['_band', '_strength', '_valid_duplicate_model', '_restoring',
    'default_duplicate_model', 'given_name_forms', 'is_disposable_email_domain', 'is_free_email_domain',
    'normalize_company_name', 'normalize_email', 'normalize_person_name', 'normalize_phone',
    'registrable_domain', 'now', 'current_workspace', '_parse_emails', '_parse_calendar'];
  -- Triggers and functions that write derived state for their callers.
  definer constant text[] := ARRAY['_participant_resolve', '_participant_signals', '_interaction_signals',
    '_activity_truncated', '_duplicates_written', '_duplicates_deleted', '_duplicates_truncated',
    '_person_relink', '_member_relink', '_company_relink', '_workspace_model', '_model_changed',
    'dismiss_duplicate', 'rebuild_signals', 'tick', 'scan_duplicates', 'train_duplicate_model',
    '_recompute_connections', 'ingest_emails', 'ingest_email', 'ingest_calendar'];
BEGIN
  FOR fn IN
    SELECT p.oid::regprocedure AS sig, p.proname, l.lanname, p.prosqlbody IS NOT NULL AS standard_body
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_language l ON l.oid = p.prolang
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
      AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
    JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'crm_hygiene'
    ORDER BY p.oid::regprocedure::text
  LOOP
    IF NOT (fn.standard_body OR (fn.lanname = 'c' AND fn.proname = ANY (pure_c))) THEN
      EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', fn.sig);
    END IF;
    IF fn.proname = ANY (definer) THEN
      EXECUTE pg_catalog.format('ALTER FUNCTION %s SECURITY DEFINER', fn.sig);
    END IF;
    -- Neither internal functions nor those that act with the owner's rights are for everyone.
    IF pg_catalog.left(fn.proname, 1) = '_' OR fn.proname = ANY (definer) THEN
      EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', fn.sig);
    END IF;
  END LOOP;
END
$$;
