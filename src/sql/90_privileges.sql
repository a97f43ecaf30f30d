-- Mutating maintenance is for the DBA to grant; reads and the oracle stay public.
REVOKE ALL ON FUNCTION crm.rebuild_signals() FROM PUBLIC;
REVOKE ALL ON FUNCTION crm.tick() FROM PUBLIC;
-- A whole-workspace recompute: only through crm.connection_model's trigger, for roles granted it.
REVOKE ALL ON FUNCTION crm._recompute_connections(bigint) FROM PUBLIC;
-- Whole-workspace duplicate maintenance: rebuilds every profile and candidate, or replaces the
-- model every write is scored with. For the DBA to grant, like crm.rebuild_signals().
REVOKE ALL ON FUNCTION crm.scan_duplicates(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm.train_duplicate_model(text) FROM PUBLIC;

-- The kinds of access a deployment needs, as one tested set of grants (README, "Roles and
-- grants"). Derived tables are never granted for writing: the extension's SECURITY DEFINER
-- triggers write them (src/sql/92_hardening.sql).
--   reader       BI tools: read every view and table, nothing else
--   application  reader + write records and activity, capture email and calendars, dismiss pairs
--   maintenance  reader + tick, rebuild, scan, train, verify, the per-workspace settings, AI
--                attributes, budgets, jobs and workers, and
--                the application's references merges move
--   merge        reader + merge and unmerge records, approve and reject requests (anyone who
--                reads may preview a merge and request one)
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
