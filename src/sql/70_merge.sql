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
CREATE FUNCTION crm._resolve_address(ws bigint, addr text)
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
