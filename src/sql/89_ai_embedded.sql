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
