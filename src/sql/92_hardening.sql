-- Hardening, applied to every function of the extension (src/sql/upgrades repeats it verbatim):
--
-- 1. search_path. Every function runs with search_path = pg_catalog, pg_temp, so no object a role
--    plants in a schema on a caller's path (public, say) can stand in for a function or operator
--    the extension calls, in SQL, in PL/pgSQL or in the SQL that the C++ code sends through SPI.
--    Two kinds keep the caller's path, because a SET clause would stop the planner from inlining
--    them or add a cost to every row, and because nothing in them looks a name up at run time:
--    SQL functions with SQL-standard bodies (bound when this script ran) and C functions that
--    run no SQL (listed below).
-- 2. SECURITY DEFINER for the triggers and the few functions that write derived state, so that
--    derived tables need no grant at all: applications write records and activity, the extension
--    writes what derives from them (README, "Roles and grants"; crm.grant_access).
-- 3. Internal functions (crm._*) and SECURITY DEFINER ones are not executable by PUBLIC;
--    crm.grant_access grants the ones a role's access needs.
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
