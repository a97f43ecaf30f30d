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
  -- Exclusive against every writer of activity (they take it shared, src/pg/common/lock_keys.hpp):
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
LANGUAGE sql COST 10000
BEGIN ATOMIC
  SELECT (r.member_id, r.person_id, r.company_id) IS DISTINCT FROM (p.member_id, p.person_id, p.company_id)
  FROM crm._resolve_participant(p.workspace_id, p.address, p.person_id, p.member_id, false) r;
END;

-- Roles and grants (README): one tested set of grants per kind of access.
CREATE FUNCTION crm.grant_access(grantee regrole, access text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF access IS NULL OR access NOT IN ('reader', 'application', 'maintenance', 'merge') THEN
    RAISE EXCEPTION 'unknown access "%"', access
      USING ERRCODE = 'invalid_parameter_value', HINT = 'use ''reader'', ''application'', ''maintenance'' or ''merge''';
  END IF;
  EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA crm TO %s', grantee);
  EXECUTE pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA crm TO %s', grantee);
  -- What the views call (security_invoker views run their functions as the reader).
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._signals_now(text, bigint), '
    'crm._connections_now(text, bigint), crm._duplicate_sets(), '
    'crm._strength(float8, interval, float8, timestamptz), crm._band(float8, float8, float8, float8, float8) TO %s', grantee);
  -- Resolution (crm.resolve, crm.resolve_why) and duplicate search are reads.
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.find_duplicates(text, jsonb, integer) TO %s', grantee);
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._profile_name(text, text), crm._name_similarity(text, text), '
    'crm._deal_open(text), crm._person_name_alike(text, text), crm._resolve_exact(bigint, text[], bigint[], text, bigint[], boolean, integer), '
    'crm._resolve_fuzzy(bigint, text[], text, text, text, text, integer), '
    'crm._resolve_person_names(bigint, text, integer), '
    'crm._resolve_people(bigint, bigint[], text, text[], text, text, text[], text[], text[], text[]), '
    'crm._resolve_companies(bigint, bigint[], text, text[], text[], text[]), '
    'crm._resolve_deals(bigint, bigint[], text, text, text[], text[]), '
    'crm._resolve_context(text, bigint[], bigint) TO %s', grantee);
  -- crm.ai_status counts live AI workers, which pg_stat_activity hides from other roles.
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._ai_live_workers() TO %s', grantee);
  -- Labels as stored (crm.label_value; a merge's preview ranks lifecycle stages).
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._label_key(text), crm._label_rank(bigint, text, text, text), '
    'crm._label_value(bigint, text, text, text) TO %s', grantee);
  -- The data-quality report runs with the caller's rights (docs/QUALITY.md).
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._quality_report(text), crm._quality_eval(text, bigint), crm._quality_may_run(regrole) TO %s', grantee);
  -- Where a field's value came from is a read.
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._record_table(text), crm._field_empty(jsonb), crm._field_value(jsonb, text), '
    'crm._field_current_source(text, bigint, text, jsonb) TO %s', grantee);
  -- A merge's preview (crm.merge(..., dry_run => true)) is a read, and so is asking for one.
  EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._merge_table(text), crm._merge_check(text, bigint, bigint[]), '
    'crm._merge_rows(text, bigint, bigint[], boolean), '
    'crm._merge_plan(text, bigint, bigint[], jsonb, jsonb[]), crm._merge_given(jsonb), crm._lifecycle_rank(text), '
    'crm._merge_request_file(text, bigint, bigint[], jsonb), crm._merge_references_count(text, bigint[]) TO %s', grantee);
  IF access = 'application' THEN
    EXECUTE pg_catalog.format('GRANT INSERT, UPDATE, DELETE ON crm.member, crm.company, crm.person, crm.deal, '
      'crm.interaction, crm.participant TO %s', grantee);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.ingest_emails(bytea[], text), '
      'crm.ingest_email(bytea, text), crm.ingest_email(text, text), crm.ingest_calendar(text, text), '
      'crm.dismiss_duplicate(text, bigint, bigint) TO %s', grantee);
    -- Enrichment writes records through the write policy and reviews suggestions.
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.enrich(text, bigint, jsonb, text, float8, text, timestamptz), '
      'crm.set_enrichment_opt_out(text, bigint, boolean), crm.accept_suggestion(bigint), '
      'crm.reject_suggestion(bigint), crm._pending_suggestion(bigint), crm._enrich_check(text, bigint, jsonb, text, float8, text), '
      'crm._enrich_fields(jsonb), crm._enrichable_columns(text), crm._field_policy(bigint, text, text, text), '
      'crm._enrich_decision(text, boolean, text, float8, text, float8, boolean, boolean, boolean, boolean), '
      'crm.run_enrichers(text, integer) TO %s', grantee);
  ELSIF access = 'merge' THEN
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._merge_apply(text, bigint, bigint[], jsonb), '
      'crm._merge_run(text, bigint, bigint[], jsonb), crm._merge_log_references(bigint, jsonb), '
      'crm._merge_references_move(text, bigint, bigint[]), crm._merge_references_back(jsonb, bigint, boolean), '
      'crm._unmerge_apply(bigint), crm._pending_merge_request(bigint), '
      'crm._merge_request_decided(bigint, text, bigint) TO %s', grantee);
  ELSIF access = 'maintenance' THEN
    EXECUTE pg_catalog.format('GRANT INSERT, UPDATE, DELETE ON crm.workspace, crm.connection_model, '
      'crm.duplicate_model, crm.duplicate_rule, crm.capture_policy, crm.field_policy, crm.picklist, '
      'crm.picklist_value, crm.enrichment_policy, crm.quality_check, crm.quality_snapshot TO %s', grantee);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.take_quality_snapshot(bigint), crm._restoring() TO %s', grantee);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm._label_keys(text, text[]) TO %s', grantee);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.set_field_policy(text, text, text, text), '
      'crm._enrichable_columns(text) TO %s', grantee);
    -- AI attributes, budgets, the job runner and the workers (docs/AI.md).
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.define_ai_attribute(text, text, text, jsonb), '
      'crm.drop_ai_attribute(text, text), crm.set_ai_budget(bigint, bigint), crm.retry_ai_jobs(text), '
      'crm.run_ai_jobs(integer), crm.start_ai_workers(integer), crm.stop_ai_workers(), '
      'crm._ai_start_workers(integer), crm._ai_worker_event(text, bigint), crm._ai_settings() TO %s', grantee);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION crm.tick(), crm.rebuild_signals(), '
      'crm.scan_duplicates(text), crm.train_duplicate_model(text), crm._verify_signal_state(), '
      'crm.register_merge_reference(text, regclass, name), crm.unregister_merge_reference(text, regclass, name) TO %s', grantee);
  END IF;
END
$$;
COMMENT ON FUNCTION crm.grant_access(regrole, text) IS
  'grants a role one kind of access: reader (views and tables, read only), application (reader + records, activity, capture), maintenance (reader + tick, rebuild, scan, train, settings, AI attributes and workers), merge (reader + crm.merge and crm.unmerge)';
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


-- The workspace boundary (README, "Workspaces as a boundary"): crm.workspace.roles and a
-- row-level security policy on every table.
ALTER TABLE crm.workspace ADD COLUMN roles regrole[];
COMMENT ON COLUMN crm.workspace.roles IS
  'the roles that may use this workspace (members of any of them); NULL: every role with the table grants';
CREATE FUNCTION crm._require_workspace(workspace bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'crm_require_workspace' LANGUAGE C STABLE STRICT;
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

CREATE OR REPLACE FUNCTION crm.dismiss_duplicate(kind text, record_id bigint, other_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM crm._require_workspace(crm.current_workspace());  -- runs with the owner's rights
  UPDATE crm.duplicate_candidate c SET status = 'dismissed'
  WHERE c.kind = dismiss_duplicate.kind
    AND c.record_id = least(dismiss_duplicate.record_id, dismiss_duplicate.other_id)
    AND c.other_id = greatest(dismiss_duplicate.record_id, dismiss_duplicate.other_id)
    AND c.workspace_id = crm.current_workspace()
    AND c.status <> 'merged';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no duplicate candidate % % and % %', kind, record_id, kind, other_id
      USING ERRCODE = 'P0002', HINT = 'crm.duplicate_candidate lists the pairs of this workspace';
  END IF;
END
$$;
COMMENT ON FUNCTION crm.dismiss_duplicate(text, bigint, bigint) IS
  'marks a pair as not duplicates: never proposed again unless either record changes materially';


CREATE OR REPLACE FUNCTION crm.ingest_emails(messages bytea[], mailbox text DEFAULT NULL)
RETURNS TABLE (message_index integer, interaction_id bigint, outcome text, reason text)
LANGUAGE plpgsql SET jit = off
AS $$
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());  -- SECURITY DEFINER
  at constant timestamptz := crm.now();
  pol crm.capture_policy;
  owner text;
  mail crm._mail[];
  invitations text[];
  invitation_items integer[];
  dropped text[];
  dropped_items integer[];
  dropped_ids text[];
  members text[];
  people text[];
  new_addrs text[];
  new_names text[];
  touched bigint[] := '{}';
  n_filed integer;
  n_existing integer;
  n_skip integer;
  call_left integer;
  parsed integer;
  filed record;
BEGIN
  pol := crm._capture_policy(ws);
  owner := crm._mailbox_owner(ws, mailbox);
  messages := coalesce(messages, '{}');
  call_left := pol.max_instances_per_call;

  SELECT coalesce(pg_catalog.array_agg(ROW(p.item, p.external_id, p.thread_key, coalesce(p.sent_at, at),
                                          p.subject, p.addresses, p.display_names, p.roles, p.skip,
                                          NULL, NULL, false)::crm._mail ORDER BY p.item)
                    FILTER (WHERE x.k = 'message'
                              AND NOT (p.invitations <> '{}' AND coalesce(p.skip, '') NOT LIKE 'malformed:%')), '{}'),
         coalesce(pg_catalog.array_agg(x.v ORDER BY p.item, x.n) FILTER (WHERE x.k = 'ics'), '{}'),
         coalesce(pg_catalog.array_agg(p.item ORDER BY p.item, x.n) FILTER (WHERE x.k = 'ics'), '{}'),
         coalesce(pg_catalog.array_agg(x.v ORDER BY p.item, x.n) FILTER (WHERE x.k = 'dropped'), '{}'),
         coalesce(pg_catalog.array_agg(p.item ORDER BY p.item, x.n) FILTER (WHERE x.k = 'dropped'), '{}'),
         coalesce(pg_catalog.array_agg(p.external_id ORDER BY p.item, x.n) FILTER (WHERE x.k = 'dropped'), '{}')
    INTO mail, invitations, invitation_items, dropped, dropped_items, dropped_ids
  FROM crm._parse_emails(messages) p
  -- One row for the message itself, one for each invitation it carries, one for each address
  -- the participant trigger would refuse (left out of the message, logged below).
  CROSS JOIN LATERAL (
    SELECT 'message' AS k, NULL::text AS v, 0::bigint AS n
    UNION ALL
    SELECT 'ics', i.v, i.n
    FROM unnest(CASE WHEN coalesce(p.skip, '') NOT LIKE 'malformed:%' THEN p.invitations END) WITH ORDINALITY i(v, n)
    UNION ALL
    SELECT 'dropped', d.v, d.n FROM unnest(p.dropped) WITH ORDINALITY d(v, n)) x;

  -- An invitation (a text/calendar part with a METHOD) is filed as the meeting it describes; all
  -- of them together file at most max_instances_per_call instances.
  FOR k IN 1 .. pg_catalog.cardinality(invitations) LOOP
    parsed := 0;
    FOR filed IN
      SELECT c.interaction_id, c.outcome, c.reason, c.instances
      FROM crm._file_calendar(ws, pol, owner, mailbox, invitations[k],
                              LEAST(pol.max_instances_per_file, call_left),
                              CASE WHEN call_left < pol.max_instances_per_file
                                   THEN pg_catalog.format('max_instances_per_call (%s)', pol.max_instances_per_call)
                                   ELSE pg_catalog.format('max_instances_per_file (%s)', pol.max_instances_per_file) END) c
    LOOP
      message_index := invitation_items[k];
      interaction_id := filed.interaction_id;
      outcome := filed.outcome;
      reason := filed.reason;
      parsed := filed.instances;
      RETURN NEXT;
    END LOOP;
    call_left := GREATEST(call_left OPERATOR(pg_catalog.-) parsed, 0);
  END LOOP;

  SELECT o.members, o.people INTO members, people
  FROM crm._address_owners(ws, ARRAY(SELECT DISTINCT a FROM unnest(mail) m, unnest(m.addresses) a
                                     WHERE m.skip IS NULL)) o;

  -- The policy's verdict, then each filed Message-ID's first copy and the interaction it already has.
  mail := ARRAY(
    SELECT ROW(m.item, m.external_id, m.thread_key, m.occurred_at, m.subject, m.addresses,
               m.display_names, m.roles, m.skip, m.first_item, e.id, false)::crm._mail
    FROM (SELECT d.item, d.external_id, d.thread_key, d.occurred_at, d.subject, d.addresses,
                 d.display_names, d.roles, d.skip,
                 min(d.item) FILTER (WHERE d.skip IS NULL) OVER (PARTITION BY d.external_id) AS first_item
          FROM (SELECT m0.item, m0.external_id, m0.thread_key, m0.occurred_at, m0.subject, m0.addresses,
                       m0.display_names, m0.roles,
                       coalesce(m0.skip, crm._capture_skip(pol, m0.addresses, members, owner)) AS skip
                FROM unnest(mail) m0 OFFSET 0) d) m
    LEFT JOIN crm.interaction e
      ON m.skip IS NULL AND e.workspace_id = ws AND e.external_id = m.external_id
    ORDER BY m.item);
  -- Every statement below runs only when it has rows to write: an empty one would still fire its
  -- table's statement triggers.
  SELECT count(*) FILTER (WHERE m.skip IS NULL), count(*) FILTER (WHERE m.interaction_id IS NOT NULL),
         count(*) FILTER (WHERE m.skip IS NOT NULL)
    INTO n_filed, n_existing, n_skip
  FROM unnest(mail) m;

  -- New people (and companies) for the addresses of filed mail, as the policy says.
  IF pol.create_people <> 'never' AND n_filed > 0 THEN
    SELECT coalesce(pg_catalog.array_agg(c.a), '{}'), coalesce(pg_catalog.array_agg(c.n), '{}')
      INTO new_addrs, new_names
    FROM unnest(mail) m,
         crm._people_to_create(pol, members, people, 'from', m.addresses, m.display_names, m.roles) c(a, n)
    WHERE m.skip IS NULL;
    PERFORM crm._capture_records(ws, pol, new_addrs, new_names);
  END IF;

  -- New messages. One another session files at the same moment is found by the lookup after.
  IF n_filed > n_existing THEN
    WITH created AS (
      INSERT INTO crm.interaction AS i (workspace_id, kind, occurred_at, subject, external_id, thread_key, source)
      SELECT ws, 'email', m.occurred_at, m.subject, m.external_id, m.thread_key, 'capture'
      FROM unnest(mail) m
      WHERE m.skip IS NULL AND m.item = m.first_item AND m.interaction_id IS NULL
      ORDER BY m.item
      ON CONFLICT (workspace_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
      RETURNING i.id, i.external_id)
    SELECT ARRAY(
      SELECT ROW(m.item, m.external_id, m.thread_key, m.occurred_at, m.subject, m.addresses,
                 m.display_names, m.roles, m.skip, m.first_item,
                 CASE WHEN m.skip IS NULL THEN coalesce(m.interaction_id, c.id) END,
                 m.skip IS NULL AND c.id IS NOT NULL)::crm._mail
      FROM unnest(mail) m
      LEFT JOIN created c ON c.external_id = m.external_id
      ORDER BY m.item)
    INTO mail;
  END IF;
  -- Lost to a concurrent session: its row is committed now, and this statement's snapshot sees it.
  IF EXISTS (SELECT FROM unnest(mail) m WHERE m.skip IS NULL AND m.interaction_id IS NULL) THEN
    mail := ARRAY(
      SELECT ROW(m.item, m.external_id, m.thread_key, m.occurred_at, m.subject, m.addresses,
                 m.display_names, m.roles, m.skip, m.first_item, coalesce(m.interaction_id, e.id),
                 m.created)::crm._mail
      FROM unnest(mail) m
      LEFT JOIN crm.interaction e
        ON m.skip IS NULL AND m.interaction_id IS NULL AND e.workspace_id = ws AND e.external_id = m.external_id
      ORDER BY m.item);
  END IF;

  IF n_filed > 0 THEN
    -- Messages filed before: locked, so two sessions adding the same participants add them once.
    PERFORM FROM crm.interaction i
    WHERE i.id IN (SELECT m.interaction_id FROM unnest(mail) m WHERE m.skip IS NULL AND NOT m.created)
    ORDER BY i.id
    FOR NO KEY UPDATE;

    -- Every copy's participants belong to the message; a copy from another mailbox may add some (Bcc).
    WITH wanted AS (
      SELECT DISTINCT ON (m.interaction_id, x.a, x.r) m.interaction_id, m.created, x.a, x.n, x.r
      FROM unnest(mail) m, unnest(m.addresses, m.display_names, m.roles) x(a, n, r)
      WHERE m.skip IS NULL AND m.interaction_id IS NOT NULL
      ORDER BY m.interaction_id, x.a, x.r, x.n NULLS LAST),
    added AS (
      INSERT INTO crm.participant AS p (workspace_id, interaction_id, address, display_name, role)
      SELECT ws, w.interaction_id, w.a, w.n, w.r::crm.participant_role
      FROM wanted w
      WHERE w.created
         OR NOT EXISTS (SELECT FROM crm.participant q
                        WHERE q.interaction_id = w.interaction_id AND q.address = w.a
                          AND q.role = w.r::crm.participant_role)
      ORDER BY w.interaction_id, w.r, w.a
      RETURNING p.interaction_id)
    SELECT coalesce(pg_catalog.array_agg(DISTINCT a.interaction_id), '{}') INTO touched FROM added a;
  END IF;

  IF n_skip > 0 THEN
    INSERT INTO crm.capture_log (workspace_id, source, mailbox, external_id, category, reason, fingerprint)
    SELECT ws, 'email', mailbox, m.external_id, pg_catalog.split_part(m.skip, ':', 1), m.skip,
           pg_catalog.encode(pg_catalog.sha256(coalesce(messages[m.item], '')), 'hex')
    FROM unnest(mail) m
    WHERE m.skip IS NOT NULL;
  END IF;
  IF dropped <> '{}' THEN
    INSERT INTO crm.capture_log (workspace_id, source, mailbox, external_id, category, reason, fingerprint)
    SELECT ws, 'email', mailbox, d.id, 'malformed', d.r,
           pg_catalog.encode(pg_catalog.sha256(coalesce(messages[d.item], '')), 'hex')
    FROM unnest(dropped_items, dropped_ids, dropped) d(item, id, r);
  END IF;

  RETURN QUERY
    SELECT m.item, m.interaction_id,
           CASE WHEN m.skip IS NOT NULL THEN 'skipped'
                WHEN m.item <> m.first_item THEN 'duplicate'
                WHEN m.created THEN 'created'
                WHEN m.interaction_id = ANY (touched) THEN 'updated'
                ELSE 'duplicate' END,
           CASE WHEN m.skip IS NOT NULL THEN m.skip
                WHEN m.item <> m.first_item THEN 'the same message came earlier in this call'
                WHEN m.created THEN NULL
                WHEN m.interaction_id = ANY (touched) THEN 'participants added'
                ELSE 'already captured' END
    FROM unnest(mail) m
    ORDER BY m.item;
END
$$;
COMMENT ON FUNCTION crm.ingest_emails(bytea[], text) IS
  'files raw RFC 5322 messages as email interactions with participants, in one pass; one row per message (per meeting instance for invitations), outcome created, updated, duplicate or skipped';


CREATE OR REPLACE FUNCTION crm.ingest_calendar(ics text, mailbox text DEFAULT NULL)
RETURNS TABLE (interaction_id bigint, outcome text, reason text)
LANGUAGE plpgsql SET jit = off
AS $$
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());  -- SECURITY DEFINER
  pol crm.capture_policy;
BEGIN
  IF ics IS NULL THEN
    RAISE EXCEPTION 'ics must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  pol := crm._capture_policy(ws);
  RETURN QUERY
    SELECT c.interaction_id, c.outcome, c.reason
    FROM crm._file_calendar(ws, pol, crm._mailbox_owner(ws, mailbox), mailbox, ics,
                            LEAST(pol.max_instances_per_file, pol.max_instances_per_call),
                            CASE WHEN pol.max_instances_per_call < pol.max_instances_per_file
                                 THEN pg_catalog.format('max_instances_per_call (%s)', pol.max_instances_per_call)
                                 ELSE pg_catalog.format('max_instances_per_file (%s)', pol.max_instances_per_file) END) c;
END
$$;
COMMENT ON FUNCTION crm.ingest_calendar(text, text) IS
  'files the events of an iCalendar file as meetings, one row per event instance within the policy''s recurrence window; outcome created, updated, duplicate or skipped with the reason';


-- Capture, hostile input (mailbatch): addresses the participant trigger would refuse are left out
-- of a filed message or event and logged as malformed (crm._parse_emails returns them, the
-- calendar parser as 'dropped' rows); one bad address no longer fails a whole ingest call.
COMMENT ON TABLE crm.capture_log IS
  'every message or event instance capture skipped, and every participant address it left out of a filed one, with the reason and the item''s SHA-256; never the body';
DROP FUNCTION crm._parse_emails(bytea[]);
CREATE FUNCTION crm._parse_emails(messages bytea[])
RETURNS TABLE (item integer, external_id text, synthesized_id boolean, thread_key text,
               sent_at timestamptz, date_source text, subject text, skip text,
               addresses text[], display_names text[], roles text[], invitations text[],
               dropped text[])
  AS 'MODULE_PATHNAME', 'crm_parse_emails' LANGUAGE C STRICT;

-- Calendar capture against hostile input (issue 10): the instances one file and one call may
-- file are policy settings; crm._parse_calendar takes the bound (and names it for the skip
-- reasons), crm._file_calendar passes it on and reports how many instances a file yielded, and
-- crm.ingest_emails keeps the call's total over the invitations it files.
ALTER TABLE crm.capture_policy
  ADD COLUMN max_instances_per_file integer NOT NULL DEFAULT 20000
    CONSTRAINT capture_policy_max_instances_per_file CHECK (max_instances_per_file >= 1),
  ADD COLUMN max_instances_per_call integer NOT NULL DEFAULT 50000
    CONSTRAINT capture_policy_max_instances_per_call CHECK (max_instances_per_call >= 1);
COMMENT ON TABLE crm.capture_policy IS
  'per workspace: which people and companies capture creates, blocked addresses and domains, the most participants an item may have, the recurrence window, the most meeting instances one calendar file and one call may file; created with the defaults on first capture';
COMMENT ON COLUMN crm.capture_policy.max_instances_per_file IS
  'the most event instances one calendar file (or emailed invitation) may file; events past it are skipped whole as policy, with the counts';
COMMENT ON COLUMN crm.capture_policy.max_instances_per_call IS
  'the most event instances one crm.ingest_calendar or crm.ingest_emails call may file over all its calendars';


DROP FUNCTION crm._parse_calendar(text, timestamptz, timestamptz);
CREATE OR REPLACE FUNCTION crm._parse_calendar(ics text, window_from timestamptz, window_to timestamptz,
                                    max_instances integer, instance_limit text)
RETURNS TABLE (row_kind text, method text, uid text, recurrence_id timestamptz, external_id text,
               sequence integer, dtstamp timestamptz, from_override boolean,
               starts_at timestamptz, ends_at timestamptz, all_day boolean, subject text,
               status text, addresses text[], display_names text[], roles text[],
               responses text[], skip text)
  AS 'MODULE_PATHNAME', 'crm_parse_calendar' LANGUAGE C STRICT;

DROP FUNCTION crm._file_calendar(bigint, crm.capture_policy, text, text, text);
CREATE OR REPLACE FUNCTION crm._file_calendar(ws bigint, pol crm.capture_policy, owner text, mailbox text, ics text,
                                   max_instances integer, instance_limit text)
RETURNS TABLE (interaction_id bigint, outcome text, reason text, instances integer)
LANGUAGE plpgsql SET jit = off
AS $$
DECLARE
  at constant timestamptz := crm.now();
  fingerprint constant text := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(ics, 'UTF8')), 'hex');
  method text;
  events crm._event[];
  problems text[];
  problem_uids text[];
  dropped text[];
  dropped_uids text[];
  canceled_uids text[];
  members text[];
  people text[];
  new_addrs text[];
  new_names text[];
  n_create integer;
  n_update integer;
  n_skip integer;
  n_parsed integer;
BEGIN
  SELECT max(p.method),
         coalesce(pg_catalog.array_agg(ROW(p.uid, p.recurrence_id, p.external_id, p.sequence, p.dtstamp,
                    p.from_override, p.starts_at, p.ends_at, p.subject, p.status::crm.interaction_status,
                    -- An event in the owner's own calendar with nobody on it is the owner's.
                    CASE WHEN p.addresses = '{}' AND owner IS NOT NULL THEN ARRAY[owner] ELSE p.addresses END,
                    CASE WHEN p.addresses = '{}' AND owner IS NOT NULL THEN ARRAY[NULL::text] ELSE p.display_names END,
                    CASE WHEN p.addresses = '{}' AND owner IS NOT NULL THEN ARRAY['attendee'] ELSE p.roles END,
                    CASE WHEN p.addresses = '{}' AND owner IS NOT NULL THEN ARRAY[NULL::text] ELSE p.responses END,
                    NULL, NULL, NULL, NULL)::crm._event ORDER BY p.starts_at, p.external_id)
                    FILTER (WHERE p.row_kind = 'instance'), '{}'),
         coalesce(pg_catalog.array_agg(p.skip) FILTER (WHERE p.row_kind IN ('skipped', 'malformed')), '{}'),
         coalesce(pg_catalog.array_agg(p.uid) FILTER (WHERE p.row_kind IN ('skipped', 'malformed')), '{}'),
         coalesce(pg_catalog.array_agg(p.skip) FILTER (WHERE p.row_kind = 'dropped'), '{}'),
         coalesce(pg_catalog.array_agg(p.uid) FILTER (WHERE p.row_kind = 'dropped'), '{}'),
         coalesce(pg_catalog.array_agg(p.uid) FILTER (WHERE p.row_kind = 'series_canceled'), '{}')
    INTO method, events, problems, problem_uids, dropped, dropped_uids, canceled_uids
  FROM crm._parse_calendar(ics, at - pol.recurrence_past, at + pol.recurrence_ahead, max_instances, instance_limit) p;
  n_parsed := pg_catalog.cardinality(events);

  -- What the file leaves out, in the log and in the result. Every statement below runs only when
  -- it has rows to write: an empty one would still fire its table's statement triggers.
  IF problems <> '{}' THEN
    INSERT INTO crm.capture_log (workspace_id, source, mailbox, external_id, category, reason, fingerprint)
    SELECT ws, 'calendar', mailbox, u, pg_catalog.split_part(r, ':', 1), r, fingerprint
    FROM unnest(problems, problem_uids) x(r, u);
    RETURN QUERY SELECT NULL::bigint, 'skipped', r, n_parsed FROM unnest(problems) r;
  END IF;
  -- Addresses the participant trigger would refuse: left out of their events, which are filed.
  IF dropped <> '{}' THEN
    INSERT INTO crm.capture_log (workspace_id, source, mailbox, external_id, category, reason, fingerprint)
    SELECT ws, 'calendar', mailbox, u, 'malformed', r, fingerprint
    FROM unnest(dropped, dropped_uids) x(r, u);
  END IF;

  IF method = 'REPLY' THEN
    RETURN QUERY SELECT r.interaction_id, r.outcome, r.reason, n_parsed
                 FROM crm._file_calendar_reply(ws, mailbox, fingerprint, events) r;
    RETURN;
  END IF;

  SELECT o.members, o.people INTO members, people
  FROM crm._address_owners(ws, ARRAY(SELECT DISTINCT a FROM unnest(events) e, unnest(e.addresses) a)) o;

  -- Policy, then the instance as filed before and whether this copy is newer.
  events := ARRAY(
    SELECT ROW(e.uid, e.recurrence_id, e.external_id, e.sequence, e.dtstamp, e.from_override,
               e.starts_at, e.ends_at, e.subject, e.status, e.addresses, e.display_names, e.roles,
               e.responses, e.skip, s.id,
               CASE WHEN e.skip IS NOT NULL THEN 'skip'
                    WHEN s.id IS NULL THEN 'create'
                    WHEN crm._event_wins(e.sequence, e.dtstamp, e.from_override,
                                         s.sequence, s.dtstamp, s.from_override) THEN 'update'
                    ELSE 'keep' END,
               CASE WHEN s.id IS NOT NULL AND (e.sequence, e.dtstamp) IS DISTINCT FROM (s.sequence, s.dtstamp)
                         AND NOT crm._event_wins(e.sequence, e.dtstamp, e.from_override,
                                                 s.sequence, s.dtstamp, s.from_override)
                    THEN pg_catalog.format('a newer version is filed (SEQUENCE %s)', s.sequence)
                    ELSE 'already captured' END)::crm._event
    FROM (SELECT DISTINCT ON (e0.external_id) e0.uid, e0.recurrence_id, e0.external_id, e0.sequence,
                 e0.dtstamp, e0.from_override, e0.starts_at, e0.ends_at, e0.subject, e0.status,
                 e0.addresses, e0.display_names, e0.roles, e0.responses,
                 crm._capture_skip(pol, e0.addresses, members, owner) AS skip
          FROM unnest(events) e0
          ORDER BY e0.external_id, e0.sequence DESC, e0.dtstamp DESC NULLS LAST, e0.from_override DESC) e
    LEFT JOIN LATERAL (
      SELECT i.id, c.sequence, c.dtstamp, c.from_override
      FROM crm.interaction i JOIN crm.captured_event c ON c.interaction_id = i.id
      WHERE i.workspace_id = ws AND i.external_id = e.external_id
      FOR NO KEY UPDATE OF i) s ON e.skip IS NULL
    ORDER BY e.starts_at, e.external_id);
  SELECT count(*) FILTER (WHERE e.action = 'create'), count(*) FILTER (WHERE e.action = 'update'),
         count(*) FILTER (WHERE e.action = 'skip')
    INTO n_create, n_update, n_skip
  FROM unnest(events) e;

  IF pol.create_people <> 'never' AND n_create + n_update > 0 THEN
    SELECT coalesce(pg_catalog.array_agg(c.a), '{}'), coalesce(pg_catalog.array_agg(c.n), '{}')
      INTO new_addrs, new_names
    FROM unnest(events) e,
         crm._people_to_create(pol, members, people, 'organizer', e.addresses, e.display_names, e.roles) c(a, n)
    WHERE e.action IN ('create', 'update');
    PERFORM crm._capture_records(ws, pol, new_addrs, new_names);
  END IF;

  -- New instances; one a concurrent session files first is kept as that session filed it.
  IF n_create > 0 THEN
    WITH created AS (
      INSERT INTO crm.interaction AS i (workspace_id, kind, occurred_at, ends_at, subject, status,
                                        external_id, thread_key, source)
      SELECT ws, 'meeting', e.starts_at, e.ends_at, e.subject, e.status, e.external_id, e.uid, 'capture'
      FROM unnest(events) e
      WHERE e.action = 'create'
      ORDER BY e.starts_at, e.external_id
      ON CONFLICT (workspace_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
      RETURNING i.id, i.external_id)
    SELECT ARRAY(
      SELECT ROW(e.uid, e.recurrence_id, e.external_id, e.sequence, e.dtstamp, e.from_override,
                 e.starts_at, e.ends_at, e.subject, e.status, e.addresses, e.display_names, e.roles,
                 e.responses, e.skip, coalesce(e.interaction_id, c.id),
                 CASE WHEN e.action = 'create' AND c.id IS NULL THEN 'keep' ELSE e.action END,
                 CASE WHEN e.action = 'create' AND c.id IS NULL THEN 'filed by a concurrent session' ELSE e.note END
                )::crm._event
      FROM unnest(events) e
      LEFT JOIN created c ON c.external_id = e.external_id
      ORDER BY e.starts_at, e.external_id)
    INTO events;
  END IF;

  IF n_create + n_update > 0 THEN
    INSERT INTO crm.captured_event AS c (interaction_id, workspace_id, uid, recurrence_id, sequence, dtstamp, from_override)
    SELECT e.interaction_id, ws, e.uid, e.recurrence_id, e.sequence, e.dtstamp, e.from_override
    FROM unnest(events) e
    WHERE e.action IN ('create', 'update')
    ON CONFLICT ON CONSTRAINT captured_event_pkey DO UPDATE
      SET sequence = excluded.sequence, dtstamp = excluded.dtstamp, from_override = excluded.from_override,
          recurrence_id = excluded.recurrence_id;
  END IF;

  IF n_update > 0 THEN
    UPDATE crm.interaction i
    SET occurred_at = e.starts_at, ends_at = e.ends_at, subject = e.subject, status = e.status
    FROM unnest(events) e
    WHERE e.action = 'update' AND i.id = e.interaction_id
      AND (i.occurred_at, i.ends_at, i.subject, i.status) IS DISTINCT FROM (e.starts_at, e.ends_at, e.subject, e.status);

    -- Participants of updated instances follow the new version: gone, changed response, added.
    DELETE FROM crm.participant p
    USING unnest(events) e
    WHERE e.action = 'update' AND p.interaction_id = e.interaction_id
      AND NOT EXISTS (SELECT FROM unnest(e.addresses, e.roles) x(a, r)
                      WHERE x.a = p.address AND x.r::crm.participant_role = p.role);
    UPDATE crm.participant p
    SET response = x.s::crm.participant_response, display_name = coalesce(x.n, p.display_name)
    FROM unnest(events) e, unnest(e.addresses, e.display_names, e.roles, e.responses) x(a, n, r, s)
    WHERE e.action = 'update' AND p.interaction_id = e.interaction_id AND p.address = x.a
      AND p.role = x.r::crm.participant_role
      AND (p.response IS DISTINCT FROM x.s::crm.participant_response
           OR p.display_name IS DISTINCT FROM coalesce(x.n, p.display_name));
  END IF;

  IF n_create + n_update > 0 THEN
    INSERT INTO crm.participant (workspace_id, interaction_id, address, display_name, role, response)
    SELECT ws, e.interaction_id, x.a, x.n, x.r::crm.participant_role, x.s::crm.participant_response
    FROM unnest(events) e, unnest(e.addresses, e.display_names, e.roles, e.responses) x(a, n, r, s)
    WHERE e.action = 'create'
       OR (e.action = 'update'
           AND NOT EXISTS (SELECT FROM crm.participant q
                           WHERE q.interaction_id = e.interaction_id AND q.address = x.a
                             AND q.role = x.r::crm.participant_role))
    ORDER BY e.interaction_id, x.r, x.a;
  END IF;

  IF n_skip > 0 THEN
    INSERT INTO crm.capture_log (workspace_id, source, mailbox, external_id, category, reason, fingerprint)
    SELECT ws, 'calendar', mailbox, e.external_id, pg_catalog.split_part(e.skip, ':', 1), e.skip, fingerprint
    FROM unnest(events) e
    WHERE e.action = 'skip';
  END IF;

  RETURN QUERY
    SELECT e.interaction_id,
           CASE e.action WHEN 'skip' THEN 'skipped' WHEN 'create' THEN 'created'
                         WHEN 'update' THEN 'updated' ELSE 'duplicate' END,
           CASE e.action WHEN 'skip' THEN e.skip WHEN 'keep' THEN e.note
                         WHEN 'update' THEN pg_catalog.format('SEQUENCE %s', e.sequence) END,
           n_parsed
    FROM unnest(events) e
    ORDER BY e.starts_at, e.external_id;

  -- A cancelled series, and instances a newer series no longer has: cancelled, so derived state
  -- forgets them. Instances outside the window are left as they were.
  IF canceled_uids = '{}' AND n_update = 0
     AND NOT EXISTS (SELECT FROM crm.captured_event c
                     WHERE c.workspace_id = ws
                       AND c.uid IN (SELECT e.uid FROM unnest(events) e WHERE e.action = 'create')
                       AND c.interaction_id NOT IN (SELECT e.interaction_id FROM unnest(events) e
                                                    WHERE e.interaction_id IS NOT NULL)) THEN
    RETURN;
  END IF;
  RETURN QUERY
    WITH series AS (
      SELECT e.uid, max(e.sequence) AS sequence, max(e.dtstamp) AS dtstamp,
             bool_or(e.recurrence_id IS NOT NULL) AS recurring
      FROM unnest(events) e
      WHERE e.action = 'update' OR e.action = 'create'
      GROUP BY e.uid
      HAVING bool_or(NOT e.from_override)),
    gone AS (
      SELECT c.interaction_id, 'series canceled' AS why, NULL::integer AS sequence, NULL::timestamptz AS dtstamp
      FROM crm.captured_event c
      WHERE c.workspace_id = ws AND c.uid = ANY (canceled_uids)
      UNION ALL
      SELECT c.interaction_id, 'no longer in the series', s.sequence, s.dtstamp
      FROM series s JOIN crm.captured_event c ON c.workspace_id = ws AND c.uid = s.uid
      WHERE NOT EXISTS (SELECT FROM unnest(events) e WHERE e.interaction_id = c.interaction_id)
        AND (NOT c.from_override OR c.sequence < s.sequence)
        AND (c.sequence, coalesce(c.dtstamp, '-infinity')) <= (s.sequence, coalesce(s.dtstamp, '-infinity'))
        AND CASE WHEN c.recurrence_id IS NULL THEN s.recurring
                 ELSE NOT s.recurring
                      OR (c.recurrence_id >= at - pol.recurrence_past AND c.recurrence_id < at + pol.recurrence_ahead) END),
    -- The dropped instance takes the version that dropped it, so an older copy cannot bring it back.
    versioned AS (
      UPDATE crm.captured_event c SET sequence = g.sequence, dtstamp = g.dtstamp, from_override = false
      FROM gone g
      WHERE c.interaction_id = g.interaction_id AND g.sequence IS NOT NULL),
    canceled AS (
      UPDATE crm.interaction i SET status = 'canceled'
      FROM gone g
      WHERE i.id = g.interaction_id AND i.status <> 'canceled'
        AND NOT EXISTS (SELECT FROM unnest(events) e WHERE e.interaction_id = i.id)
      RETURNING i.id, g.why)
    SELECT c.id, 'updated', c.why, n_parsed FROM canceled c ORDER BY c.id;
END
$$;


-- A bare clone (issue 10): every workspace has its crm.capture_policy row from its creation, so
-- that the policy can be updated before the first capture; existing workspaces get theirs now.
COMMENT ON TABLE crm.capture_policy IS
  'per workspace: which people and companies capture creates, blocked addresses and domains, the most participants an item may have, the recurrence window, the most meeting instances one calendar file and one call may file; a row with the defaults is created with each workspace';
INSERT INTO crm.capture_policy (workspace_id) SELECT w.id FROM crm.workspace w ON CONFLICT DO NOTHING;
CREATE FUNCTION crm._workspace_capture_policy() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- the dump brings the workspace's policy
  INSERT INTO crm.capture_policy (workspace_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE TRIGGER workspace_capture_policy AFTER INSERT ON crm.workspace
  FOR EACH ROW EXECUTE FUNCTION crm._workspace_capture_policy();

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
  claim_wss bigint[];
  claim_domains text[];
BEGIN
  -- The claims cover the domains of the addresses too: a participant that loses its person or
  -- member falls back to the company owning its domain, and a concurrent change of that company's
  -- domain (which claims only the domain) must wait for this relink, or this relink for it.
  -- Without it, a person leaving two addresses linked 56 participants to a company whose domain
  -- had just changed (test/load/mixed_records.sh).
  SELECT coalesce(pg_catalog.array_agg(c.ws), '{}'), coalesce(pg_catalog.array_agg(c.domain), '{}')
    INTO claim_wss, claim_domains
  FROM (SELECT DISTINCT x.ws, x.domain
        FROM (SELECT d.ws, d.domain FROM ROWS FROM (pg_catalog.unnest(domain_wss), pg_catalog.unnest(domains)) AS d(ws, domain)
              UNION ALL
              SELECT a.ws, crm.address_domain(a.address)
              FROM ROWS FROM (pg_catalog.unnest(wss), pg_catalog.unnest(addrs)) AS a(ws, address)) x
        WHERE x.domain IS NOT NULL) c;
  LOOP
    -- A subtransaction: when a row is busy, what it claimed and locked is let go at once.
    BEGIN
      PERFORM crm._claim_addresses(wss, addrs, claim_wss, claim_domains);
      -- Every arm is an index probe, so the cached plan stays good as tables grow.
      ids := ARRAY(
        SELECT p.id FROM crm.participant p
        WHERE p.id OPERATOR(pg_catalog.=) ANY (ARRAY(
          -- LATERAL: one probe per address or domain on every column of its index, whatever the
          -- statistics (OFFSET 0 keeps the planner from flattening it into a join). A join let a plan
          -- made in a freshly loaded database (which takes the unlinked participants for a handful)
          -- probe the workspace alone and read every one.
          SELECT p.id FROM ROWS FROM (pg_catalog.unnest(wss), pg_catalog.unnest(addrs)) AS a(ws, address)
            CROSS JOIN LATERAL (SELECT p.id FROM crm.participant p
                                WHERE p.workspace_id OPERATOR(pg_catalog.=) a.ws
                                  AND p.address OPERATOR(pg_catalog.=) a.address OFFSET 0) p
          UNION
          SELECT p.id FROM ROWS FROM (pg_catalog.unnest(domain_wss), pg_catalog.unnest(domains)) AS d(ws, domain)
            CROSS JOIN LATERAL (SELECT p.id FROM crm.participant p
                                WHERE p.workspace_id OPERATOR(pg_catalog.=) d.ws
                                  AND crm.address_domain(p.address) OPERATOR(pg_catalog.=) d.domain
                                  AND p.person_id IS NULL AND p.member_id IS NULL OFFSET 0) p
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
    persons := ARRAY(
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id
      WHERE (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email)
         OR n.company_id IS DISTINCT FROM o.company_id);
    IF pg_catalog.cardinality(persons) OPERATOR(pg_catalog.=) 0 THEN RETURN NULL; END IF;  -- a title, a phone: nothing to relink
    DELETE FROM crm.record_address a USING new_rows n, old_rows o
    WHERE o.id OPERATOR(pg_catalog.=) n.id AND a.person_id OPERATOR(pg_catalog.=) n.id
      AND (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email);
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, NULL, n.id
    FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
         pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email)) a
    WHERE (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email);
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



-- Interactions deleted: remembered as they were for the participants' trigger, which takes out
-- what they contributed as a difference (no recompute of every record in them).
CREATE FUNCTION crm._interaction_deleting() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_interaction_deleting' LANGUAGE C;
CREATE TRIGGER interaction_signals_deleting BEFORE DELETE ON crm.interaction
  FOR EACH ROW EXECUTE FUNCTION crm._interaction_deleting();

-- Duplicate sets no longer chain (src/core/match/sets.cpp); the view is unchanged, its comment says so.
COMMENT ON VIEW crm.duplicate_sets IS
  'records linked by open candidates, without chaining (components cut where one pair alone joins two groups); set_id is the smallest record id of the set';

-- Term frequencies (issue 11): crm.match_frequency, counted from the stored profiles once here
-- and kept by the profile writes after. Stored pairs keep their scores until the next write of
-- either record or crm.scan_duplicates (CHANGELOG, 0.2.0).
-- Term frequencies (src/core/match/frequency.hpp): how many records of a workspace hold each
-- value of a counted field, kept by every write of crm.match_profile, so trigger, find and scan
-- read the same counts. peak is the most records that ever held the value: scores only use it,
-- so a count that falls back never raises a stored pair's score behind the write path's back.
CREATE TABLE crm.match_frequency (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT match_frequency_kind CHECK (kind IN ('person', 'company')),
  field text NOT NULL,
  value text NOT NULL,
  records integer NOT NULL,
  peak integer NOT NULL CONSTRAINT match_frequency_peak CHECK (peak >= records),
  PRIMARY KEY (workspace_id, kind, field, value)
);
COMMENT ON TABLE crm.match_frequency IS
  'maintained by the extension: records holding each normalised value of a counted field (first_name, last_name, city, postal_code; a company''s name, street, city, postal_code), and the most that ever did';

-- The counted values of profiles: field name and value (crm.match_profile.fields, split at
-- U+001F, positions as src/core/match/profile.hpp orders them).
CREATE FUNCTION crm._match_frequency_values(kind text, fields text)
  RETURNS TABLE (field text, value text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT f.field, pg_catalog.split_part(fields, U&'\001F', f.position)
  FROM (VALUES ('person', 'first_name', 1), ('person', 'last_name', 2), ('person', 'city', 7),
               ('person', 'postal_code', 8), ('company', 'name', 1),
               ('company', 'street', 4), ('company', 'city', 5), ('company', 'postal_code', 6))
         AS f(kind, field, position)
  WHERE f.kind = _match_frequency_values.kind
    AND pg_catalog.split_part(fields, U&'\001F', f.position) <> '';
END;

-- Applies a statement's profile changes to the counts, in one sorted upsert (a fixed lock order).
-- C++ (src/pg/frequency_trigger.cpp): it runs inside every profile write, and reads the transition
-- tables without planning a query; it counts what crm._match_frequency_values lists.
CREATE FUNCTION crm._match_frequency_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_match_frequency_changed' LANGUAGE C;

CREATE TRIGGER match_profile_frequency_insert AFTER INSERT ON crm.match_profile
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._match_frequency_changed();
CREATE TRIGGER match_profile_frequency_update AFTER UPDATE ON crm.match_profile
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crm._match_frequency_changed();
CREATE TRIGGER match_profile_frequency_delete AFTER DELETE ON crm.match_profile
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._match_frequency_changed();

ALTER TABLE crm.match_frequency ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.match_frequency
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
SELECT pg_catalog.pg_extension_config_dump('crm.match_frequency', '');
INSERT INTO crm.match_frequency (workspace_id, kind, field, value, records, peak)
SELECT p.workspace_id, p.kind, v.field, v.value, count(*), count(*)
FROM crm.match_profile p CROSS JOIN LATERAL crm._match_frequency_values(p.kind, p.fields) v
GROUP BY 1, 2, 3, 4;
-- Pairs stored before know no agreed values: crm.scan_duplicates fills them in.
ALTER TABLE crm.duplicate_candidate ADD COLUMN agreed text[] NOT NULL DEFAULT '{}';
CREATE INDEX duplicate_candidate_agreed_idx ON crm.duplicate_candidate USING gin (agreed);

CREATE OR REPLACE FUNCTION crm._duplicates_truncated() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM crm.duplicate_candidate WHERE kind = TG_ARGV[0];
  DELETE FROM crm.match_profile WHERE kind = TG_ARGV[0];
  DELETE FROM crm.match_frequency WHERE kind = TG_ARGV[0];  -- a truncated table starts over
  RETURN NULL;
END
$$;

-- The duplicate update triggers see the old rows too: an update that changes no column a
-- profile reads costs no query.
DROP TRIGGER person_duplicates_update ON crm.person;
CREATE TRIGGER person_duplicates_update AFTER UPDATE ON crm.person
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_written('person');
DROP TRIGGER company_duplicates_update ON crm.company;
CREATE TRIGGER company_duplicates_update AFTER UPDATE ON crm.company
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_written('company');

-- The record write path in C++ (issue 12). Participants are resolved in C++ (the participant
-- trigger and crm._link_changes share one cache); the record triggers are one C++ function that
-- runs no SQL for a statement changing no address, domain or company.
-- True when resolving the participant again would change what it links to (the resolution of
-- the participant trigger, src/pg/resolution_trigger.cpp, with the ids the row carries kept when
-- their records still exist).
-- COST: it resolves the participant again (several index probes), so the planner must test every
-- cheaper condition first, statistics or not.
CREATE OR REPLACE FUNCTION crm._link_changes(p crm.participant) RETURNS boolean
  AS 'MODULE_PATHNAME', 'crm_link_changes' LANGUAGE C STRICT COST 10000;

CREATE OR REPLACE FUNCTION crm._resolve_participant(ws bigint, addr text, given_person bigint, given_member bigint,
                                         strict boolean,
                                         OUT member_id bigint, OUT person_id bigint, OUT company_id bigint)
  AS 'MODULE_PATHNAME', 'crm_resolve_participant' LANGUAGE C;

DROP TRIGGER person_relink_insert ON crm.person;
DROP TRIGGER person_relink_update ON crm.person;
DROP TRIGGER person_relink_delete ON crm.person;
DROP TRIGGER member_relink_insert ON crm.member;
DROP TRIGGER member_relink_update ON crm.member;
DROP TRIGGER member_relink_delete ON crm.member;
DROP TRIGGER company_relink_claim ON crm.company;
DROP TRIGGER company_relink_insert ON crm.company;
DROP TRIGGER company_relink_update ON crm.company;
DROP TRIGGER company_relink_delete ON crm.company;
DROP FUNCTION crm._person_relink();
DROP FUNCTION crm._member_relink();
DROP FUNCTION crm._company_relink();
DROP FUNCTION crm._relink(bigint[], text[], bigint[], text[], bigint[], bigint[], bigint[]);
-- The record triggers work per statement, on its transition tables: a statement writing many
-- records claims all of their addresses at once and relinks their participants in one UPDATE, so
-- it never waits for a claim or a participant row while it holds signal rows. (Triggers per row
-- claimed and locked row by row, in an order that concurrent writers of activity could cross.)
-- They also keep crm.record_address equal to the records' addresses, and create and remove the
-- records' signal rows. C++ (src/pg/record_relink.cpp): a statement that changes no address,
-- domain or company runs no SQL.
CREATE FUNCTION crm._record_relink() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_record_relink' LANGUAGE C;

-- BEFORE DELETE of a company: ON DELETE SET NULL relinks the company's people (their triggers
-- claim their addresses and lock signal rows) before the statement's own relink claims the
-- domain. Both are claimed here first, at once, so that the deletion never waits for a claim
-- while it holds signal rows.
CREATE FUNCTION crm._company_delete_claim() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  wss bigint[];
  addrs text[];
BEGIN
  IF crm._restoring() THEN RETURN OLD; END IF;
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
END
$$;

CREATE TRIGGER person_relink_insert AFTER INSERT ON crm.person
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('person');
CREATE TRIGGER person_relink_update AFTER UPDATE ON crm.person
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('person');
CREATE TRIGGER person_relink_delete AFTER DELETE ON crm.person
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('person');
CREATE TRIGGER member_relink_insert AFTER INSERT ON crm.member
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('member');
CREATE TRIGGER member_relink_update AFTER UPDATE ON crm.member
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('member');
CREATE TRIGGER member_relink_delete AFTER DELETE ON crm.member
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('member');
CREATE TRIGGER company_relink_claim BEFORE DELETE ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._company_delete_claim();
CREATE TRIGGER company_relink_insert AFTER INSERT ON crm.company
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('company');
CREATE TRIGGER company_relink_update AFTER UPDATE ON crm.company
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('company');
CREATE TRIGGER company_relink_delete AFTER DELETE ON crm.company
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('company');

-- A company found by its domain with min() over a fenced subquery: ORDER BY c.id LIMIT 1 let the
-- planner walk the primary key and test every company's domain (issue 12: 8 ms of each person
-- capture created at 5,000 companies).
CREATE OR REPLACE FUNCTION crm._resolve_address(ws bigint, addr text)
RETURNS TABLE (member_id bigint, person_id bigint, company_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT o.member_id, o.person_id,
         CASE WHEN o.member_id IS NOT NULL THEN NULL
              WHEN o.person_id IS NOT NULL THEN (SELECT p.company_id FROM crm.person p WHERE p.id = o.person_id)
              -- min() over a fenced subquery, never ORDER BY c.id LIMIT 1: that let a plan walk the
              -- primary key and test every company's domain.
              ELSE (SELECT min(c.id) FROM (SELECT c.id FROM crm.company c
                                           WHERE c.workspace_id = ws AND c.domain IS NOT NULL
                                             AND crm.normalize_address(c.domain) = crm.address_domain(addr)
                                           OFFSET 0) c) END
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT a.member_id, a.person_id FROM crm.record_address a
                     WHERE a.workspace_id = ws AND a.address = crm.normalize_address(addr)
                     ORDER BY a.member_id NULLS LAST, a.person_id LIMIT 1) o ON true;
END;

CREATE OR REPLACE FUNCTION crm._capture_records(ws bigint, pol crm.capture_policy, addrs text[], names text[])
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  hosts text[];
  domains text[];
  member_domains text[];
BEGIN
  IF cardinality(addrs) = 0 THEN
    RETURN;
  END IF;
  -- Each address's host and registrable domain, once.
  SELECT pg_catalog.array_agg(crm.address_domain(a) ORDER BY o), pg_catalog.array_agg(crm.registrable_domain(a) ORDER BY o)
    INTO hosts, domains
  FROM unnest(addrs) WITH ORDINALITY x(a, o);
  -- Two sessions capturing mail from the same new address create one person.
  PERFORM crm._claim_addresses(ws, addrs, ARRAY(SELECT DISTINCT d FROM unnest(domains) d WHERE d IS NOT NULL));
  IF pol.create_companies THEN
    member_domains := ARRAY(SELECT DISTINCT crm.registrable_domain(ma)
                            FROM crm.member m, unnest(m.email || m.aliases) ma WHERE m.workspace_id = ws);
    -- Records capture makes are automated writes (docs/ENRICHMENT.md): their fields carry
    -- provenance, so a better source may complete them and a user's edit locks them.
    WITH made AS (
      INSERT INTO crm.company (workspace_id, name, domain)
      SELECT ws, pg_catalog.initcap(pg_catalog.split_part(d, '.', 1)), d
      FROM (SELECT DISTINCT d FROM unnest(domains) d WHERE d IS NOT NULL) x
      WHERE NOT coalesce(crm.is_free_email_domain(d), true)
        AND NOT coalesce(crm.is_disposable_email_domain(d), true)
        AND NOT d = ANY (member_domains)
        AND NOT EXISTS (SELECT FROM crm.company c
                        WHERE c.workspace_id = ws AND c.domain IS NOT NULL AND crm.normalize_address(c.domain) = d)
      ORDER BY d
      RETURNING id, name, domain)
    INSERT INTO crm.field_provenance (workspace_id, kind, record_id, field, value, source, source_kind, confidence,
                                      observed_at, written_at, actor)
    SELECT ws, 'company', m.id, f.field, f.value, 'rule:capture', 'rule', f.confidence, crm.now(), crm.now(), crm._outer_role()
    FROM made m, LATERAL (VALUES ('name', pg_catalog.to_jsonb(m.name), 0.5::float8),
                                 ('domain', pg_catalog.to_jsonb(m.domain), 1::float8)) f(field, value, confidence)
    ORDER BY m.id, f.field;
  END IF;
  WITH made AS (
  INSERT INTO crm.person (workspace_id, first_name, last_name, email, company_id)
  SELECT ws, np.first_name, np.last_name, u.a,
         -- min() over a fenced subquery: ORDER BY c.id LIMIT 1 let the planner walk the primary
         -- key and test every company's domain (8 ms a person at 5,000 companies).
         -- A merged company stands for the one it was merged into.
         (SELECT coalesce(t.merged_into, t.id) FROM crm.company t
          WHERE t.id = (SELECT min(c.id) FROM (SELECT c.id FROM crm.company c
                                               WHERE c.workspace_id = ws AND c.domain IS NOT NULL
                                                 AND crm.normalize_address(c.domain) = ANY (ARRAY[u.host, u.d])
                                               OFFSET 0) c))
  FROM (SELECT DISTINCT ON (x.a) x.a, x.n, x.host, x.d FROM unnest(addrs, names, hosts, domains) x(a, n, host, d)
        ORDER BY x.a, x.n NULLS LAST) u
  CROSS JOIN LATERAL crm._name_parts(u.n) np
  WHERE NOT EXISTS (SELECT FROM crm.record_address r WHERE r.workspace_id = ws AND r.address = u.a)
  ORDER BY u.a
  RETURNING id, first_name, last_name, email, company_id)
  INSERT INTO crm.field_provenance (workspace_id, kind, record_id, field, value, source, source_kind, confidence,
                                    observed_at, written_at, actor)
  SELECT ws, 'person', m.id, f.field, f.value, 'rule:capture', 'rule', f.confidence, crm.now(), crm.now(), crm._outer_role()
  FROM made m, LATERAL (VALUES ('first_name', pg_catalog.to_jsonb(m.first_name), 0.6::float8),
                               ('last_name', pg_catalog.to_jsonb(m.last_name), 0.6),
                               ('email', pg_catalog.to_jsonb(m.email), 1),
                               ('company_id', pg_catalog.to_jsonb(m.company_id), 0.9)) f(field, value, confidence)
  WHERE f.value <> 'null'::jsonb
  ORDER BY m.id, f.field;
END
$$;

-- TRUNCATE of people, members or companies (all workspaces at once): the address book rows of the
-- removed records go, the participants that linked to them are resolved again (as a DELETE relinks
-- them, so the signal triggers take their contributions out and give them to whatever the address
-- resolves to now), and then their signal and connection rows go. Without it a TRUNCATE left them
-- behind, and re-inserting a record with the same id failed on its signal row.
CREATE FUNCTION crm._records_truncated() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- derived rows are restored as dumped
  IF TG_ARGV[0] OPERATOR(pg_catalog.=) 'person' THEN
    DELETE FROM crm.record_address WHERE person_id IS NOT NULL;
    UPDATE crm.participant p SET address = p.address WHERE p.person_id IS NOT NULL;
    DELETE FROM crm.connection WHERE person_id IS NOT NULL;
    DELETE FROM crm.person_signal;
  ELSIF TG_ARGV[0] OPERATOR(pg_catalog.=) 'member' THEN
    DELETE FROM crm.record_address WHERE member_id IS NOT NULL;
    UPDATE crm.participant p SET address = p.address WHERE p.member_id IS NOT NULL;
  ELSE
    UPDATE crm.participant p SET address = p.address WHERE p.company_id IS NOT NULL;
    DELETE FROM crm.company_connection;
    DELETE FROM crm.company_signal;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER person_records_truncated AFTER TRUNCATE ON crm.person
  FOR EACH STATEMENT EXECUTE FUNCTION crm._records_truncated('person');
CREATE TRIGGER member_records_truncated AFTER TRUNCATE ON crm.member
  FOR EACH STATEMENT EXECUTE FUNCTION crm._records_truncated('member');
CREATE TRIGGER company_records_truncated AFTER TRUNCATE ON crm.company
  FOR EACH STATEMENT EXECUTE FUNCTION crm._records_truncated('company');

-- Labels that stay consistent (docs/ENRICHMENT.md, "Labels"): a picklist is a workspace's set of
-- allowed values for a field, ordered or not, each with synonyms. Writes are normalised to the
-- canonical value ("MQL", "Marketing Qualified Lead" and "mql " are one value) or refused with
-- 22023 naming the allowed values; automated writes (crm.enrich) only move an ordered field
-- forward. Every workspace starts with lifecycle stages and deal stages; industry and any
-- attribute become picklists when a workspace declares them (crm.declare_picklist).

CREATE TABLE crm.picklist (
  workspace_id bigint NOT NULL DEFAULT crm.current_workspace() REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT picklist_kind CHECK (kind IN ('person', 'company', 'deal')),
  field text NOT NULL CONSTRAINT picklist_field CHECK (
    (kind = 'person' AND field = 'lifecycle_stage') OR (kind = 'deal' AND field = 'stage')
    OR (kind = 'company' AND field = 'industry')
    OR (pg_catalog.starts_with(field, 'attributes.') AND pg_catalog.length(field) > 11)),
  ordered boolean NOT NULL DEFAULT true,
  PRIMARY KEY (workspace_id, kind, field)
);
COMMENT ON TABLE crm.picklist IS
  'the fields whose values a workspace keeps to a set (crm.declare_picklist): person lifecycle_stage, deal stage, company industry, any attribute';

-- What a label is matched by: its letters and digits, transliterated to lower-case ASCII
-- ("Sales-Qualified Lead " -> "salesqualifiedlead", "Интерес" -> "interes"), in C++ so that no
-- collation changes it.
CREATE FUNCTION crm._label_key(label text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_label_key' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION crm._label_keys(label text, synonyms text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY(SELECT DISTINCT crm._label_key(s) FROM pg_catalog.unnest(label || synonyms) s
             WHERE crm._label_key(s) <> '' ORDER BY 1);

CREATE TABLE crm.picklist_value (
  workspace_id bigint NOT NULL,
  kind text NOT NULL,
  field text NOT NULL,
  value text NOT NULL CONSTRAINT picklist_value_not_blank CHECK (crm._label_key(value) <> ''),
  -- Its place in an ordered picklist; NULL for a value outside the order ('other').
  position integer,
  synonyms text[] NOT NULL DEFAULT '{}',
  keys text[] GENERATED ALWAYS AS (crm._label_keys(value, synonyms)) STORED,
  PRIMARY KEY (workspace_id, kind, field, value),
  FOREIGN KEY (workspace_id, kind, field) REFERENCES crm.picklist ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE crm.picklist_value IS
  'the allowed values of a picklist, their order (position; NULL outside it) and synonyms';

-- The canonical value of a label: the picklist's value whose key or a synonym's key it shares;
-- the label as given when the field has no picklist; NULL for NULL, or blank in a picklist.
-- 22023 otherwise.
CREATE FUNCTION crm._label_value(ws bigint, kind text, field text, label text) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  key constant text := crm._label_key(label);
  canonical text;
BEGIN
  IF key IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT v.value INTO canonical FROM crm.picklist_value v
  WHERE v.workspace_id = ws AND v.kind = _label_value.kind AND v.field = _label_value.field AND v.keys @> ARRAY[key]
  ORDER BY v.position NULLS LAST, v.value LIMIT 1;
  IF FOUND THEN
    RETURN canonical;
  ELSIF NOT EXISTS (SELECT FROM crm.picklist p
                    WHERE p.workspace_id = ws AND p.kind = _label_value.kind AND p.field = _label_value.field) THEN
    RETURN label;  -- not a picklist: as given
  ELSIF pg_catalog.btrim(label) = '' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION '% is not a value of %.% in workspace %', '"' || pg_catalog.left(label, 60) || '"', kind, field, ws
    USING ERRCODE = 'invalid_parameter_value',
          DETAIL = 'allowed: ' || (SELECT pg_catalog.string_agg(v.value, ', ' ORDER BY v.position NULLS LAST, v.value)
                                   FROM crm.picklist_value v
                                   WHERE v.workspace_id = ws AND v.kind = _label_value.kind AND v.field = _label_value.field),
          HINT = 'write one of the allowed values or a synonym, or add the value (crm.declare_picklist, crm.add_label_synonyms)';
END
$$;

-- A value's place in its ordered picklist; NULL when it has none (no picklist, unordered, outside
-- the order, unknown).
CREATE FUNCTION crm._label_rank(ws bigint, kind text, field text, label text) RETURNS integer
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT v.position FROM crm.picklist_value v
  JOIN crm.picklist p ON p.workspace_id = v.workspace_id AND p.kind = v.kind AND p.field = v.field AND p.ordered
  WHERE v.workspace_id = _label_rank.ws AND v.kind = _label_rank.kind AND v.field = _label_rank.field
    AND v.keys @> ARRAY[crm._label_key(_label_rank.label)]
  ORDER BY v.position NULLS LAST LIMIT 1;
END;

-- BEFORE INSERT OR UPDATE of crm.person, crm.company and crm.deal: the picklist column
-- (TG_ARGV[1]) and the picklist attributes, normalised or refused. The triggers' WHEN clauses
-- keep rows that write no label from calling it.
CREATE FUNCTION crm._labels_written() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  record_kind constant text := TG_ARGV[0];
  col constant text := TG_ARGV[1];
  given text;
  canonical text;
  changes jsonb := '{}';
  attrs jsonb;
  p record;
BEGIN
  IF crm._restoring() THEN
    RETURN NEW;  -- rows as dumped
  END IF;
  given := pg_catalog.to_jsonb(NEW) ->> col;
  IF given IS NOT NULL AND (TG_OP = 'INSERT' OR given IS DISTINCT FROM pg_catalog.to_jsonb(OLD) ->> col) THEN
    canonical := crm._label_value(NEW.workspace_id, record_kind, col, given);
    IF canonical IS DISTINCT FROM given THEN
      changes := pg_catalog.jsonb_build_object(col, canonical);
    END IF;
  END IF;
  IF NEW.attributes <> '{}' AND (TG_OP = 'INSERT' OR NEW.attributes IS DISTINCT FROM OLD.attributes) THEN
    attrs := NEW.attributes;
    FOR p IN SELECT pg_catalog.substr(l.field, 12) AS key FROM crm.picklist l
             WHERE l.workspace_id = NEW.workspace_id AND l.kind = record_kind
               AND pg_catalog.starts_with(l.field, 'attributes.')
    LOOP
      CONTINUE WHEN NOT attrs ? p.key OR (TG_OP = 'UPDATE' AND (OLD.attributes -> p.key) IS NOT DISTINCT FROM (attrs -> p.key));
      IF pg_catalog.jsonb_typeof(attrs -> p.key) = 'null' THEN
        CONTINUE;
      ELSIF pg_catalog.jsonb_typeof(attrs -> p.key) <> 'string' THEN
        RAISE EXCEPTION 'attribute % of % is a picklist: its value must be text, not %', p.key, record_kind, attrs -> p.key
          USING ERRCODE = 'invalid_parameter_value';
      END IF;
      canonical := crm._label_value(NEW.workspace_id, record_kind, 'attributes.' || p.key, attrs ->> p.key);
      attrs := CASE WHEN canonical IS NULL THEN attrs - p.key
                    ELSE pg_catalog.jsonb_set(attrs, ARRAY[p.key], pg_catalog.to_jsonb(canonical)) END;
    END LOOP;
    IF attrs IS DISTINCT FROM NEW.attributes THEN
      changes := changes || pg_catalog.jsonb_build_object('attributes', attrs);
    END IF;
  END IF;
  IF changes <> '{}' THEN
    NEW := pg_catalog.jsonb_populate_record(NEW, changes);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER person_labels_insert BEFORE INSERT ON crm.person
  FOR EACH ROW WHEN (NEW.lifecycle_stage IS NOT NULL OR NEW.attributes <> '{}')
  EXECUTE FUNCTION crm._labels_written('person', 'lifecycle_stage');
CREATE TRIGGER person_labels_update BEFORE UPDATE OF lifecycle_stage, attributes ON crm.person
  FOR EACH ROW WHEN (NEW.lifecycle_stage IS DISTINCT FROM OLD.lifecycle_stage OR NEW.attributes IS DISTINCT FROM OLD.attributes)
  EXECUTE FUNCTION crm._labels_written('person', 'lifecycle_stage');
CREATE TRIGGER company_labels_insert BEFORE INSERT ON crm.company
  FOR EACH ROW WHEN (NEW.industry IS NOT NULL OR NEW.attributes <> '{}')
  EXECUTE FUNCTION crm._labels_written('company', 'industry');
CREATE TRIGGER company_labels_update BEFORE UPDATE OF industry, attributes ON crm.company
  FOR EACH ROW WHEN (NEW.industry IS DISTINCT FROM OLD.industry OR NEW.attributes IS DISTINCT FROM OLD.attributes)
  EXECUTE FUNCTION crm._labels_written('company', 'industry');
CREATE TRIGGER deal_labels_insert BEFORE INSERT ON crm.deal
  FOR EACH ROW WHEN (NEW.stage IS NOT NULL OR NEW.attributes <> '{}')
  EXECUTE FUNCTION crm._labels_written('deal', 'stage');
CREATE TRIGGER deal_labels_update BEFORE UPDATE OF stage, attributes ON crm.deal
  FOR EACH ROW WHEN (NEW.stage IS DISTINCT FROM OLD.stage OR NEW.attributes IS DISTINCT FROM OLD.attributes)
  EXECUTE FUNCTION crm._labels_written('deal', 'stage');

-- Declares (or redeclares) a picklist of this workspace: its values in order (ordered) or as a
-- set, and values outside the order ('other'). Synonyms of values kept are kept; values no longer
-- listed are no longer allowed in new writes (records holding them keep them).
CREATE FUNCTION crm.declare_picklist(kind text, field text, "values" text[], ordered boolean DEFAULT true,
                                     unordered text[] DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  ws constant bigint := crm.current_workspace();
  listed text[] := coalesce("values", '{}') || coalesce(unordered, '{}');
  clash text;
BEGIN
  IF kind IS NULL OR NOT (
       (kind = 'person' AND field = 'lifecycle_stage') OR (kind = 'deal' AND field = 'stage')
       OR (kind = 'company' AND field = 'industry')
       OR (kind IN ('person', 'company', 'deal') AND pg_catalog.starts_with(field, 'attributes.') AND pg_catalog.length(field) > 11)) THEN
    RAISE EXCEPTION '%.% cannot be a picklist', coalesce(pg_catalog.left(kind, 40), 'NULL'), coalesce(pg_catalog.left(field, 63), 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'picklists: person lifecycle_stage, deal stage, company industry, or ''attributes.<name>'' of any kind';
  ELSIF ordered IS NULL OR pg_catalog.cardinality(listed) = 0 THEN
    RAISE EXCEPTION 'a picklist needs at least one value, and ordered true or false' USING ERRCODE = 'invalid_parameter_value';
  ELSIF EXISTS (SELECT FROM pg_catalog.unnest(listed) v WHERE v IS NULL OR crm._label_key(v) = '') THEN
    RAISE EXCEPTION 'picklist values must have a letter or digit' USING ERRCODE = 'invalid_parameter_value';
  ELSIF (SELECT count(DISTINCT crm._label_key(v)) FROM pg_catalog.unnest(listed) v) < pg_catalog.cardinality(listed) THEN
    RAISE EXCEPTION 'two picklist values are the same label: %', pg_catalog.array_to_string(listed, ', ')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- A value may not be a synonym of another value kept (the label would mean two values).
  SELECT l INTO clash FROM crm.picklist_value v, pg_catalog.unnest(listed) l
  WHERE v.workspace_id = ws AND v.kind = declare_picklist.kind AND v.field = declare_picklist.field
    AND v.value = ANY (listed) AND v.value <> l AND v.keys @> ARRAY[crm._label_key(l)]
  LIMIT 1;
  IF clash IS NOT NULL THEN
    RAISE EXCEPTION '% is a synonym of another value of %.%', '"' || pg_catalog.left(clash, 60) || '"', kind, field
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO crm.picklist AS p (workspace_id, kind, field, ordered)
  VALUES (ws, declare_picklist.kind, declare_picklist.field, declare_picklist.ordered)
  ON CONFLICT (workspace_id, kind, field) DO UPDATE SET ordered = EXCLUDED.ordered;
  DELETE FROM crm.picklist_value v
  WHERE v.workspace_id = ws AND v.kind = declare_picklist.kind AND v.field = declare_picklist.field
    AND NOT v.value = ANY (listed);
  INSERT INTO crm.picklist_value AS v (workspace_id, kind, field, value, position)
  SELECT ws, declare_picklist.kind, declare_picklist.field, x.value,
         CASE WHEN declare_picklist.ordered AND x.n <= pg_catalog.cardinality(coalesce("values", '{}')) THEN x.n::integer END
  FROM pg_catalog.unnest(listed) WITH ORDINALITY x(value, n)
  ON CONFLICT (workspace_id, kind, field, value) DO UPDATE SET position = EXCLUDED.position;
END
$$;
COMMENT ON FUNCTION crm.declare_picklist(text, text, text[], boolean, text[]) IS
  'keeps a field of this workspace to a set of values, in order (ordered: automated writes only move it forward) or not, plus values outside the order; writes are normalised to these values or refused (22023)';

CREATE FUNCTION crm.add_label_synonyms(kind text, field text, value text, synonyms text[]) RETURNS void
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  ws constant bigint := crm.current_workspace();
  clash text;
BEGIN
  SELECT o.value INTO clash FROM crm.picklist_value o, pg_catalog.unnest(synonyms) s
  WHERE o.workspace_id = ws AND o.kind = add_label_synonyms.kind AND o.field = add_label_synonyms.field
    AND o.value <> add_label_synonyms.value AND o.keys @> ARRAY[crm._label_key(s)]
  LIMIT 1;
  IF clash IS NOT NULL THEN
    RAISE EXCEPTION 'a synonym of % already names %', value, clash USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE crm.picklist_value v
  SET synonyms = ARRAY(SELECT DISTINCT s FROM pg_catalog.unnest(v.synonyms || add_label_synonyms.synonyms) s
                       WHERE s IS NOT NULL AND crm._label_key(s) <> '' ORDER BY 1)
  WHERE v.workspace_id = ws AND v.kind = add_label_synonyms.kind AND v.field = add_label_synonyms.field
    AND v.value = add_label_synonyms.value;
  IF NOT FOUND THEN
    RAISE EXCEPTION '% is not a value of %.% in workspace %', coalesce('"' || pg_catalog.left(value, 60) || '"', 'NULL'),
      kind, field, ws USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;
COMMENT ON FUNCTION crm.add_label_synonyms(text, text, text, text[]) IS
  'adds labels that mean a picklist value ("MQL" for "marketing qualified lead")';

CREATE FUNCTION crm.label_value(kind text, field text, label text) RETURNS text
LANGUAGE sql STABLE
RETURN crm._label_value(crm.current_workspace(), kind, field, label);
COMMENT ON FUNCTION crm.label_value(text, text, text) IS
  'the value a label is stored as in this workspace (canonical picklist value), or 22023 naming the allowed values';

-- Every workspace starts with lifecycle and deal stages.
CREATE FUNCTION crm._default_picklists(ws bigint) RETURNS void
LANGUAGE sql
BEGIN ATOMIC
  INSERT INTO crm.picklist (workspace_id, kind, field, ordered)
  VALUES (_default_picklists.ws, 'person', 'lifecycle_stage', true), (_default_picklists.ws, 'deal', 'stage', true)
  ON CONFLICT DO NOTHING;
  INSERT INTO crm.picklist_value (workspace_id, kind, field, value, position, synonyms)
  VALUES (_default_picklists.ws, 'person', 'lifecycle_stage', 'subscriber', 1, '{}'),
         (_default_picklists.ws, 'person', 'lifecycle_stage', 'lead', 2, '{}'),
         (_default_picklists.ws, 'person', 'lifecycle_stage', 'marketing qualified lead', 3, '{MQL,"marketing qualified"}'),
         (_default_picklists.ws, 'person', 'lifecycle_stage', 'sales qualified lead', 4, '{SQL,"sales qualified"}'),
         (_default_picklists.ws, 'person', 'lifecycle_stage', 'opportunity', 5, '{}'),
         (_default_picklists.ws, 'person', 'lifecycle_stage', 'customer', 6, '{}'),
         (_default_picklists.ws, 'person', 'lifecycle_stage', 'evangelist', 7, '{}'),
         (_default_picklists.ws, 'person', 'lifecycle_stage', 'other', NULL, '{}'),
         (_default_picklists.ws, 'deal', 'stage', 'lead', 1, '{}'),
         (_default_picklists.ws, 'deal', 'stage', 'qualified', 2, '{discovery}'),
         (_default_picklists.ws, 'deal', 'stage', 'proposal', 3, '{}'),
         (_default_picklists.ws, 'deal', 'stage', 'negotiation', 4, '{}'),
         (_default_picklists.ws, 'deal', 'stage', 'won', 5, '{"closed won"}'),
         (_default_picklists.ws, 'deal', 'stage', 'lost', 5, '{"closed lost"}')
  ON CONFLICT DO NOTHING;
END;

CREATE FUNCTION crm._workspace_picklists() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- the dump brings the workspace's picklists
  PERFORM crm._default_picklists(NEW.id);
  RETURN NULL;
END
$$;
CREATE TRIGGER workspace_picklists AFTER INSERT ON crm.workspace
  FOR EACH ROW EXECUTE FUNCTION crm._workspace_picklists();
SELECT crm._default_picklists(w.id) FROM crm.workspace w;
-- Labels in use before 0.2.0 stay allowed (outside the order), so no write of a record that
-- holds one is refused after the upgrade.
INSERT INTO crm.picklist_value (workspace_id, kind, field, value, position)
SELECT DISTINCT ON (x.workspace_id, x.kind, x.field, crm._label_key(x.value)) x.workspace_id, x.kind, x.field, x.value, NULL::integer
FROM (SELECT p.workspace_id, 'person' AS kind, 'lifecycle_stage' AS field, p.lifecycle_stage AS value FROM crm.person p
      UNION ALL SELECT d.workspace_id, 'deal', 'stage', d.stage FROM crm.deal d) x
WHERE crm._label_key(x.value) <> ''
  AND NOT EXISTS (SELECT FROM crm.picklist_value v
                  WHERE v.workspace_id = x.workspace_id AND v.kind = x.kind AND v.field = x.field
                    AND v.keys @> ARRAY[crm._label_key(x.value)])
ORDER BY x.workspace_id, x.kind, x.field, crm._label_key(x.value), x.value
ON CONFLICT DO NOTHING;
ALTER TABLE crm.picklist ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.picklist
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.picklist_value ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.picklist_value
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
SELECT pg_catalog.pg_extension_config_dump('crm.picklist', '');
SELECT pg_catalog.pg_extension_config_dump('crm.picklist_value', '');

-- Merges (docs/MERGE.md): several people (or companies) become one, in one transaction, previewed first and
-- undoable. The others become tombstones: their rows stay, with merged_into naming the survivor,
-- so ids held by other systems keep working (crm.resolve_id, and activity written with such an id
-- links to the survivor) and no application's foreign key dangles. A tombstone owns no address,
-- has no signal row and an empty match profile, so no view, report, duplicate or resolution sees
-- it: the record triggers see to that (src/core/records/relink_plan.cpp,
-- src/pg/match/record_rows.cpp, src/pg/records/resolution_trigger.cpp). A merge is data: a log row
-- with every decision, every row as it was and as the merge left it, and what moved; unmerging
-- plays it backwards.

ALTER TABLE crm.person ADD COLUMN merged_into bigint,
  ADD CONSTRAINT person_merged_into_fkey FOREIGN KEY (workspace_id, merged_into)
    REFERENCES crm.person (workspace_id, id) ON DELETE CASCADE;
CREATE INDEX person_merged_into_idx ON crm.person (merged_into) WHERE merged_into IS NOT NULL;
COMMENT ON COLUMN crm.person.merged_into IS
  'set on a tombstone: the live person it was merged into (crm.merge); written by crm.merge and crm.unmerge only';

-- merged_into is the merge's to write: a tombstone made by hand would have no log to undo it by.
-- crm._merge_apply and crm._unmerge_apply say when they write it (crm._merge_writes, for their
-- own transaction and subtransaction), and the guard refuses every other change
-- (src/pg/records/merge_guard.cpp).
CREATE FUNCTION crm._merge_writes(on_off boolean) RETURNS void
  AS 'MODULE_PATHNAME', 'crm_merge_writes' LANGUAGE C;
CREATE FUNCTION crm._merged_into_guard() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_merged_into_guard' LANGUAGE C;
CREATE TRIGGER person_merged_into_guard BEFORE INSERT OR UPDATE OF merged_into ON crm.person
  FOR EACH ROW EXECUTE FUNCTION crm._merged_into_guard();

-- A merged company keeps its domain: the participants at it, and people and deals written with
-- its id later, belong to the survivor (crm._resolve_address follows merged_into).
ALTER TABLE crm.company ADD COLUMN merged_into bigint,
  ADD CONSTRAINT company_merged_into_fkey FOREIGN KEY (workspace_id, merged_into)
    REFERENCES crm.company (workspace_id, id) ON DELETE CASCADE;
CREATE INDEX company_merged_into_idx ON crm.company (merged_into) WHERE merged_into IS NOT NULL;
COMMENT ON COLUMN crm.company.merged_into IS
  'set on a tombstone: the live company it was merged into (crm.merge); written by crm.merge and crm.unmerge only';
CREATE TRIGGER company_merged_into_guard BEFORE INSERT OR UPDATE OF merged_into ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._merged_into_guard();
-- A person or deal written later with a merged company's id gets the company it was merged into
-- (src/pg/records/merge_guard.cpp): nothing links to a tombstone, whose activity no view shows.
CREATE FUNCTION crm._follow_merged_company() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_follow_merged_company' LANGUAGE C;
CREATE TRIGGER person_follow_merged_company BEFORE INSERT OR UPDATE OF company_id ON crm.person
  FOR EACH ROW WHEN (NEW.company_id IS NOT NULL) EXECUTE FUNCTION crm._follow_merged_company();
CREATE TRIGGER deal_follow_merged_company BEFORE INSERT OR UPDATE OF company_id ON crm.deal
  FOR EACH ROW WHEN (NEW.company_id IS NOT NULL) EXECUTE FUNCTION crm._follow_merged_company();

-- Deals derive nothing: a merged deal is a row kept for its id, and what references it (the
-- application's declared columns) moves to the survivor.
ALTER TABLE crm.deal ADD COLUMN merged_into bigint,
  ADD CONSTRAINT deal_merged_into_fkey FOREIGN KEY (workspace_id, merged_into)
    REFERENCES crm.deal (workspace_id, id) ON DELETE CASCADE;
CREATE INDEX deal_merged_into_idx ON crm.deal (merged_into) WHERE merged_into IS NOT NULL;
COMMENT ON COLUMN crm.deal.merged_into IS
  'set on a tombstone: the live deal it was merged into (crm.merge); written by crm.merge and crm.unmerge only';
CREATE TRIGGER deal_merged_into_guard BEFORE INSERT OR UPDATE OF merged_into ON crm.deal
  FOR EACH ROW EXECUTE FUNCTION crm._merged_into_guard();

-- Participant resolution (src/sql/30_resolution.sql), defined here because it follows tombstones:
-- an address belongs to a member, else a person (the address book holds no tombstone's address),
-- else the company whose domain it has: the lowest id holding the domain, or the company that one
-- was merged into. A table function of one SELECT, so that callers inline it and cache its plan.
CREATE OR REPLACE FUNCTION crm._resolve_address(ws bigint, addr text)
RETURNS TABLE (member_id bigint, person_id bigint, company_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT o.member_id, o.person_id,
         CASE WHEN o.member_id IS NOT NULL THEN NULL
              WHEN o.person_id IS NOT NULL THEN (SELECT p.company_id FROM crm.person p WHERE p.id = o.person_id)
              -- min() over a fenced subquery, never ORDER BY c.id LIMIT 1: that let a plan walk the
              -- primary key and test every company's domain.
              ELSE (SELECT coalesce(t.merged_into, t.id) FROM crm.company t
                    WHERE t.id = (SELECT min(c.id) FROM (SELECT c.id FROM crm.company c
                                                         WHERE c.workspace_id = ws AND c.domain IS NOT NULL
                                                           AND crm.normalize_address(c.domain) = crm.address_domain(addr)
                                                         OFFSET 0) c)) END
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT a.member_id, a.person_id FROM crm.record_address a
                     WHERE a.workspace_id = ws AND a.address = crm.normalize_address(addr)
                     ORDER BY a.member_id NULLS LAST, a.person_id LIMIT 1) o ON true;
END;

CREATE TABLE crm.merge_log (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT merge_log_kind CHECK (kind IN ('person', 'company', 'deal')),
  survivor_id bigint NOT NULL,
  merged_ids bigint[] NOT NULL,
  -- per field: the survivor's value, the others', the chosen one and the rule that chose it
  decisions jsonb NOT NULL,
  -- every record row the merge wrote, {"<id>": row}, as it was and as the merge left it
  before jsonb NOT NULL,
  after jsonb NOT NULL,
  -- what moved: participants ([id, person it linked to]) or people and deals ([id, company]), the
  -- duplicate pairs of the records, the application's references
  moved jsonb NOT NULL,
  merged_by text NOT NULL,
  merged_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  unmerged_by text,
  unmerged_at timestamptz
);
CREATE INDEX merge_log_survivor_idx ON crm.merge_log (workspace_id, kind, survivor_id);
CREATE INDEX merge_log_merged_idx ON crm.merge_log USING gin (merged_ids);
COMMENT ON TABLE crm.merge_log IS
  'every merge: who, when, each field''s decision, the rows before and after, what moved; crm.unmerge plays it backwards';

-- The live record an id stands for: itself, or the record it was merged into (a tombstone always
-- names a live record: a merge of a survivor redirects the tombstones that named it). NULL for an
-- id of no record of this workspace.
CREATE FUNCTION crm.resolve_id(kind text, id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  IF kind IS DISTINCT FROM 'person' AND kind IS DISTINCT FROM 'company' AND kind IS DISTINCT FROM 'deal' THEN
    RAISE EXCEPTION 'unknown record kind "%"', kind
      USING ERRCODE = 'invalid_parameter_value', HINT = 'use ''person'', ''company'' or ''deal''';
  END IF;
  IF kind = 'person' THEN
    RETURN (SELECT coalesce(p.merged_into, p.id) FROM crm.person p
            WHERE p.id = resolve_id.id AND p.workspace_id = crm.current_workspace());
  ELSIF kind = 'company' THEN
    RETURN (SELECT coalesce(c.merged_into, c.id) FROM crm.company c
            WHERE c.id = resolve_id.id AND c.workspace_id = crm.current_workspace());
  END IF;
  RETURN (SELECT coalesce(d.merged_into, d.id) FROM crm.deal d
          WHERE d.id = resolve_id.id AND d.workspace_id = crm.current_workspace());
END
$$;
COMMENT ON FUNCTION crm.resolve_id(text, bigint) IS
  'the live record an id stands for: the id itself, or the record it was merged into; NULL when no record of this workspace has it';

-- A lifecycle stage's place in this workspace's order (src/sql/62_labels.sql); 0 for a stage
-- outside it.
CREATE FUNCTION crm._lifecycle_rank(stage text) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(crm._label_rank(crm.current_workspace(), 'person', 'lifecycle_stage', stage), 0);

-- The role a SECURITY DEFINER function acts for (what the logs record).
CREATE FUNCTION crm._outer_role() RETURNS text
  AS 'MODULE_PATHNAME', 'crm_outer_role' LANGUAGE C STABLE;

-- The table of a kind of record a merge joins.
CREATE FUNCTION crm._merge_table(kind text) RETURNS regclass
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE kind WHEN 'person' THEN 'crm.person'::regclass WHEN 'company' THEN 'crm.company'::regclass
                 WHEN 'deal' THEN 'crm.deal'::regclass END;

-- A value that counts as given: not NULL, not blank text, not an empty list or object.
CREATE FUNCTION crm._merge_given(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN v IS NOT NULL AND v <> 'null'::jsonb AND v <> '[]'::jsonb AND v <> '{}'::jsonb
       AND NOT (pg_catalog.jsonb_typeof(v) = 'string' AND pg_catalog.btrim(v #>> '{}') = '');

-- What a merge would do, read-only: each field's decision, the surviving record, and how many
-- rows of each referencing table move. rows: the survivor first, then the others in the order
-- given, as to_jsonb of their rows.
CREATE FUNCTION crm._merge_plan(kind text, survivor bigint, others bigint[], choices jsonb, rows jsonb[])
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  tbl constant regclass := crm._merge_table(kind);
  s jsonb := rows[1];
  o jsonb[] := rows[2:];
  ids bigint[] := survivor || others;
  field text;
  rule text;
  chosen jsonb;
  from_id bigint;
  fields jsonb := '{}';
  result jsonb := rows[1];
  others_values jsonb;
  list jsonb;
  seen text[];
  entry jsonb;
  i integer;
  choice jsonb;
  moves jsonb;
  pairs bigint;
  redirected bigint;
BEGIN
  IF choices IS NULL OR pg_catalog.jsonb_typeof(choices) <> 'object' THEN
    RAISE EXCEPTION 'choices must be a JSON object of field names and values'
      USING ERRCODE = 'invalid_parameter_value', HINT = '{"first_name": "Ann"} or {"title": {"from": 42}}';
  END IF;
  FOR field IN SELECT k FROM pg_catalog.jsonb_object_keys(choices) k LOOP
    IF field IN ('id', 'workspace_id', 'merged_into', 'updated_at')
       OR NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid = tbl AND a.attname = field
                        AND a.attnum > 0 AND NOT a.attisdropped) THEN
      RAISE EXCEPTION 'choices names "%", which is not a field a merge can choose', field
        USING ERRCODE = 'invalid_parameter_value',
              HINT = pg_catalog.format('choose among the columns of %s but id, workspace_id, merged_into and updated_at', tbl);
    END IF;
  END LOOP;

  FOR field IN
    SELECT a.attname FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attname NOT IN ('id', 'workspace_id', 'merged_into', 'updated_at')
    ORDER BY a.attnum
  LOOP
    others_values := (SELECT coalesce(pg_catalog.jsonb_agg(x -> field ORDER BY n), '[]')
                      FROM pg_catalog.unnest(o) WITH ORDINALITY AS u(x, n));
    choice := choices -> field;
    IF choice IS NOT NULL THEN
      IF pg_catalog.jsonb_typeof(choice) = 'object' AND choice ? 'from' AND (SELECT count(*) FROM pg_catalog.jsonb_object_keys(choice)) = 1 THEN
        from_id := (choice ->> 'from')::bigint;
        IF from_id IS NULL OR NOT from_id = ANY (ids) THEN
          RAISE EXCEPTION 'choices takes % from % %, which is not in this merge', field, kind, from_id
            USING ERRCODE = 'invalid_parameter_value';
        END IF;
        chosen := (SELECT x -> field FROM pg_catalog.unnest(rows) x WHERE (x ->> 'id')::bigint = from_id);
        rule := 'chosen: ' || kind || ' ' || from_id || '''s value';
      ELSE
        chosen := choice;
        rule := 'chosen: the value given';
      END IF;
    ELSIF kind = 'person' AND field = 'emails' THEN
      -- Every address of every record, once (compared as the address book does), the survivor's
      -- first; the primary address is not repeated in the list.
      list := '[]';
      seen := CASE WHEN crm._merge_given(result -> 'email')
                   THEN ARRAY[crm.normalize_address(result ->> 'email')] ELSE '{}' END;
      FOR entry IN
        SELECT e FROM (SELECT x, n FROM pg_catalog.unnest(rows) WITH ORDINALITY AS u(x, n)) r
        CROSS JOIN LATERAL (SELECT r.x -> 'email' AS e, 0 AS k
                            UNION ALL
                            SELECT e, k FROM pg_catalog.jsonb_array_elements(r.x -> 'emails') WITH ORDINALITY AS l(e, k)) l
        ORDER BY r.n, l.k
      LOOP
        IF crm._merge_given(entry) AND NOT crm.normalize_address(entry #>> '{}') = ANY (seen) THEN
          list := list || pg_catalog.jsonb_build_array(entry);
          seen := seen || crm.normalize_address(entry #>> '{}');
        END IF;
      END LOOP;
      chosen := list;
      rule := 'every address of every record, once, the survivor''s first';
    ELSIF kind = 'person' AND field = 'lifecycle_stage' THEN
      chosen := s -> field;
      rule := 'the survivor''s value';
      FOR i IN 1 .. coalesce(pg_catalog.array_length(o, 1), 0) LOOP
        IF crm._merge_given(o[i] -> field)
           AND (NOT crm._merge_given(chosen)
                OR crm._lifecycle_rank(o[i] ->> field) > crm._lifecycle_rank(chosen #>> '{}')) THEN
          chosen := o[i] -> field;
          rule := 'the furthest stage: person ' || (o[i] ->> 'id') || '''s';
        END IF;
      END LOOP;
    ELSIF field = 'attributes' THEN
      chosen := coalesce(s -> field, '{}');
      FOR i IN REVERSE coalesce(pg_catalog.array_length(o, 1), 0) .. 1 LOOP
        chosen := coalesce(o[i] -> field, '{}') || chosen;  -- earlier records win, the survivor most
      END LOOP;
      rule := 'every key of every record, the survivor''s value first, then the first given';
    ELSIF field = 'created_at' THEN
      chosen := (SELECT x -> field FROM pg_catalog.unnest(rows) x ORDER BY (x ->> field)::timestamptz LIMIT 1);
      rule := 'the earliest';
    ELSIF crm._merge_given(s -> field) THEN
      chosen := s -> field;
      rule := 'the survivor''s value';
    ELSE
      chosen := 'null';
      rule := 'empty everywhere';
      FOR i IN 1 .. coalesce(pg_catalog.array_length(o, 1), 0) LOOP
        IF crm._merge_given(o[i] -> field) THEN
          chosen := o[i] -> field;
          rule := 'the survivor''s is empty: the first given, ' || kind || ' ' || (o[i] ->> 'id') || '''s';
          EXIT;
        END IF;
      END LOOP;
    END IF;
    result := pg_catalog.jsonb_set(result, ARRAY[field], coalesce(chosen, 'null'));
    fields := fields || pg_catalog.jsonb_build_object(field, pg_catalog.jsonb_build_object(
      'survivor', s -> field, 'others', others_values, 'chosen', chosen, 'rule', rule));
  END LOOP;
  -- The chosen values must make a row (a date that is not one fails here, not half-way through).
  EXECUTE pg_catalog.format('SELECT pg_catalog.jsonb_populate_record(NULL::%s, $1)', tbl) USING result;
  SELECT a.attname INTO field FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
    AND a.attname NOT IN ('id', 'workspace_id', 'updated_at') AND (result -> a.attname) = 'null'::jsonb
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'the merge would leave %.% empty', tbl, field
      USING ERRCODE = 'not_null_violation', HINT = 'choose a value for it, or leave it to the rules';
  END IF;

  SELECT count(*) INTO pairs FROM crm.duplicate_candidate c
  WHERE c.kind = _merge_plan.kind AND (c.record_id = ANY (ids) OR c.other_id = ANY (ids))
    AND (c.record_id = ANY (others) OR c.other_id = ANY (others));
  EXECUTE pg_catalog.format('SELECT count(*) FROM %s t WHERE t.merged_into = ANY ($1)', tbl) INTO redirected USING others;
  IF kind = 'person' THEN
    moves := pg_catalog.jsonb_build_object('participant',
      (SELECT count(*) FROM crm.participant p WHERE p.person_id = ANY (others) AND p.workspace_id = (s ->> 'workspace_id')::bigint));
  ELSIF kind = 'deal' THEN
    moves := '{}';
  ELSE
    moves := pg_catalog.jsonb_build_object(
      'person', (SELECT count(*) FROM crm.person p WHERE p.company_id = ANY (others)),
      'deal', (SELECT count(*) FROM crm.deal d WHERE d.company_id = ANY (others)),
      'participant', (SELECT count(*) FROM crm.participant p
                      WHERE p.company_id = ANY (others) AND p.workspace_id = (s ->> 'workspace_id')::bigint));
  END IF;
  RETURN pg_catalog.jsonb_build_object(
    'kind', kind, 'survivor', survivor, 'others', pg_catalog.to_jsonb(others),
    'fields', fields, 'record', result,
    'moves', moves || pg_catalog.jsonb_build_object(
      'duplicate_candidate', pairs,
      'tombstones', coalesce(pg_catalog.array_length(others, 1), 0),
      'tombstones_redirected', redirected,
      'references', crm._merge_references_count(kind, others)));
END
$$;

-- A merge's arguments, before anything is read: a kind merged, a survivor, 1 to 49 others, no
-- record twice.
CREATE FUNCTION crm._merge_check(kind text, survivor bigint, others bigint[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
  ids bigint[] := survivor || others;
BEGIN
  IF crm._merge_table(kind) IS NULL THEN
    RAISE EXCEPTION 'merging % records is not available', coalesce('"' || kind || '"', 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'people, companies and deals can be merged: crm.merge(''person'', ''company'' or ''deal'', survivor, others)';
  END IF;
  IF survivor IS NULL OR others IS NULL OR pg_catalog.array_length(others, 1) IS NULL
     OR pg_catalog.array_position(others, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'a merge needs a survivor and at least one other record'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.array_length(ids, 1) > 50 THEN
    RAISE EXCEPTION 'a merge takes at most 50 records, not %', pg_catalog.array_length(ids, 1)
      USING ERRCODE = 'program_limit_exceeded', HINT = 'merge in several steps into the same survivor';
  END IF;
  IF (SELECT count(DISTINCT x) FROM pg_catalog.unnest(ids) x) <> pg_catalog.array_length(ids, 1) THEN
    RAISE EXCEPTION 'a record appears twice in the merge of % and %', survivor, others
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;

-- The rows of a merge's records, the survivor first and the others in the order given, checked:
-- all exist in this workspace and are live. lock: FOR UPDATE, in id order (two merges of the same
-- records wait for each other instead of deadlocking).
CREATE FUNCTION crm._merge_rows(kind text, survivor bigint, others bigint[], lock boolean)
RETURNS jsonb[]
LANGUAGE plpgsql
AS $$
DECLARE
  ws bigint := crm.current_workspace();
  ids bigint[] := survivor || others;
  tbl regclass;
  result_rows jsonb[];
  r record;
BEGIN
  PERFORM crm._merge_check(kind, survivor, others);
  tbl := crm._merge_table(kind);
  IF lock THEN
    EXECUTE pg_catalog.format('SELECT count(*) FROM (SELECT FROM %s t WHERE t.id = ANY ($1) ORDER BY t.id FOR UPDATE) l', tbl)
      USING ids;
  END IF;
  FOR r IN EXECUTE pg_catalog.format(
    'SELECT x.id, t.workspace_id, t.merged_into FROM pg_catalog.unnest($1) x(id) LEFT JOIN %s t ON t.id = x.id', tbl)
    USING ids
  LOOP
    IF r.workspace_id IS DISTINCT FROM ws THEN
      RAISE EXCEPTION '% % does not exist in workspace %', kind, r.id, ws
        USING ERRCODE = 'no_data_found';
    ELSIF r.merged_into IS NOT NULL THEN
      RAISE EXCEPTION '% % was merged into % %', kind, r.id, kind, r.merged_into
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'merge the live record (crm.resolve_id), or undo that merge first (crm.unmerge)';
    END IF;
  END LOOP;
  EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(pg_catalog.to_jsonb(t) ORDER BY x.n) '
                            'FROM pg_catalog.unnest($1) WITH ORDINALITY AS x(id, n) JOIN %s t ON t.id = x.id', tbl)
    INTO result_rows USING ids;
  RETURN result_rows;
END
$$;

-- The writing half of crm.merge, with the owner's rights (tombstones, the log, derived state);
-- EXECUTE is the right to merge (crm.grant_access(role, 'merge')).
CREATE FUNCTION crm._merge_apply(kind text, survivor bigint, others bigint[], choices jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());
  ids bigint[] := survivor || others;
  tbl regclass;
  plan jsonb;
  before jsonb;
  after jsonb;
  moved jsonb;
  written bigint[];
  assignments text;
  log_id bigint;
  noop boolean;
BEGIN
  PERFORM crm._merge_check(kind, survivor, others);
  tbl := crm._merge_table(kind);
  -- The same merge again is a no-op: every other record is already a tombstone of the survivor.
  -- The records and the tombstones that name one of the others, in one pass in id order: an
  -- unmerge locks the same rows the same way.
  EXECUTE pg_catalog.format('SELECT count(*) FROM (SELECT FROM %s t WHERE t.workspace_id = $3 '
                            'AND (t.id = ANY ($1) OR t.merged_into = ANY ($2)) ORDER BY t.id FOR UPDATE) l', tbl)
    USING ids, others, ws;
  EXECUTE pg_catalog.format(
    'SELECT NOT EXISTS (SELECT FROM pg_catalog.unnest($2) x(id) '
    '                   WHERE NOT EXISTS (SELECT FROM %1$s t WHERE t.id = x.id AND t.workspace_id = $3 AND t.merged_into = $1)) '
    '       AND EXISTS (SELECT FROM %1$s t WHERE t.id = $1 AND t.workspace_id = $3 AND t.merged_into IS NULL)', tbl)
    INTO noop USING survivor, others, ws;
  IF noop THEN
    SELECT l.id INTO log_id FROM crm.merge_log l
    WHERE l.workspace_id = ws AND l.kind = _merge_apply.kind AND l.survivor_id = survivor
      AND l.merged_ids @> others AND l.unmerged_at IS NULL
    ORDER BY l.id DESC LIMIT 1;
    RETURN pg_catalog.jsonb_build_object('kind', kind, 'survivor', survivor,
      'others', pg_catalog.to_jsonb(others), 'merge_id', log_id, 'noop', true);
  END IF;
  -- Locked above: the rows are read and checked.
  plan := crm._merge_plan(kind, survivor, others, choices, crm._merge_rows(kind, survivor, others, false));

  -- Every row this merge writes, as it was: the records, and the tombstones that named one of
  -- the others (they will name the survivor).
  EXECUTE pg_catalog.format(
    'SELECT pg_catalog.array_agg(t.id ORDER BY t.id), pg_catalog.jsonb_object_agg(t.id, pg_catalog.to_jsonb(t)) '
    'FROM (SELECT * FROM %s t WHERE t.id = ANY ($1) OR t.merged_into = ANY ($2) ORDER BY t.id FOR UPDATE) t', tbl)
    INTO written, before USING ids, others;
  -- What points at the others and moves: participants held by id (people); people and deals
  -- (companies). Locked, so that the log says what the merge moved.
  IF kind = 'person' THEN
    moved := pg_catalog.jsonb_build_object(
      'participant', (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(p.id, p.person_id) ORDER BY p.id), '[]')
                      FROM crm.participant p WHERE p.person_id = ANY (others) AND p.workspace_id = ws));
  ELSIF kind = 'deal' THEN
    moved := '{}';
  ELSE
    moved := pg_catalog.jsonb_build_object(
      'person', (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(p.id, p.company_id) ORDER BY p.id), '[]')
                 FROM (SELECT p.id, p.company_id FROM crm.person p WHERE p.company_id = ANY (others)
                       ORDER BY p.id FOR UPDATE) p),
      'deal', (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(d.id, d.company_id) ORDER BY d.id), '[]')
               FROM (SELECT d.id, d.company_id FROM crm.deal d WHERE d.company_id = ANY (others)
                     ORDER BY d.id FOR UPDATE) d));
  END IF;
  moved := moved || pg_catalog.jsonb_build_object(
    'duplicate_candidate', (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c) ORDER BY c.record_id, c.other_id), '[]')
                            FROM crm.duplicate_candidate c
                            WHERE c.kind = _merge_apply.kind AND (c.record_id = ANY (ids) OR c.other_id = ANY (ids))));

  -- One statement for the survivor and the tombstones: the record triggers see the addresses
  -- leave the others and join the survivor at once, and relink their participants once.
  SELECT pg_catalog.string_agg(pg_catalog.format('%1$I = CASE WHEN t.id = $1 THEN r.%1$I ELSE t.%1$I END', a.attname), ', ' ORDER BY a.attnum)
  INTO assignments
  FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
    AND a.attname NOT IN ('id', 'workspace_id', 'merged_into');
  PERFORM crm._merge_writes(true);
  EXECUTE pg_catalog.format('UPDATE %1$s t SET %2$s, merged_into = CASE WHEN t.id = $1 THEN NULL ELSE $1 END '
                            'FROM pg_catalog.jsonb_populate_record(NULL::%1$s, $3) r WHERE t.id = ANY ($2)',
                            tbl, assignments)
  USING survivor, ids, pg_catalog.jsonb_set(plan -> 'record', '{updated_at}', pg_catalog.to_jsonb(pg_catalog.now()));
  EXECUTE pg_catalog.format('UPDATE %s t SET merged_into = $1 WHERE t.merged_into = ANY ($2)', tbl) USING survivor, others;
  IF kind = 'company' THEN
    UPDATE crm.person p SET company_id = survivor WHERE p.company_id = ANY (others);
    UPDATE crm.deal d SET company_id = survivor WHERE d.company_id = ANY (others);
  END IF;
  PERFORM crm._merge_writes(false);
  -- Pairs of a tombstone mean nothing any more; the survivor's were scored again by its update.
  DELETE FROM crm.duplicate_candidate c
  WHERE c.kind = _merge_apply.kind AND (c.record_id = ANY (others) OR c.other_id = ANY (others));

  EXECUTE pg_catalog.format('SELECT pg_catalog.jsonb_object_agg(t.id, pg_catalog.to_jsonb(t)) FROM %s t WHERE t.id = ANY ($1)', tbl)
    INTO after USING written;
  INSERT INTO crm.merge_log (workspace_id, kind, survivor_id, merged_ids, decisions, before, after, moved, merged_by)
  VALUES (ws, kind, survivor, others, plan -> 'fields', before, after, moved, crm._outer_role())
  RETURNING id INTO log_id;
  PERFORM crm._merge_provenance(log_id);
  RETURN plan - 'record' || pg_catalog.jsonb_build_object('merge_id', log_id, 'dry_run', false,
                                                          'record', after -> survivor::text);
END
$$;

CREATE FUNCTION crm.merge(kind text, survivor bigint, others bigint[], choices jsonb DEFAULT '{}',
                          dry_run boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM crm._merge_check(kind, survivor, others);
  IF dry_run THEN
    RETURN crm._merge_plan(kind, survivor, others, choices, crm._merge_rows(kind, survivor, others, false))
           || '{"dry_run": true}';
  END IF;
  RETURN crm._merge_run(kind, survivor, others, choices);
END
$$;
COMMENT ON FUNCTION crm.merge(text, bigint, bigint[], jsonb, boolean) IS
  'merges up to 49 people or companies into the survivor in one transaction (dry_run: what it would do, writing nothing); returns each field''s decision, what moved and the merge id for crm.unmerge';

-- Plays a merge backwards: every record row as it was before, the participants linked to the
-- others by id back to them, and the duplicate pairs as they were. Refuses, listing the conflicts,
-- when a row the merge wrote has changed since (a later merge of the survivor: undo that first).
-- The writing half of crm.unmerge, with the owner's rights; EXECUTE is the right to merge.
CREATE FUNCTION crm._unmerge_apply(merge_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());
  m crm.merge_log;
  tbl regclass;
  ids bigint[];
  conflicts jsonb;
  assignments text;
  moved_back bigint := 0;
  n bigint;
BEGIN
  SELECT * INTO m FROM crm.merge_log l WHERE l.id = merge_id AND l.workspace_id = ws FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no merge % in workspace %', merge_id, ws
      USING ERRCODE = 'no_data_found', HINT = 'crm.merge_log lists the merges of this workspace';
  ELSIF m.unmerged_at IS NOT NULL THEN
    RAISE EXCEPTION 'merge % was undone at % by %', merge_id, m.unmerged_at, m.unmerged_by
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  tbl := crm._merge_table(m.kind);
  ids := ARRAY(SELECT k::bigint FROM pg_catalog.jsonb_object_keys(m.before) k ORDER BY 1);
  EXECUTE pg_catalog.format('SELECT count(*) FROM (SELECT FROM %s t WHERE t.id = ANY ($1) ORDER BY t.id FOR UPDATE) l', tbl)
    USING ids;

  -- What changed since the merge: a record row not as the merge left it, a reference that no
  -- longer names the survivor.
  EXECUTE pg_catalog.format($q$
    SELECT pg_catalog.jsonb_agg(c ORDER BY c ->> 'table', c ->> 'id') FROM (
      SELECT pg_catalog.jsonb_build_object('table', %2$L, 'id', e.k::bigint, 'conflict',
               CASE WHEN t.id IS NULL THEN 'deleted since the merge' ELSE 'changed since the merge' END,
               'fields', (SELECT pg_catalog.jsonb_agg(f.key ORDER BY f.key) FROM pg_catalog.jsonb_each(e.v) f
                          WHERE (pg_catalog.to_jsonb(t) -> f.key) IS DISTINCT FROM f.value)) AS c
      FROM pg_catalog.jsonb_each($1) e(k, v)
      LEFT JOIN %1$s t ON t.id = e.k::bigint
      WHERE t.id IS NULL OR pg_catalog.to_jsonb(t) <> e.v) x$q$, tbl, m.kind)
    INTO conflicts USING m.after;
  conflicts := coalesce(conflicts, '[]') || coalesce((
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('table', 'participant', 'id', p.id, 'conflict',
             'links to person ' || coalesce(p.person_id::text, 'none') || ', not to the survivor'))
    FROM pg_catalog.jsonb_array_elements(m.moved -> 'participant') x
    JOIN crm.participant p ON p.id = (x ->> 0)::bigint
    WHERE p.person_id IS DISTINCT FROM m.survivor_id), '[]') || coalesce((
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('table', 'person', 'id', p.id, 'conflict',
             'company ' || coalesce(p.company_id::text, 'none') || ', not the survivor'))
    FROM pg_catalog.jsonb_array_elements(m.moved -> 'person') x
    JOIN crm.person p ON p.id = (x ->> 0)::bigint
    WHERE p.company_id IS DISTINCT FROM m.survivor_id), '[]') || coalesce((
    SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('table', 'deal', 'id', d.id, 'conflict',
             'company ' || coalesce(d.company_id::text, 'none') || ', not the survivor'))
    FROM pg_catalog.jsonb_array_elements(m.moved -> 'deal') x
    JOIN crm.deal d ON d.id = (x ->> 0)::bigint
    WHERE d.company_id IS DISTINCT FROM m.survivor_id), '[]');
  IF pg_catalog.jsonb_array_length(conflicts) > 0 THEN
    RAISE EXCEPTION 'merge % cannot be undone: % row(s) changed since', merge_id, pg_catalog.jsonb_array_length(conflicts)
      USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = conflicts::text,
            HINT = 'undo later merges of these records first (crm.merge_log), or merge again as they are';
  END IF;

  -- Every column back, in one statement (the record triggers give the addresses back at once),
  -- then what pointed at the others.
  SELECT pg_catalog.string_agg(pg_catalog.format('%1$I = r.%1$I', a.attname), ', ' ORDER BY a.attnum)
  INTO assignments
  FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'id';
  PERFORM crm._merge_writes(true);
  EXECUTE pg_catalog.format('UPDATE %1$s t SET %2$s FROM pg_catalog.jsonb_each($1) e, '
                            'LATERAL pg_catalog.jsonb_populate_record(NULL::%1$s, e.value) r '
                            'WHERE t.id = r.id', tbl, assignments)
  USING m.before;
  -- Participants the others held by id (not by an address, which the records' triggers have
  -- given back already): the participant trigger keeps an id given when its address resolves to
  -- nobody.
  UPDATE crm.participant p SET person_id = (x ->> 1)::bigint
  FROM pg_catalog.jsonb_array_elements(m.moved -> 'participant') x
  WHERE p.id = (x ->> 0)::bigint AND p.person_id = m.survivor_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  moved_back := moved_back + n;
  UPDATE crm.person p SET company_id = (x ->> 1)::bigint
  FROM pg_catalog.jsonb_array_elements(m.moved -> 'person') x
  WHERE p.id = (x ->> 0)::bigint AND p.company_id = m.survivor_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  moved_back := moved_back + n;
  UPDATE crm.deal d SET company_id = (x ->> 1)::bigint
  FROM pg_catalog.jsonb_array_elements(m.moved -> 'deal') x
  WHERE d.id = (x ->> 0)::bigint AND d.company_id = m.survivor_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  moved_back := moved_back + n;
  PERFORM crm._merge_writes(false);
  -- The records' fields are as they were before the merge, and so is what recorded them.
  PERFORM crm._merge_provenance_undo(m);
  -- The duplicate pairs as they were (dismissals included); the records' triggers have scored
  -- the restored profiles again, and these rows say what users had decided about them.
  -- Only pairs of two live records: one with a record deleted or merged since means nothing.
  INSERT INTO crm.duplicate_candidate
  SELECT r.* FROM pg_catalog.jsonb_array_elements(m.moved -> 'duplicate_candidate') x,
       LATERAL pg_catalog.jsonb_populate_record(NULL::crm.duplicate_candidate, x) r
  WHERE (r.kind = 'person' AND 2 = (SELECT count(*) FROM crm.person p
                                    WHERE p.id IN (r.record_id, r.other_id) AND p.merged_into IS NULL))
     OR (r.kind = 'company' AND 2 = (SELECT count(*) FROM crm.company c
                                     WHERE c.id IN (r.record_id, r.other_id) AND c.merged_into IS NULL))
  ON CONFLICT (kind, record_id, other_id) DO UPDATE SET
    workspace_id = excluded.workspace_id, score = excluded.score, evidence = excluded.evidence,
    status = excluded.status, detected_at = excluded.detected_at, fingerprint = excluded.fingerprint,
    agreed = excluded.agreed;

  UPDATE crm.merge_log l SET unmerged_at = pg_catalog.now(), unmerged_by = crm._outer_role()
  WHERE l.id = merge_id;
  RETURN pg_catalog.jsonb_build_object('merge_id', merge_id, 'kind', m.kind, 'survivor', m.survivor_id,
                                       'restored', pg_catalog.to_jsonb(ids), 'references_back', moved_back);
END
$$;
-- The application's references are moved with the caller's rights (a trigger on the caller's
-- table never runs with the extension owner's), and logged by the owner's.
CREATE FUNCTION crm._merge_log_references(log_id bigint, refs jsonb) RETURNS void
LANGUAGE sql
AS $$
  UPDATE crm.merge_log l SET moved = l.moved || pg_catalog.jsonb_build_object('references', refs)
  WHERE l.id = log_id AND l.workspace_id = crm._require_workspace(crm.current_workspace())
    AND l.merged_by = crm._outer_role() AND NOT l.moved ? 'references';
$$;

-- A merge as every entry point runs it: the records with the owner's rights, then the
-- application's references with the caller's.
CREATE FUNCTION crm._merge_run(kind text, survivor bigint, others bigint[], choices jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  result jsonb := crm._merge_apply(kind, survivor, others, choices);
  moved jsonb;
BEGIN
  IF NOT (result ? 'noop') THEN
    moved := crm._merge_references_move(kind, survivor, others);
    PERFORM crm._merge_log_references((result ->> 'merge_id')::bigint, moved);
  END IF;
  RETURN result;
END
$$;

-- Undoes a merge: the application's references are checked and put back with the caller's rights,
-- the records with the owner's.
CREATE FUNCTION crm.unmerge(merge_id bigint) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  m crm.merge_log;
  conflicts jsonb;
  result jsonb;
BEGIN
  SELECT * INTO m FROM crm.merge_log l WHERE l.id = merge_id AND l.workspace_id = crm.current_workspace();
  IF FOUND AND m.unmerged_at IS NULL THEN
    conflicts := crm._merge_references_back(m.moved -> 'references', m.survivor_id, false);
    IF pg_catalog.jsonb_array_length(conflicts) > 0 THEN
      RAISE EXCEPTION 'merge % cannot be undone: % row(s) changed since', merge_id, pg_catalog.jsonb_array_length(conflicts)
        USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = conflicts::text,
              HINT = 'undo later merges of these records first (crm.merge_log), or merge again as they are';
    END IF;
  END IF;
  result := crm._unmerge_apply(merge_id);
  PERFORM crm._merge_references_back(m.moved -> 'references', m.survivor_id, true);
  RETURN result;
END
$$;
COMMENT ON FUNCTION crm.unmerge(bigint) IS
  'undoes a merge exactly: every row as before the merge, or an error listing what changed since';
-- References from an application's own tables to the records a merge joins (docs/MERGE.md): a
-- registered column that names one of the others names the survivor after the merge, and its
-- first value again after the unmerge. Rows are logged by the table's primary key.

CREATE TABLE crm.merge_reference (
  kind text NOT NULL CONSTRAINT merge_reference_kind CHECK (kind IN ('person', 'company', 'deal')),
  -- the table as a qualified name (text, not regclass, so a dump restores before the table does)
  table_name text NOT NULL,
  column_name name NOT NULL,
  key_columns name[] NOT NULL,
  registered_by text NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (kind, table_name, column_name)
);
COMMENT ON TABLE crm.merge_reference IS
  'columns of the application''s tables that hold record ids: merges move them to the survivor, unmerges back';

CREATE FUNCTION crm.register_merge_reference(kind text, ref_table regclass, ref_column name)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  keys name[];
  column_type regtype;
BEGIN
  IF crm._merge_table(kind) IS NULL THEN
    RAISE EXCEPTION 'references to % records cannot be registered', coalesce('"' || kind || '"', 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'register references to ''person'', ''company'' or ''deal''';
  END IF;
  SELECT a.atttypid::regtype INTO column_type FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = ref_table AND a.attname = ref_column AND a.attnum > 0 AND NOT a.attisdropped;
  IF column_type IS NULL THEN
    RAISE EXCEPTION '% has no column %', ref_table, ref_column USING ERRCODE = 'undefined_column';
  ELSIF column_type NOT IN ('bigint'::regtype, 'integer'::regtype) THEN
    RAISE EXCEPTION '%.% is %, not an id', ref_table, ref_column, column_type
      USING ERRCODE = 'datatype_mismatch', HINT = 'register a bigint column that holds record ids';
  END IF;
  SELECT pg_catalog.array_agg(a.attname ORDER BY k.n) INTO keys
  FROM pg_catalog.pg_index i
  CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
  WHERE i.indrelid = ref_table AND i.indisprimary;
  -- Merges move the column with the rights of whoever merges, but the declaration is for every
  -- workspace: only the table's owner makes it.
  IF NOT pg_catalog.pg_has_role(crm._outer_role(), (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = ref_table), 'MEMBER') THEN
    RAISE EXCEPTION 'only the owner of % may declare its references', ref_table
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF keys IS NULL THEN
    RAISE EXCEPTION '% has no primary key', ref_table
      USING ERRCODE = 'invalid_table_definition', HINT = 'a merge logs the rows it moves by their primary key';
  END IF;
  INSERT INTO crm.merge_reference (kind, table_name, column_name, key_columns, registered_by)
  VALUES (kind, ref_table::text, ref_column, keys, crm._outer_role())
  ON CONFLICT ON CONSTRAINT merge_reference_pkey DO UPDATE SET key_columns = excluded.key_columns;
END
$$;
COMMENT ON FUNCTION crm.register_merge_reference(text, regclass, name) IS
  'declares a column of an application table that holds ids of records of this kind: merges move it to the survivor';

CREATE FUNCTION crm.unregister_merge_reference(kind text, ref_table regclass, ref_column name)
RETURNS boolean
LANGUAGE sql
AS $$
  -- The owner's declaration: only the owner takes it back.
  WITH gone AS (DELETE FROM crm.merge_reference r
                WHERE r.kind = unregister_merge_reference.kind AND r.table_name = ref_table::text
                  AND r.column_name = ref_column
                  AND pg_catalog.pg_has_role(crm._outer_role(),
                                             (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = ref_table), 'MEMBER')
                RETURNING 1)
  SELECT EXISTS (SELECT FROM gone);
$$;

-- Rows of each registered column that name one of the others: {"<table>.<column>": count}, or
-- null for a table the caller cannot read.
CREATE FUNCTION crm._merge_references_count(kind text, others bigint[]) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r crm.merge_reference;
  n bigint;
  out jsonb := '{}';
BEGIN
  FOR r IN SELECT * FROM crm.merge_reference m WHERE m.kind = _merge_references_count.kind ORDER BY 2, 3 LOOP
    n := NULL;
    IF pg_catalog.has_table_privilege(r.table_name, 'SELECT') THEN
      EXECUTE pg_catalog.format('SELECT count(*) FROM %s WHERE %I = ANY ($1)', r.table_name, r.column_name)
        INTO n USING others;
    END IF;
    out := out || pg_catalog.jsonb_build_object(r.table_name || '.' || r.column_name, n);
  END LOOP;
  RETURN out;
END
$$;

-- Moves every registered column from the others to the survivor; returns what it moved:
-- [{"table", "column", "key_columns", "rows": [[key, from], ...]}].
CREATE FUNCTION crm._merge_references_move(kind text, survivor bigint, others bigint[]) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  r crm.merge_reference;
  key_list text;
  moved jsonb;
  out jsonb := '[]';
BEGIN
  FOR r IN SELECT * FROM crm.merge_reference m WHERE m.kind = _merge_references_move.kind ORDER BY 2, 3 LOOP
    SELECT pg_catalog.string_agg(pg_catalog.format('t.%I', k), ', ') INTO key_list FROM pg_catalog.unnest(r.key_columns) k;
    EXECUTE pg_catalog.format('SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(%1$s), t.%3$I)) '
                              'FROM (SELECT * FROM %2$s t WHERE t.%3$I = ANY ($1) FOR UPDATE) t',
                              key_list, r.table_name, r.column_name)
      INTO moved USING others;
    EXECUTE pg_catalog.format('UPDATE %1$s t SET %2$I = $1 WHERE t.%2$I = ANY ($2)', r.table_name, r.column_name)
      USING survivor, others;
    IF moved IS NOT NULL THEN
      out := out || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
        'table', r.table_name, 'column', r.column_name, 'key_columns', pg_catalog.to_jsonb(r.key_columns), 'rows', moved));
    END IF;
  END LOOP;
  RETURN out;
END
$$;

-- The rows moved (as _merge_references_move returned them) that no longer name the survivor:
-- [{"table", "key", "conflict"}]; or, with restore, sets them back.
CREATE FUNCTION crm._merge_references_back(moved jsonb, survivor bigint, restore boolean) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  ref jsonb;
  key_match text;
  conflicts jsonb := '[]';
  found jsonb;
BEGIN
  FOR ref IN SELECT x FROM pg_catalog.jsonb_array_elements(coalesce(moved, '[]')) x LOOP
    -- Keys compared as JSON, as they were logged (to_jsonb), whatever their type.
    SELECT pg_catalog.string_agg(pg_catalog.format('pg_catalog.to_jsonb(t.%I) = (r.value -> 0 -> %s)', k, n - 1), ' AND ')
    INTO key_match FROM pg_catalog.jsonb_array_elements_text(ref -> 'key_columns') WITH ORDINALITY AS c(k, n);
    IF restore THEN
      EXECUTE pg_catalog.format('UPDATE %1$s t SET %2$I = (r.value ->> 1)::bigint '
                                'FROM pg_catalog.jsonb_array_elements($1) r WHERE %3$s AND t.%2$I = $2',
                                ref ->> 'table', ref ->> 'column', key_match)
        USING ref -> 'rows', survivor;
    ELSE
      EXECUTE pg_catalog.format('SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(''table'', %1$L, ''key'', r.value -> 0, '
                                '''conflict'', ''names '' || coalesce(t.%2$I::text, ''nothing'') || '', not the survivor'')) '
                                'FROM pg_catalog.jsonb_array_elements($1) r JOIN %1$s t ON %3$s '
                                'WHERE t.%2$I IS DISTINCT FROM $2',
                                ref ->> 'table', ref ->> 'column', key_match)
        INTO found USING ref -> 'rows', survivor;
      conflicts := conflicts || coalesce(found, '[]');
    END IF;
  END LOOP;
  RETURN conflicts;
END
$$;
-- Merges as a workflow (docs/MERGE.md): requests that whoever reads may file, with their preview,
-- approved by a role with the merge access; and bulk merges of duplicate sets, each set on its own.

CREATE TABLE crm.merge_request (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT merge_request_kind CHECK (kind IN ('person', 'company', 'deal')),
  survivor_id bigint NOT NULL,
  other_ids bigint[] NOT NULL,
  choices jsonb NOT NULL DEFAULT '{}',
  preview jsonb NOT NULL,  -- the merge's preview when requested (crm.merge(..., dry_run => true))
  status text NOT NULL DEFAULT 'pending'
    CONSTRAINT merge_request_status CHECK (status IN ('pending', 'approved', 'rejected')),
  requested_by text NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  decided_by text,
  decided_at timestamptz,
  merge_id bigint REFERENCES crm.merge_log ON DELETE SET NULL
);
CREATE INDEX merge_request_pending_idx ON crm.merge_request (workspace_id, requested_at) WHERE status = 'pending';
COMMENT ON TABLE crm.merge_request IS
  'merges asked for, with their preview; crm.approve_merge carries one out, crm.reject_merge declines it';

CREATE FUNCTION crm._merge_request_file(kind text, survivor bigint, others bigint[], choices jsonb)
RETURNS bigint
LANGUAGE sql
AS $$
  INSERT INTO crm.merge_request (workspace_id, kind, survivor_id, other_ids, choices, preview, requested_by)
  VALUES (crm._require_workspace(crm.current_workspace()), kind, survivor, others, choices,
          crm.merge(kind, survivor, others, choices, dry_run => true), crm._outer_role())
  RETURNING id;
$$;

-- Files a request with its preview (a bad request fails here, as the merge would). The row is
-- written with the owner's rights: nobody else writes crm.merge_request.
CREATE FUNCTION crm.request_merge(kind text, survivor bigint, others bigint[], choices jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE sql
RETURN crm._merge_request_file(kind, survivor, others, coalesce(choices, '{}'));
COMMENT ON FUNCTION crm.request_merge(text, bigint, bigint[], jsonb) IS
  'asks for a merge (anyone who reads may): stores it with its preview, pending; returns the request id';

-- The request, locked (the owner's rights), checked pending and of this workspace.
CREATE FUNCTION crm._pending_merge_request(request_id bigint) RETURNS crm.merge_request
LANGUAGE plpgsql
AS $$
DECLARE
  r crm.merge_request;
BEGIN
  SELECT * INTO r FROM crm.merge_request m
  WHERE m.id = request_id AND m.workspace_id = crm._require_workspace(crm.current_workspace()) FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no merge request % in workspace %', request_id, crm.current_workspace()
      USING ERRCODE = 'no_data_found', HINT = 'crm.merge_request lists the requests of this workspace';
  ELSIF r.status <> 'pending' THEN
    RAISE EXCEPTION 'merge request % was % by % at %', request_id, r.status, r.decided_by, r.decided_at
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN r;
END
$$;

-- Marks a request decided (the owner's rights: nobody else writes crm.merge_request).
CREATE FUNCTION crm._merge_request_decided(request_id bigint, decision text, log_id bigint)
RETURNS void
LANGUAGE sql
AS $$
  UPDATE crm.merge_request
  SET status = decision, decided_by = crm._outer_role(), decided_at = pg_catalog.now(), merge_id = log_id
  WHERE id = request_id AND workspace_id = crm._require_workspace(crm.current_workspace()) AND status = 'pending'
    AND decision IN ('approved', 'rejected')
    AND (log_id IS NULL OR EXISTS (SELECT FROM crm.merge_log l WHERE l.id = log_id AND l.merged_by = crm._outer_role()));
$$;

-- Carries a pending request out, as crm.merge would (needs the merge access), and marks it.
CREATE FUNCTION crm.approve_merge(request_id bigint)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  r crm.merge_request := crm._pending_merge_request(request_id);
  result jsonb;
BEGIN
  result := crm._merge_run(r.kind, r.survivor_id, r.other_ids, r.choices);
  PERFORM crm._merge_request_decided(request_id, 'approved', (result ->> 'merge_id')::bigint);
  RETURN result || pg_catalog.jsonb_build_object('request_id', request_id);
END
$$;
COMMENT ON FUNCTION crm.approve_merge(bigint) IS
  'carries out a pending merge request (merge access) and marks it approved; returns what crm.merge returns';

CREATE FUNCTION crm.reject_merge(request_id bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  r crm.merge_request := crm._pending_merge_request(request_id);
BEGIN
  IF NOT pg_catalog.has_function_privilege('crm._merge_apply(text, bigint, bigint[], jsonb)', 'EXECUTE') THEN
    RAISE EXCEPTION 'rejecting merge request % needs the merge access', r.id
      USING ERRCODE = 'insufficient_privilege', HINT = 'crm.grant_access(role, ''merge'')';
  END IF;
  PERFORM crm._merge_request_decided(request_id, 'rejected', NULL);
END
$$;
COMMENT ON FUNCTION crm.reject_merge(bigint) IS 'declines a pending merge request (merge access)';

-- Merges every duplicate set of this workspace whose weakest open pair scores at least
-- min_score, each set in a subtransaction of its own: a set that fails (a record merged or
-- deleted meanwhile, a rule refusing) is reported and left as it was, the others are merged. A
-- set two of whose records a user said are not duplicates (a dismissed pair) is skipped.
-- The survivor is the record with the most interactions, then the oldest, then the lowest id.
CREATE FUNCTION crm.merge_sets(kind text, min_score float8)
RETURNS TABLE (set_id bigint, survivor bigint, others bigint[], score float8, outcome text, merge_id bigint, reason text)
LANGUAGE plpgsql
AS $$
DECLARE
  s record;
  result jsonb;
BEGIN
  PERFORM crm._merge_check(kind, 0, '{1}');  -- the same refusal of a kind as crm.merge's
  IF min_score IS NULL OR NOT (min_score > 0 AND min_score <= 1) THEN
    RAISE EXCEPTION 'min_score must be in (0, 1], not %', min_score
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR s IN
    WITH sets AS (
      SELECT d.set_id, pg_catalog.array_agg(d.record_id) AS ids
      FROM crm.duplicate_sets d
      WHERE d.kind = merge_sets.kind AND d.workspace_id = crm.current_workspace()
      GROUP BY d.set_id
    ), scored AS (
      SELECT x.set_id, x.ids,
             (SELECT min(c.score) FROM crm.duplicate_candidate c
              WHERE c.kind = merge_sets.kind AND c.status = 'open' AND c.record_id = ANY (x.ids) AND c.other_id = ANY (x.ids)) AS score
      FROM sets x
    )
    SELECT x.set_id, x.score, o.ids,
           EXISTS (SELECT FROM crm.duplicate_candidate c
                   WHERE c.kind = merge_sets.kind AND c.status = 'dismissed'
                     AND c.record_id = ANY (x.ids) AND c.other_id = ANY (x.ids)) AS dismissed
    FROM scored x
    CROSS JOIN LATERAL (
      SELECT pg_catalog.array_agg(r.id ORDER BY r.activity DESC, r.created_at, r.id) AS ids
      FROM (SELECT p.id, p.created_at, coalesce(g.interaction_count, 0) AS activity
            FROM crm.person p LEFT JOIN crm.person_signal g ON g.person_id = p.id
            WHERE merge_sets.kind = 'person' AND p.id = ANY (x.ids)
            UNION ALL
            SELECT c.id, c.created_at, coalesce(g.interaction_count, 0)
            FROM crm.company c LEFT JOIN crm.company_signal g ON g.company_id = c.id
            WHERE merge_sets.kind = 'company' AND c.id = ANY (x.ids)) r) o
    WHERE x.score >= min_score
    ORDER BY x.set_id
  LOOP
    set_id := s.set_id;
    survivor := s.ids[1];
    others := s.ids[2:];
    score := s.score;
    merge_id := NULL;
    reason := NULL;
    IF s.dismissed THEN
      outcome := 'skipped';
      reason := 'two of its records were dismissed as not duplicates';
      RETURN NEXT;
      CONTINUE;
    END IF;
    BEGIN
      result := crm._merge_run(kind, survivor, others, '{}');
      merge_id := (result ->> 'merge_id')::bigint;
      outcome := 'merged';
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE;  -- not a set's problem: no set can be merged
    WHEN OTHERS THEN
      outcome := 'failed';
      reason := SQLSTATE || ': ' || SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END
$$;
COMMENT ON FUNCTION crm.merge_sets(text, float8) IS
  'merges each duplicate set whose weakest open pair scores at least min_score into its most active record, each set on its own; one row per set';
ALTER TABLE crm.merge_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.merge_log
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.merge_request ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.merge_request
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
SELECT pg_catalog.pg_extension_config_dump('crm.merge_log', '');
SELECT pg_catalog.pg_extension_config_dump('crm.merge_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('crm.merge_request', '');
SELECT pg_catalog.pg_extension_config_dump('crm.merge_request_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('crm.merge_reference', '');

-- The oracle: one row per difference between stored state and a from-scratch recomputation.
-- Covers participant links (each participant's member, person and company against a fresh
-- resolution of its address), missing signal rows, and every stored attribute. A tombstone
-- (crm.merge) owns no address and has no signal row; an id that names one stands for the record
-- it was merged into. After every table it reads exists (src/sql/70_merge.sql adds merged_into).
-- Whole-table joins: hash joins, whatever the (possibly missing) statistics of tables filled in
-- this very transaction suggest.
CREATE OR REPLACE FUNCTION crm.verify_signals()
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

-- Record resolution (docs/RESOLVE.md): which record a free-text mention means. C++ parses the
-- mention and ranks (src/core/resolve, src/pg/match/resolve_functions.cpp); the lookups are the
-- SQL functions below, bound to pg_trgm's operators when this script runs. A tombstone's match
-- profile is empty (no name, no key), so nothing below ever finds one.
--
-- The searches and the evidence run with the owner's rights (SECURITY DEFINER,
-- src/sql/92_hardening.sql): under a workspace's row-level security a caller's query may not use
-- an index through an operator or expression that is not leakproof (&& on the keys, pg_trgm's %
-- and <%, a company id read out of a profile), and would read the whole workspace instead. They
-- read workspace ws only, after crm._require_workspace checked that the calling role may use it;
-- internal functions, granted to readers only.

-- The name a profile is searched by: a person's given and family names, a company's name, as
-- normalised when the record was written (crm.match_profile.fields, src/core/match/profile.hpp).
CREATE FUNCTION crm._profile_name(kind text, fields text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE kind
  WHEN 'person' THEN pg_catalog.btrim(pg_catalog.split_part(fields, U&'\001F', 1) || ' ' ||
                                      pg_catalog.split_part(fields, U&'\001F', 2))
  ELSE pg_catalog.split_part(fields, U&'\001F', 1) END;

-- Typo-tolerant name search (pg_trgm), one index per kind so that a company search never walks
-- the people's trigrams.
CREATE INDEX match_profile_person_name_idx ON crm.match_profile
  USING gin (crm._profile_name(kind, fields) gin_trgm_ops) WHERE kind = 'person';
CREATE INDEX match_profile_company_name_idx ON crm.match_profile
  USING gin (crm._profile_name(kind, fields) gin_trgm_ops) WHERE kind = 'company';
CREATE INDEX deal_name_idx ON crm.deal USING gin (pg_catalog.lower(name) gin_trgm_ops)
  WHERE merged_into IS NULL;
-- A company's deals: resolution's context, and the deletion of a company (ON DELETE SET NULL).
CREATE INDEX deal_company_idx ON crm.deal (company_id) WHERE company_id IS NOT NULL;

-- How alike a mention's name and a record's are, in [0, 1]: trigram similarity, or nine tenths
-- of the best match of the mention within the name ("acme" in "acme widgets").
CREATE FUNCTION crm._name_similarity(mention text, name text) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN GREATEST(similarity(mention, name)::float8, 0.9 * word_similarity(mention, name));

-- Whether a deal is still open, until deal stages are a workspace's ordered set (issue 14).
CREATE FUNCTION crm._deal_open(stage text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN stage IS NULL OR pg_catalog.lower(stage) !~ '(won|lost|closed)';

-- Whether a person's profile may be the person a mention names, among a company's people: the
-- name as part of theirs, or given names that are nicknames of one name (Bob, Robert).
CREATE FUNCTION crm._person_name_alike(person_name text, fields text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN word_similarity(person_name, crm._profile_name('person', fields)) >= 0.5
       OR crm.given_name_forms(pg_catalog.split_part(person_name, ' ', 1))
          && crm.given_name_forms(pg_catalog.split_part(fields, U&'\001F', 1));

-- The records worth scoring, first exactly: those sharing a blocking key with the mention
-- (addresses, phones, domains, a full name and its nicknames by the surname's sound, a company's
-- name), and the people and deals of the companies the mention names exactly (company_keys: the
-- keys of its company part's name and of its domains: few companies share one, and a LIMIT here
-- made the generic plan scan every profile). Each branch is capped at probe rows.
CREATE FUNCTION crm._resolve_exact(ws bigint, kinds text[], keys bigint[], person_name text,
                                   company_keys bigint[], people_of_companies boolean, probe integer)
RETURNS TABLE (kind text, record_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  WITH named AS MATERIALIZED (
    SELECT c.record_id FROM crm.match_profile c
    WHERE c.keys && company_keys AND c.kind = 'company' AND c.workspace_id = ws
      AND crm._require_workspace(ws) = ws)
  (SELECT p.kind, p.record_id FROM crm.match_profile p
   WHERE p.keys && _resolve_exact.keys AND p.kind = ANY (kinds) AND p.workspace_id = ws
     AND crm._require_workspace(ws) = ws
   LIMIT probe)
  UNION
  -- Per company, through its index: the generic plan cannot know how few companies are named.
  (SELECT 'person', x.id FROM named n
   CROSS JOIN LATERAL (SELECT x.id FROM crm.person x
                       JOIN crm.match_profile xp ON xp.kind = 'person' AND xp.record_id = x.id
                       WHERE x.company_id = n.record_id AND x.workspace_id = ws
                         AND crm._person_name_alike(person_name, xp.fields)) x
   WHERE 'person' = ANY (kinds) AND people_of_companies AND person_name <> ''
   LIMIT probe)
  UNION
  (SELECT 'deal', d.id FROM named n
   CROSS JOIN LATERAL (SELECT d.id FROM crm.deal d
                       WHERE d.company_id = n.record_id AND d.merged_into IS NULL AND d.workspace_id = ws) d
   WHERE 'deal' = ANY (kinds)
   LIMIT probe);
END;

-- Then, when nothing exact was convincing, by trigram similarity (pg_trgm): a company's or deal's
-- name (whole, or as part of a longer name), and the people and deals of the ten companies most
-- like the one named.
CREATE FUNCTION crm._resolve_fuzzy(ws bigint, kinds text[], person_name text, company_name text,
                                   people_company text, deal_name text, probe integer)
RETURNS TABLE (kind text, record_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  -- "bob at acme": the ten companies most like Acme ("Crouch Builders" is not every builder's).
  WITH alike AS MATERIALIZED (
    SELECT c.record_id FROM crm.match_profile c
    WHERE people_company <> '' AND c.kind = 'company' AND c.workspace_id = ws
      AND crm._require_workspace(ws) = ws AND people_company <% crm._profile_name(c.kind, c.fields)
    ORDER BY crm._name_similarity(people_company, crm._profile_name(c.kind, c.fields)) DESC
    LIMIT 10)
  (SELECT 'company', p.record_id FROM crm.match_profile p
   WHERE 'company' = ANY (kinds) AND company_name <> '' AND p.kind = 'company' AND p.workspace_id = ws
     AND crm._require_workspace(ws) = ws
     AND (crm._profile_name(p.kind, p.fields) % company_name
          OR company_name <% crm._profile_name(p.kind, p.fields))
   LIMIT probe)
  UNION
  (SELECT 'deal', d.id FROM crm.deal d
   WHERE 'deal' = ANY (kinds) AND deal_name <> '' AND d.merged_into IS NULL AND d.workspace_id = ws
     AND crm._require_workspace(ws) = ws
     AND (pg_catalog.lower(d.name) % pg_catalog.lower(deal_name)
          OR pg_catalog.lower(deal_name) <% pg_catalog.lower(d.name))
   LIMIT probe)
  UNION
  (SELECT 'person', x.id FROM alike n
   CROSS JOIN LATERAL (SELECT x.id FROM crm.person x
                       JOIN crm.match_profile xp ON xp.kind = 'person' AND xp.record_id = x.id
                       WHERE x.company_id = n.record_id AND x.workspace_id = ws
                         AND crm._person_name_alike(person_name, xp.fields)) x
   WHERE 'person' = ANY (kinds) AND person_name <> ''
   LIMIT probe)
  UNION
  (SELECT 'deal', d.id FROM alike n
   CROSS JOIN LATERAL (SELECT d.id FROM crm.deal d
                       WHERE d.company_id = n.record_id AND d.merged_into IS NULL AND d.workspace_id = ws) d
   WHERE 'deal' = ANY (kinds)
   LIMIT probe);
END;

-- The last resort for a person's name: trigram similarity over every full name.
CREATE FUNCTION crm._resolve_person_names(ws bigint, person_name text, probe integer)
RETURNS TABLE (kind text, record_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT 'person', p.record_id FROM crm.match_profile p
  WHERE p.kind = 'person' AND p.workspace_id = ws AND crm._require_workspace(ws) = ws
    AND crm._profile_name(p.kind, p.fields) % person_name
  LIMIT probe;
END;

-- The text evidence of people: name (-1 when the mention gave none), nickname, address, phone,
-- domain of an address or of their company, their company's name against the mention's, and the
-- name as normalised (C++ compares it letter by letter too: src/core/resolve/score.cpp).
CREATE FUNCTION crm._resolve_people(ws bigint, ids bigint[], person_name text, given_forms text[],
                                    last_name text, company_name text, emails text[], phones text[],
                                    domains text[], email_domains text[])
RETURNS TABLE (record_id bigint, name float8, nickname boolean, email boolean, phone boolean,
               domain boolean, email_domain boolean, company float8, profile_name text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT p.record_id,
         CASE WHEN person_name = '' THEN -1
              ELSE crm._name_similarity(person_name, crm._profile_name('person', p.fields)) END,
         given_forms <> '{}'
           AND crm.given_name_forms(pg_catalog.split_part(p.fields, U&'\001F', 1)) && given_forms
           AND (last_name = '' OR similarity(last_name, pg_catalog.split_part(p.fields, U&'\001F', 2)) >= 0.5),
         pg_catalog.string_to_array(pg_catalog.split_part(p.fields, U&'\001F', 3), ' ') && emails,
         pg_catalog.split_part(p.fields, U&'\001F', 4) = ANY (phones),
         pg_catalog.string_to_array(pg_catalog.split_part(p.fields, U&'\001F', 10), ' ') && domains
           OR coalesce(pg_catalog.split_part(p.company_fields, U&'\001F', 2) = ANY (domains), false),
         pg_catalog.string_to_array(pg_catalog.split_part(p.fields, U&'\001F', 10), ' ') && email_domains
           OR coalesce(pg_catalog.split_part(p.company_fields, U&'\001F', 2) = ANY (email_domains), false),
         CASE WHEN company_name = '' OR p.company_fields IS NULL THEN -1
              ELSE crm._name_similarity(company_name, crm._profile_name('company', p.company_fields)) END,
         crm._profile_name('person', p.fields)
  -- The company's profile by its key, once a person (OFFSET 0: not once a column that reads it).
  FROM (SELECT x.record_id, x.fields,
               (SELECT c.fields FROM crm.match_profile c
                WHERE c.kind = 'company'
                  AND c.record_id = NULLIF(pg_catalog.split_part(x.fields, U&'\001F', 9), '')::bigint) AS company_fields
        FROM crm.match_profile x
        WHERE x.kind = 'person' AND x.record_id = ANY (ids) AND x.workspace_id = ws
          AND crm._require_workspace(ws) = ws
        OFFSET 0) p;
END;

CREATE FUNCTION crm._resolve_companies(ws bigint, ids bigint[], company_name text, phones text[],
                                       domains text[], email_domains text[])
RETURNS TABLE (record_id bigint, name float8, nickname boolean, email boolean, phone boolean,
               domain boolean, email_domain boolean, company float8)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT p.record_id,
         CASE WHEN company_name = '' THEN -1
              ELSE crm._name_similarity(company_name, crm._profile_name(p.kind, p.fields)) END,
         false, false,
         pg_catalog.split_part(p.fields, U&'\001F', 3) = ANY (phones),
         pg_catalog.split_part(p.fields, U&'\001F', 2) = ANY (domains),
         pg_catalog.split_part(p.fields, U&'\001F', 2) = ANY (email_domains),
         -1::float8
  FROM crm.match_profile p
  WHERE p.kind = 'company' AND p.record_id = ANY (ids) AND p.workspace_id = ws
    AND crm._require_workspace(ws) = ws;
END;

CREATE FUNCTION crm._resolve_deals(ws bigint, ids bigint[], deal_name text, company_name text,
                                   domains text[], email_domains text[])
RETURNS TABLE (record_id bigint, name float8, nickname boolean, email boolean, phone boolean,
               domain boolean, email_domain boolean, company float8)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT d.id,
         CASE WHEN deal_name = '' THEN -1
              ELSE crm._name_similarity(pg_catalog.lower(deal_name), pg_catalog.lower(d.name)) END,
         false, false, false,
         coalesce(pg_catalog.split_part(d.company_fields, U&'\001F', 2) = ANY (domains), false),
         coalesce(pg_catalog.split_part(d.company_fields, U&'\001F', 2) = ANY (email_domains), false),
         CASE WHEN company_name = '' OR d.company_fields IS NULL THEN -1
              ELSE crm._name_similarity(company_name, crm._profile_name('company', d.company_fields)) END
  FROM (SELECT x.id, x.name,
               (SELECT c.fields FROM crm.match_profile c
                WHERE c.kind = 'company' AND c.record_id = x.company_id) AS company_fields
        FROM crm.deal x
        WHERE x.id = ANY (ids) AND x.workspace_id = ws AND x.merged_into IS NULL
          AND crm._require_workspace(ws) = ws
        OFFSET 0) d;
END;

-- The CRM context of the records still in contention: days since the last past interaction,
-- the member's connection strength, open deals (a person's: their company's), ownership.
CREATE FUNCTION crm._resolve_context(record_kind text, ids bigint[], member bigint)
RETURNS TABLE (record_id bigint, days float8, strength float8, open_deals bigint, owned boolean)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT r.id, pg_catalog.date_part('epoch', crm.now() - r.last_interaction_at) / 86400,
         coalesce(s.strength, 0),
         (SELECT pg_catalog.count(*) FROM crm.deal d
          WHERE d.company_id = r.company_id AND d.merged_into IS NULL AND crm._deal_open(d.stage)),
         coalesce(r.owner_member_id = member, false)
  FROM crm.person_overview r
  LEFT JOIN crm.connection_strength s ON s.person_id = r.id AND s.member_id = member
  WHERE record_kind = 'person' AND r.id = ANY (ids)
  UNION ALL
  SELECT r.id, pg_catalog.date_part('epoch', crm.now() - r.last_interaction_at) / 86400,
         coalesce(s.strength, 0),
         (SELECT pg_catalog.count(*) FROM crm.deal d
          WHERE d.company_id = r.id AND d.merged_into IS NULL AND crm._deal_open(d.stage)),
         coalesce(r.owner_member_id = member, false)
  FROM crm.company_overview r
  LEFT JOIN crm.company_connection_strength s ON s.company_id = r.id AND s.member_id = member
  WHERE record_kind = 'company' AND r.id = ANY (ids)
  UNION ALL
  SELECT d.id, pg_catalog.date_part('epoch', crm.now() - r.last_interaction_at) / 86400,
         coalesce(s.strength, 0),
         CASE WHEN crm._deal_open(d.stage) THEN 1 ELSE 0 END::bigint,
         coalesce(d.owner_member_id = member, false)
  FROM crm.deal d
  LEFT JOIN crm.company_overview r ON r.id = d.company_id
  LEFT JOIN crm.company_connection_strength s ON s.company_id = d.company_id AND s.member_id = member
  WHERE record_kind = 'deal' AND d.id = ANY (ids);
END;

CREATE FUNCTION crm.resolve(mention text, hints jsonb DEFAULT '{}',
                            kinds text[] DEFAULT '{person,company,deal}', max_results integer DEFAULT 5)
RETURNS TABLE (kind text, record_id bigint, score float8, match_level text, match_key text,
               evidence jsonb, ambiguous boolean)
  AS 'MODULE_PATHNAME', 'crm_resolve' LANGUAGE C STABLE STRICT
  SET pg_trgm.similarity_threshold = 0.4 SET pg_trgm.word_similarity_threshold = 0.5 SET jit = off;
COMMENT ON FUNCTION crm.resolve(text, jsonb, text[], integer) IS
  'the records of this workspace a free-text mention (a name, "bob at acme", an email address, a phone number, a domain) may mean, best first, with hints {email, domain, phone, company, member}: score, match_level (exact, strong, possible, name_only), match_key (what agreed), evidence, and ambiguous when the best two are too close to tell';

CREATE FUNCTION crm.resolve_why(mention text, hints jsonb, kind text, record_id bigint)
RETURNS jsonb
  AS 'MODULE_PATHNAME', 'crm_resolve_why' LANGUAGE C STABLE STRICT
  SET pg_trgm.similarity_threshold = 0.4 SET pg_trgm.word_similarity_threshold = 0.5 SET jit = off;
COMMENT ON FUNCTION crm.resolve_why(text, jsonb, text, bigint) IS
  'why crm.resolve returns a record for a mention, or why not: how it was found (or that it was not), each piece of evidence, its score, rank and level';

-- Field provenance and the write policy (docs/ENRICHMENT.md). Every automated write of a record
-- field goes through crm.enrich (merges record theirs in crm._merge_apply): it leaves a provenance
-- row, respects the user's own values and the field's policy, and turns a value it may not write
-- into a suggestion. A user's own UPDATE is recorded by crm._field_written (C), so no automated
-- source changes that field again until the user clears it.

-- One row per field written, user and automated writes alike: what field_history and
-- field_source read, and the update volume the quality report watches.
CREATE TABLE crm.field_provenance (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT field_provenance_kind CHECK (kind IN ('person', 'company', 'deal')),
  record_id bigint NOT NULL,
  field text NOT NULL,
  value jsonb,
  source text NOT NULL,
  source_kind text NOT NULL
    CONSTRAINT field_provenance_source_kind CHECK (source_kind IN ('user', 'import', 'api', 'rule', 'ai', 'merge')),
  confidence float8 NOT NULL CONSTRAINT field_provenance_confidence CHECK (confidence BETWEEN 0 AND 1),
  observed_at timestamptz NOT NULL,
  written_at timestamptz NOT NULL,
  actor text NOT NULL
);
-- A field's latest row is one backward index probe.
CREATE INDEX field_provenance_field_idx ON crm.field_provenance (kind, record_id, field, id);
COMMENT ON TABLE crm.field_provenance IS
  'every write of a record field: the value, its source and source kind (user, import, api, rule, ai, merge), confidence, when it was observed and written, and by which role; written by the extension only';

-- Policies per field and source; '*' stands for any. Without a row: fill_if_empty.
CREATE TABLE crm.field_policy (
  workspace_id bigint NOT NULL DEFAULT crm.current_workspace() REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT field_policy_kind CHECK (kind IN ('person', 'company', 'deal')),
  field text NOT NULL,
  source text NOT NULL DEFAULT '*',
  policy text NOT NULL
    CONSTRAINT field_policy_policy CHECK (policy IN ('never', 'fill_if_empty', 'overwrite_if_more_confident', 'always')),
  PRIMARY KEY (workspace_id, kind, field, source)
);
COMMENT ON TABLE crm.field_policy IS
  'how an automated source may write a field: never, fill_if_empty (the default), overwrite_if_more_confident or always; field and source may be ''*''. A user''s own value is never overwritten, whatever the policy';

CREATE TABLE crm.field_suggestion (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT field_suggestion_kind CHECK (kind IN ('person', 'company', 'deal')),
  record_id bigint NOT NULL,
  field text NOT NULL,
  value jsonb NOT NULL,
  source text NOT NULL,
  source_kind text NOT NULL,
  confidence float8 NOT NULL,
  reason text NOT NULL,
  status text NOT NULL DEFAULT 'pending'
    CONSTRAINT field_suggestion_status CHECK (status IN ('pending', 'accepted', 'rejected')),
  suggested_at timestamptz NOT NULL,
  decided_at timestamptz,
  decided_by text
);
-- One row per value a source offered for a field: offered again, it is the same suggestion, and
-- a rejected one stays rejected. md5: a long value would not fit a btree entry.
CREATE UNIQUE INDEX field_suggestion_offer_idx
  ON crm.field_suggestion (kind, record_id, field, source, pg_catalog.md5(value::text));
CREATE INDEX field_suggestion_pending_idx ON crm.field_suggestion (workspace_id, kind, record_id)
  WHERE status = 'pending';
COMMENT ON TABLE crm.field_suggestion IS
  'values an automated source offered but could not write (a user''s value, the field''s policy, less confidence): pending until crm.accept_suggestion or crm.reject_suggestion; a rejected value never comes back from the same source';

CREATE TABLE crm.enrichment_opt_out (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT enrichment_opt_out_kind CHECK (kind IN ('person', 'company', 'deal')),
  record_id bigint NOT NULL,
  opted_out_at timestamptz NOT NULL,
  actor text NOT NULL,
  PRIMARY KEY (kind, record_id)
);
COMMENT ON TABLE crm.enrichment_opt_out IS
  'records that refuse every automated write and suggestion (crm.set_enrichment_opt_out)';

CREATE FUNCTION crm._enrich_writes(on_off boolean) RETURNS void
  AS 'MODULE_PATHNAME', 'crm_enrich_writes' LANGUAGE C;

CREATE FUNCTION crm._enrich_decision(policy text, current_empty boolean, current_kind text,
                                     current_confidence float8, proposal_kind text, confidence float8,
                                     same_value boolean, rejected_before boolean, opted_out boolean,
                                     backward boolean, OUT outcome text, OUT reason text)
  AS 'MODULE_PATHNAME', 'crm_enrich_decision' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION crm._field_written() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_field_written' LANGUAGE C;
CREATE TRIGGER person_field_written AFTER UPDATE ON crm.person
  FOR EACH ROW EXECUTE FUNCTION crm._field_written('person');
CREATE TRIGGER company_field_written AFTER UPDATE ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._field_written('company');
CREATE TRIGGER deal_field_written AFTER UPDATE ON crm.deal
  FOR EACH ROW EXECUTE FUNCTION crm._field_written('deal');

-- A deleted record's provenance, suggestions and opt-out go with it.
CREATE FUNCTION crm._field_records_deleted() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM crm.field_provenance p USING old_rows o WHERE p.kind = TG_ARGV[0] AND p.record_id = o.id;
  DELETE FROM crm.field_suggestion s USING old_rows o WHERE s.kind = TG_ARGV[0] AND s.record_id = o.id;
  DELETE FROM crm.enrichment_opt_out x USING old_rows o WHERE x.kind = TG_ARGV[0] AND x.record_id = o.id;
  RETURN NULL;
END
$$;
CREATE FUNCTION crm._field_records_truncated() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM crm.field_provenance p WHERE p.kind = TG_ARGV[0];
  DELETE FROM crm.field_suggestion s WHERE s.kind = TG_ARGV[0];
  DELETE FROM crm.enrichment_opt_out x WHERE x.kind = TG_ARGV[0];
  RETURN NULL;
END
$$;
CREATE TRIGGER person_fields_deleted AFTER DELETE ON crm.person
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._field_records_deleted('person');
CREATE TRIGGER company_fields_deleted AFTER DELETE ON crm.company
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._field_records_deleted('company');
CREATE TRIGGER deal_fields_deleted AFTER DELETE ON crm.deal
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._field_records_deleted('deal');
CREATE TRIGGER person_fields_truncated AFTER TRUNCATE ON crm.person
  FOR EACH STATEMENT EXECUTE FUNCTION crm._field_records_truncated('person');
CREATE TRIGGER company_fields_truncated AFTER TRUNCATE ON crm.company
  FOR EACH STATEMENT EXECUTE FUNCTION crm._field_records_truncated('company');
CREATE TRIGGER deal_fields_truncated AFTER TRUNCATE ON crm.deal
  FOR EACH STATEMENT EXECUTE FUNCTION crm._field_records_truncated('deal');

-- Nothing to keep: NULL, JSON null, blank text, an empty list or object (as merges count it).
CREATE FUNCTION crm._field_empty(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN NOT crm._merge_given(v);

-- A field of a record as jsonb: a column, or "attributes.<key>".
CREATE FUNCTION crm._field_value(rec jsonb, field text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN pg_catalog.starts_with(field, 'attributes.')
            THEN rec -> 'attributes' -> pg_catalog.substr(field, 12)
            ELSE rec -> field END;

-- The provenance of the value a field holds now: its latest row, if that row wrote this value.
-- A value no row accounts for (written before provenance, or while triggers were off) has none:
-- it is treated as a user's.
CREATE FUNCTION crm._field_current_source(kind text, record_id bigint, field text, current_value jsonb)
RETURNS crm.field_provenance
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT p.* FROM (SELECT p.* FROM crm.field_provenance p
                   WHERE p.kind = _field_current_source.kind AND p.record_id = _field_current_source.record_id
                     AND p.field = _field_current_source.field
                   ORDER BY p.id DESC LIMIT 1) p
  WHERE p.value IS NOT DISTINCT FROM _field_current_source.current_value
     OR (crm._field_empty(p.value) AND crm._field_empty(_field_current_source.current_value));
END;

-- The fields crm.enrich accepts for a kind: every column but identity and bookkeeping.
CREATE FUNCTION crm._enrichable_columns(kind text) RETURNS text[]
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum)
  FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = crm._merge_table(_enrichable_columns.kind) AND a.attnum > 0 AND NOT a.attisdropped
    AND a.attgenerated = ''
    AND a.attname NOT IN ('id', 'workspace_id', 'created_at', 'updated_at', 'merged_into', 'attributes');
END;

-- The policy for a field and a source: the most specific row, else fill_if_empty.
CREATE FUNCTION crm._field_policy(ws bigint, kind text, field text, source text) RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT coalesce((SELECT p.policy FROM crm.field_policy p
                   WHERE p.workspace_id = _field_policy.ws AND p.kind = _field_policy.kind
                     AND p.field IN (_field_policy.field, '*') AND p.source IN (_field_policy.source, '*')
                   ORDER BY p.field = '*', p.source = '*' LIMIT 1), 'fill_if_empty');
END;

-- The table of a kind of record, or 22023 for any other kind (the enrichment functions' check).
CREATE FUNCTION crm._record_table(kind text) RETURNS regclass
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  IF kind IS NULL OR kind NOT IN ('person', 'company', 'deal') THEN
    RAISE EXCEPTION 'unknown record kind %', coalesce('"' || pg_catalog.left(kind, 40) || '"', 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'use ''person'', ''company'' or ''deal''';
  END IF;
  RETURN crm._merge_table(kind);
END
$$;

CREATE FUNCTION crm._enrich_check(kind text, id bigint, "values" jsonb, source text, confidence float8,
                                  source_kind text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM crm._record_table(kind);
  IF id IS NULL THEN
    RAISE EXCEPTION 'id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  ELSIF "values" IS NULL OR pg_catalog.jsonb_typeof("values") <> 'object' THEN
    RAISE EXCEPTION 'values must be a JSON object of field names and values'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'for example {"title": "CTO", "attributes": {"tier": "gold"}}';
  ELSIF source IS NULL OR pg_catalog.btrim(source) = '' OR pg_catalog.length(source) > 200 THEN
    RAISE EXCEPTION 'source must name where the values come from, in 1 to 200 characters'
      USING ERRCODE = 'invalid_parameter_value';
  ELSIF confidence IS NULL OR NOT (confidence BETWEEN 0 AND 1) THEN
    RAISE EXCEPTION 'confidence must be between 0 and 1, not %', coalesce(confidence::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  ELSIF source_kind IS NULL OR source_kind NOT IN ('user', 'import', 'api', 'rule', 'ai') THEN
    RAISE EXCEPTION 'unknown source kind %', coalesce('"' || pg_catalog.left(source_kind, 40) || '"', 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'use ''import'', ''api'', ''rule'' or ''ai'' (a user writes with UPDATE; merges write their own)';
  END IF;
END
$$;

-- The values offered, one entry per field: {"attributes": {"k": v}} becomes "attributes.k".
CREATE FUNCTION crm._enrich_fields("values" jsonb) RETURNS TABLE (field text, value jsonb)
LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
  SELECT e.key, e.value FROM pg_catalog.jsonb_each(_enrich_fields."values") e
  WHERE NOT (e.key = 'attributes' AND pg_catalog.jsonb_typeof(e.value) = 'object')
  UNION ALL
  SELECT 'attributes.' || a.key, a.value
  FROM pg_catalog.jsonb_each(_enrich_fields."values") e, pg_catalog.jsonb_each(e.value) a
  WHERE e.key = 'attributes' AND pg_catalog.jsonb_typeof(e.value) = 'object';
END;

-- crm.enrich for a workspace the caller has been checked for (crm.enrich; the enrichers' write
-- trigger, for the workspace of the rows a role could write). for_role: the role the write is
-- for, which must hold UPDATE on every field offered (NULL: the extension's own rules).
CREATE FUNCTION crm._enrich_record(ws bigint, kind text, id bigint, "values" jsonb, source text, confidence float8,
                                   source_kind text, observed_at timestamptz, for_role text)
RETURNS TABLE (field text, outcome text, reason text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  at constant timestamptz := crm.now();
  tbl regclass;
  columns text[];
  rec jsonb;
  f record;
  typed jsonb;
  current_value jsonb;
  cur crm.field_provenance;
  opted_out boolean;
  decision record;
  policy text;
  column_values jsonb := '{}';
  attribute_values jsonb := '{}';
  applied jsonb := '{}';
  assignments text;
BEGIN
  PERFORM crm._enrich_check(_enrich_record.kind, _enrich_record.id, _enrich_record."values", _enrich_record.source, _enrich_record.confidence,
                            _enrich_record.source_kind);
  tbl := crm._merge_table(_enrich_record.kind);
  columns := crm._enrichable_columns(_enrich_record.kind);
  -- Running with the owner's rights, write no column the role could not UPDATE itself.
  IF for_role IS NOT NULL THEN
    SELECT e.field INTO f FROM crm._enrich_fields(_enrich_record."values") e
    WHERE NOT pg_catalog.has_column_privilege(for_role, tbl,
            CASE WHEN pg_catalog.starts_with(e.field, 'attributes.') THEN 'attributes'
                 WHEN e.field = ANY (columns) THEN e.field ELSE 'id' END, 'UPDATE')
    ORDER BY e.field LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'permission denied: role % may not update %.%', for_role, tbl, pg_catalog.left(f.field, 63)
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  -- The record, locked: enrichers and users writing it at once take turns, and each decides on
  -- what the other committed.
  EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(t) FROM %s t WHERE t.id = $1 AND t.workspace_id = $2 FOR UPDATE', tbl)
    INTO rec USING _enrich_record.id, ws;
  IF rec IS NULL THEN
    RAISE EXCEPTION '% % does not exist in workspace %', _enrich_record.kind, _enrich_record.id, ws USING ERRCODE = 'no_data_found';
  ELSIF rec ? 'merged_into' AND rec ->> 'merged_into' IS NOT NULL THEN
    RAISE EXCEPTION '% % was merged into % %', _enrich_record.kind, _enrich_record.id, _enrich_record.kind, rec ->> 'merged_into'
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'enrich the live record (crm.resolve_id)';
  END IF;
  opted_out := EXISTS (SELECT FROM crm.enrichment_opt_out x WHERE x.kind = _enrich_record.kind AND x.record_id = _enrich_record.id);

  FOR f IN SELECT e.field, e.value FROM crm._enrich_fields(_enrich_record."values") e ORDER BY e.field LOOP
    IF pg_catalog.starts_with(f.field, 'attributes.') THEN
      IF pg_catalog.length(f.field) = 11 THEN
        RAISE EXCEPTION 'an attribute needs a name' USING ERRCODE = 'invalid_parameter_value';
      END IF;
      typed := f.value;
    ELSIF f.field = ANY (columns) THEN
      -- Through the column's type, as Postgres casts it: '42' and 42 are the same employee count.
      BEGIN
        EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(r) -> $2 FROM pg_catalog.jsonb_populate_record(NULL::%s, $1) r', tbl)
          INTO typed USING pg_catalog.jsonb_build_object(f.field, f.value), f.field;
      EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'the value for %.% is not valid: %', _enrich_record.kind, f.field, SQLERRM
          USING ERRCODE = 'invalid_parameter_value';
      END;
    ELSE
      RAISE EXCEPTION '% has no field "%"', _enrich_record.kind, pg_catalog.left(f.field, 63)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = pg_catalog.format('use one of %s, or "attributes": {...}', pg_catalog.array_to_string(columns, ', '));
    END IF;
    -- A picklist's label as it is stored ("MQL" -> "marketing qualified lead"), or 22023.
    IF pg_catalog.jsonb_typeof(typed) = 'string'
       AND EXISTS (SELECT FROM crm.picklist l WHERE l.workspace_id = ws AND l.kind = _enrich_record.kind AND l.field = f.field) THEN
      typed := pg_catalog.to_jsonb(crm._label_value(ws, _enrich_record.kind, f.field, typed #>> '{}'));
    END IF;
    field := f.field;
    IF crm._field_empty(typed) THEN
      outcome := 'unchanged';
      reason := 'no value offered';
      RETURN NEXT;
      CONTINUE;
    END IF;
    current_value := crm._field_value(rec, f.field);
    cur := crm._field_current_source(_enrich_record.kind, _enrich_record.id, f.field, current_value);
    policy := crm._field_policy(ws, _enrich_record.kind, f.field, _enrich_record.source);
    -- An AI attribute replaces its own earlier value (its inputs changed), unless in review mode.
    IF _enrich_record.source_kind = 'ai' AND cur.source = _enrich_record.source AND policy <> 'never' THEN
      policy := 'always';
    END IF;
    decision := crm._enrich_decision(
      policy, crm._field_empty(current_value),
      cur.source_kind, cur.confidence, _enrich_record.source_kind, _enrich_record.confidence,
      current_value IS NOT DISTINCT FROM typed,
      EXISTS (SELECT FROM crm.field_suggestion s
              WHERE s.kind = _enrich_record.kind AND s.record_id = _enrich_record.id AND s.field = f.field
                AND s.source = _enrich_record.source AND pg_catalog.md5(s.value::text) = pg_catalog.md5(typed::text)
                AND s.status = 'rejected'),
      opted_out,
      -- Automated writes only move an ordered picklist forward.
      NOT crm._field_empty(current_value)
        AND crm._label_rank(ws, _enrich_record.kind, f.field, current_value #>> '{}') IS NOT NULL
        AND coalesce(crm._label_rank(ws, _enrich_record.kind, f.field, typed #>> '{}')
                     <= crm._label_rank(ws, _enrich_record.kind, f.field, current_value #>> '{}'), true));
    outcome := decision.outcome;
    reason := decision.reason;
    IF decision.outcome = 'applied' THEN
      applied := applied || pg_catalog.jsonb_build_object(f.field, typed);
      IF pg_catalog.starts_with(f.field, 'attributes.') THEN
        attribute_values := attribute_values || pg_catalog.jsonb_build_object(pg_catalog.substr(f.field, 12), typed);
      ELSE
        column_values := column_values || pg_catalog.jsonb_build_object(f.field, typed);
      END IF;
    ELSIF decision.outcome = 'suggested' THEN
      INSERT INTO crm.field_suggestion (workspace_id, kind, record_id, field, value, source, source_kind,
                                        confidence, reason, suggested_at)
      VALUES (ws, _enrich_record.kind, _enrich_record.id, f.field, typed, _enrich_record.source, _enrich_record.source_kind, _enrich_record.confidence,
              decision.reason, at)
      ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEXT;
  END LOOP;

  IF applied = '{}' THEN
    RETURN;  -- nothing written: no updated_at churn, no provenance
  END IF;
  SELECT pg_catalog.string_agg(pg_catalog.format('%1$I = r.%1$I', k), ', ' ORDER BY k)
  INTO assignments FROM pg_catalog.jsonb_object_keys(column_values) k;
  PERFORM crm._enrich_writes(true);
  EXECUTE pg_catalog.format('UPDATE %1$s t SET %2$s attributes = t.attributes || $2, updated_at = pg_catalog.now() '
                            'FROM pg_catalog.jsonb_populate_record(NULL::%1$s, $1) r WHERE t.id = $3 '
                            'RETURNING pg_catalog.to_jsonb(t)',
                            tbl, coalesce(assignments || ', ', ''))
    INTO rec USING column_values, attribute_values, _enrich_record.id;
  PERFORM crm._enrich_writes(false);
  IF rec IS NULL THEN
    RAISE EXCEPTION 'a trigger on % refused the write of % %', tbl, _enrich_record.kind, _enrich_record.id
      USING ERRCODE = 'triggered_action_exception';
  END IF;
  -- The values as stored: a BEFORE trigger (a merged company's survivor, a picklist) may have
  -- changed what was offered.
  INSERT INTO crm.field_provenance (workspace_id, kind, record_id, field, value, source, source_kind,
                                    confidence, observed_at, written_at, actor)
  SELECT ws, _enrich_record.kind, _enrich_record.id, a.key, crm._field_value(rec, a.key), _enrich_record.source,
         _enrich_record.source_kind, _enrich_record.confidence, coalesce(_enrich_record.observed_at, at), at, crm._outer_role()
  FROM pg_catalog.jsonb_each(applied) a
  ORDER BY a.key;
END
$$;
CREATE FUNCTION crm.enrich(kind text, id bigint, "values" jsonb, source text, confidence float8 DEFAULT 1,
                           source_kind text DEFAULT 'api', observed_at timestamptz DEFAULT NULL)
RETURNS TABLE (field text, outcome text, reason text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
  -- A user's own value is written with UPDATE (or a suggestion accepted): declared through here
  -- it would pass every lock and policy.
  IF enrich.source_kind = 'user' THEN
    RAISE EXCEPTION 'crm.enrich offers automated values; a user''s own value is written with UPDATE'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'use source kind ''import'', ''api'', ''rule'' or ''ai''';
  ELSIF enrich.source ~ '^(rule|merge):' OR enrich.source = 'user' THEN
    -- The extension's own sources: their policies and unmerge's clean-up are theirs alone.
    RAISE EXCEPTION 'source "%" is reserved for the extension''s own rules and merges', pg_catalog.left(enrich.source, 60)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'name your source without the prefix rule: or merge:';
  END IF;
  -- SECURITY DEFINER: the caller's workspace and column privileges are checked.
  RETURN QUERY
  SELECT * FROM crm._enrich_record(crm._require_workspace(crm.current_workspace()), enrich.kind, enrich.id,
                                   enrich."values", enrich.source, enrich.confidence, enrich.source_kind,
                                   enrich.observed_at, crm._outer_role());
END
$$;
COMMENT ON FUNCTION crm.enrich(text, bigint, jsonb, text, float8, text, timestamptz) IS
  'offers values for a record''s fields from a source (kind api, import, rule or ai) with a confidence: each is written if the field''s policy allows and no user''s value is in the way, else kept as a suggestion; returns each field''s outcome (applied, unchanged, suggested, rejected_before, opted_out) and why. Re-offering the same values writes nothing';

CREATE FUNCTION crm.field_history(kind text, id bigint, field text DEFAULT NULL)
RETURNS SETOF crm.field_provenance
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT p.* FROM crm.field_provenance p
  WHERE p.kind = field_history.kind AND p.record_id = field_history.id
    AND (field_history.field IS NULL OR p.field = field_history.field)
  ORDER BY p.field, p.id;
END;
COMMENT ON FUNCTION crm.field_history(text, bigint, text) IS
  'every recorded write of a record''s field (or of all its fields), oldest first';

CREATE FUNCTION crm.field_source(kind text, id bigint, field text)
RETURNS TABLE (value jsonb, source text, source_kind text, confidence float8, observed_at timestamptz,
               written_at timestamptz, actor text, users boolean)
LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_column
DECLARE
  rec jsonb;
  cur crm.field_provenance;
BEGIN
  PERFORM crm._record_table(kind);
  EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(t) FROM %s t WHERE t.id = $1', crm._merge_table(kind))
    INTO rec USING id;
  IF rec IS NULL THEN
    RETURN;
  END IF;
  value := crm._field_value(rec, field);
  cur := crm._field_current_source(field_source.kind, field_source.id, field_source.field, value);
  source := cur.source;
  source_kind := cur.source_kind;
  confidence := cur.confidence;
  observed_at := cur.observed_at;
  written_at := cur.written_at;
  actor := cur.actor;
  -- No automated source may change it: a user wrote it, or nothing says who did.
  users := NOT crm._field_empty(value) AND coalesce(cur.source_kind = 'user', true);
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION crm.field_source(text, bigint, text) IS
  'where a field''s current value came from (source, source kind, confidence, when, by whom) and whether it is a user''s, which no automated source changes; no source when nothing recorded the value (it then counts as a user''s)';

CREATE FUNCTION crm.set_field_policy(kind text, field text, policy text, source text DEFAULT '*')
RETURNS void
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
  PERFORM crm._record_table(kind);
  IF field IS NULL OR NOT (field = '*' OR field = ANY (crm._enrichable_columns(kind))
                              OR (pg_catalog.starts_with(field, 'attributes.') AND pg_catalog.length(field) > 11)) THEN
    RAISE EXCEPTION '% has no field %', kind, coalesce('"' || pg_catalog.left(field, 63) || '"', 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = pg_catalog.format('use ''*'', one of %s, or ''attributes.<name>''',
                                     pg_catalog.array_to_string(crm._enrichable_columns(kind), ', '));
  ELSIF policy IS NULL OR policy NOT IN ('never', 'fill_if_empty', 'overwrite_if_more_confident', 'always') THEN
    RAISE EXCEPTION 'unknown policy %', coalesce('"' || pg_catalog.left(policy, 40) || '"', 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'use ''never'', ''fill_if_empty'', ''overwrite_if_more_confident'' or ''always''';
  ELSIF source IS NULL OR pg_catalog.btrim(source) = '' THEN
    RAISE EXCEPTION 'source must name a source, or ''*'' for any' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO crm.field_policy AS p (workspace_id, kind, field, source, policy)
  VALUES (crm.current_workspace(), set_field_policy.kind, set_field_policy.field, set_field_policy.source,
          set_field_policy.policy)
  ON CONFLICT (workspace_id, kind, field, source) DO UPDATE SET policy = EXCLUDED.policy;
END
$$;
COMMENT ON FUNCTION crm.set_field_policy(text, text, text, text) IS
  'sets how a source (or ''*'', any) may write a field (or ''*'', any) of a kind in this workspace: never, fill_if_empty, overwrite_if_more_confident or always';

CREATE FUNCTION crm.set_enrichment_opt_out(kind text, id bigint, opted_out boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());  -- SECURITY DEFINER
  found_record boolean;
BEGIN
  PERFORM crm._record_table(kind);
  IF id IS NULL OR opted_out IS NULL THEN
    RAISE EXCEPTION 'id and opted_out must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT pg_catalog.has_table_privilege(crm._outer_role(), crm._merge_table(kind), 'UPDATE') THEN
    RAISE EXCEPTION 'permission denied: role % may not update %', crm._outer_role(), crm._merge_table(kind)
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- Locked: an enrichment of the record in flight finishes first, and none starts after.
  EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s t WHERE t.id = $1 AND t.workspace_id = $2 FOR NO KEY UPDATE)',
                            crm._merge_table(kind))
    INTO found_record USING id, ws;
  IF NOT found_record THEN
    RAISE EXCEPTION '% % does not exist in workspace %', kind, id, ws USING ERRCODE = 'no_data_found';
  END IF;
  IF set_enrichment_opt_out.opted_out THEN
    INSERT INTO crm.enrichment_opt_out (workspace_id, kind, record_id, opted_out_at, actor)
    VALUES (ws, set_enrichment_opt_out.kind, set_enrichment_opt_out.id, crm.now(), crm._outer_role())
    ON CONFLICT DO NOTHING;
  ELSE
    DELETE FROM crm.enrichment_opt_out x
    WHERE x.kind = set_enrichment_opt_out.kind AND x.record_id = set_enrichment_opt_out.id;
  END IF;
END
$$;
COMMENT ON FUNCTION crm.set_enrichment_opt_out(text, bigint, boolean) IS
  'opts a record out of every automated write and suggestion (or back in)';

-- A pending suggestion, locked, in this workspace.
CREATE FUNCTION crm._pending_suggestion(suggestion_id bigint) RETURNS crm.field_suggestion
LANGUAGE plpgsql
AS $$
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());
  s crm.field_suggestion;
BEGIN
  SELECT * INTO s FROM crm.field_suggestion x WHERE x.id = suggestion_id AND x.workspace_id = ws FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'suggestion % does not exist in workspace %', coalesce(suggestion_id::text, 'NULL'), ws
      USING ERRCODE = 'no_data_found';
  ELSIF s.status <> 'pending' THEN
    RAISE EXCEPTION 'suggestion % was % already', suggestion_id, s.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN s;
END
$$;

-- Accepting makes the value the user's: written as a user's own, it is locked like one.
CREATE FUNCTION crm.accept_suggestion(suggestion_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  s crm.field_suggestion := crm._pending_suggestion(suggestion_id);
BEGIN
  PERFORM crm._enrich_record(s.workspace_id, s.kind, s.record_id,
                             CASE WHEN pg_catalog.starts_with(s.field, 'attributes.')
                                  THEN pg_catalog.jsonb_build_object('attributes', pg_catalog.jsonb_build_object(pg_catalog.substr(s.field, 12), s.value))
                                  ELSE pg_catalog.jsonb_build_object(s.field, s.value) END,
                             s.source, s.confidence, 'user', NULL, crm._outer_role());
  UPDATE crm.field_suggestion x SET status = 'accepted', decided_at = crm.now(), decided_by = crm._outer_role()
  WHERE x.id = s.id;
END
$$;
COMMENT ON FUNCTION crm.accept_suggestion(bigint) IS
  'writes a pending suggestion''s value as the user''s own (no automated source changes it after)';

CREATE FUNCTION crm.reject_suggestion(suggestion_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  s crm.field_suggestion := crm._pending_suggestion(suggestion_id);
BEGIN
  -- Rejecting decides the field for good: for a role that may write it.
  IF NOT pg_catalog.has_column_privilege(crm._outer_role(), crm._merge_table(s.kind),
                                         CASE WHEN pg_catalog.starts_with(s.field, 'attributes.') THEN 'attributes' ELSE s.field END,
                                         'UPDATE') THEN
    RAISE EXCEPTION 'permission denied: role % may not update %.%', crm._outer_role(), crm._merge_table(s.kind), s.field
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE crm.field_suggestion x SET status = 'rejected', decided_at = crm.now(), decided_by = crm._outer_role()
  WHERE x.id = s.id;
END
$$;
COMMENT ON FUNCTION crm.reject_suggestion(bigint) IS
  'rejects a pending suggestion: the same value from the same source is not suggested again';

-- A merge's writes to its survivor, recorded as the merge's (source 'merge:<id>', which
-- crm.unmerge deletes): each value keeps the confidence it had on the record it came from, and a
-- user's value stays the user's.
CREATE FUNCTION crm._merge_provenance(merge_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  m crm.merge_log;
  at constant timestamptz := crm.now();
  before_row jsonb;
  after_row jsonb;
BEGIN
  SELECT * INTO STRICT m FROM crm.merge_log l WHERE l.id = merge_id;
  before_row := m.before -> m.survivor_id::text;
  after_row := m.after -> m.survivor_id::text;
  INSERT INTO crm.field_provenance (workspace_id, kind, record_id, field, value, source, source_kind,
                                    confidence, observed_at, written_at, actor)
  SELECT m.workspace_id, m.kind, m.survivor_id, c.field, c.value, 'merge:' || m.id,
         CASE WHEN NOT crm._field_empty(c.value) AND coalesce(src.source_kind = 'user', true) THEN 'user' ELSE 'merge' END,
         coalesce(src.confidence, 1), coalesce(src.observed_at, at), at, m.merged_by
  FROM (SELECT k AS field, after_row -> k AS value
        FROM pg_catalog.unnest(crm._enrichable_columns(m.kind)) k
        WHERE (before_row -> k) IS DISTINCT FROM (after_row -> k)
        UNION ALL
        SELECT 'attributes.' || k, after_row -> 'attributes' -> k
        FROM (SELECT pg_catalog.jsonb_object_keys(before_row -> 'attributes')
              UNION SELECT pg_catalog.jsonb_object_keys(after_row -> 'attributes')) ks(k)
        WHERE (before_row -> 'attributes' -> k) IS DISTINCT FROM (after_row -> 'attributes' -> k)) c
  -- The record the value came from: the first of the others holding it.
  LEFT JOIN LATERAL (
    SELECT (crm._field_current_source(m.kind, o.id, c.field, c.value)).*
    FROM pg_catalog.unnest(m.merged_ids) WITH ORDINALITY o(id, n)
    WHERE crm._field_value(m.before -> o.id::text, c.field) IS NOT DISTINCT FROM c.value
    ORDER BY o.n LIMIT 1) src ON true
  ORDER BY c.field;
  -- People and deals of merged companies now name the survivor: the same company as before, so
  -- the value keeps its standing (a user's stays the user's, a rule's stays overwritable).
  INSERT INTO crm.field_provenance (workspace_id, kind, record_id, field, value, source, source_kind,
                                    confidence, observed_at, written_at, actor)
  SELECT m.workspace_id, x.kind, x.record_id, 'company_id', pg_catalog.to_jsonb(m.survivor_id), 'merge:' || m.id,
         CASE WHEN coalesce(src.source_kind = 'user', true) THEN 'user' ELSE 'merge' END,
         coalesce(src.confidence, 1), coalesce(src.observed_at, at), at, m.merged_by
  FROM (SELECT r.kind, (e ->> 0)::bigint AS record_id, e -> 1 AS old_company
        FROM (VALUES ('person'), ('deal')) r(kind), pg_catalog.jsonb_array_elements(m.moved -> r.kind) e
        WHERE m.kind = 'company') x
  LEFT JOIN LATERAL crm._field_current_source(x.kind, x.record_id, 'company_id', x.old_company) src ON true
  ORDER BY x.kind, x.record_id;
END
$$;

-- The records a merge wrote provenance for: its survivor, and the people and deals it moved.
CREATE FUNCTION crm._merge_provenance_undo(m crm.merge_log) RETURNS void
LANGUAGE sql
BEGIN ATOMIC
  DELETE FROM crm.field_provenance p
  WHERE p.source = 'merge:' || (_merge_provenance_undo.m).id
    AND ((p.kind = (_merge_provenance_undo.m).kind AND p.record_id = (_merge_provenance_undo.m).survivor_id)
         OR (p.kind IN ('person', 'deal') AND p.field = 'company_id'
             AND p.record_id IN (SELECT (e ->> 0)::bigint
                                 FROM pg_catalog.jsonb_array_elements(coalesce((_merge_provenance_undo.m).moved -> p.kind, '[]')) e)));
END;

-- Built-in enrichers (docs/ENRICHMENT.md, "Built-in enrichers"): offline rules that fill blanks
-- through crm.enrich, each its own source 'rule:<name>', so their values have provenance, follow
-- the policies and never overwrite a user's. They run on write for the rows a statement inserts
-- or whose inputs it changes (small statements only: a bulk load is enriched on demand), and on
-- demand for a whole workspace with crm.run_enrichers.

-- The pure parts, in C++ (src/core/enrich): ICU's and libphonenumber's data, no SPI.
CREATE FUNCTION crm.split_display_name(display_name text, OUT first_name text, OUT last_name text)
  AS 'MODULE_PATHNAME', 'crm_split_display_name' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.split_display_name(text) IS
  'first and last name from a display name: "Doe, Jane" read surname first, honorifics and suffixes dropped ("Dr. Jane Doe, PhD"), quotes, parenthesised parts and addresses ignored, surname particles kept ("van Beethoven")';
CREATE FUNCTION crm.country_code(country text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_country_code' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.country_code(text) IS
  'the ISO 3166 alpha-2 code of a country given by code (alpha-2 or alpha-3), English name or a usual alias (USA, UK, Holland); NULL otherwise';
CREATE FUNCTION crm.country_name(country text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_country_name' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.country_name(text) IS 'the English name (ICU) of a country given as crm.country_code takes it';
CREATE FUNCTION crm.country_time_zone(country text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_country_time_zone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.country_time_zone(text) IS
  'the IANA time zone of a country that keeps one (all its zones share their offsets): Germany Europe/Berlin; NULL for countries with several (United States, Spain)';
CREATE FUNCTION crm.phone_country(e164 text) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_phone_country' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.phone_country(text) IS 'the country (ISO alpha-2) a valid phone number in E.164 belongs to, by libphonenumber';

-- True while crm.enrich or a merge writes records: their writes do not start enrichers again.
CREATE FUNCTION crm._automated_writing() RETURNS boolean
  AS 'MODULE_PATHNAME', 'crm_automated_writing' LANGUAGE C STABLE;
-- Calls so far in this client message (a simple query's statements, or a top-level call of a
-- function, count together): the UPDATE trigger's row count.
CREATE FUNCTION crm._statement_rows() RETURNS bigint
  AS 'MODULE_PATHNAME', 'crm_statement_rows' LANGUAGE C VOLATILE;

CREATE TABLE crm.enrichment_policy (
  workspace_id bigint PRIMARY KEY DEFAULT crm.current_workspace() REFERENCES crm.workspace ON DELETE CASCADE,
  -- The rules that run, on write and on demand.
  rules text[] NOT NULL DEFAULT '{name_from_display_name,company_from_email_domain,person_company_by_domain,phone_e164,country_from_phone,country_time_zone}'
    CONSTRAINT enrichment_policy_rules CHECK (rules <@ '{name_from_display_name,company_from_email_domain,person_company_by_domain,phone_e164,country_from_phone,country_time_zone}'),
  on_write boolean NOT NULL DEFAULT true,
  -- The rules that also run on write: by default all but company creation, which makes records
  -- (capture creates the companies of the mail it files, by crm.capture_policy).
  on_write_rules text[] NOT NULL DEFAULT '{name_from_display_name,person_company_by_domain,phone_e164,country_from_phone,country_time_zone}'
    CONSTRAINT enrichment_policy_on_write_rules CHECK (on_write_rules <@ '{name_from_display_name,company_from_email_domain,person_company_by_domain,phone_e164,country_from_phone,country_time_zone}'),
  -- A statement writing more rows than this is left to crm.run_enrichers: a bulk load stays a
  -- bulk load.
  on_write_max_rows integer NOT NULL DEFAULT 100
    CONSTRAINT enrichment_policy_on_write_max_rows CHECK (on_write_max_rows >= 0),
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE crm.enrichment_policy IS
  'which built-in enrichers run in a workspace, and whether on write (statements of at most on_write_max_rows rows) as well as through crm.run_enrichers';
CREATE FUNCTION crm._workspace_enrichment_policy() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- the dump brings the workspace's policy
  INSERT INTO crm.enrichment_policy (workspace_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER workspace_enrichment_policy AFTER INSERT ON crm.workspace
  FOR EACH ROW EXECUTE FUNCTION crm._workspace_enrichment_policy();
INSERT INTO crm.enrichment_policy (workspace_id) SELECT w.id FROM crm.workspace w ON CONFLICT DO NOTHING;

-- The region national phone numbers of a workspace are read in when a record names no country:
-- the duplicate model's (docs/DUPLICATES.md), else US.
CREATE FUNCTION crm._workspace_region(ws bigint) RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT coalesce((SELECT m.model ->> 'default_region' FROM crm.duplicate_model m
                   WHERE m.workspace_id = _workspace_region.ws AND m.kind = 'person'), 'US');
END;

-- What the rules offer for these records: one row per record and rule, the values as crm.enrich
-- takes them. Blanks, but for a phone, which phone_e164 offers in E.164 (a suggestion for a
-- user's phone), and a time zone its country no longer implies.
CREATE FUNCTION crm._enricher_proposals(ws bigint, kind text, ids bigint[], rules text[])
RETURNS TABLE (record_id bigint, rule text, confidence float8, "values" jsonb)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH r AS (
    SELECT p.id, p.phone, p.country, p.attributes FROM crm.person p
    WHERE _enricher_proposals.kind = 'person' AND p.id = ANY (_enricher_proposals.ids)
      AND p.workspace_id = _enricher_proposals.ws AND p.merged_into IS NULL
    UNION ALL
    SELECT c.id, c.phone, c.country, c.attributes FROM crm.company c
    WHERE _enricher_proposals.kind = 'company' AND c.id = ANY (_enricher_proposals.ids)
      AND c.workspace_id = _enricher_proposals.ws AND c.merged_into IS NULL),
  phones AS (
    SELECT r.id, r.phone, r.country, r.attributes,
           crm.normalize_phone(r.phone, coalesce(crm.country_code(r.country), crm._workspace_region(_enricher_proposals.ws))) AS e164
    FROM r)
  SELECT p.id, 'name_from_display_name', 0.6::float8,
         pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('first_name', n.first_name, 'last_name', n.last_name))
  FROM crm.person p
  CROSS JOIN LATERAL (SELECT x.display_name FROM crm.participant x
                      WHERE x.person_id = p.id AND pg_catalog.btrim(x.display_name) <> ''
                      GROUP BY x.display_name ORDER BY count(*) DESC, x.display_name LIMIT 1) d
  CROSS JOIN LATERAL crm.split_display_name(d.display_name) n
  WHERE _enricher_proposals.kind = 'person' AND 'name_from_display_name' = ANY (_enricher_proposals.rules)
    AND p.id = ANY (_enricher_proposals.ids) AND p.workspace_id = _enricher_proposals.ws AND p.merged_into IS NULL
    AND coalesce(pg_catalog.btrim(p.first_name), '') = '' AND coalesce(pg_catalog.btrim(p.last_name), '') = ''
    AND n.first_name IS NOT NULL
  UNION ALL
  SELECT p.id, 'person_company_by_domain', 0.9::float8, pg_catalog.jsonb_build_object('company_id', c.company_id)
  FROM crm.person p
  CROSS JOIN LATERAL (
    -- min() over a fenced subquery, as capture finds a company by its domain (issue 12).
    SELECT coalesce(t.merged_into, t.id) AS company_id FROM crm.company t
    WHERE t.id = (SELECT min(c.id) FROM (SELECT c.id FROM crm.company c
                                         WHERE c.workspace_id = _enricher_proposals.ws AND c.domain IS NOT NULL
                                           AND crm.normalize_address(c.domain) = ANY (ARRAY[crm.address_domain(p.email),
                                                                                            crm.registrable_domain(p.email)])
                                         OFFSET 0) c)) c
  WHERE _enricher_proposals.kind = 'person' AND 'person_company_by_domain' = ANY (_enricher_proposals.rules)
    AND p.id = ANY (_enricher_proposals.ids) AND p.workspace_id = _enricher_proposals.ws AND p.merged_into IS NULL
    AND p.company_id IS NULL AND p.email IS NOT NULL
    AND NOT coalesce(crm.is_free_email_domain(p.email), true) AND NOT coalesce(crm.is_disposable_email_domain(p.email), true)
  UNION ALL
  SELECT p.id, 'phone_e164', 1::float8, pg_catalog.jsonb_build_object('phone', p.e164)
  FROM phones p
  WHERE 'phone_e164' = ANY (_enricher_proposals.rules) AND p.e164 IS NOT NULL AND p.e164 <> p.phone
  UNION ALL
  SELECT p.id, 'country_from_phone', 0.7::float8,
         pg_catalog.jsonb_build_object('country', crm.country_name(crm.phone_country(p.e164)))
  FROM phones p
  WHERE 'country_from_phone' = ANY (_enricher_proposals.rules) AND coalesce(pg_catalog.btrim(p.country), '') = ''
    AND crm.country_name(crm.phone_country(p.e164)) IS NOT NULL
  UNION ALL
  SELECT p.id, 'country_time_zone', 0.8::float8,
         pg_catalog.jsonb_build_object('attributes', pg_catalog.jsonb_build_object('time_zone', crm.country_time_zone(p.country)))
  FROM phones p
  -- Not only blanks: a time zone a country no longer implies is offered again (a suggestion
  -- unless the policy lets this rule overwrite).
  WHERE 'country_time_zone' = ANY (_enricher_proposals.rules)
    AND crm.country_time_zone(p.country) IS NOT NULL
    AND (p.attributes ->> 'time_zone') IS DISTINCT FROM crm.country_time_zone(p.country)
  ORDER BY 1, 2;
END;

-- Companies for the work domains of these people that no company has (the workspace's capture
-- policy allowing companies to be created): created empty, then named and given their domain
-- through crm.enrich, as rule company_from_email_domain at confidence 0.5, so any better source
-- may rename them.
CREATE FUNCTION crm._enrich_companies_from_domains(ws bigint, ids bigint[]) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  domains text[];
  d text;
  created bigint;
  n integer := 0;
BEGIN
  IF NOT coalesce((SELECT c.create_companies FROM crm.capture_policy c WHERE c.workspace_id = ws), true) THEN
    RETURN 0;
  END IF;
  domains := ARRAY(
    SELECT DISTINCT crm.registrable_domain(p.email) FROM crm.person p
    WHERE p.id = ANY (ids) AND p.workspace_id = ws AND p.merged_into IS NULL AND p.company_id IS NULL
      AND crm.registrable_domain(p.email) IS NOT NULL
      AND NOT coalesce(crm.is_free_email_domain(p.email), true) AND NOT coalesce(crm.is_disposable_email_domain(p.email), true)
    ORDER BY 1);
  IF pg_catalog.cardinality(domains) = 0 THEN
    RETURN 0;
  END IF;
  -- Two sessions enriching people of one new domain create one company.
  PERFORM crm._claim_addresses(ws, '{}', domains);
  FOREACH d IN ARRAY domains LOOP
    CONTINUE WHEN EXISTS (SELECT FROM crm.company c WHERE c.workspace_id = ws AND c.domain IS NOT NULL
                                                   AND crm.normalize_address(c.domain) = d)
      OR EXISTS (SELECT FROM crm.member m, pg_catalog.unnest(m.email || m.aliases) a
                 WHERE m.workspace_id = ws AND crm.registrable_domain(a) = d);
    -- One domain's company that cannot be made (a blocking duplicate rule, an application
    -- trigger) is logged and skipped.
    BEGIN
      INSERT INTO crm.company (workspace_id) VALUES (ws) RETURNING id INTO created;
      PERFORM crm._enrich_record(ws, 'company', created,
                                 pg_catalog.jsonb_build_object('name', pg_catalog.initcap(pg_catalog.split_part(d, '.', 1)), 'domain', d),
                                 'rule:company_from_email_domain', 0.5, 'rule', NULL, NULL);
      n := n + 1;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'enricher company_from_email_domain skipped domain %: %', d, SQLERRM;
    END;
  END LOOP;
  RETURN n;
END
$$;

-- Runs the workspace's rules (on_write: those of them that run on write) over these records: what
-- each rule wrote, suggested or left. for_role: the role the rules write for; they leave out the
-- columns it may not update (and make no company unless it may). One record's failure is logged
-- (WARNING) and skipped; the others are enriched.
CREATE FUNCTION crm._run_enrichers(ws bigint, kind text, ids bigint[], on_write boolean, for_role text)
RETURNS TABLE (rule text, applied bigint, suggested bigint, unchanged bigint, failed bigint)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  rules text[];
  proposal record;
  outcomes text[];
  counts jsonb := '{}';
  created integer := 0;
BEGIN
  SELECT CASE WHEN on_write THEN ARRAY(SELECT r FROM pg_catalog.unnest(e.rules) r WHERE r = ANY (e.on_write_rules))
              ELSE e.rules END
  INTO rules FROM crm.enrichment_policy e WHERE e.workspace_id = ws;
  rules := coalesce(rules, '{}');
  IF kind = 'person' AND 'company_from_email_domain' = ANY (rules)
     AND pg_catalog.has_table_privilege(for_role, 'crm.company', 'INSERT') THEN
    created := crm._enrich_companies_from_domains(ws, ids);
  END IF;
  FOR proposal IN
    SELECT p.record_id, p.rule, p.confidence, v."values"
    FROM crm._enricher_proposals(ws, kind, ids, rules) p
    CROSS JOIN LATERAL (
      SELECT pg_catalog.jsonb_object_agg(e.key, e.value) AS "values" FROM pg_catalog.jsonb_each(p."values") e
      WHERE pg_catalog.has_column_privilege(for_role, crm._merge_table(kind), e.key, 'UPDATE')) v
    WHERE v."values" IS NOT NULL
  LOOP
    BEGIN
      outcomes := ARRAY(SELECT e.outcome FROM crm._enrich_record(ws, kind, proposal.record_id, proposal."values",
                                                                  'rule:' || proposal.rule, proposal.confidence, 'rule', NULL, NULL) e);
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'enricher % skipped % %: %', proposal.rule, kind, proposal.record_id, SQLERRM;
      outcomes := '{failed}';
    END;
    counts := counts || pg_catalog.jsonb_build_object(proposal.rule,
      pg_catalog.jsonb_build_object(
        'applied', coalesce((counts #>> ARRAY[proposal.rule, 'applied'])::bigint, 0) + ('applied' = ANY (outcomes))::int,
        'suggested', coalesce((counts #>> ARRAY[proposal.rule, 'suggested'])::bigint, 0)
                     + (NOT 'applied' = ANY (outcomes) AND 'suggested' = ANY (outcomes))::int,
        'unchanged', coalesce((counts #>> ARRAY[proposal.rule, 'unchanged'])::bigint, 0)
                     + (NOT 'applied' = ANY (outcomes) AND NOT 'suggested' = ANY (outcomes) AND NOT 'failed' = ANY (outcomes))::int,
        'failed', coalesce((counts #>> ARRAY[proposal.rule, 'failed'])::bigint, 0) + ('failed' = ANY (outcomes))::int));
  END LOOP;
  IF created > 0 THEN
    counts := counts || pg_catalog.jsonb_build_object('company_from_email_domain',
      pg_catalog.jsonb_build_object('applied', created, 'suggested', 0, 'unchanged', 0, 'failed', 0));
  END IF;
  RETURN QUERY
  SELECT c.key, (c.value ->> 'applied')::bigint, (c.value ->> 'suggested')::bigint, (c.value ->> 'unchanged')::bigint,
         (c.value ->> 'failed')::bigint
  FROM pg_catalog.jsonb_each(counts) c ORDER BY c.key;
END
$$;

-- AFTER INSERT per statement on crm.person and crm.company: the rows inserted, enriched in the
-- same transaction, workspace by workspace, when the statement is small enough. Named
-- *_write_enrichers so they fire after the record triggers that link participants (whose display
-- names name people).
CREATE FUNCTION crm._enrich_inserted() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  ws record;
BEGIN
  IF crm._restoring() OR crm._automated_writing() THEN
    RETURN NULL;
  END IF;
  FOR ws IN
    SELECT r.workspace_id, pg_catalog.array_agg(r.id ORDER BY r.id) AS ids
    FROM new_rows r GROUP BY r.workspace_id ORDER BY r.workspace_id
  LOOP
    CONTINUE WHEN NOT EXISTS (SELECT FROM crm.enrichment_policy e
                              WHERE e.workspace_id = ws.workspace_id AND e.on_write
                                AND pg_catalog.cardinality(ws.ids) <= e.on_write_max_rows);
    PERFORM crm._run_enrichers(ws.workspace_id, TG_ARGV[0], ws.ids, true, crm._outer_role());
  END LOOP;
  RETURN NULL;
END
$$;
-- AFTER UPDATE ... FOR EACH ROW, when a rule's input changed (a trigger with a column list can
-- have no transition table): the record, enriched again, for the first on_write_max_rows rows of
-- a client message (a statement, or a function's statements together; the rest are left to
-- crm.run_enrichers). Clearing a field a rule fills does not
-- fill it again at once (the user meant it); crm.run_enrichers will.
CREATE FUNCTION crm._enrich_updated() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() OR crm._automated_writing()
     OR NOT EXISTS (SELECT FROM crm.enrichment_policy e
                    WHERE e.workspace_id = NEW.workspace_id AND e.on_write
                      AND crm._statement_rows() <= e.on_write_max_rows) THEN
    RETURN NULL;
  END IF;
  PERFORM crm._run_enrichers(NEW.workspace_id, TG_ARGV[0], ARRAY[NEW.id], true, crm._outer_role());
  RETURN NULL;
END
$$;
CREATE TRIGGER person_write_enrichers AFTER INSERT ON crm.person
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._enrich_inserted('person');
-- An address matters to the rules only for a person without a company (the others read phone
-- and country): an address change of a person with one costs no query.
CREATE TRIGGER person_write_enrichers_update AFTER UPDATE OF email, phone, country ON crm.person
  FOR EACH ROW WHEN ((OLD.email IS DISTINCT FROM NEW.email AND NEW.company_id IS NULL)
                     OR OLD.phone IS DISTINCT FROM NEW.phone OR OLD.country IS DISTINCT FROM NEW.country)
  EXECUTE FUNCTION crm._enrich_updated('person');
CREATE TRIGGER company_write_enrichers AFTER INSERT ON crm.company
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._enrich_inserted('company');
CREATE TRIGGER company_write_enrichers_update AFTER UPDATE OF phone, country ON crm.company
  FOR EACH ROW WHEN (OLD.phone IS DISTINCT FROM NEW.phone OR OLD.country IS DISTINCT FROM NEW.country)
  EXECUTE FUNCTION crm._enrich_updated('company');

-- On demand: every live record of the kind (or both kinds) in this workspace, in batches of
-- batch_size records by id, each batch its own statements (cancellable between any two).
CREATE FUNCTION crm.run_enrichers(kind text DEFAULT NULL, batch_size integer DEFAULT 1000)
RETURNS TABLE (record_kind text, rule text, applied bigint, suggested bigint, unchanged bigint, failed bigint)
LANGUAGE plpgsql
AS $$
#variable_conflict use_variable
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());  -- SECURITY DEFINER
  k text;
  after_id bigint;
  ids bigint[];
  totals jsonb;
  r record;
BEGIN
  IF run_enrichers.kind IS NOT NULL AND run_enrichers.kind NOT IN ('person', 'company') THEN
    RAISE EXCEPTION 'enrichers run on person and company records, not %', '"' || pg_catalog.left(run_enrichers.kind, 40) || '"'
      USING ERRCODE = 'invalid_parameter_value';
  ELSIF batch_size IS NULL OR batch_size < 1 OR batch_size > 100000 THEN
    RAISE EXCEPTION 'batch_size must be between 1 and 100000' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Companies first: people are then linked to the companies the rules have completed.
  FOREACH k IN ARRAY ARRAY['company', 'person'] LOOP
    CONTINUE WHEN run_enrichers.kind IS NOT NULL AND run_enrichers.kind <> k;
    -- Running with the owner's rights: only for a role that could update these records itself.
    IF NOT pg_catalog.has_table_privilege(crm._outer_role(), crm._merge_table(k), 'UPDATE')
       OR (k = 'person' AND NOT pg_catalog.has_table_privilege(crm._outer_role(), 'crm.company', 'INSERT')) THEN
      RAISE EXCEPTION 'permission denied: role % may not enrich %', crm._outer_role(), crm._merge_table(k)
        USING ERRCODE = 'insufficient_privilege', HINT = 'crm.grant_access(role, ''application'')';
    END IF;
    after_id := 0;
    totals := '{}';
    LOOP
      IF k = 'person' THEN
        ids := ARRAY(SELECT p.id FROM crm.person p WHERE p.workspace_id = ws AND p.merged_into IS NULL AND p.id > after_id
                     ORDER BY p.id LIMIT batch_size);
      ELSE
        ids := ARRAY(SELECT c.id FROM crm.company c WHERE c.workspace_id = ws AND c.merged_into IS NULL AND c.id > after_id
                     ORDER BY c.id LIMIT batch_size);
      END IF;
      EXIT WHEN pg_catalog.cardinality(ids) = 0;
      after_id := ids[pg_catalog.cardinality(ids)];
      FOR r IN SELECT * FROM crm._run_enrichers(ws, k, ids, false, crm._outer_role()) LOOP
        totals := totals || pg_catalog.jsonb_build_object(r.rule, pg_catalog.jsonb_build_array(
          coalesce((totals -> r.rule ->> 0)::bigint, 0) + r.applied, coalesce((totals -> r.rule ->> 1)::bigint, 0) + r.suggested,
          coalesce((totals -> r.rule ->> 2)::bigint, 0) + r.unchanged, coalesce((totals -> r.rule ->> 3)::bigint, 0) + r.failed));
      END LOOP;
    END LOOP;
    RETURN QUERY SELECT k, t.key, (t.value ->> 0)::bigint, (t.value ->> 1)::bigint, (t.value ->> 2)::bigint, (t.value ->> 3)::bigint
                 FROM pg_catalog.jsonb_each(totals) t ORDER BY t.key;
  END LOOP;
END
$$;
COMMENT ON FUNCTION crm.run_enrichers(text, integer) IS
  'runs the workspace''s built-in enrichers over every live person and company (or one kind), in batches: per kind and rule, how many records got a value, a suggestion, nothing new, or failed (logged and skipped)';

-- The data-quality report (docs/QUALITY.md): checks are rows of crm.quality_check, each an SQL
-- predicate over a kind's records or an SQL metric; crm.quality_report() runs a workspace's checks,
-- crm.take_quality_snapshot() keeps a day's results, crm.data_quality shows the latest with its trend.
--
-- A check's SQL is a workspace's own code, run by whoever asks for the report: everything here is
-- SECURITY INVOKER, so a check can read no more than the role running it may (row-level security
-- included), and crm._quality_eval runs it in a read-only subtransaction, so it cannot write
-- either. Check SQL always runs with search_path = pg_catalog, pg_temp: names from pg_catalog need
-- no prefix there, everything else is schema-qualified.

CREATE TABLE crm.quality_check (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workspace_id bigint NOT NULL DEFAULT crm.current_workspace() REFERENCES crm.workspace ON DELETE CASCADE,
  name text NOT NULL CONSTRAINT quality_check_name CHECK (pg_catalog.btrim(name) <> ''),
  category text NOT NULL CONSTRAINT quality_check_category
    CHECK (category IN ('completeness', 'validity', 'uniqueness', 'consistency', 'timeliness', 'usage')),
  kind text CONSTRAINT quality_check_kind CHECK (kind IN ('person', 'company', 'deal')),
  severity text NOT NULL DEFAULT 'medium'
    CONSTRAINT quality_check_severity CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  -- A boolean expression over the kind's table aliased r ($1 is the workspace id): a record fails
  -- when it is true. scope, when set, limits the records the check applies to (its total).
  predicate text,
  scope text,
  -- Or a query of one row with the columns failing and total (bigint), and optionally sample_ids
  -- (bigint[]) and detail (text); $1 is the workspace id.
  metric text,
  -- Shares of failing records tolerated: above warn_threshold warns, above fail_threshold fails.
  warn_threshold float8 NOT NULL DEFAULT 0,
  fail_threshold float8 NOT NULL DEFAULT 0.1,
  owner_member_id bigint,
  due_date date,
  suggested_action text,
  enabled boolean NOT NULL DEFAULT true,
  built_in boolean NOT NULL DEFAULT false,
  -- The role that wrote the check's SQL (set by crm._quality_check_author, never by hand; NULL
  -- for the built-in checks and a superuser's). The report runs a check only for a caller whose
  -- privileges its author holds: stored SQL never runs with more rights than its author has.
  author regrole,
  UNIQUE (workspace_id, name),
  FOREIGN KEY (workspace_id, owner_member_id) REFERENCES crm.member (workspace_id, id) ON DELETE SET NULL (owner_member_id),
  CONSTRAINT quality_check_sql CHECK ((predicate IS NULL) <> (metric IS NULL)
                                      AND pg_catalog.btrim(coalesce(predicate, metric)) <> ''),
  CONSTRAINT quality_check_predicate_kind CHECK (predicate IS NULL OR kind IS NOT NULL),
  CONSTRAINT quality_check_scope CHECK (scope IS NULL OR (predicate IS NOT NULL AND pg_catalog.btrim(scope) <> '')),
  CONSTRAINT quality_check_thresholds CHECK (warn_threshold >= 0 AND warn_threshold <= fail_threshold AND fail_threshold <= 1)
);
COMMENT ON TABLE crm.quality_check IS
  'the data-quality checks of each workspace, built-in and its own: a predicate over a kind''s records (a record fails when true) or a metric query, with warn and fail thresholds (shares failing), severity, owner and due date';

-- Runs one query of a check and returns its single row as jsonb (keys: its column names). In a
-- read-only subtransaction, rolled back on the way out so that the transaction can write again:
-- nothing a check calls can write. Its own errors reach the caller. The query is wrapped as a
-- subquery, which also refuses a second statement and data-modifying WITH. Without JIT: at 200,000
-- people, compiling the wide scan of the predicates cost more than it saved (3.5 s with, 3.0 s
-- without), and every sample's query would compile too.
CREATE FUNCTION crm._quality_eval(query text, ws bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
DECLARE
  result jsonb;
BEGIN
  BEGIN
    PERFORM pg_catalog.set_config('transaction_read_only', 'on', true);
    -- The newline ends a trailing -- comment of the check's own SQL.
    EXECUTE 'SELECT pg_catalog.to_jsonb(q) FROM (' || pg_catalog.regexp_replace(query, '[[:space:];]+$', '') || E'\n) q'
      INTO STRICT result USING ws;
    RAISE SQLSTATE 'QC001';  -- undoes the read-only setting with the subtransaction
  EXCEPTION WHEN SQLSTATE 'QC001' THEN
    NULL;
  END;
  IF result IS NULL THEN  -- the check's SQL raised QC001 itself
    RAISE EXCEPTION 'the query gave no result' USING ERRCODE = 'data_exception';
  END IF;
  RETURN result;
END
$$;

-- A check's SQL must at least compile when written (its errors at run time are the report's).
-- As CREATE FUNCTION's check_function_bodies: not while a dump is restored, when what a check
-- reads may not be there yet.
CREATE FUNCTION crm._quality_check_valid() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT pg_catalog.current_setting('check_function_bodies')::boolean
     OR (NEW.predicate IS NOT NULL AND NEW.kind IS NULL) THEN  -- the latter: for quality_check_predicate_kind to refuse
    RETURN NEW;
  END IF;
  BEGIN
    IF NEW.predicate IS NOT NULL THEN
      PERFORM crm._quality_eval(pg_catalog.format(E'SELECT count(*) FROM crm.%I r WHERE false AND (%s\n) AND (%s\n)',
                                                  NEW.kind, coalesce(NEW.scope, 'true'), NEW.predicate), NEW.workspace_id);
    ELSE
      PERFORM crm._quality_eval(pg_catalog.format(E'SELECT count(*) FROM (SELECT m.failing, m.total FROM (%s\n) m WHERE false) v',
                                                  pg_catalog.regexp_replace(NEW.metric, '[[:space:];]+$', '')), NEW.workspace_id);
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'the % of quality check "%" is not valid: %', CASE WHEN NEW.predicate IS NULL THEN 'metric' ELSE 'predicate or scope' END,
                    pg_catalog.left(NEW.name, 63), SQLERRM
      USING ERRCODE = SQLSTATE,
            HINT = CASE WHEN NEW.predicate IS NULL
                        THEN 'a metric is a query of one row with the columns failing and total (and optionally sample_ids, detail); $1 is the workspace id'
                        ELSE pg_catalog.format('a predicate is a boolean expression over crm.%s r; $1 is the workspace id', NEW.kind) END;
  END;
  RETURN NEW;
END
$$;
CREATE TRIGGER quality_check_valid BEFORE INSERT OR UPDATE OF kind, predicate, scope, metric ON crm.quality_check
  FOR EACH ROW EXECUTE FUNCTION crm._quality_check_valid();

-- Who wrote a check's SQL: the role writing it, whatever the row says (a restore keeps it). A
-- superuser's SQL is trusted and runs as whoever asks (NULL); a superuser editing another role's
-- SQL leaves it that role's, so that editing never lends a check more rights.
CREATE FUNCTION crm._quality_check_author() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  writer constant pg_catalog.pg_roles := (SELECT r FROM pg_catalog.pg_roles r WHERE r.rolname = current_user);
BEGIN
  IF NOT crm._restoring()
     AND (TG_OP = 'INSERT' OR NEW.predicate IS DISTINCT FROM OLD.predicate OR NEW.metric IS DISTINCT FROM OLD.metric
          OR NEW.scope IS DISTINCT FROM OLD.scope OR NEW.author IS DISTINCT FROM OLD.author) THEN
    NEW.author := CASE WHEN NOT writer.rolsuper THEN writer.oid::regrole
                       WHEN TG_OP = 'UPDATE' THEN OLD.author END;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER quality_check_author BEFORE INSERT OR UPDATE ON crm.quality_check
  FOR EACH ROW EXECUTE FUNCTION crm._quality_check_author();

-- Whether the caller may run a check: its SQL runs with the caller's rights, so only where its
-- author already holds them: the author's privileges include the current role's, and the author
-- is a member of the session's login (a check could RESET ROLE back to the login, or SET ROLE to
-- any role the login is a member of). The built-in checks run for anyone. So a superuser's
-- session (a pg_cron job) never runs a role's check: schedule the snapshot as that role.
CREATE FUNCTION crm._quality_may_run(author regrole) RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT _quality_may_run.author IS NULL
         OR (pg_catalog.pg_has_role(_quality_may_run.author,
                                    (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), 'USAGE')
             AND pg_catalog.pg_has_role(_quality_may_run.author,
                                        (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = session_user), 'MEMBER'));
END;

-- The built-in checks of a workspace; those it has (by name) are left as they are, so a workspace
-- keeps its own thresholds, owners and edits, and this can run again to add new ones.
-- Fill rates: one check per nullable column of each kind as the columns are now (NOT NULL ones are
-- always filled); blank text counts as missing.
CREATE FUNCTION crm._quality_seed(ws bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  WITH field AS (
    SELECT k.kind, a.attname::text AS name, a.attname = ANY (k.key_fields) AS key_field,
           CASE WHEN t.typcategory = 'S' THEN pg_catalog.format('nullif(btrim(r.%I), '''') IS NULL', a.attname)
                WHEN t.typcategory = 'A' THEN pg_catalog.format('coalesce(cardinality(r.%I), 0) = 0', a.attname)
                ELSE pg_catalog.format('r.%I IS NULL', a.attname) END AS missing
    FROM (VALUES ('person', 'crm.person'::regclass, '{first_name,last_name,email,company_id,owner_member_id}'::name[]),
                 ('company', 'crm.company'::regclass, '{name,domain,owner_member_id}'::name[]),
                 ('deal', 'crm.deal'::regclass, '{company_id,stage,amount,close_date,owner_member_id}'::name[]))
           AS k(kind, tbl, key_fields)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = k.tbl AND a.attnum > 0 AND NOT a.attisdropped
      AND NOT a.attnotnull AND a.attgenerated = '' AND a.attname <> 'merged_into'
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  )
  INSERT INTO crm.quality_check (workspace_id, name, category, kind, severity, predicate, scope, metric,
                                 warn_threshold, fail_threshold, suggested_action, built_in)
  SELECT ws, c.name, c.category, c.kind, c.severity, c.predicate, c.scope, c.metric, c.warn, c.fail, c.action, true
  FROM (
    SELECT f.kind || '.' || f.name || '.missing' AS name, 'completeness' AS category, f.kind,
           CASE WHEN f.key_field THEN 'medium' ELSE 'low' END AS severity, f.missing AS predicate, NULL AS scope,
           NULL AS metric, CASE WHEN f.key_field THEN 0.1 ELSE 0.5 END AS warn, CASE WHEN f.key_field THEN 0.3 ELSE 0.9 END AS fail,
           pg_catalog.format('fill %s from activity or enrichment (crm.enrich), or ask the owner', f.name) AS action
    FROM field f
    UNION ALL
    -- A field no live record fills: dropped from use, or never wired to a form or sync.
    SELECT f.kind || '.fields.unused', 'usage', f.kind, 'low', NULL, NULL,
           pg_catalog.format($m$SELECT count(*) FILTER (WHERE u.filled = 0 AND u.records > 0) AS failing, count(*) AS total,
       string_agg(u.field, ', ' ORDER BY u.field) FILTER (WHERE u.filled = 0 AND u.records > 0) AS detail
FROM (SELECT unnest(%L::text[]) AS field, unnest(ARRAY[%s]) AS filled, count(*) AS records
      FROM crm.%I r WHERE r.workspace_id = $1 AND r.merged_into IS NULL) u$m$,
                             pg_catalog.array_agg(f.name ORDER BY f.name),
                             pg_catalog.string_agg(pg_catalog.format('count(*) FILTER (WHERE NOT (%s))', f.missing), ', ' ORDER BY f.name),
                             f.kind),
           0, 1, 'stop collecting the fields in detail, or start filling them'
    FROM field f GROUP BY f.kind
    UNION ALL
    SELECT c.* FROM (VALUES
      -- Key fields of people in the stages where a gap costs most.
      ('person.opportunity.key_fields_missing', 'completeness', 'person', 'high',
       $p$nullif(btrim(r.email), '') IS NULL OR r.company_id IS NULL OR nullif(btrim(r.title), '') IS NULL
OR nullif(btrim(r.phone), '') IS NULL OR r.owner_member_id IS NULL$p$,
       $s$lower(btrim(r.lifecycle_stage)) = 'opportunity'$s$, NULL, 0, 0.1,
       'complete email, company, title, phone and owner of every opportunity'),
      ('person.customer.key_fields_missing', 'completeness', 'person', 'high',
       $p$nullif(btrim(r.email), '') IS NULL OR r.company_id IS NULL OR nullif(btrim(r.title), '') IS NULL
OR nullif(btrim(r.phone), '') IS NULL OR r.owner_member_id IS NULL$p$,
       $s$lower(btrim(r.lifecycle_stage)) = 'customer'$s$, NULL, 0, 0.1,
       'complete email, company, title, phone and owner of every customer'),
      -- Formats, judged by the normalisers duplicate detection uses: a value they cannot read
      -- matches nothing.
      ('person.email.invalid', 'validity', 'person', 'medium',
       'crm.normalize_email(r.email) IS NULL', $s$nullif(btrim(r.email), '') IS NOT NULL$s$, NULL, 0, 0.05,
       'correct the address, or move it to a note'),
      -- Numbers without + are read in the record's country (crm.country_code: a code or a name),
      -- else the workspace's default region (crm.duplicate_model), else the US.
      ('person.phone.invalid', 'validity', 'person', 'low',
       $p$crm.normalize_phone(r.phone, coalesce(crm.country_code(r.country),
  (SELECT m.model ->> 'default_region' FROM crm.duplicate_model m WHERE m.workspace_id = $1 AND m.kind = 'person'), 'US')) IS NULL$p$,
       $s$nullif(btrim(r.phone), '') IS NOT NULL$s$, NULL, 0.02, 0.1,
       'write the number in international form (+country code)'),
      ('company.phone.invalid', 'validity', 'company', 'low',
       $p$crm.normalize_phone(r.phone, coalesce(crm.country_code(r.country),
  (SELECT m.model ->> 'default_region' FROM crm.duplicate_model m WHERE m.workspace_id = $1 AND m.kind = 'company'), 'US')) IS NULL$p$,
       $s$nullif(btrim(r.phone), '') IS NOT NULL$s$, NULL, 0.02, 0.1,
       'write the number in international form (+country code)'),
      ('company.domain.invalid', 'validity', 'company', 'medium',
       'crm.registrable_domain(r.domain) IS NULL', $s$nullif(btrim(r.domain), '') IS NOT NULL$s$, NULL, 0, 0.05,
       'write the web domain (acme.com), not a public suffix or an address'),
      -- Names typed with caps lock on: all upper case, with at least three letters (not "JO", not
      -- a script without case).
      ('person.name.capitals', 'validity', 'person', 'low',
       $p$(r.first_name = upper(r.first_name) AND r.first_name <> lower(r.first_name)
 AND length(regexp_replace(r.first_name, '[^[:alpha:]]', '', 'g')) >= 3)
OR (r.last_name = upper(r.last_name) AND r.last_name <> lower(r.last_name)
 AND length(regexp_replace(r.last_name, '[^[:alpha:]]', '', 'g')) >= 3)$p$,
       'r.first_name IS NOT NULL OR r.last_name IS NOT NULL', NULL, 0.01, 0.1,
       'write the names in their usual case (Ann Lee, not ANN LEE)'),
      -- Records in open duplicate sets (crm.duplicate_sets: pairs not yet merged or dismissed).
      ('person.duplicates.open', 'uniqueness', 'person', 'high', NULL, NULL,
       $m$SELECT count(*) AS failing,
       (SELECT count(*) FROM crm.person r WHERE r.workspace_id = $1 AND r.merged_into IS NULL) AS total,
       (array_agg(d.record_id ORDER BY d.set_id, d.record_id))[1:5] AS sample_ids,
       count(DISTINCT d.set_id) || ' open duplicate sets' AS detail
FROM crm.duplicate_sets d JOIN crm.person r ON r.id = d.record_id AND r.merged_into IS NULL
WHERE d.workspace_id = $1 AND d.kind = 'person'$m$, 0.01, 0.05,
       'merge or dismiss the pairs (crm.merge_sets, crm.dismiss_duplicate)'),
      ('company.duplicates.open', 'uniqueness', 'company', 'high', NULL, NULL,
       $m$SELECT count(*) AS failing,
       (SELECT count(*) FROM crm.company r WHERE r.workspace_id = $1 AND r.merged_into IS NULL) AS total,
       (array_agg(d.record_id ORDER BY d.set_id, d.record_id))[1:5] AS sample_ids,
       count(DISTINCT d.set_id) || ' open duplicate sets' AS detail
FROM crm.duplicate_sets d JOIN crm.company r ON r.id = d.record_id AND r.merged_into IS NULL
WHERE d.workspace_id = $1 AND d.kind = 'company'$m$, 0.01, 0.05,
       'merge or dismiss the pairs (crm.merge_sets, crm.dismiss_duplicate)'),
      -- No interaction in 180 days, or never (crm.stale_records, as the overviews compute it).
      ('person.stale', 'timeliness', 'person', 'low', NULL, NULL,
       $m$WITH stale AS MATERIALIZED (
  SELECT s.record_id, s.last_interaction_at FROM crm.stale_records('person', '180 days') s
  JOIN crm.person r ON r.id = s.record_id AND r.merged_into IS NULL)
SELECT (SELECT count(*) FROM stale) AS failing,
       (SELECT count(*) FROM crm.person r WHERE r.workspace_id = $1 AND r.merged_into IS NULL) AS total,
       ARRAY(SELECT s.record_id FROM stale s ORDER BY s.last_interaction_at NULLS FIRST, s.record_id LIMIT 5) AS sample_ids,
       'no interaction in 180 days, or never' AS detail$m$, 0.5, 0.8,
       'reach out, or archive the record'),
      ('company.stale', 'timeliness', 'company', 'low', NULL, NULL,
       $m$WITH stale AS MATERIALIZED (
  SELECT s.record_id, s.last_interaction_at FROM crm.stale_records('company', '180 days') s
  JOIN crm.company r ON r.id = s.record_id AND r.merged_into IS NULL)
SELECT (SELECT count(*) FROM stale) AS failing,
       (SELECT count(*) FROM crm.company r WHERE r.workspace_id = $1 AND r.merged_into IS NULL) AS total,
       ARRAY(SELECT s.record_id FROM stale s ORDER BY s.last_interaction_at NULLS FIRST, s.record_id LIMIT 5) AS sample_ids,
       'no interaction in 180 days, or never' AS detail$m$, 0.5, 0.8,
       'reach out, or archive the record'),
      -- People whose company is missing though their address's domain is a company's. A join,
      -- not a predicate: under row-level security a probe of company_domain_idx per person is not
      -- allowed (normalize_address is not leakproof), and each person would read every company.
      ('person.company.missing_but_domain_matches', 'consistency', 'person', 'medium', NULL, NULL,
       $m$WITH domain AS MATERIALIZED (
  SELECT DISTINCT crm.normalize_address(c.domain) AS domain FROM crm.company c
  WHERE c.workspace_id = $1 AND c.domain IS NOT NULL AND c.merged_into IS NULL),
person AS (
  SELECT r.id, crm.registrable_domain(r.email) AS domain FROM crm.person r
  WHERE r.workspace_id = $1 AND r.merged_into IS NULL AND r.company_id IS NULL)
SELECT count(d.domain) AS failing, count(*) AS total,
       (array_agg(p.id ORDER BY p.id) FILTER (WHERE d.domain IS NOT NULL))[1:5] AS sample_ids
FROM person p LEFT JOIN domain d ON d.domain = p.domain$m$, 0, 0.05,
       'link the person to the company of their domain (crm.enrich)'),
      -- Labels that contradict the deals. Joins too: a correlated subquery in a predicate would
      -- keep the scan of every predicate of the kind from running in parallel.
      ('person.customer.no_won_deal', 'consistency', 'person', 'high', NULL, NULL,
       $m$SELECT count(*) FILTER (WHERE w.company_id IS NULL) AS failing, count(*) AS total,
       (array_agg(r.id ORDER BY r.id) FILTER (WHERE w.company_id IS NULL))[1:5] AS sample_ids
FROM crm.person r
LEFT JOIN (SELECT DISTINCT d.company_id FROM crm.deal d
           WHERE d.workspace_id = $1 AND d.merged_into IS NULL
             AND lower(btrim(d.stage)) IN ('won', 'closed won', 'closed_won')) w ON w.company_id = r.company_id
WHERE r.workspace_id = $1 AND r.merged_into IS NULL AND lower(btrim(r.lifecycle_stage)) = 'customer'$m$, 0, 0.1,
       'record the won deal, or correct the lifecycle stage'),
      ('person.opportunity.no_open_deal', 'consistency', 'person', 'medium', NULL, NULL,
       $m$SELECT count(*) FILTER (WHERE o.company_id IS NULL) AS failing, count(*) AS total,
       (array_agg(r.id ORDER BY r.id) FILTER (WHERE o.company_id IS NULL))[1:5] AS sample_ids
FROM crm.person r
LEFT JOIN (SELECT DISTINCT d.company_id FROM crm.deal d
           WHERE d.workspace_id = $1 AND d.merged_into IS NULL AND crm._deal_open(d.stage)) o ON o.company_id = r.company_id
WHERE r.workspace_id = $1 AND r.merged_into IS NULL AND lower(btrim(r.lifecycle_stage)) = 'opportunity'$m$, 0, 0.1,
       'open a deal, or correct the lifecycle stage'),
      ('company.won_deal.no_customer', 'consistency', 'company', 'medium', NULL, NULL,
       $m$SELECT count(*) FILTER (WHERE p.company_id IS NULL) AS failing, count(*) AS total,
       (array_agg(r.id ORDER BY r.id) FILTER (WHERE p.company_id IS NULL))[1:5] AS sample_ids
FROM crm.company r
JOIN (SELECT DISTINCT d.company_id FROM crm.deal d
      WHERE d.workspace_id = $1 AND d.merged_into IS NULL
        AND lower(btrim(d.stage)) IN ('won', 'closed won', 'closed_won')) w ON w.company_id = r.id
LEFT JOIN (SELECT DISTINCT x.company_id FROM crm.person x
           WHERE x.workspace_id = $1 AND x.merged_into IS NULL AND lower(btrim(x.lifecycle_stage)) = 'customer') p ON p.company_id = r.id
WHERE r.workspace_id = $1 AND r.merged_into IS NULL$m$, 0, 0.1,
       'mark the company''s buyers as customers')
    ) AS c(name, category, kind, severity, predicate, scope, metric, warn, fail, action)
    UNION ALL
    -- A field whose writes in the last 24 hours leave mean ± 3σ of the 28 days before (days
    -- without a write count as 0): an import or sync gone wrong, or one that stopped. Writes are
    -- events (crm.field_provenance), so a record merged since still counts.
    SELECT k.kind || '.field_updates.outlier', 'usage', k.kind, 'medium', NULL, NULL,
           pg_catalog.format($m$WITH clock AS (SELECT crm.now() AS now),
w AS MATERIALIZED (
  SELECT p.field, p.record_id, floor(extract(epoch FROM c.now - p.written_at) / 86400)::int AS day
  FROM crm.field_provenance p, clock c
  WHERE p.workspace_id = $1 AND p.kind = %L AND p.written_at > c.now - interval '29 days' AND p.written_at <= c.now),
counted AS (SELECT w.field, w.day, count(*) AS n FROM w GROUP BY w.field, w.day),
daily AS (
  SELECT f.field, d.day, coalesce(c.n, 0) AS n
  FROM (SELECT DISTINCT counted.field FROM counted) f CROSS JOIN generate_series(0, 28) d(day)
  LEFT JOIN counted c ON c.field = f.field AND c.day = d.day),
stats AS (
  SELECT daily.field, sum(daily.n) FILTER (WHERE daily.day = 0) AS today,
         avg(daily.n) FILTER (WHERE daily.day > 0) AS mean, stddev_pop(daily.n) FILTER (WHERE daily.day > 0) AS sd
  FROM daily GROUP BY daily.field),
outlier AS (SELECT * FROM stats s WHERE s.today > s.mean + 3 * s.sd OR s.today < s.mean - 3 * s.sd)
SELECT (SELECT count(*) FROM outlier) AS failing, (SELECT count(*) FROM stats) AS total,
       ARRAY(SELECT DISTINCT w.record_id FROM w JOIN outlier o ON o.field = w.field WHERE w.day = 0 ORDER BY 1 LIMIT 5) AS sample_ids,
       (SELECT string_agg(format('%%s: %%s writes in the last 24 hours, %%s ± %%s a day before', o.field, o.today,
                                 round(o.mean, 1), round(o.sd, 1)), '; ' ORDER BY o.field) FROM outlier o) AS detail$m$, k.kind),
           0, 0.25, 'look at the import, sync or rule that wrote the fields in detail (crm.field_history)'
    FROM (VALUES ('person'), ('company'), ('deal')) AS k(kind)
  ) c
  ORDER BY c.name
  ON CONFLICT (workspace_id, name) DO NOTHING;
END
$$;

-- New workspaces get the built-in checks, as they get a capture policy (60_capture.sql). With the
-- owner's rights: whoever may create a workspace need not write checks.
CREATE FUNCTION crm._workspace_quality_checks() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- the dump brings the workspace's checks
  PERFORM crm._quality_seed(NEW.id);
  RETURN NULL;
END
$$;
CREATE TRIGGER workspace_quality_checks AFTER INSERT ON crm.workspace
  FOR EACH ROW EXECUTE FUNCTION crm._workspace_quality_checks();
SELECT crm._quality_seed(w.id) FROM crm.workspace w WHERE NOT crm._restoring();

-- The report. Predicates are counted together, one scan of a kind's live records for all its
-- checks; when that scan fails, each predicate is counted alone, so that a broken check costs
-- only itself. Metrics run one by one. Any check that fails reports status 'error' and its message
-- in detail; the others report as usual.
CREATE FUNCTION crm._quality_report(record_kind text)
RETURNS TABLE (check_name text, category text, kind text, severity text, status text, failing bigint, total bigint,
               sample_ids bigint[], owner_member_id bigint, due_date date, suggested_action text, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  ws constant bigint := crm.current_workspace();
  batch record;
  c crm.quality_check;
  counts jsonb := '{}';  -- check id: {"failing": n, "total": n}, or {"error": ..., "sqlstate": ...}
  r jsonb;
  share float8;
BEGIN
  IF record_kind IS NOT NULL AND record_kind NOT IN ('person', 'company', 'deal') THEN
    RAISE EXCEPTION 'unknown record kind "%"', pg_catalog.left(record_kind, 40)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'use ''person'', ''company'' or ''deal'', or NULL for every check';
  END IF;

  FOR batch IN
    SELECT q.kind, pg_catalog.array_agg(q.id ORDER BY q.id) AS ids,
           pg_catalog.string_agg(pg_catalog.format(E'count(*) FILTER (WHERE (%s\n))', coalesce(q.scope, 'true')), ', ' ORDER BY q.id) AS totals,
           pg_catalog.string_agg(pg_catalog.format(E'count(*) FILTER (WHERE (%s\n) AND (%s\n))', coalesce(q.scope, 'true'), q.predicate),
                                 ', ' ORDER BY q.id) AS failings
    FROM crm.quality_check q
    WHERE q.workspace_id = ws AND q.enabled AND q.predicate IS NOT NULL AND (record_kind IS NULL OR q.kind = record_kind)
      AND crm._quality_may_run(q.author)
    GROUP BY q.kind
  LOOP
    BEGIN
      r := crm._quality_eval(pg_catalog.format('SELECT ARRAY[%s] AS totals, ARRAY[%s] AS failings FROM crm.%I r '
                                               'WHERE r.workspace_id = $1 AND r.merged_into IS NULL',
                                               batch.totals, batch.failings, batch.kind), ws);
      counts := counts || (SELECT pg_catalog.jsonb_object_agg(i.id, pg_catalog.jsonb_build_object(
                                    'total', r -> 'totals' -> (i.n - 1)::int, 'failing', r -> 'failings' -> (i.n - 1)::int))
                           FROM pg_catalog.unnest(batch.ids) WITH ORDINALITY i(id, n));
    EXCEPTION WHEN OTHERS THEN
      FOR c IN SELECT * FROM crm.quality_check q WHERE q.id = ANY (batch.ids) ORDER BY q.id LOOP
        BEGIN
          r := crm._quality_eval(pg_catalog.format(E'SELECT count(*) FILTER (WHERE (%s\n)) AS total, '
                                                   || E'count(*) FILTER (WHERE (%s\n) AND (%s\n)) AS failing FROM crm.%I r '
                                                   || 'WHERE r.workspace_id = $1 AND r.merged_into IS NULL',
                                                   coalesce(c.scope, 'true'), coalesce(c.scope, 'true'), c.predicate, c.kind), ws);
        EXCEPTION WHEN OTHERS THEN
          r := pg_catalog.jsonb_build_object('error', SQLERRM, 'sqlstate', SQLSTATE);
        END;
        counts := counts || pg_catalog.jsonb_build_object(c.id, r);
      END LOOP;
    END;
  END LOOP;

  FOR c IN
    SELECT * FROM crm.quality_check q
    WHERE q.workspace_id = ws AND q.enabled AND (record_kind IS NULL OR q.kind = record_kind)
    ORDER BY q.kind, q.category, q.name
  LOOP
    check_name := c.name; category := c.category; kind := c.kind; severity := c.severity;
    owner_member_id := c.owner_member_id; due_date := c.due_date; suggested_action := c.suggested_action;
    BEGIN
      IF NOT crm._quality_may_run(c.author) THEN
        RAISE EXCEPTION 'not run: the check was written by %, who does not hold the privileges of % (session %)',
                        c.author, current_user, session_user
          USING ERRCODE = 'insufficient_privilege',
                HINT = pg_catalog.format('run the report logged in as %s, or as a role %s is a member of', c.author, c.author);
      ELSIF c.predicate IS NOT NULL THEN
        r := counts -> c.id::text;
        IF r ? 'error' THEN
          RAISE EXCEPTION USING ERRCODE = r ->> 'sqlstate', MESSAGE = r ->> 'error';
        ELSIF (r ->> 'failing')::bigint > 0 THEN
          r := r || crm._quality_eval(pg_catalog.format('SELECT ARRAY(SELECT r.id FROM crm.%I r WHERE r.workspace_id = $1 '
                                                        || E'AND r.merged_into IS NULL AND (%s\n) AND (%s\n) ORDER BY r.id LIMIT 5) AS sample_ids',
                                                        c.kind, coalesce(c.scope, 'true'), c.predicate), ws);
        END IF;
      ELSE
        r := crm._quality_eval(c.metric, ws);
        IF NOT (r ? 'failing' AND r ? 'total') THEN
          RAISE EXCEPTION 'the metric returned no column failing or total'
            USING ERRCODE = 'undefined_column', HINT = 'name the columns failing and total (and optionally sample_ids, detail)';
        END IF;
      END IF;
      failing := coalesce((r ->> 'failing')::bigint, 0);
      total := coalesce((r ->> 'total')::bigint, 0);
      sample_ids := CASE WHEN pg_catalog.jsonb_typeof(r -> 'sample_ids') = 'array'
                         THEN nullif(ARRAY(SELECT e.id::bigint FROM pg_catalog.jsonb_array_elements_text(r -> 'sample_ids') WITH ORDINALITY e(id, n)
                                           WHERE e.id IS NOT NULL ORDER BY e.n LIMIT 5), '{}') END;
      detail := r ->> 'detail';
      share := CASE WHEN total > 0 THEN failing::float8 / total ELSE 0 END;
      status := CASE WHEN share > c.fail_threshold THEN 'fail' WHEN share > c.warn_threshold THEN 'warn' ELSE 'pass' END;
    EXCEPTION WHEN OTHERS THEN
      status := 'error';
      failing := NULL; total := NULL; sample_ids := NULL;
      detail := SQLSTATE || ': ' || pg_catalog.left(SQLERRM, 1000);
    END;
    RETURN NEXT;
  END LOOP;
END
$$;

-- A SQL function: in PL/pgSQL the argument kind could not share its name with the column kind.
CREATE FUNCTION crm.quality_report(kind text DEFAULT NULL)
RETURNS TABLE (check_name text, category text, kind text, severity text, status text, failing bigint, total bigint,
               sample_ids bigint[], owner_member_id bigint, due_date date, suggested_action text, detail text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT * FROM crm._quality_report(kind);
END;
COMMENT ON FUNCTION crm.quality_report(text) IS
  'runs the enabled data-quality checks of this workspace (of one kind: person, company or deal; NULL for all): per check its status (pass, warn, fail, or error with the message in detail), failing and total records, up to 5 sample ids, owner, due date and suggested action';

CREATE TABLE crm.quality_snapshot (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  taken_on date NOT NULL,
  check_name text NOT NULL,
  category text NOT NULL,
  kind text,
  severity text NOT NULL,
  status text NOT NULL CONSTRAINT quality_snapshot_status CHECK (status IN ('pass', 'warn', 'fail', 'error')),
  failing bigint,
  total bigint,
  detail text,
  taken_at timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, taken_on, check_name)
);
-- A check's history, for the previous day of the view.
CREATE INDEX quality_snapshot_check_idx ON crm.quality_snapshot (workspace_id, check_name, taken_on);
COMMENT ON TABLE crm.quality_snapshot IS
  'the data-quality report of each workspace, one set of rows a day (crm.take_quality_snapshot), for trends';

-- With the caller's rights, as the report: a check must not run with more than the caller may.
-- Deletes the day's rows before writing, so that a check removed since the last run of the day
-- leaves none; ON CONFLICT lets two runs of one day at once both finish.
CREATE FUNCTION crm.take_quality_snapshot(workspace bigint DEFAULT crm.current_workspace()) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  previous constant text := crm.current_workspace()::text;
  at constant timestamptz := crm.now();
  stored bigint;
BEGIN
  IF workspace IS NULL THEN
    RAISE EXCEPTION 'workspace must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- The checks read the session's workspace (crm.current_workspace()): this one, for this call.
  PERFORM pg_catalog.set_config('crm.workspace', workspace::text, true);
  DELETE FROM crm.quality_snapshot s WHERE s.workspace_id = workspace AND s.taken_on = at::date;
  INSERT INTO crm.quality_snapshot AS s (workspace_id, taken_on, check_name, category, kind, severity, status,
                                         failing, total, detail, taken_at)
  SELECT workspace, at::date, q.check_name, q.category, q.kind, q.severity, q.status, q.failing, q.total, q.detail, at
  FROM crm.quality_report() q
  ON CONFLICT (workspace_id, taken_on, check_name) DO UPDATE
  SET category = excluded.category, kind = excluded.kind, severity = excluded.severity, status = excluded.status,
      failing = excluded.failing, total = excluded.total, detail = excluded.detail, taken_at = excluded.taken_at;
  GET DIAGNOSTICS stored = ROW_COUNT;
  PERFORM pg_catalog.set_config('crm.workspace', previous, true);
  RETURN stored;
END
$$;
COMMENT ON FUNCTION crm.take_quality_snapshot(bigint) IS
  'stores today''s (crm.now()) data-quality report of a workspace (default: this session''s) in crm.quality_snapshot, replacing a run of the same day; returns the rows stored. For pg_cron';
-- Writing history is maintenance's (crm.grant_access), as tick is.
REVOKE ALL ON FUNCTION crm.take_quality_snapshot(bigint) FROM PUBLIC;

-- What BI tools read: each workspace's latest snapshot, with the snapshot before it for the
-- trend (normally the day before; the last one taken when days were missed), and the check's
-- owner, due date and action as they are now.
CREATE VIEW crm.data_quality WITH (security_invoker = true) AS
SELECT s.workspace_id, s.taken_on, s.check_name, s.category, s.kind, s.severity, s.status, s.failing, s.total,
       CASE WHEN s.total > 0 THEN s.failing::float8 / s.total END AS failing_share,
       p.taken_on AS previous_taken_on, p.failing AS previous_failing, s.failing - p.failing AS failing_change,
       c.owner_member_id, c.due_date, c.suggested_action, s.detail
FROM crm.quality_snapshot s
LEFT JOIN LATERAL (SELECT x.taken_on, x.failing FROM crm.quality_snapshot x
                   WHERE x.workspace_id = s.workspace_id AND x.check_name = s.check_name AND x.taken_on < s.taken_on
                   ORDER BY x.taken_on DESC LIMIT 1) p ON true
LEFT JOIN crm.quality_check c ON c.workspace_id = s.workspace_id AND c.name = s.check_name
WHERE s.taken_on = (SELECT max(l.taken_on) FROM crm.quality_snapshot l WHERE l.workspace_id = s.workspace_id);
COMMENT ON VIEW crm.data_quality IS
  'the latest data-quality snapshot of each workspace, per check: status, failing, total and share, the previous snapshot''s failing and the change, owner, due date and suggested action';

-- The update-volume checks read a kind's writes of the last 29 days.
CREATE INDEX field_provenance_written_idx ON crm.field_provenance (workspace_id, kind, written_at);

-- AI autofill (docs/AI.md): attributes a model, or the embedded default, infers from a record's
-- fields and its activity. Writers only enqueue (a C trigger appends to crm.ai_inbox when a
-- declared input changed); a background worker or crm.run_ai_jobs() does the work and writes
-- through the provenance path (crm._enrich_record, source kind ai), so a user's value is never
-- overwritten and review mode leaves suggestions.

CREATE TABLE crm.ai_attribute (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workspace_id bigint NOT NULL DEFAULT crm.current_workspace() REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT ai_attribute_kind CHECK (kind IN ('person', 'company', 'deal')),
  name text NOT NULL CONSTRAINT ai_attribute_name CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  type text NOT NULL CONSTRAINT ai_attribute_type CHECK (type IN ('classify', 'extract', 'summarize', 'score', 'prompt')),
  spec jsonb NOT NULL,
  -- Record columns, 'attributes.<key>', 'signals' (the derived interaction fields) and
  -- 'interactions' (recent subjects): what the trigger watches and the input hash covers.
  inputs text[] NOT NULL,
  -- A column of the record or 'attributes.<key>'.
  target text NOT NULL,
  review boolean NOT NULL DEFAULT false,
  enabled boolean NOT NULL DEFAULT true,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT ai_attribute_key UNIQUE (workspace_id, kind, name)
);
COMMENT ON TABLE crm.ai_attribute IS
  'AI attributes (crm.define_ai_attribute): what is inferred for a kind of record, from which inputs, into which field; a new spec is a new version';

-- Requests as the triggers append them: no index, no constraint, so that an enqueue costs one heap
-- insert. Coalesced into crm.ai_job when jobs are claimed.
CREATE TABLE crm.ai_inbox (
  workspace_id bigint,
  attribute_id bigint,
  record_id bigint,
  requested_at timestamptz
);
COMMENT ON TABLE crm.ai_inbox IS
  'AI requests just appended by the record and signal triggers; moved into crm.ai_job (one row per record and attribute) when jobs are claimed';

CREATE TABLE crm.ai_job (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  attribute_id bigint NOT NULL REFERENCES crm.ai_attribute ON DELETE CASCADE,
  record_id bigint NOT NULL,
  requested_at timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'pending'
    CONSTRAINT ai_job_status CHECK (status IN ('pending', 'running', 'waiting')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
  claimed_by integer,
  claimed_at timestamptz,
  -- Set by the claim: what it reserved of the workspace's budget (an endpoint call) and on which
  -- day, the inputs and their hash, the request, or why no call is needed.
  reserved_tokens bigint,
  reserved_day date,
  -- Bumped by every request collected for the job and by a redefinition: a run whose claim saw an
  -- older generation leaves the job queued (timestamps cannot tell: a writer's request carries its
  -- transaction's start, which may be before the claim although it committed after).
  generation bigint NOT NULL DEFAULT 0,
  claimed_generation bigint,
  claimed_version integer,
  inputs jsonb,
  input_hash text,
  request jsonb,
  skip text,
  wait_reason text,
  last_error text,
  UNIQUE (attribute_id, record_id)
);
CREATE INDEX ai_job_due_idx ON crm.ai_job (next_attempt_at, id);
COMMENT ON TABLE crm.ai_job IS
  'the AI work queue: one row per record and attribute, however often it was requested; pending, running (claimed by a worker), or waiting (over budget, no endpoint, too few labelled examples) with the reason';

CREATE TABLE crm.ai_failed_job (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  attribute_id bigint NOT NULL REFERENCES crm.ai_attribute ON DELETE CASCADE,
  record_id bigint NOT NULL,
  attempts integer NOT NULL,
  error text NOT NULL,
  failed_at timestamptz NOT NULL
);
CREATE INDEX ai_failed_job_attribute_idx ON crm.ai_failed_job (attribute_id, record_id);
COMMENT ON TABLE crm.ai_failed_job IS
  'AI jobs that failed every attempt, with the last error (never the API key); crm.retry_ai_jobs queues them again';

-- The latest result per record and attribute: what was inferred, by which model and version, from
-- which inputs (their hash), and what the write policy made of it.
CREATE TABLE crm.ai_result (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  attribute_id bigint NOT NULL REFERENCES crm.ai_attribute ON DELETE CASCADE,
  record_id bigint NOT NULL,
  version integer NOT NULL,
  model text NOT NULL,
  input_hash text NOT NULL,
  value jsonb,
  confidence float8,
  outcome text NOT NULL,
  tokens integer NOT NULL DEFAULT 0,
  produced_at timestamptz NOT NULL,
  -- When the value stops being true as days pass (a score's within_days rule stops holding): the
  -- record is queued again then. NULL: only a change of its inputs changes it.
  due_at timestamptz,
  PRIMARY KEY (attribute_id, record_id)
);
CREATE INDEX ai_result_due ON crm.ai_result (due_at) WHERE due_at IS NOT NULL;
COMMENT ON TABLE crm.ai_result IS
  'the latest AI result per record and attribute: value, confidence, model (embedded:* for the built-in engines), attribute version, input hash, the write''s outcome (applied, suggested, unchanged, low_confidence, ...), and when it is due again as days pass (due_at)';

-- The embedded classifier (fastText) per attribute, trained on the labels people gave.
CREATE TABLE crm.ai_model (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  attribute_id bigint PRIMARY KEY REFERENCES crm.ai_attribute ON DELETE CASCADE,
  version integer NOT NULL,
  examples integer NOT NULL,
  labels text[] NOT NULL,
  model bytea NOT NULL,
  -- trained_at names the model (backends keep the one they loaded); checked_at is when the
  -- labelled examples were last counted (at most every ten minutes).
  trained_at timestamptz NOT NULL,
  checked_at timestamptz NOT NULL
);
COMMENT ON TABLE crm.ai_model IS
  'the embedded classifier of a classify attribute: a fastText model trained on the workspace''s records that people labelled';

CREATE TABLE crm.ai_budget (
  workspace_id bigint PRIMARY KEY REFERENCES crm.workspace ON DELETE CASCADE,
  calls_per_day bigint CONSTRAINT ai_budget_calls CHECK (calls_per_day >= 0),
  tokens_per_day bigint CONSTRAINT ai_budget_tokens CHECK (tokens_per_day >= 0)
);
COMMENT ON TABLE crm.ai_budget IS
  'a workspace''s daily budget of endpoint calls and tokens (NULL: no limit); a hard stop: jobs past it wait, visibly, for the next day (UTC)';

CREATE TABLE crm.ai_usage (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  day date NOT NULL,
  calls bigint NOT NULL DEFAULT 0,
  tokens bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace_id, day)
);
COMMENT ON TABLE crm.ai_usage IS 'endpoint calls and tokens per workspace and day (UTC), reserved before each call';

-- Background workers of this database (crm.start_ai_workers): heartbeats and stop requests.
CREATE TABLE crm.ai_worker (
  pid integer PRIMARY KEY,
  role regrole NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  jobs_done bigint NOT NULL DEFAULT 0,
  stop_requested boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE crm.ai_worker IS 'the AI background workers of this database, with their heartbeats';

-- Budgets are spent in real time, whatever crm.clock says (a fixed clock is for derived values).
CREATE FUNCTION crm._ai_day() RETURNS date
LANGUAGE sql STABLE
RETURN (pg_catalog.now() AT TIME ZONE 'UTC')::date;

-- The fields an input or a target may name for a kind.
CREATE FUNCTION crm._ai_field_ok(kind text, field text) RETURNS boolean
LANGUAGE sql STABLE
RETURN field = ANY (crm._enrichable_columns(kind)) OR field = 'attributes'
    OR field ~ '^attributes\.[A-Za-z0-9_]{1,63}$';

CREATE FUNCTION crm._ai_default_inputs(kind text, type text) RETURNS text[]
LANGUAGE sql IMMUTABLE
RETURN CASE
  WHEN type = 'summarize' THEN ARRAY['signals', 'interactions']
  WHEN kind = 'person' THEN ARRAY['first_name', 'last_name', 'email', 'title', 'interactions']
  WHEN kind = 'company' THEN ARRAY['name', 'domain', 'interactions']
  ELSE ARRAY['name', 'stage', 'amount', 'close_date'] END;

-- The spec, checked and completed: a bad one is 22023 naming what is wrong, before anything is
-- written.
CREATE FUNCTION crm._ai_check_spec(kind text, type text, spec jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  s jsonb := coalesce(spec, '{}');
  inputs text[];
  target text;
  problem text;
  r jsonb;
BEGIN
  IF pg_catalog.jsonb_typeof(s) <> 'object' THEN
    RAISE EXCEPTION 'spec must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF s ? 'inputs' THEN
    IF pg_catalog.jsonb_typeof(s -> 'inputs') <> 'array' OR pg_catalog.jsonb_array_length(s -> 'inputs') = 0 THEN
      RAISE EXCEPTION 'spec.inputs must be a non-empty array of field names' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT pg_catalog.array_agg(e ORDER BY o) INTO inputs FROM pg_catalog.jsonb_array_elements_text(s -> 'inputs') WITH ORDINALITY x(e, o);
  ELSE
    inputs := crm._ai_default_inputs(kind, type);
  END IF;
  FOREACH target IN ARRAY inputs LOOP
    IF target IN ('signals', 'interactions') THEN
      IF kind = 'deal' THEN
        RAISE EXCEPTION 'deals have no % input', target USING ERRCODE = 'invalid_parameter_value',
          HINT = 'deals have no activity of their own: use the deal''s fields';
      END IF;
    ELSIF NOT crm._ai_field_ok(kind, target) THEN
      RAISE EXCEPTION '% has no field "%" to read', kind, pg_catalog.left(target, 63)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = pg_catalog.format('inputs are fields (%s, attributes.<key>), ''signals'' or ''interactions''',
                                       pg_catalog.array_to_string(crm._enrichable_columns(kind), ', '));
    END IF;
  END LOOP;
  target := coalesce(s ->> 'target', 'attributes.' || (s ->> '_name'));
  IF NOT (target = ANY (crm._enrichable_columns(kind)) OR target ~ '^attributes\.[A-Za-z0-9_]{1,63}$') THEN
    RAISE EXCEPTION '% has no field "%" to write', kind, pg_catalog.left(target, 63)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'a target is a column of the record or attributes.<key>';
  END IF;
  IF target = ANY (inputs) THEN
    RAISE EXCEPTION 'an AI attribute cannot read the field it writes (%)', target USING ERRCODE = 'invalid_parameter_value',
      HINT = 'its own output would make its input change, and queue it again';
  END IF;
  IF s ? 'review' AND pg_catalog.jsonb_typeof(s -> 'review') <> 'boolean' THEN
    RAISE EXCEPTION 'spec.review must be true or false' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF s ? 'min_confidence' AND NOT (pg_catalog.jsonb_typeof(s -> 'min_confidence') = 'number'
                                   AND (s ->> 'min_confidence')::float8 BETWEEN 0 AND 1) THEN
    RAISE EXCEPTION 'spec.min_confidence must be a number between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Every number the runner reads, checked here: a bad one would fail every job of the attribute.
  SELECT k.key INTO problem
  FROM (VALUES ('interactions', 0, 100), ('max_examples', 4, 100000), ('max_length', 1, 100000)) k(key, low, high)
  WHERE s ? k.key AND NOT (pg_catalog.jsonb_typeof(s -> k.key) = 'number' AND (s ->> k.key)::numeric = pg_catalog.trunc((s ->> k.key)::numeric)
                           AND (s ->> k.key)::numeric BETWEEN k.low AND k.high)
  LIMIT 1;
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION 'spec.% must be a whole number in range', problem USING ERRCODE = 'invalid_parameter_value',
      HINT = 'interactions: 0 to 100; max_examples: 4 to 100000; max_length: 1 to 100000';
  END IF;
  IF s ? 'confidence' AND NOT (pg_catalog.jsonb_typeof(s -> 'confidence') = 'number' AND (s ->> 'confidence')::float8 BETWEEN 0 AND 1) THEN
    RAISE EXCEPTION 'spec.confidence must be a number between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF (s ? 'model' AND (pg_catalog.jsonb_typeof(s -> 'model') <> 'string' OR pg_catalog.length(s ->> 'model') NOT BETWEEN 1 AND 200))
     OR (s ? 'instructions' AND (pg_catalog.jsonb_typeof(s -> 'instructions') <> 'string' OR pg_catalog.length(s ->> 'instructions') > 4000)) THEN
    RAISE EXCEPTION 'spec.model (1 to 200 characters) and spec.instructions (up to 4000) are text'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF s ? 'engine' AND coalesce(s ->> 'engine', '') NOT IN ('auto', 'endpoint', 'embedded') THEN
    RAISE EXCEPTION 'spec.engine must be auto, endpoint or embedded' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF s ? 'max_tokens' AND NOT (pg_catalog.jsonb_typeof(s -> 'max_tokens') = 'number'
                               AND (s ->> 'max_tokens')::numeric BETWEEN 1 AND 32768) THEN
    RAISE EXCEPTION 'spec.max_tokens must be between 1 and 32768' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF type = 'classify' THEN
    IF pg_catalog.jsonb_typeof(s -> 'labels') IS DISTINCT FROM 'array' OR pg_catalog.jsonb_array_length(s -> 'labels') < 2
       OR pg_catalog.jsonb_array_length(s -> 'labels') > 500
       OR EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(s -> 'labels') l
                  WHERE pg_catalog.jsonb_typeof(l) <> 'string' OR pg_catalog.btrim(l #>> '{}') = '' OR pg_catalog.length(l #>> '{}') > 200)
       OR (SELECT pg_catalog.count(DISTINCT l) <> pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements_text(s -> 'labels') l) THEN
      RAISE EXCEPTION 'a classify attribute needs spec.labels: 2 to 500 distinct, non-blank labels'
        USING ERRCODE = 'invalid_parameter_value', HINT = 'for example {"labels": ["software", "retail", "finance"]}';
    END IF;
  ELSIF type = 'extract' OR (type = 'prompt' AND s ? 'schema') THEN
    IF pg_catalog.jsonb_typeof(s -> 'schema') IS DISTINCT FROM 'object' OR s -> 'schema' ->> 'type' IS DISTINCT FROM 'object' THEN
      RAISE EXCEPTION 'spec.schema must be a JSON schema of type object' USING ERRCODE = 'invalid_parameter_value',
        HINT = 'for example {"type": "object", "properties": {"next_step": {"type": "string", "maxLength": 80}}, "required": ["next_step"]}';
    END IF;
    problem := crm._ai_unsupported_schema(s -> 'schema');
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION 'spec.schema: %', problem USING ERRCODE = 'invalid_parameter_value',
        HINT = 'see docs/AI.md for the JSON Schema keywords a reply is checked against';
    END IF;
    IF type = 'extract' AND s ? 'rules' THEN
      IF pg_catalog.jsonb_typeof(s -> 'rules') <> 'object' THEN
        RAISE EXCEPTION 'spec.rules of an extract attribute maps properties to {"pattern": ..., "from": ...}'
          USING ERRCODE = 'invalid_parameter_value';
      END IF;
      FOR r IN SELECT pg_catalog.jsonb_build_object('property', e.key) || e.value FROM pg_catalog.jsonb_each(s -> 'rules') e LOOP
        IF NOT (s -> 'schema' -> 'properties') ? (r ->> 'property') OR pg_catalog.jsonb_typeof(r -> 'pattern') IS DISTINCT FROM 'string'
           OR NOT (coalesce(r ->> 'from', 'subjects') = 'subjects' AND 'interactions' = ANY (inputs)
                   OR r ->> 'from' = ANY (inputs)) THEN
          RAISE EXCEPTION 'extract rule for "%" needs a property of the schema, a pattern, and to read an input', pg_catalog.left(r ->> 'property', 63)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '"from": "subjects" (the default) needs the input interactions; another "from" must be one of spec.inputs';
        END IF;
        BEGIN
          PERFORM pg_catalog.regexp_match('', r ->> 'pattern');
        EXCEPTION WHEN invalid_regular_expression THEN
          RAISE EXCEPTION 'extract rule for "%": %', r ->> 'property', SQLERRM USING ERRCODE = 'invalid_parameter_value';
        END;
      END LOOP;
    END IF;
  ELSIF type = 'score' THEN
    IF s ? 'rules' AND (pg_catalog.jsonb_typeof(s -> 'rules') <> 'array'
        OR EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(s -> 'rules') x(rule)
                   WHERE pg_catalog.jsonb_typeof(x.rule -> 'points') IS DISTINCT FROM 'number'
                      OR pg_catalog.jsonb_typeof(x.rule -> 'field') IS DISTINCT FROM 'string'
                      OR coalesce(x.rule ->> 'op', 'present') NOT IN ('present', 'equals', 'in', 'at_least', 'at_most', 'within_days', 'contains'))) THEN
      RAISE EXCEPTION 'spec.rules of a score attribute is an array of {"field", "op", "value", "points"}'
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'op is present, equals, in, at_least, at_most, within_days or contains';
    END IF;
    -- Each rule's value of the kind its op compares with, so no job fails on it later.
    SELECT x.rule ->> 'field' INTO problem FROM pg_catalog.jsonb_array_elements(s -> 'rules') x(rule)
    WHERE CASE coalesce(x.rule ->> 'op', 'present')
            WHEN 'at_least' THEN pg_catalog.jsonb_typeof(x.rule -> 'value') IS DISTINCT FROM 'number'
            WHEN 'at_most' THEN pg_catalog.jsonb_typeof(x.rule -> 'value') IS DISTINCT FROM 'number'
            WHEN 'within_days' THEN pg_catalog.jsonb_typeof(x.rule -> 'value') IS DISTINCT FROM 'number'
                                    OR (x.rule ->> 'value')::numeric <> pg_catalog.trunc((x.rule ->> 'value')::numeric)
                                    OR (x.rule ->> 'value')::numeric NOT BETWEEN 0 AND 100000
            WHEN 'in' THEN pg_catalog.jsonb_typeof(x.rule -> 'value') IS DISTINCT FROM 'array'
            WHEN 'present' THEN false
            ELSE pg_catalog.jsonb_typeof(x.rule -> 'value') NOT IN ('string', 'number', 'boolean') OR x.rule -> 'value' IS NULL END
    LIMIT 1;
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION 'the score rule for "%" has no value of the kind its op compares with', pg_catalog.left(problem, 63)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'at_least and at_most take a number, within_days a whole number of days, in an array, equals and contains a value';
    END IF;
  ELSIF type = 'prompt' THEN
    IF pg_catalog.jsonb_typeof(s -> 'template') IS DISTINCT FROM 'string' OR pg_catalog.btrim(s ->> 'template') = '' THEN
      RAISE EXCEPTION 'a prompt attribute needs spec.template' USING ERRCODE = 'invalid_parameter_value',
        HINT = 'for example {"template": "What is the next step with {{name}}? Recent: {{interactions}}"}';
    END IF;
  END IF;
  RETURN (s - '_name') || pg_catalog.jsonb_build_object('inputs', pg_catalog.to_jsonb(inputs), 'target', target);
END
$$;

CREATE FUNCTION crm.define_ai_attribute(kind text, name text, type text, spec jsonb DEFAULT '{}')
RETURNS crm.ai_attribute
LANGUAGE plpgsql
AS $$
#variable_conflict use_variable
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());
  checked jsonb;
  result crm.ai_attribute;
  source constant text := 'ai:' || name;
BEGIN
  PERFORM crm._record_table(kind);
  IF name IS NULL OR name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
    RAISE EXCEPTION 'an AI attribute''s name is lower case letters, digits and _, starting with a letter'
      USING ERRCODE = 'invalid_parameter_value';
  ELSIF type IS NULL OR type NOT IN ('classify', 'extract', 'summarize', 'score', 'prompt') THEN
    RAISE EXCEPTION 'unknown AI attribute type %', coalesce('"' || pg_catalog.left(type, 40) || '"', 'NULL')
      USING ERRCODE = 'invalid_parameter_value', HINT = 'use classify, extract, summarize, score or prompt';
  END IF;
  checked := crm._ai_check_spec(kind, type, coalesce(spec, '{}') || pg_catalog.jsonb_build_object('_name', name));
  INSERT INTO crm.ai_attribute AS a (workspace_id, kind, name, type, spec, inputs, target, review)
  VALUES (ws, kind, name, type, checked,
          ARRAY(SELECT pg_catalog.jsonb_array_elements_text(checked -> 'inputs')), checked ->> 'target',
          coalesce((checked ->> 'review')::boolean, false))
  ON CONFLICT ON CONSTRAINT ai_attribute_key DO UPDATE
    SET type = EXCLUDED.type, spec = EXCLUDED.spec, inputs = EXCLUDED.inputs, target = EXCLUDED.target,
        review = EXCLUDED.review, enabled = true,
        version = a.version + CASE WHEN a.spec = EXCLUDED.spec AND a.type = EXCLUDED.type THEN 0 ELSE 1 END,
        updated_at = pg_catalog.now()
  RETURNING a.* INTO result;
  -- Review mode: the attribute's values wait as suggestions. Otherwise it fills empty fields and
  -- replaces its own earlier values (crm._enrich_record), never a user's.
  IF result.review THEN
    INSERT INTO crm.field_policy AS p (workspace_id, kind, field, source, policy)
    VALUES (ws, kind, result.target, source, 'never')
    ON CONFLICT ON CONSTRAINT field_policy_pkey DO UPDATE SET policy = 'never';
  ELSE
    DELETE FROM crm.field_policy p
    WHERE p.workspace_id = ws AND p.kind = kind AND p.field = result.target AND p.source = source AND p.policy = 'never';
  END IF;
  -- Every record is due for the new version (the worker skips those whose inputs and version it
  -- has already seen).
  PERFORM crm._ai_enqueue_all(result);
  RETURN result;
END
$$;
COMMENT ON FUNCTION crm.define_ai_attribute(text, text, text, jsonb) IS
  'declares (or redefines, as a new version) an AI attribute of a kind of record: classify (spec.labels), extract (spec.schema, spec.rules), summarize, score (spec.rules), or prompt (spec.template); spec.inputs, spec.target (default attributes.<name>), spec.review (suggestions only), spec.min_confidence, spec.engine (auto, endpoint, embedded), spec.model, spec.max_tokens; queues every record of the workspace';

CREATE FUNCTION crm._ai_enqueue_all(a crm.ai_attribute) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE pg_catalog.format(
    'INSERT INTO crm.ai_job AS j (workspace_id, attribute_id, record_id, requested_at) '
    'SELECT $1, $2, r.id, pg_catalog.now() FROM %s r WHERE r.workspace_id = $1 %s '
    'ON CONFLICT (attribute_id, record_id) DO UPDATE SET requested_at = EXCLUDED.requested_at, '
    'generation = j.generation + 1, '
    -- A running job keeps its claim and lease: its run sees the new generation and leaves it queued.
    'next_attempt_at = CASE WHEN j.status = ''running'' THEN j.next_attempt_at ELSE ''-infinity'' END, '
    'attempts = CASE WHEN j.status = ''running'' THEN j.attempts ELSE 0 END, '
    'status = CASE WHEN j.status = ''running'' THEN j.status ELSE ''pending'' END, '
    'wait_reason = CASE WHEN j.status = ''running'' THEN j.wait_reason END',
    crm._merge_table(a.kind), CASE WHEN a.kind IN ('person', 'company') THEN 'AND r.merged_into IS NULL' ELSE '' END)
  USING a.workspace_id, a.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM pg_catalog.pg_notify('crm_ai_jobs', '');  -- wakes the workers at commit
  RETURN n;
END
$$;

CREATE FUNCTION crm.drop_ai_attribute(kind text, name text) RETURNS boolean
LANGUAGE plpgsql
AS $$
#variable_conflict use_variable
DECLARE
  ws constant bigint := crm._require_workspace(crm.current_workspace());
  dropped crm.ai_attribute;
BEGIN
  DELETE FROM crm.ai_attribute a WHERE a.workspace_id = ws AND a.kind = kind AND a.name = name RETURNING a.* INTO dropped;
  IF dropped.id IS NULL THEN
    RETURN false;
  END IF;
  DELETE FROM crm.field_policy p
  WHERE p.workspace_id = ws AND p.kind = kind AND p.field = dropped.target AND p.source = 'ai:' || name;
  RETURN true;
END
$$;
COMMENT ON FUNCTION crm.drop_ai_attribute(text, text) IS
  'drops an AI attribute with its queue, results and model; values it wrote stay, with their provenance';

CREATE FUNCTION crm.set_ai_budget(calls_per_day bigint, tokens_per_day bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF calls_per_day < 0 OR tokens_per_day < 0 THEN
    RAISE EXCEPTION 'a budget is not negative (NULL: no limit)' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO crm.ai_budget AS b (workspace_id, calls_per_day, tokens_per_day)
  VALUES (crm._require_workspace(crm.current_workspace()), set_ai_budget.calls_per_day, set_ai_budget.tokens_per_day)
  ON CONFLICT (workspace_id) DO UPDATE SET calls_per_day = EXCLUDED.calls_per_day, tokens_per_day = EXCLUDED.tokens_per_day;
  -- Jobs waiting for the budget may go now if it was raised.
  UPDATE crm.ai_job j SET status = 'pending', next_attempt_at = '-infinity', wait_reason = NULL
  WHERE j.workspace_id = crm.current_workspace() AND j.status = 'waiting' AND j.wait_reason LIKE 'budget:%';
  PERFORM pg_catalog.pg_notify('crm_ai_jobs', '');
END
$$;
COMMENT ON FUNCTION crm.set_ai_budget(bigint, bigint) IS
  'sets this workspace''s daily budget of endpoint calls and tokens (NULL: no limit); a hard stop';

CREATE FUNCTION crm.retry_ai_jobs(attribute text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  n bigint;
BEGIN
  WITH failed AS (
    DELETE FROM crm.ai_failed_job f
    USING crm.ai_attribute a
    WHERE a.id = f.attribute_id AND f.workspace_id = crm._require_workspace(crm.current_workspace())
      AND (retry_ai_jobs.attribute IS NULL OR a.name = retry_ai_jobs.attribute)
    RETURNING f.*)
  INSERT INTO crm.ai_job AS j (workspace_id, attribute_id, record_id, requested_at)
  SELECT DISTINCT ON (f.attribute_id, f.record_id) f.workspace_id, f.attribute_id, f.record_id, pg_catalog.now() FROM failed f
  ON CONFLICT (attribute_id, record_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM pg_catalog.pg_notify('crm_ai_jobs', '');
  RETURN n;
END
$$;
COMMENT ON FUNCTION crm.retry_ai_jobs(text) IS 'queues this workspace''s failed AI jobs (of one attribute, or all) again';

-- The enqueue trigger (C): on INSERT every attribute of the kind is due; on UPDATE only those
-- whose declared input columns changed. The signal tables' trigger serves the 'signals' and
-- 'interactions' inputs. Attributes are cached per backend; a change to crm.ai_attribute or
-- crm.ai_worker invalidates every backend's cache (crm._ai_attributes_changed).
-- BEFORE ROW, not AFTER: an AFTER trigger costs a queued event and two tuple fetches per row,
-- which was most of an enqueue's cost (docs/AI.md, bench/RESULTS.md). Named zz_ to fire after the
-- extension's other BEFORE triggers (picklists, merged companies), so it sees the row as stored.
CREATE FUNCTION crm._ai_enqueue() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_ai_enqueue' LANGUAGE C;
CREATE FUNCTION crm._ai_attributes_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_ai_attributes_changed' LANGUAGE C;

CREATE TRIGGER zz_ai_enqueue BEFORE INSERT OR UPDATE ON crm.person
  FOR EACH ROW EXECUTE FUNCTION crm._ai_enqueue('person', 'record');
CREATE TRIGGER zz_ai_enqueue BEFORE INSERT OR UPDATE ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._ai_enqueue('company', 'record');
CREATE TRIGGER zz_ai_enqueue BEFORE INSERT OR UPDATE ON crm.deal
  FOR EACH ROW EXECUTE FUNCTION crm._ai_enqueue('deal', 'record');
CREATE TRIGGER zz_ai_enqueue BEFORE INSERT OR UPDATE ON crm.person_signal
  FOR EACH ROW EXECUTE FUNCTION crm._ai_enqueue('person', 'signals');
CREATE TRIGGER zz_ai_enqueue BEFORE INSERT OR UPDATE ON crm.company_signal
  FOR EACH ROW EXECUTE FUNCTION crm._ai_enqueue('company', 'signals');
CREATE TRIGGER ai_attributes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crm.ai_attribute
  FOR EACH STATEMENT EXECUTE FUNCTION crm._ai_attributes_changed();
-- Workers coming and going (not their heartbeats): whether the enqueue trigger NOTIFYs.
CREATE TRIGGER ai_attributes_changed AFTER INSERT OR DELETE OR TRUNCATE ON crm.ai_worker
  FOR EACH STATEMENT EXECUTE FUNCTION crm._ai_attributes_changed();

-- The database's live workers (rows a crash or a restart left behind are not counted), with the
-- extension's rights: pg_stat_activity hides other roles' backend types from a reader.
CREATE FUNCTION crm._ai_live_workers(OUT workers bigint, OUT last_heartbeat_at timestamptz)
LANGUAGE sql STABLE
AS $$
  SELECT pg_catalog.count(*), pg_catalog.max(w.heartbeat_at)
  FROM crm.ai_worker w
  WHERE EXISTS (SELECT FROM pg_catalog.pg_stat_activity s
                WHERE s.pid = w.pid AND s.backend_type = 'crm_hygiene AI worker')
$$;

CREATE VIEW crm.ai_status WITH (security_invoker = true) AS
SELECT a.workspace_id, a.kind, a.name AS attribute, a.type, a.version, a.enabled, a.review,
       coalesce(j.pending, 0) + coalesce(i.requests, 0) AS pending,
       coalesce(j.running, 0) AS running,
       coalesce(j.waiting, 0) AS waiting,
       coalesce(f.failed, 0) AS failed,
       LEAST(j.oldest_pending, i.oldest_request) AS oldest_pending,
       j.wait_reasons,
       coalesce(r.results, 0) AS results,
       r.last_result_at,
       w.workers,
       w.last_heartbeat_at
FROM crm.ai_attribute a
LEFT JOIN LATERAL (SELECT pg_catalog.count(*) FILTER (WHERE j.status = 'pending') AS pending,
                          pg_catalog.count(*) FILTER (WHERE j.status = 'running') AS running,
                          pg_catalog.count(*) FILTER (WHERE j.status = 'waiting') AS waiting,
                          pg_catalog.min(j.requested_at) FILTER (WHERE j.status <> 'running') AS oldest_pending,
                          pg_catalog.array_agg(DISTINCT j.wait_reason) FILTER (WHERE j.wait_reason IS NOT NULL) AS wait_reasons
                   FROM crm.ai_job j WHERE j.attribute_id = a.id) j ON true
LEFT JOIN LATERAL (SELECT pg_catalog.count(DISTINCT i.record_id) AS requests, pg_catalog.min(i.requested_at) AS oldest_request
                   FROM crm.ai_inbox i WHERE i.attribute_id = a.id
                     AND NOT EXISTS (SELECT FROM crm.ai_job j2 WHERE j2.attribute_id = a.id AND j2.record_id = i.record_id)) i ON true
LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS failed FROM crm.ai_failed_job f WHERE f.attribute_id = a.id) f ON true
LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS results, pg_catalog.max(r.produced_at) AS last_result_at
                   FROM crm.ai_result r WHERE r.attribute_id = a.id) r ON true
CROSS JOIN crm._ai_live_workers() w;
COMMENT ON VIEW crm.ai_status IS
  'per AI attribute: jobs pending, running, waiting (and why), failed, the oldest pending request, results, and the background workers with their latest heartbeat';

-- The AI job runner (docs/AI.md): claim (SKIP LOCKED), reserve the budget, gather the inputs,
-- ask the endpoint or the embedded default, check the reply against the schema, write through the
-- provenance path. A worker claims in one transaction and runs in the next, so no transaction of
-- its stays open across a call it does not need; crm.run_ai_jobs does both in the caller's.

-- Settings as the library defines them (docs/AI.md): never the API key.
CREATE FUNCTION crm._ai_settings() RETURNS jsonb
  AS 'MODULE_PATHNAME', 'crm_ai_settings' LANGUAGE C STABLE;
-- One chat completion with response_format json_schema; errors are 08000 (transport, HTTP) or
-- 22000 (a reply that is not a completion), with the API key redacted from every message.
CREATE FUNCTION crm._ai_chat(request jsonb) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'crm_ai_chat' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION crm._ai_unsupported_schema(schema jsonb) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_ai_unsupported_schema' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION crm._ai_schema_violation(schema jsonb, instance jsonb) RETURNS text
  AS 'MODULE_PATHNAME', 'crm_ai_schema_violation' LANGUAGE C IMMUTABLE;

-- Which engine serves an attribute now: the endpoint when one is configured (unless the spec
-- says embedded), else the embedded default; NULL for a prompt without an endpoint.
CREATE FUNCTION crm._ai_engine(a crm.ai_attribute) RETURNS text
LANGUAGE sql STABLE
RETURN CASE
  WHEN coalesce(a.spec ->> 'engine', 'auto') = 'embedded' AND a.type <> 'prompt' THEN 'embedded'
  WHEN (crm._ai_settings() ->> 'endpoint')::boolean THEN 'endpoint'
  WHEN coalesce(a.spec ->> 'engine', 'auto') = 'endpoint' OR a.type = 'prompt' THEN NULL
  ELSE 'embedded' END;

CREATE FUNCTION crm._ai_max_tokens(a crm.ai_attribute) RETURNS integer
LANGUAGE sql IMMUTABLE
RETURN coalesce((a.spec ->> 'max_tokens')::integer, CASE a.type WHEN 'classify' THEN 64 WHEN 'score' THEN 32 ELSE 512 END);

-- Results that days passing made untrue (crm.ai_result.due_at) are requested again, their input
-- hash cleared: the date is one of their inputs. Not those of a paused attribute (they stay due),
-- nor those a queued job will compute anyway (whose run may be writing the row); a bounded number
-- per collection, since a crm.run_ai_jobs batch keeps these rows locked to its end. Never a
-- sequential scan: the plan is cached for the session (a worker's whole life), and one made
-- while crm.ai_result was empty would read every result at every claim once it is not (a batch
-- of 5,000 jobs in one session ran 30% slower).
CREATE FUNCTION crm._ai_requeue_due() RETURNS void
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
  WITH due AS (
    SELECT r.attribute_id, r.record_id FROM crm.ai_result r
    JOIN crm.ai_attribute a ON a.id = r.attribute_id AND a.enabled
    WHERE r.due_at < crm.now()
      AND NOT EXISTS (SELECT FROM crm.ai_job j WHERE j.attribute_id = r.attribute_id AND j.record_id = r.record_id)
    ORDER BY r.due_at LIMIT 1000
    FOR UPDATE OF r SKIP LOCKED),
  cleared AS (
    UPDATE crm.ai_result r SET due_at = NULL, input_hash = ''
    FROM due d WHERE r.attribute_id = d.attribute_id AND r.record_id = d.record_id
    RETURNING r.workspace_id, r.attribute_id, r.record_id)
  INSERT INTO crm.ai_inbox (workspace_id, attribute_id, record_id, requested_at)
  SELECT c.workspace_id, c.attribute_id, c.record_id, pg_catalog.now() FROM cleared c;
END
$$;

-- Moves appended requests into the queue, one job per record and attribute, without waiting on
-- anyone: a request for a job another session holds (a running call) goes back to the inbox for
-- the next collection, so no claim waits for a call.
CREATE FUNCTION crm._ai_collect() RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM crm._ai_requeue_due();
  WITH moved AS (
    DELETE FROM crm.ai_inbox i
    WHERE i.ctid = ANY (ARRAY(SELECT i2.ctid FROM crm.ai_inbox i2 LIMIT 100000 FOR UPDATE SKIP LOCKED))
    RETURNING i.*),
  latest AS (
    SELECT DISTINCT ON (m.attribute_id, m.record_id) a.workspace_id, m.attribute_id, m.record_id, m.requested_at,
           EXISTS (SELECT FROM crm.ai_job j WHERE j.attribute_id = m.attribute_id AND j.record_id = m.record_id) AS queued
    FROM moved m JOIN crm.ai_attribute a ON a.id = m.attribute_id AND a.enabled
    ORDER BY m.attribute_id, m.record_id, m.requested_at DESC),
  -- New jobs only where none is queued: an insert that met a row another transaction is writing
  -- would wait for it.
  inserted AS (
    INSERT INTO crm.ai_job (workspace_id, attribute_id, record_id, requested_at)
    SELECT l.workspace_id, l.attribute_id, l.record_id, l.requested_at FROM latest l WHERE NOT l.queued
    ON CONFLICT (attribute_id, record_id) DO NOTHING
    RETURNING attribute_id, record_id),
  free AS (
    SELECT j.id, l.requested_at FROM crm.ai_job j
    JOIN latest l ON l.queued AND l.attribute_id = j.attribute_id AND l.record_id = j.record_id
    FOR UPDATE OF j SKIP LOCKED),
  updated AS (
    UPDATE crm.ai_job j SET requested_at = GREATEST(j.requested_at, f.requested_at), generation = j.generation + 1
    FROM free f WHERE j.id = f.id
    RETURNING j.attribute_id, j.record_id)
  -- The rest (a job someone holds locked, an insert that lost a race) waits in the inbox.
  INSERT INTO crm.ai_inbox (workspace_id, attribute_id, record_id, requested_at)
  SELECT l.workspace_id, l.attribute_id, l.record_id, l.requested_at FROM latest l
  WHERE NOT EXISTS (SELECT FROM inserted x WHERE x.attribute_id = l.attribute_id AND x.record_id = l.record_id)
    AND NOT EXISTS (SELECT FROM updated u WHERE u.attribute_id = l.attribute_id AND u.record_id = l.record_id);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;

-- A call of the workspace's budget and its token bound, reserved at the claim (a short
-- transaction of its own for a worker); false when the day's calls or tokens would pass the budget.
CREATE FUNCTION crm._ai_reserve(ws bigint, tokens bigint) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
  b crm.ai_budget;
BEGIN
  SELECT * INTO b FROM crm.ai_budget x WHERE x.workspace_id = ws;
  INSERT INTO crm.ai_usage (workspace_id, day) VALUES (ws, crm._ai_day()) ON CONFLICT DO NOTHING;
  UPDATE crm.ai_usage u SET calls = u.calls + 1, tokens = u.tokens + _ai_reserve.tokens
  WHERE u.workspace_id = ws AND u.day = crm._ai_day()
    AND (b.calls_per_day IS NULL OR u.calls < b.calls_per_day)
    AND (b.tokens_per_day IS NULL OR u.tokens + _ai_reserve.tokens <= b.tokens_per_day);
  RETURN FOUND;
END
$$;

-- What a reservation becomes once the call is over: the tokens used, and no call if none was
-- made (a busy slot, an error before the request left).
CREATE FUNCTION crm._ai_settle(ws bigint, day date, reserved bigint, used bigint, called boolean) RETURNS void
LANGUAGE sql
BEGIN ATOMIC
  UPDATE crm.ai_usage u SET tokens = GREATEST(u.tokens - _ai_settle.reserved + _ai_settle.used, 0),
                            calls = GREATEST(u.calls - CASE WHEN _ai_settle.called THEN 0 ELSE 1 END, 0)
  WHERE u.workspace_id = _ai_settle.ws AND u.day = _ai_settle.day;
END;

-- The workspaces whose jobs the caller may run: all for a superuser (a superuser's workers serve
-- the whole database); else those crm._require_workspace would let the role act in.
CREATE FUNCTION crm._ai_workspaces() RETURNS bigint[]
LANGUAGE sql STABLE
AS $$
  SELECT CASE WHEN (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = crm._outer_role()) THEN NULL
         ELSE ARRAY(SELECT w.id FROM crm.workspace w
                    WHERE w.roles IS NULL
                       OR EXISTS (SELECT FROM pg_catalog.unnest(w.roles) g(role)
                                  WHERE pg_catalog.pg_has_role(crm._outer_role(), g.role::oid, 'MEMBER'))) END
$$;

-- A failed attempt: due again after a backoff (the retry delay, doubled each attempt), or, at the
-- last attempt, kept in crm.ai_failed_job with its error.
CREATE FUNCTION crm._ai_failed(job crm.ai_job, error_text text) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  settings constant jsonb := crm._ai_settings();
BEGIN
  -- Only this backend's claim (or a job its claim holds locked): another worker's is left alone.
  IF job.status = 'running' AND NOT EXISTS (SELECT FROM crm.ai_job j WHERE j.id = job.id AND j.claimed_by = pg_catalog.pg_backend_pid()
                                                                      AND j.claimed_at = job.claimed_at) THEN
    RETURN 'gone';
  END IF;
  IF job.attempts + 1 >= (settings ->> 'max_attempts')::integer THEN
    INSERT INTO crm.ai_failed_job (workspace_id, attribute_id, record_id, attempts, error, failed_at)
    VALUES (job.workspace_id, job.attribute_id, job.record_id, job.attempts + 1, error_text, pg_catalog.now());
    DELETE FROM crm.ai_job j WHERE j.id = job.id;
    RETURN 'failed';
  END IF;
  UPDATE crm.ai_job j SET status = 'pending', attempts = job.attempts + 1, last_error = error_text,
    claimed_by = NULL, claimed_at = NULL, reserved_tokens = NULL, request = NULL, inputs = NULL, input_hash = NULL,
    skip = NULL, claimed_generation = NULL, claimed_version = NULL,
    next_attempt_at = pg_catalog.now() + pg_catalog.make_interval(secs => (settings ->> 'retry_delay_s')::float8 * 2 ^ job.attempts)
  WHERE j.id = job.id;
  RETURN 'retry';
END
$$;

-- Claims the next due job and prepares it, in the claimer's transaction (a short one of its own
-- for a worker): SKIP LOCKED, so claimers never wait on each other; the inputs and their hash; no
-- call for a field holding a person's value, an opted-out record or inputs already seen; for the
-- endpoint, the request and the budget reserved with its bound (or the job waits, visibly). A job
-- a dead worker held is due again once its lease has passed.
CREATE FUNCTION crm._ai_claim(done bigint[] DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  job crm.ai_job;
  a crm.ai_attribute;
  engine text;
  prepared_inputs jsonb;
  hash text;
  skip_reason text;
  prepared_request jsonb;
  bound bigint;
  b crm.ai_budget;
  lease constant interval := pg_catalog.make_interval(secs => (crm._ai_settings() ->> 'timeout_ms')::float8 / 1000 + 60);
  workspaces constant bigint[] := crm._ai_workspaces();
BEGIN
  PERFORM crm._ai_collect();
  FOR i IN 1..1000 LOOP
    SELECT * INTO job FROM crm.ai_job j
    WHERE j.next_attempt_at <= pg_catalog.now() AND j.id <> ALL (done)
      AND (workspaces IS NULL OR j.workspace_id = ANY (workspaces))
    ORDER BY j.next_attempt_at, j.id
    LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF job.id IS NULL THEN
      RETURN NULL;
    END IF;
    SELECT * INTO a FROM crm.ai_attribute x WHERE x.id = job.attribute_id;
    IF NOT a.enabled THEN
      DELETE FROM crm.ai_job j WHERE j.id = job.id;
      CONTINUE;
    END IF;
    engine := crm._ai_engine(a);
    IF engine IS NULL THEN
      UPDATE crm.ai_job j SET status = 'waiting', next_attempt_at = pg_catalog.now() + interval '10 minutes',
        wait_reason = CASE WHEN a.type = 'prompt' THEN 'no endpoint: a prompt needs crm.ai_base_url'
                           ELSE 'no endpoint: spec.engine is endpoint and crm.ai_base_url is not set' END
      WHERE j.id = job.id;
      CONTINUE;
    END IF;
    prepared_request := NULL;
    bound := NULL;
    BEGIN
      -- Preparing fails this job only.
      prepared_inputs := crm._ai_inputs(a, job.record_id);
      hash := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
                a.version || ':' || a.type || ':' || coalesce(prepared_inputs::text, ''), 'UTF8')), 'hex');
      skip_reason := CASE WHEN prepared_inputs IS NULL THEN 'record_gone' ELSE crm._ai_skip_reason(a, job.record_id) END;
      IF skip_reason IS NULL AND EXISTS (SELECT FROM crm.ai_result r WHERE r.attribute_id = a.id AND r.record_id = job.record_id
                                                                AND r.input_hash = hash AND r.version = a.version) THEN
        skip_reason := 'unchanged';
      END IF;
      IF skip_reason IS NULL AND engine = 'endpoint' THEN
        prepared_request := crm._ai_request(a, prepared_inputs);
        bound := crm._ai_token_bound(prepared_request);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      PERFORM crm._ai_failed(job, pg_catalog.left(SQLSTATE || ': ' || SQLERRM, 2000));
      CONTINUE;
    END;
    IF bound IS NOT NULL AND NOT crm._ai_reserve(job.workspace_id, bound) THEN
      SELECT * INTO b FROM crm.ai_budget x WHERE x.workspace_id = job.workspace_id;
      UPDATE crm.ai_job j SET status = 'waiting',
        next_attempt_at = ((crm._ai_day() + 1)::timestamp AT TIME ZONE 'UTC'),
        wait_reason = pg_catalog.format('budget: %s calls and %s tokens a day', coalesce(b.calls_per_day::text, 'any'),
                                        coalesce(b.tokens_per_day::text, 'any'))
      WHERE j.id = job.id;
      CONTINUE;
    END IF;
    UPDATE crm.ai_job j SET status = 'running', claimed_by = pg_catalog.pg_backend_pid(), claimed_at = pg_catalog.now(),
      next_attempt_at = pg_catalog.now() + lease, wait_reason = NULL, reserved_tokens = bound, reserved_day = crm._ai_day(),
      inputs = prepared_inputs, input_hash = hash, request = prepared_request, skip = skip_reason,
      claimed_generation = job.generation, claimed_version = a.version
    WHERE j.id = job.id;
    RETURN job.id;
  END LOOP;
  RETURN NULL;
END
$$;

-- The job is done: removed, unless it was requested again (or redefined) since it was claimed,
-- then queued again. Only this backend's claim: a claim another worker took over is theirs.
CREATE FUNCTION crm._ai_finish(job crm.ai_job) RETURNS void
LANGUAGE sql
BEGIN ATOMIC
  DELETE FROM crm.ai_job j
  WHERE j.id = (_ai_finish.job).id AND j.claimed_by = pg_catalog.pg_backend_pid() AND j.claimed_at = (_ai_finish.job).claimed_at
    AND j.generation = (_ai_finish.job).claimed_generation;
  UPDATE crm.ai_job j SET status = 'pending', attempts = 0, next_attempt_at = '-infinity', claimed_by = NULL,
    claimed_at = NULL, reserved_tokens = NULL, reserved_day = NULL, last_error = NULL, request = NULL, inputs = NULL,
    input_hash = NULL, skip = NULL, claimed_generation = NULL, claimed_version = NULL
  WHERE j.id = (_ai_finish.job).id AND j.claimed_by = pg_catalog.pg_backend_pid() AND j.claimed_at = (_ai_finish.job).claimed_at;
END;

-- What the model is asked to return, per type.
CREATE FUNCTION crm._ai_reply_schema(a crm.ai_attribute) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN CASE a.type
  WHEN 'classify' THEN pg_catalog.jsonb_build_object(
    'type', 'object', 'additionalProperties', false, 'required', '["label", "confidence"]'::jsonb,
    'properties', pg_catalog.jsonb_build_object(
      'label', pg_catalog.jsonb_build_object('type', 'string', 'enum', a.spec -> 'labels'),
      'confidence', '{"type": "number", "minimum": 0, "maximum": 1}'::jsonb))
  WHEN 'summarize' THEN pg_catalog.jsonb_build_object(
    'type', 'object', 'additionalProperties', false, 'required', '["summary"]'::jsonb,
    'properties', pg_catalog.jsonb_build_object('summary', pg_catalog.jsonb_build_object(
      'type', 'string', 'maxLength', coalesce((a.spec ->> 'max_length')::integer, 400))))
  WHEN 'score' THEN '{"type": "object", "additionalProperties": false, "required": ["score"],
                      "properties": {"score": {"type": "integer", "minimum": 0, "maximum": 100}}}'::jsonb
  ELSE coalesce(a.spec -> 'schema',
                '{"type": "object", "additionalProperties": false, "required": ["answer"],
                  "properties": {"answer": {"type": "string", "maxLength": 1000}}}'::jsonb) END;

-- The chat request for an attribute and a record's inputs.
CREATE FUNCTION crm._ai_request(a crm.ai_attribute, inputs jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  task text;
  prompt text;
BEGIN
  task := CASE a.type
    WHEN 'classify' THEN pg_catalog.format('Choose the label that fits this %s best, from: %s. Give your confidence between 0 and 1.',
                                           a.kind, (SELECT pg_catalog.string_agg(l, ', ') FROM pg_catalog.jsonb_array_elements_text(a.spec -> 'labels') l))
    WHEN 'summarize' THEN pg_catalog.format('Summarize the relationship with this %s in two or three sentences: what it is about, where it stands, the next step.', a.kind)
    WHEN 'score' THEN pg_catalog.format('Score this %s from 0 to 100.', a.kind)
    WHEN 'extract' THEN pg_catalog.format('Extract the fields of the schema from this %s and its recent interactions; leave out what is not there.', a.kind)
    ELSE 'Answer from the record and its recent interactions.' END;
  IF a.type = 'prompt' THEN
    -- One pass over the template: a value that itself reads {{interactions}} stays text.
    SELECT pg_catalog.string_agg(part.text || coalesce(
             CASE WHEN part.name IS NULL THEN ''
                  WHEN part.name = 'interactions' THEN crm._ai_interaction_lines(inputs -> 'interactions')
                  WHEN part.name = 'signals' THEN (inputs -> 'signals')::text
                  ELSE crm._field_value(inputs -> 'fields', part.name) #>> '{}' END, ''), '' ORDER BY part.o)
    INTO prompt
    FROM (SELECT t.text, t.o, (pg_catalog.regexp_match(m.placeholder, '[A-Za-z0-9_.]+'))[1] AS name
          FROM pg_catalog.unnest(pg_catalog.regexp_split_to_array(a.spec ->> 'template', '\{\{\s*[A-Za-z0-9_.]+\s*\}\}'))
               WITH ORDINALITY t(text, o)
          LEFT JOIN (SELECT x.m[1] AS placeholder, x.o FROM pg_catalog.regexp_matches(a.spec ->> 'template',
                       '(\{\{\s*[A-Za-z0-9_.]+\s*\}\})', 'g') WITH ORDINALITY x(m, o)) m ON m.o = t.o) part;
  ELSE
    prompt := pg_catalog.format(E'The %s:\n%s', a.kind, pg_catalog.jsonb_pretty(inputs));
  END IF;
  RETURN pg_catalog.jsonb_build_object(
    'model', coalesce(a.spec ->> 'model', crm._ai_settings() ->> 'model'),
    'name', a.name,
    'schema', crm._ai_reply_schema(a),
    'max_tokens', crm._ai_max_tokens(a),
    'messages', pg_catalog.jsonb_build_array(
      pg_catalog.jsonb_build_object('role', 'system', 'content',
        'You fill one field of a CRM record. Reply with JSON only, matching the given schema. ' || task
        || coalesce(' ' || (a.spec ->> 'instructions'), '')),
      pg_catalog.jsonb_build_object('role', 'user', 'content', prompt)));
END
$$;

CREATE FUNCTION crm._ai_interaction_lines(interactions jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN (SELECT pg_catalog.string_agg(pg_catalog.format('%s %s: %s', pg_catalog.left(i ->> 'at', 10), i ->> 'kind', coalesce(i ->> 'subject', '')), E'\n' ORDER BY o)
        FROM pg_catalog.jsonb_array_elements(interactions) WITH ORDINALITY x(i, o));

-- The model's reply as the value to write and its confidence.
CREATE FUNCTION crm._ai_interpret(a crm.ai_attribute, reply jsonb, OUT value jsonb, OUT confidence float8)
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE a.type WHEN 'classify' THEN reply -> 'label' WHEN 'summarize' THEN reply -> 'summary'
                     WHEN 'score' THEN reply -> 'score'
                     ELSE CASE WHEN a.spec ? 'schema' THEN reply ELSE reply -> 'answer' END END,
         CASE a.type WHEN 'classify' THEN LEAST(GREATEST((reply ->> 'confidence')::float8, 0), 1)
                     ELSE coalesce((a.spec ->> 'confidence')::float8, 0.8) END
$$;

-- Why no call is spent on a record, if none should be: its field holds a person's value (a
-- user's UPDATE, or one no provenance accounts for), or the record refuses automated writes.
CREATE FUNCTION crm._ai_skip_reason(a crm.ai_attribute, id bigint) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  current_value jsonb;
BEGIN
  IF EXISTS (SELECT FROM crm.enrichment_opt_out x WHERE x.kind = a.kind AND x.record_id = _ai_skip_reason.id) THEN
    RETURN 'opted_out';
  END IF;
  EXECUTE pg_catalog.format('SELECT crm._field_value(pg_catalog.to_jsonb(t), $2) FROM %s t WHERE t.id = $1',
                            crm._merge_table(a.kind))
    INTO current_value USING id, a.target;
  IF NOT crm._field_empty(current_value)
     AND coalesce((crm._field_current_source(a.kind, id, a.target, current_value)).source_kind, 'user') = 'user' THEN
    RETURN 'user_value';
  END IF;
  RETURN NULL;
END
$$;

-- Tokens a call may use at most: its prompt (a character is never less than a third of a token
-- in the tokenizers of the models we know) and its max_tokens.
CREATE FUNCTION crm._ai_token_bound(request jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE
RETURN pg_catalog.length((request -> 'messages')::text) / 3 + 1 + (request ->> 'max_tokens')::bigint;

-- The latest result of a job's record and attribute (crm.ai_result), whatever became of it.
CREATE FUNCTION crm._ai_record_result(job crm.ai_job, version integer, model text, value jsonb, confidence float8,
                                      outcome text, tokens bigint, due_at timestamptz DEFAULT NULL)
RETURNS void
LANGUAGE sql
BEGIN ATOMIC
  INSERT INTO crm.ai_result AS r (workspace_id, attribute_id, record_id, version, model, input_hash, value, confidence,
                                  outcome, tokens, produced_at, due_at)
  VALUES ((_ai_record_result.job).workspace_id, (_ai_record_result.job).attribute_id, (_ai_record_result.job).record_id,
          _ai_record_result.version, _ai_record_result.model, (_ai_record_result.job).input_hash, _ai_record_result.value,
          _ai_record_result.confidence, _ai_record_result.outcome, _ai_record_result.tokens, pg_catalog.now(),
          _ai_record_result.due_at)
  ON CONFLICT (attribute_id, record_id) DO UPDATE
    SET version = EXCLUDED.version, model = EXCLUDED.model, input_hash = EXCLUDED.input_hash, value = EXCLUDED.value,
        confidence = EXCLUDED.confidence, outcome = EXCLUDED.outcome, tokens = EXCLUDED.tokens, produced_at = EXCLUDED.produced_at,
        due_at = EXCLUDED.due_at;
END;

-- A job this backend claimed, run to its end: the call (no lock of the job, the record or the
-- budget is held while it waits), the reply checked against the schema, the write through the
-- provenance path, the result, the budget settled. Never raises for the job's own failure: that
-- is retried with backoff, then kept in crm.ai_failed_job. Returns what became of it.
CREATE FUNCTION crm._ai_run(job_id bigint) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  job crm.ai_job;
  a crm.ai_attribute;
  settings constant jsonb := crm._ai_settings();
  reply jsonb;
  answer jsonb;
  problem text;
  result record;
  model text;
  used bigint := 0;
  called boolean := false;
  outcome text;
  due timestamptz;
BEGIN
  SELECT * INTO job FROM crm.ai_job j
  WHERE j.id = job_id AND j.status = 'running' AND j.claimed_by = pg_catalog.pg_backend_pid();
  IF job.id IS NULL THEN
    RETURN 'gone';  -- not claimed by this backend (or no longer)
  END IF;
  SELECT * INTO a FROM crm.ai_attribute x WHERE x.id = job.attribute_id;
  -- A row held locked for long (a record a user is editing, a result a crm.run_ai_jobs batch
  -- requeued) fails this attempt rather than outlive the lease.
  PERFORM pg_catalog.set_config('lock_timeout', '30s', true);
  BEGIN
    IF a.id IS NULL OR a.version <> job.claimed_version OR NOT a.enabled THEN
      -- Dropped, redefined or disabled since the claim: nothing of the old spec is written; a
      -- redefined attribute's job is queued again (its generation moved).
      PERFORM crm._ai_finish(job);
      outcome := 'redefined';
    ELSIF job.skip = 'record_gone' THEN
      PERFORM crm._ai_finish(job);
      outcome := job.skip;
    ELSIF job.skip IS NOT NULL THEN
      -- No call: what was seen is recorded (but for a repeat), so the same inputs are not asked about again.
      IF job.skip <> 'unchanged' THEN
        PERFORM crm._ai_record_result(job, a.version, 'none', NULL, NULL, job.skip, 0);
      END IF;
      PERFORM crm._ai_finish(job);
      outcome := job.skip;
    ELSIF job.request IS NOT NULL THEN
      -- crm.ai_concurrency calls at once per database: a slot is a transaction advisory lock.
      IF NOT EXISTS (SELECT FROM pg_catalog.generate_series(1, (settings ->> 'concurrency')::integer) s
                     WHERE pg_catalog.pg_try_advisory_xact_lock(-727379968, s)) THEN
        RAISE EXCEPTION USING ERRCODE = 'lock_not_available', MESSAGE = 'busy';
      END IF;
      called := true;
      reply := crm._ai_chat(job.request);
      used := GREATEST(coalesce((reply -> 'usage' ->> 'total_tokens')::bigint, job.reserved_tokens), 0);
      model := coalesce(nullif(reply ->> 'model', ''), job.request ->> 'model');
      BEGIN
        answer := (reply ->> 'content')::jsonb;
      EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'the reply is not JSON (finish reason %)', coalesce(nullif(reply ->> 'finish_reason', ''), 'unknown')
          USING ERRCODE = 'data_exception';
      END;
      problem := crm._ai_schema_violation(job.request -> 'schema', answer);
      IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'the reply does not match the schema: %', problem USING ERRCODE = 'data_exception';
      END IF;
      SELECT * INTO result FROM crm._ai_interpret(a, answer);
    ELSE
      SELECT * INTO result FROM crm._ai_embedded(a, job.record_id, job.inputs);
      model := result.model;
      due := result.due_at;
      IF result.wait_reason IS NOT NULL THEN
        UPDATE crm.ai_job j SET status = 'waiting', next_attempt_at = pg_catalog.now() + interval '1 hour',
          wait_reason = result.wait_reason, claimed_by = NULL
        WHERE j.id = job.id AND j.claimed_by = pg_catalog.pg_backend_pid() AND j.claimed_at = job.claimed_at;
        outcome := 'waiting';
      END IF;
    END IF;
    IF outcome IS NULL THEN
      IF result.value IS NULL OR pg_catalog.jsonb_typeof(result.value) = 'null' THEN
        outcome := 'no_value';
      ELSIF result.confidence < coalesce((a.spec ->> 'min_confidence')::float8, 0) THEN
        outcome := 'low_confidence';
      ELSE
        SELECT pg_catalog.string_agg(e.outcome, ',') INTO outcome
        FROM crm._enrich_record(job.workspace_id, a.kind, job.record_id,
                                CASE WHEN pg_catalog.starts_with(a.target, 'attributes.')
                                     THEN pg_catalog.jsonb_build_object('attributes', pg_catalog.jsonb_build_object(pg_catalog.substr(a.target, 12), result.value))
                                     ELSE pg_catalog.jsonb_build_object(a.target, result.value) END,
                                'ai:' || a.name, result.confidence, 'ai', crm.now(), NULL) e;
      END IF;
      PERFORM crm._ai_record_result(job, a.version, model, result.value, result.confidence, outcome, used, due);
      PERFORM crm._ai_finish(job);
    END IF;
  EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE = '55P03' AND SQLERRM = 'busy' THEN
      -- Every slot taken: the job is due again in a second, its call given back below.
      called := false;
      UPDATE crm.ai_job j SET status = 'pending', next_attempt_at = pg_catalog.now() + interval '1 second',
        claimed_by = NULL, claimed_at = NULL, reserved_tokens = NULL, reserved_day = NULL
      WHERE j.id = job.id AND j.claimed_by = pg_catalog.pg_backend_pid() AND j.claimed_at = job.claimed_at;
      outcome := 'busy';
    ELSE
      -- A call that got no usage back (refused, timed out, cut off) costs its bound.
      IF called AND reply IS NULL THEN
        used := job.reserved_tokens;
      END IF;
      BEGIN
        outcome := crm._ai_failed(job, pg_catalog.left(SQLSTATE || ': ' || SQLERRM, 2000));
      EXCEPTION WHEN OTHERS THEN
        -- The attribute dropped meanwhile, say: the job went with it; the budget is settled below.
        outcome := 'gone';
      END;
    END IF;
  END;
  IF job.reserved_tokens IS NOT NULL THEN
    PERFORM crm._ai_settle(job.workspace_id, job.reserved_day, job.reserved_tokens, CASE WHEN called THEN used ELSE 0 END, called);
  END IF;
  RETURN outcome;
END
$$;

CREATE FUNCTION crm.run_ai_jobs(max_jobs integer DEFAULT 100)
RETURNS TABLE (attribute text, record_id bigint, outcome text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  job_id bigint;
  job crm.ai_job;
  done bigint[] := '{}';
BEGIN
  IF max_jobs IS NULL OR max_jobs < 0 THEN
    RAISE EXCEPTION 'max_jobs must be 0 or more' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR i IN 1..max_jobs LOOP
    -- Each job once per call: one retried at once is left for the next call.
    job_id := crm._ai_claim(done);
    EXIT WHEN job_id IS NULL;
    done := done || job_id;
    SELECT * INTO job FROM crm.ai_job j WHERE j.id = job_id;
    attribute := (SELECT a.name FROM crm.ai_attribute a WHERE a.id = job.attribute_id);
    record_id := job.record_id;
    outcome := crm._ai_run(job_id);
    RETURN NEXT;
    -- A busy slot (workers hold them all): leave the rest to them.
    EXIT WHEN outcome = 'busy';
  END LOOP;
END
$$;
COMMENT ON FUNCTION crm.run_ai_jobs(integer) IS
  'runs up to max_jobs due AI jobs of the workspaces the role may act in, in this transaction (for pg_cron and tests), and returns each one''s outcome: the write''s (applied, suggested, unchanged, rejected_before, opted_out), or user_value, opted_out, unchanged (inputs seen before), low_confidence, no_value, waiting, retry, failed, record_gone, redefined, busy';

CREATE FUNCTION crm._ai_start_workers(workers integer) RETURNS integer[]
  AS 'MODULE_PATHNAME', 'crm_start_ai_workers' LANGUAGE C VOLATILE;

CREATE FUNCTION crm.start_ai_workers(workers integer DEFAULT 1) RETURNS integer[]
LANGUAGE plpgsql
AS $$
DECLARE
  running constant integer := (SELECT w.workers FROM crm._ai_live_workers() w);
  allowed constant integer := (crm._ai_settings() ->> 'max_workers')::integer;
BEGIN
  IF workers IS NULL OR workers < 1 OR running + workers > allowed THEN
    RAISE EXCEPTION 'this database may run % AI workers (crm.ai_max_workers); % run, % asked for', allowed, running, coalesce(workers, 0)
      USING ERRCODE = CASE WHEN workers < 1 OR workers IS NULL THEN 'invalid_parameter_value' ELSE 'configuration_limit_exceeded' END,
            HINT = 'each worker holds a background worker slot (max_worker_processes), which parallel query needs too';
  END IF;
  RETURN crm._ai_start_workers(workers);
END
$$;
COMMENT ON FUNCTION crm.start_ai_workers(integer) IS
  'starts AI background workers for this database, running as the calling (login) role; returns their pids. At most crm.ai_max_workers per database; crm.ai_concurrency bounds the endpoint calls of all of them';
-- Each worker holds a background worker slot: for the DBA to grant (crm.grant_access maintenance).
REVOKE ALL ON FUNCTION crm.start_ai_workers(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm._ai_start_workers(integer) FROM PUBLIC;

CREATE FUNCTION crm.stop_ai_workers() RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  n integer;
  outer_role constant text := crm._outer_role();
BEGIN
  -- A superuser stops every worker of the database; another role, the workers running as a role
  -- it is a member of.
  UPDATE crm.ai_worker w SET stop_requested = true
  WHERE NOT w.stop_requested
    AND ((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = outer_role)
         OR pg_catalog.pg_has_role(outer_role, w.role::oid, 'MEMBER'));
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM pg_catalog.pg_notify('crm_ai_jobs', '');
  RETURN n;
END
$$;
COMMENT ON FUNCTION crm.stop_ai_workers() IS
  'asks this database''s AI workers (those running as a role the caller is a member of; all, for a superuser) to stop after their current job; returns how many were asked';

-- For the background workers (src/pg/ai/ai_worker.cpp), which run as the role that started
-- them: their row of crm.ai_worker, their claims and runs, with the extension's rights, refused
-- to any other backend. Returns 1 to go on (start, beat, run), the claimed job's id (claim), or
-- 0 / NULL.
CREATE FUNCTION crm._ai_worker_event(event text, job_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  go_on boolean;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a
                 WHERE a.pid = pg_catalog.pg_backend_pid() AND a.backend_type = 'crm_hygiene AI worker') THEN
    RAISE EXCEPTION 'crm._ai_worker_event is for the AI background workers' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF event = 'start' THEN
    -- Rows of workers gone without saying so (a crash, a restart), not heard from in a minute.
    DELETE FROM crm.ai_worker w
    WHERE w.heartbeat_at < pg_catalog.now() - interval '1 minute'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a WHERE a.pid = w.pid AND a.backend_type = 'crm_hygiene AI worker');
    INSERT INTO crm.ai_worker AS w (pid, role, started_at, heartbeat_at)
    VALUES (pg_catalog.pg_backend_pid(), crm._outer_role()::regrole, pg_catalog.now(), pg_catalog.now())
    ON CONFLICT (pid) DO UPDATE SET role = EXCLUDED.role, started_at = EXCLUDED.started_at,
      heartbeat_at = EXCLUDED.heartbeat_at, jobs_done = 0, stop_requested = false;
    RETURN 1;
  ELSIF event = 'beat' THEN
    UPDATE crm.ai_worker w SET heartbeat_at = pg_catalog.now() WHERE w.pid = pg_catalog.pg_backend_pid()
    RETURNING NOT w.stop_requested INTO go_on;
    RETURN CASE WHEN go_on THEN 1 ELSE 0 END;  -- no row: stopped
  ELSIF event = 'claim' THEN
    RETURN crm._ai_claim();
  ELSIF event = 'run' THEN
    PERFORM crm._ai_run(job_id);
    UPDATE crm.ai_worker w SET jobs_done = w.jobs_done + 1 WHERE w.pid = pg_catalog.pg_backend_pid();
    RETURN 1;
  ELSE
    DELETE FROM crm.ai_worker w WHERE w.pid = pg_catalog.pg_backend_pid();
    RETURN 0;
  END IF;
END
$$;

-- AI inputs and the embedded default (docs/AI.md): with no endpoint configured, classify trains a
-- fastText classifier on the labels people gave, summarize writes a deterministic summary from
-- the derived signals and recent subjects, and score and extract follow declared rules.

CREATE FUNCTION crm._ai_fasttext_train(texts text[], labels integer[]) RETURNS bytea
  AS 'MODULE_PATHNAME', 'crm_ai_fasttext_train' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION crm._ai_fasttext_predict(attribute_id bigint, trained_at timestamptz, text text,
                                         OUT label integer, OUT confidence float8)
  AS 'MODULE_PATHNAME', 'crm_ai_fasttext_predict' LANGUAGE C STABLE STRICT;

-- The derived interaction fields an input 'signals' covers: dates and counts, no decaying
-- strength, so the input hash changes when activity does, not with the clock.
CREATE FUNCTION crm._ai_signals(kind text, id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  s jsonb;
BEGIN
  IF kind = 'person' THEN
    SELECT pg_catalog.to_jsonb(o) INTO s FROM crm.person_overview o WHERE o.id = _ai_signals.id;
  ELSIF kind = 'company' THEN
    SELECT pg_catalog.to_jsonb(o) INTO s FROM crm.company_overview o WHERE o.id = _ai_signals.id;
  END IF;
  IF s IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
    'first_interaction_at', s -> 'first_interaction_at', 'last_interaction_at', s -> 'last_interaction_at',
    'last_interaction_kind', s -> 'last_interaction_kind', 'first_email_at', s -> 'first_email_at',
    'last_email_at', s -> 'last_email_at', 'last_inbound_email_at', s -> 'last_inbound_email_at',
    'last_outbound_email_at', s -> 'last_outbound_email_at', 'first_meeting_at', s -> 'first_meeting_at',
    'last_meeting_at', s -> 'last_meeting_at', 'next_meeting_at', s -> 'next_meeting_at',
    'email_count', s -> 'email_count', 'meeting_count', s -> 'meeting_count',
    'interaction_count', s -> 'interaction_count', 'connection_band', s -> 'connection_band',
    'strongest_connection', (SELECT pg_catalog.to_jsonb(coalesce(m.name, m.email)) FROM crm.member m
                             WHERE m.id = (s ->> 'strongest_connection_member_id')::bigint)));
END
$$;

-- The latest interactions of a record, newest first (not canceled, not in the future).
CREATE FUNCTION crm._ai_interactions(kind text, id bigint, n integer) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  ids bigint[];
BEGIN
  -- Each branch its own index probe (participant_person_idx, participant_company_idx).
  IF _ai_interactions.kind = 'person' THEN
    ids := ARRAY(SELECT p.interaction_id FROM crm.participant p WHERE p.person_id = _ai_interactions.id);
  ELSE
    ids := ARRAY(SELECT p.interaction_id FROM crm.participant p WHERE p.company_id = _ai_interactions.id);
  END IF;
  RETURN (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('at', i.occurred_at, 'kind', i.kind,
                                                                             'subject', pg_catalog.left(i.subject, 200))
                                               ORDER BY i.occurred_at DESC, i.id DESC), '[]')
          FROM (SELECT i.* FROM crm.interaction i
                WHERE i.id = ANY (ids) AND i.status <> 'canceled' AND i.occurred_at <= crm.now()
                ORDER BY i.occurred_at DESC, i.id DESC LIMIT _ai_interactions.n) i);
END
$$;

-- A record's declared inputs: {"fields": {...}, "signals": {...}, "interactions": [...]}; NULL
-- when the record is gone or merged.
CREATE FUNCTION crm._ai_inputs(a crm.ai_attribute, id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  rec jsonb;
  fields jsonb := '{}';
  f text;
  result jsonb;
BEGIN
  EXECUTE pg_catalog.format('SELECT pg_catalog.to_jsonb(t) FROM %s t WHERE t.id = $1 AND t.workspace_id = $2',
                            crm._merge_table(a.kind))
    INTO rec USING id, a.workspace_id;
  IF rec IS NULL OR rec ->> 'merged_into' IS NOT NULL THEN
    RETURN NULL;
  END IF;
  FOREACH f IN ARRAY a.inputs LOOP
    IF f = 'attributes' THEN
      -- The whole attributes object, but not the attribute's own output.
      fields := fields || pg_catalog.jsonb_build_object('attributes', coalesce(fields -> 'attributes', '{}')
        || (rec -> 'attributes') - CASE WHEN pg_catalog.starts_with(a.target, 'attributes.') THEN pg_catalog.substr(a.target, 12) ELSE '' END);
    ELSIF pg_catalog.starts_with(f, 'attributes.') THEN
      fields := fields || pg_catalog.jsonb_build_object('attributes', coalesce(fields -> 'attributes', '{}')
        || pg_catalog.jsonb_build_object(pg_catalog.substr(f, 12), rec -> 'attributes' -> pg_catalog.substr(f, 12)));
    ELSIF f NOT IN ('signals', 'interactions') THEN
      fields := fields || pg_catalog.jsonb_build_object(f, rec -> f);
    END IF;
  END LOOP;
  result := pg_catalog.jsonb_build_object('fields', fields);
  IF 'signals' = ANY (a.inputs) THEN
    result := result || pg_catalog.jsonb_build_object('signals', coalesce(crm._ai_signals(a.kind, id), '{}'));
  END IF;
  IF 'interactions' = ANY (a.inputs) THEN
    result := result || pg_catalog.jsonb_build_object('interactions',
      crm._ai_interactions(a.kind, id, coalesce((a.spec ->> 'interactions')::integer, 10)));
  END IF;
  RETURN result;
END
$$;

-- The text a classifier reads: the fields' words and the subjects, lower case, no punctuation.
CREATE FUNCTION crm._ai_text(inputs jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN pg_catalog.btrim(pg_catalog.lower(pg_catalog.regexp_replace(coalesce(
  (SELECT pg_catalog.string_agg(v #>> '{}', ' ')
   FROM pg_catalog.jsonb_path_query(inputs, 'strict $.fields.**') v WHERE pg_catalog.jsonb_typeof(v) = 'string'), '')
  || ' ' || coalesce(
  (SELECT pg_catalog.string_agg(v #>> '{}', ' ')
   FROM pg_catalog.jsonb_path_query(inputs, 'lax $.interactions[*].subject') v WHERE pg_catalog.jsonb_typeof(v) = 'string'), ''),
  '[^[:alnum:]]+', ' ', 'g')));

-- A field's value for rules: the record's fields first, then the signals.
CREATE FUNCTION crm._ai_lookup(inputs jsonb, field text) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN coalesce(crm._field_value(inputs -> 'fields', field), inputs -> 'signals' -> field);

-- The labelled examples of a classify attribute: records whose target holds one of its labels
-- that a person gave (not an AI's value), newest first.
CREATE FUNCTION crm._ai_examples(a crm.ai_attribute, max_examples integer)
RETURNS TABLE (id bigint, label integer)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN QUERY EXECUTE pg_catalog.format(
    'SELECT r.id, l.o::integer FROM %s r '
    'CROSS JOIN LATERAL (SELECT pg_catalog.to_jsonb(r) AS j) t '
    'JOIN LATERAL pg_catalog.jsonb_array_elements_text($2) WITH ORDINALITY l(label, o) '
    '  ON pg_catalog.lower(l.label) = pg_catalog.lower(crm._field_value(t.j, $3) #>> ''{}'') '
    'WHERE r.workspace_id = $1 %s '
    '  AND coalesce((crm._field_current_source($4, r.id, $3, crm._field_value(t.j, $3))).source_kind, ''user'') <> ''ai'' '
    'ORDER BY r.updated_at DESC, r.id DESC LIMIT $5',
    crm._merge_table(a.kind), CASE WHEN a.kind IN ('person', 'company') THEN 'AND r.merged_into IS NULL' ELSE '' END)
  USING a.workspace_id, a.spec -> 'labels', a.target, a.kind, max_examples;
END
$$;

-- The attribute's classifier, trained again when it is missing, of an older version, or the
-- labelled examples changed by a tenth (looked at every ten minutes at most). NULL with too few.
CREATE FUNCTION crm._ai_classifier(a crm.ai_attribute, OUT model crm.ai_model, OUT examples integer)
LANGUAGE plpgsql
AS $$
DECLARE
  max_examples constant integer := coalesce((a.spec ->> 'max_examples')::integer, 5000);
  ids bigint[];
  labels integer[];
BEGIN
  SELECT * INTO model FROM crm.ai_model m WHERE m.attribute_id = a.id;
  IF model.attribute_id IS NOT NULL AND model.version = a.version AND model.checked_at > pg_catalog.now() - interval '10 minutes' THEN
    examples := model.examples;
    RETURN;
  END IF;
  -- The labelled examples, read once: counted, and trained on if their number moved.
  SELECT pg_catalog.array_agg(e.id ORDER BY e.id), pg_catalog.array_agg(e.label ORDER BY e.id)
  INTO ids, labels
  FROM crm._ai_examples(a, max_examples) e;
  examples := coalesce(pg_catalog.cardinality(ids), 0);
  IF model.attribute_id IS NOT NULL AND model.version = a.version
     AND pg_catalog.abs(examples - model.examples) < GREATEST(1, model.examples / 10) THEN
    UPDATE crm.ai_model m SET checked_at = pg_catalog.now() WHERE m.attribute_id = a.id RETURNING * INTO model;
    RETURN;
  END IF;
  IF examples < 4 OR (SELECT pg_catalog.count(DISTINCT l) FROM pg_catalog.unnest(labels) l) < 2 THEN
    model := NULL;
    RETURN;
  END IF;
  INSERT INTO crm.ai_model AS m (workspace_id, attribute_id, version, examples, labels, model, trained_at, checked_at)
  VALUES (a.workspace_id, a.id, a.version, examples, ARRAY(SELECT pg_catalog.jsonb_array_elements_text(a.spec -> 'labels')),
          crm._ai_fasttext_train(ARRAY(SELECT crm._ai_text(crm._ai_inputs(a, u.id)) FROM pg_catalog.unnest(ids) WITH ORDINALITY u(id, o) ORDER BY u.o),
                                 labels),
          pg_catalog.clock_timestamp(), pg_catalog.now())
  ON CONFLICT (attribute_id) DO UPDATE
    SET version = EXCLUDED.version, examples = EXCLUDED.examples, labels = EXCLUDED.labels, model = EXCLUDED.model,
        trained_at = EXCLUDED.trained_at, checked_at = EXCLUDED.checked_at
  RETURNING * INTO model;
END
$$;

-- A summary from facts only, the same for the same inputs.
CREATE FUNCTION crm._ai_summary(kind text, inputs jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN (
  WITH s AS (SELECT coalesce(inputs -> 'signals', '{}') AS s),
  parts AS (
    SELECT 1 AS o, CASE WHEN (s ->> 'interaction_count')::bigint > 0 THEN
      pg_catalog.format('%s interactions (%s emails, %s meetings) since %s', s ->> 'interaction_count',
                        coalesce(s ->> 'email_count', '0'), coalesce(s ->> 'meeting_count', '0'),
                        pg_catalog.left(s ->> 'first_interaction_at', 10))
      ELSE 'No interactions yet' END AS t FROM s
    UNION ALL
    SELECT 2, pg_catalog.format('last %s on %s', s ->> 'last_interaction_kind', pg_catalog.left(s ->> 'last_interaction_at', 10))
    FROM s WHERE s ? 'last_interaction_at'
    UNION ALL
    SELECT 3, 'next meeting on ' || pg_catalog.left(s ->> 'next_meeting_at', 10) FROM s WHERE s ? 'next_meeting_at'
    UNION ALL
    SELECT 4, pg_catalog.format('%s connection, closest to %s', s ->> 'connection_band', s ->> 'strongest_connection')
    FROM s WHERE s ? 'connection_band' AND s ? 'strongest_connection'
    UNION ALL
    SELECT 5, 'recent: ' || (SELECT pg_catalog.string_agg('"' || x.subject || '"', '; ' ORDER BY x.o)
                             FROM (SELECT DISTINCT ON (i ->> 'subject') i ->> 'subject' AS subject, o
                                   FROM pg_catalog.jsonb_array_elements(inputs -> 'interactions') WITH ORDINALITY e(i, o)
                                   WHERE coalesce(pg_catalog.btrim(i ->> 'subject'), '') <> ''
                                   ORDER BY i ->> 'subject', o) x
                             WHERE x.o <= 20)
    WHERE pg_catalog.jsonb_array_length(coalesce(inputs -> 'interactions', '[]')) > 0)
  SELECT pg_catalog.string_agg(t, '; ' ORDER BY o) || '.' FROM parts WHERE t IS NOT NULL);

-- A value of a within_days rule as a time, or NULL when it is none (a text that only looks like a
-- date, "2026-02-30", does not hold rather than fail the job). STABLE: read in the session's zone.
CREATE FUNCTION crm._ai_rule_time(v jsonb) RETURNS timestamptz
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  IF pg_catalog.jsonb_typeof(v) IS DISTINCT FROM 'string' OR (v #>> '{}') !~ '^\d{4}-\d\d-\d\d' THEN
    RETURN NULL;
  END IF;
  RETURN (v #>> '{}')::timestamptz;
EXCEPTION WHEN data_exception THEN
  RETURN NULL;
END
$$;

-- A within_days rule's days (declared a whole number, perhaps written 30.0; beyond a million
-- days is as good as forever).
CREATE FUNCTION crm._ai_rule_days(rule jsonb) RETURNS interval
LANGUAGE sql IMMUTABLE
RETURN pg_catalog.make_interval(days => LEAST((rule ->> 'value')::numeric, 1000000)::integer);

-- A score by declared rules: the points of every rule that holds, between 0 and 100.
CREATE FUNCTION crm._ai_rule_score(rules jsonb, inputs jsonb, at timestamptz) RETURNS integer
LANGUAGE sql STABLE
RETURN LEAST(100, GREATEST(0, coalesce((
  SELECT pg_catalog.sum((r ->> 'points')::numeric)
  FROM pg_catalog.jsonb_array_elements(rules) r
  CROSS JOIN LATERAL (SELECT crm._ai_lookup(inputs, r ->> 'field') AS v) v
  WHERE CASE coalesce(r ->> 'op', 'present')
    WHEN 'present' THEN NOT crm._field_empty(v.v)
    WHEN 'equals' THEN pg_catalog.lower(v.v #>> '{}') = pg_catalog.lower(r ->> 'value')
    WHEN 'in' THEN pg_catalog.lower(v.v #>> '{}') IN (SELECT pg_catalog.lower(x) FROM pg_catalog.jsonb_array_elements_text(r -> 'value') x)
    WHEN 'contains' THEN pg_catalog.strpos(pg_catalog.lower(v.v #>> '{}'), pg_catalog.lower(r ->> 'value')) > 0
    WHEN 'at_least' THEN pg_catalog.jsonb_typeof(v.v) = 'number' AND (v.v #>> '{}')::numeric >= (r ->> 'value')::numeric
    WHEN 'at_most' THEN pg_catalog.jsonb_typeof(v.v) = 'number' AND (v.v #>> '{}')::numeric <= (r ->> 'value')::numeric
    WHEN 'within_days' THEN crm._ai_rule_time(v.v) >= at - crm._ai_rule_days(r)
    END), 0)))::integer;

-- When a rule score stops being true as days pass: the first day a within_days rule that holds at
-- `at` stops holding (its date plus its days). A rule that does not hold never holds again later.
CREATE FUNCTION crm._ai_rule_score_due(rules jsonb, inputs jsonb, at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE
RETURN (
  SELECT pg_catalog.min(d.day + d.days)
  FROM pg_catalog.jsonb_array_elements(rules) r
  CROSS JOIN LATERAL (SELECT CASE WHEN r ->> 'op' = 'within_days' THEN crm._ai_rule_time(crm._ai_lookup(inputs, r ->> 'field')) END AS day,
                             CASE WHEN r ->> 'op' = 'within_days' THEN crm._ai_rule_days(r) END AS days) d
  WHERE d.day >= at - d.days);

-- Extraction by declared rules: each property's pattern over the subjects (or a field); the
-- first capture group, typed as the schema says.
CREATE FUNCTION crm._ai_rule_extract(spec jsonb, inputs jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN (
  SELECT pg_catalog.jsonb_object_agg(x.property, x.value)
  FROM (SELECT r.key AS property,
               CASE coalesce(spec -> 'schema' -> 'properties' -> r.key ->> 'type', 'string')
                 WHEN 'integer' THEN pg_catalog.to_jsonb(pg_catalog.round(m.found::numeric))
                 WHEN 'number' THEN pg_catalog.to_jsonb(m.found::numeric)
                 WHEN 'boolean' THEN 'true'::jsonb
                 ELSE pg_catalog.to_jsonb(pg_catalog.btrim(m.found)) END AS value
        FROM pg_catalog.jsonb_each(spec -> 'rules') r
        CROSS JOIN LATERAL (
          SELECT m0.mm[1] AS found
          FROM (SELECT t.text, t.o FROM pg_catalog.jsonb_array_elements(inputs -> 'interactions') WITH ORDINALITY e(i, o)
                CROSS JOIN LATERAL (SELECT e.i ->> 'subject' AS text, e.o) t
                WHERE coalesce(r.value ->> 'from', 'subjects') = 'subjects'
                UNION ALL
                SELECT crm._ai_lookup(inputs, r.value ->> 'from') #>> '{}', 0
                WHERE coalesce(r.value ->> 'from', 'subjects') <> 'subjects') t
          CROSS JOIN LATERAL (SELECT pg_catalog.regexp_match(t.text, r.value ->> 'pattern', 'i') AS mm) m0
          WHERE m0.mm IS NOT NULL
          ORDER BY t.o LIMIT 1) m
        WHERE (coalesce(spec -> 'schema' -> 'properties' -> r.key ->> 'type', 'string') NOT IN ('integer', 'number')
               OR m.found ~ '^\s*-?\d+(\.\d+)?\s*$')) x);

-- The embedded default for one record.
CREATE FUNCTION crm._ai_embedded(a crm.ai_attribute, id bigint, inputs jsonb,
                                 OUT value jsonb, OUT confidence float8, OUT model text, OUT wait_reason text,
                                 OUT due_at timestamptz)
LANGUAGE plpgsql
AS $$
DECLARE
  c record;
  p record;
BEGIN
  IF a.type = 'classify' THEN
    SELECT * INTO c FROM crm._ai_classifier(a);
    IF (c.model).attribute_id IS NULL THEN
      wait_reason := pg_catalog.format('the classifier needs labelled examples: %s records labelled by people, in at least 2 labels, of 4 or more', c.examples);
      RETURN;
    END IF;
    SELECT * INTO p FROM crm._ai_fasttext_predict(a.id, (c.model).trained_at, crm._ai_text(inputs));
    value := pg_catalog.to_jsonb((c.model).labels[p.label]);
    confidence := LEAST(GREATEST(p.confidence, 0), 1);
    model := pg_catalog.format('embedded:fasttext (%s examples)', (c.model).examples);
  ELSIF a.type = 'summarize' THEN
    value := pg_catalog.to_jsonb(crm._ai_summary(a.kind, inputs));
    confidence := 1;
    model := 'embedded:summary';
  ELSIF a.type = 'score' THEN
    IF NOT a.spec ? 'rules' THEN
      wait_reason := 'no endpoint: a score without spec.rules needs crm.ai_base_url';
      RETURN;
    END IF;
    value := pg_catalog.to_jsonb(crm._ai_rule_score(a.spec -> 'rules', inputs, crm.now()));
    due_at := crm._ai_rule_score_due(a.spec -> 'rules', inputs, crm.now());
    confidence := 1;
    model := 'embedded:rules';
  ELSIF a.type = 'extract' THEN
    IF NOT a.spec ? 'rules' THEN
      wait_reason := 'no endpoint: an extract without spec.rules needs crm.ai_base_url';
      RETURN;
    END IF;
    value := crm._ai_rule_extract(a.spec, inputs);
    -- Only what the schema allows is written; a partial match missing a required property is none.
    IF value IS NOT NULL AND crm._ai_schema_violation(a.spec -> 'schema', value) IS NOT NULL THEN
      value := NULL;
    END IF;
    confidence := coalesce((a.spec ->> 'confidence')::float8, 0.9);
    model := 'embedded:rules';
  ELSE
    wait_reason := 'no endpoint: a prompt needs crm.ai_base_url';
  END IF;
END
$$;

-- The tables above behind the workspace boundary and in pg_dump, as at install.
ALTER TABLE crm.field_provenance ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.field_provenance
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.field_policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.field_policy
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.field_suggestion ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.field_suggestion
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.enrichment_opt_out ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.enrichment_opt_out
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.enrichment_policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.enrichment_policy
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.quality_check ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.quality_check
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.quality_snapshot ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.quality_snapshot
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.ai_attribute ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.ai_attribute
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.ai_inbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.ai_inbox
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.ai_job ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.ai_job
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.ai_failed_job ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.ai_failed_job
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.ai_result ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.ai_result
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.ai_model ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.ai_model
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.ai_budget ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.ai_budget
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
ALTER TABLE crm.ai_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY workspace_boundary ON crm.ai_usage
  USING (workspace_id = ANY (ARRAY(SELECT w.id FROM crm.workspace w)));
SELECT pg_catalog.pg_extension_config_dump('crm.field_provenance', '');
SELECT pg_catalog.pg_extension_config_dump('crm.field_policy', '');
SELECT pg_catalog.pg_extension_config_dump('crm.field_suggestion', '');
SELECT pg_catalog.pg_extension_config_dump('crm.enrichment_opt_out', '');
SELECT pg_catalog.pg_extension_config_dump('crm.enrichment_policy', '');
SELECT pg_catalog.pg_extension_config_dump('crm.quality_check', '');
SELECT pg_catalog.pg_extension_config_dump('crm.quality_snapshot', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_attribute', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_inbox', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_job', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_failed_job', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_result', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_model', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_budget', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_usage', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_worker', '');
SELECT pg_catalog.pg_extension_config_dump('crm.field_provenance_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('crm.field_suggestion_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('crm.quality_check_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_attribute_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('crm.ai_failed_job_id_seq', '');

-- Hardening: keep this section last; every function above is in its final form here.
DO $$
DECLARE
  fn record;
  -- C functions that only compute: no SPI, no catalog lookup by name.
  pure_c constant text[] := ARRAY['_band', '_strength', '_valid_duplicate_model', '_restoring',
    'default_duplicate_model', 'given_name_forms', 'is_disposable_email_domain', 'is_free_email_domain',
    'normalize_company_name', 'normalize_email', 'normalize_person_name', 'normalize_phone',
    'registrable_domain', 'now', 'current_workspace', '_parse_emails', '_parse_calendar',
    '_interaction_deleting', '_merge_writes', '_merged_into_guard', '_outer_role', '_enrich_writes',
    '_enrich_decision', '_automated_writing', '_statement_rows', '_label_key', 'split_display_name', 'country_code', 'country_name',
    'country_time_zone', 'phone_country', '_ai_settings', '_ai_chat', '_ai_unsupported_schema',
    '_ai_schema_violation', '_ai_fasttext_train',
    -- Triggers on every record write: their SQL names schemas and operators (OPERATOR(pg_catalog.=)).
    '_ai_enqueue', '_ai_attributes_changed'];
  -- Triggers and functions that write derived state for their callers.
  definer constant text[] := ARRAY['_participant_resolve', '_participant_signals', '_interaction_signals',
    '_activity_truncated', '_duplicates_written', '_duplicates_deleted', '_duplicates_truncated',
    '_record_relink', '_company_delete_claim', '_records_truncated', '_workspace_model', '_model_changed',
    '_workspace_capture_policy', '_match_frequency_changed', '_merge_apply', '_unmerge_apply',
    '_merge_request_file', '_pending_merge_request', '_merge_request_decided',
    'register_merge_reference', 'unregister_merge_reference', '_merge_log_references',
    'dismiss_duplicate', 'rebuild_signals', 'tick', 'scan_duplicates', 'train_duplicate_model',
    '_recompute_connections', 'ingest_emails', 'ingest_email', 'ingest_calendar',
    '_resolve_exact', '_resolve_fuzzy', '_resolve_person_names', '_resolve_people',
    '_resolve_companies', '_resolve_deals', 'find_duplicates', '_field_written', '_field_records_deleted',
    '_field_records_truncated', 'enrich', 'set_enrichment_opt_out', '_pending_suggestion',
    'accept_suggestion', 'reject_suggestion', '_labels_written', '_workspace_picklists',
    '_enrich_inserted', '_enrich_updated', '_workspace_enrichment_policy', 'run_enrichers',
    '_workspace_quality_checks', '_ai_claim', '_ai_run', '_ai_worker_event', '_ai_live_workers', 'run_ai_jobs', 'stop_ai_workers',
    'define_ai_attribute', 'drop_ai_attribute', 'set_ai_budget', 'retry_ai_jobs'];
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
    -- A SECURITY DEFINER function is pinned whatever its body: it is never inlined anyway.
    IF NOT (fn.standard_body OR (fn.lanname = 'c' AND fn.proname = ANY (pure_c))) OR fn.proname = ANY (definer) THEN
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
