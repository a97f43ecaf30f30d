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
