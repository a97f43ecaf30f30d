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
