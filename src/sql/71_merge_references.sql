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
