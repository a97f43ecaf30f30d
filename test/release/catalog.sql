-- The extension's catalog, as text lines that do not depend on OIDs or install order: what
-- test/release/upgrade_catalog.sh compares between a fresh install and an upgraded one.
WITH ext AS (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'crm_hygiene'),
members AS (
  SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext
  WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
rels AS (
  SELECT c.oid, c.relname, c.relkind FROM pg_catalog.pg_class c JOIN members m
    ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = c.oid
)
SELECT line FROM (
  SELECT 'function ' || p.oid::regprocedure::text || ' returns ' || pg_catalog.pg_get_function_result(p.oid)
         || ' lang=' || l.lanname || ' vol=' || p.provolatile::text || ' strict=' || p.proisstrict
         || ' secdef=' || p.prosecdef || ' parallel=' || p.proparallel::text || ' leakproof=' || p.proleakproof
         || ' cost=' || p.procost || ' rows=' || p.prorows
         || ' config=' || coalesce(p.proconfig::text, '') || ' acl=' || coalesce(p.proacl::text, 'default')
         || ' args=' || coalesce(pg_catalog.pg_get_function_arguments(p.oid), '')
         || ' def=' || pg_catalog.md5(pg_catalog.pg_get_functiondef(p.oid)) || ' bin=' || coalesce(p.probin, '')
         || ' comment=' || coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '') AS line
  FROM pg_catalog.pg_proc p JOIN members m ON m.classid = 'pg_catalog.pg_proc'::regclass AND m.objid = p.oid
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
  UNION ALL
  SELECT 'relation ' || r.relname || ' kind=' || r.relkind::text || ' acl=' || coalesce(c.relacl::text, 'default')
         || ' options=' || coalesce(c.reloptions::text, '') || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity
         || ' comment=' || coalesce(pg_catalog.obj_description(r.oid, 'pg_class'), '')
  FROM rels r JOIN pg_catalog.pg_class c ON c.oid = r.oid
  UNION ALL
  -- Columns by name, not by number: an upgrade adds columns at the end, and nobody selects by position.
  SELECT 'column ' || r.relname || '.' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
         || ' notnull=' || a.attnotnull || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
         || ' default=' || coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')
         || ' acl=' || coalesce(a.attacl::text, '')
         || ' comment=' || coalesce(pg_catalog.col_description(r.oid, a.attnum), '')
  FROM rels r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
  WHERE r.relkind IN ('r', 'v', 'p', 'c')
  UNION ALL
  SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
  FROM rels r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
  UNION ALL
  SELECT 'constraint ' || r.relname || '.' || co.conname || ' ' || pg_catalog.pg_get_constraintdef(co.oid)
  FROM rels r JOIN pg_catalog.pg_constraint co ON co.conrelid = r.oid
  UNION ALL
  SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
  FROM rels r JOIN pg_catalog.pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT 'view ' || r.relname || ' ' || pg_catalog.md5(pg_catalog.pg_get_viewdef(r.oid))
  FROM rels r WHERE r.relkind IN ('v', 'm')
  UNION ALL
  SELECT 'policy ' || pol.schemaname || '.' || pol.tablename || '.' || pol.policyname || ' ' || pol.cmd
         || ' roles=' || pol.roles::text || ' using=' || coalesce(pol.qual, '') || ' check=' || coalesce(pol.with_check, '')
  FROM pg_catalog.pg_policies pol WHERE pol.schemaname = 'crm'
  UNION ALL
  SELECT 'type ' || t.typname || ' ' || coalesce((SELECT pg_catalog.string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                                                  FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '')
  FROM pg_catalog.pg_type t JOIN members m ON m.classid = 'pg_catalog.pg_type'::regclass AND m.objid = t.oid
  UNION ALL
  SELECT 'dumped ' || c.relname || ' where=' || coalesce(x.cond, '')
  FROM ext JOIN pg_catalog.pg_extension e ON e.oid = ext.oid
  CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS x(reloid, cond)
  JOIN pg_catalog.pg_class c ON c.oid = x.reloid
  UNION ALL
  SELECT 'schema crm acl=' || coalesce(n.nspacl::text, 'default') FROM pg_catalog.pg_namespace n WHERE n.nspname = 'crm'
  UNION ALL
  SELECT 'member ' || pg_catalog.pg_describe_object(m.classid, m.objid, 0) FROM members m
) catalog
ORDER BY line COLLATE "C";
