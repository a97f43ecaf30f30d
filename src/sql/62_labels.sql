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
