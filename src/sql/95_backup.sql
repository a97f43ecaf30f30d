-- Backups: pg_dump keeps every table of the extension, records, activity, settings, logs and
-- derived state alike, and the identity sequences behind them. A restore reloads them as dumped
-- while the triggers stand aside (crm._restoring), so derived values come back exactly, with no
-- re-derivation to double-count. docs/BACKUP.md. test/release/dump_restore.sh checks it.
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
