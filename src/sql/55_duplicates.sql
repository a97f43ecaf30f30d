-- Fuzzy duplicate people and companies (src/core/match, src/pg/match/duplicate_*.cpp). Every write to
-- crm.person or crm.company keeps the record's match profile (normalised fields and blocking
-- keys); the record is compared with the records sharing a key, and probable duplicates land in
-- crm.duplicate_candidate with their evidence, in the same statement.

CREATE TABLE crm.match_profile (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT match_profile_kind CHECK (kind IN ('person', 'company')),
  record_id bigint NOT NULL,
  -- the normalised fields, in the order of src/core/match/profile.hpp, joined by U+001F
  fields text NOT NULL,
  keys bigint[] NOT NULL,
  fingerprint bigint NOT NULL,
  PRIMARY KEY (kind, record_id)
);
-- Without the pending list: every write searches the index right after inserting into it, and a
-- pending list is searched by a linear scan.
CREATE INDEX match_profile_keys_idx ON crm.match_profile USING gin (keys) WITH (fastupdate = off);
CREATE INDEX match_profile_workspace_idx ON crm.match_profile (workspace_id, kind);
COMMENT ON TABLE crm.match_profile IS
  'maintained by the extension: each record''s normalised fields and blocking keys';

-- Term frequencies (src/core/match/frequency.hpp): how many records of a workspace hold each
-- value of a counted field, kept by every write of crm.match_profile, so trigger, find and scan
-- read the same counts. peak is the most records that ever held the value: scores only use it,
-- so a count that falls back never raises a stored pair's score behind the write path's back.
CREATE TABLE crm.match_frequency (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT match_frequency_kind CHECK (kind IN ('person', 'company')),
  field text NOT NULL,
  value text NOT NULL,
  records integer NOT NULL,
  peak integer NOT NULL CONSTRAINT match_frequency_peak CHECK (peak >= records),
  PRIMARY KEY (workspace_id, kind, field, value)
);
COMMENT ON TABLE crm.match_frequency IS
  'maintained by the extension: records holding each normalised value of a counted field (first_name, last_name, city, postal_code; a company''s name, street, city, postal_code), and the most that ever did';

-- The counted values of profiles: field name and value (crm.match_profile.fields, split at
-- U+001F, positions as src/core/match/profile.hpp orders them). The trigger below counts the same
-- in C++; this spelling serves the upgrade's backfill and the tests' recount.
CREATE FUNCTION crm._match_frequency_values(kind text, fields text)
  RETURNS TABLE (field text, value text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT f.field, pg_catalog.split_part(fields, U&'\001F', f.position)
  FROM (VALUES ('person', 'first_name', 1), ('person', 'last_name', 2), ('person', 'city', 7),
               ('person', 'postal_code', 8), ('company', 'name', 1),
               ('company', 'street', 4), ('company', 'city', 5), ('company', 'postal_code', 6))
         AS f(kind, field, position)
  WHERE f.kind = _match_frequency_values.kind
    AND pg_catalog.split_part(fields, U&'\001F', f.position) <> '';
END;

-- Applies a statement's profile changes to the counts, in one sorted upsert (a fixed lock order).
-- C++ (src/pg/match/frequency_trigger.cpp): it runs inside every profile write, and reads the transition
-- tables without planning a query; it counts what crm._match_frequency_values lists.
CREATE FUNCTION crm._match_frequency_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_match_frequency_changed' LANGUAGE C;

CREATE TRIGGER match_profile_frequency_insert AFTER INSERT ON crm.match_profile
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._match_frequency_changed();
CREATE TRIGGER match_profile_frequency_update AFTER UPDATE ON crm.match_profile
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crm._match_frequency_changed();
CREATE TRIGGER match_profile_frequency_delete AFTER DELETE ON crm.match_profile
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._match_frequency_changed();

CREATE TABLE crm.duplicate_candidate (
  workspace_id bigint NOT NULL REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT duplicate_candidate_kind CHECK (kind IN ('person', 'company')),
  record_id bigint NOT NULL,
  other_id bigint NOT NULL,
  score float8 NOT NULL CONSTRAINT duplicate_candidate_score CHECK (score >= 0 AND score <= 1),
  evidence jsonb NOT NULL,
  status text NOT NULL DEFAULT 'open'
    CONSTRAINT duplicate_candidate_status CHECK (status IN ('open', 'dismissed', 'merged')),
  detected_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- both records' profile fingerprints (xor) when last scored: a dismissal holds while it is equal
  fingerprint bigint NOT NULL,
  -- counted values the pair agrees on exactly ('last_name:smith'): re-scored when one grows common
  agreed text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (kind, record_id, other_id),
  CONSTRAINT duplicate_candidate_ordered CHECK (record_id < other_id)
);
CREATE INDEX duplicate_candidate_other_idx ON crm.duplicate_candidate (kind, other_id);
CREATE INDEX duplicate_candidate_workspace_idx ON crm.duplicate_candidate (workspace_id, kind, status);
CREATE INDEX duplicate_candidate_agreed_idx ON crm.duplicate_candidate USING gin (agreed);
COMMENT ON TABLE crm.duplicate_candidate IS
  'probable duplicate pairs (record_id < other_id), with the score and the evidence of each field';

CREATE FUNCTION crm._valid_duplicate_model(kind text, model jsonb) RETURNS boolean
  AS 'MODULE_PATHNAME', 'crm_valid_duplicate_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- A workspace's model; without a row, the defaults (crm.default_duplicate_model) apply.
CREATE TABLE crm.duplicate_model (
  workspace_id bigint NOT NULL DEFAULT crm.current_workspace() REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT duplicate_model_kind CHECK (kind IN ('person', 'company')),
  model jsonb NOT NULL CONSTRAINT duplicate_model_valid CHECK (crm._valid_duplicate_model(kind, model)),
  trained_at timestamptz,
  PRIMARY KEY (workspace_id, kind)
);
COMMENT ON TABLE crm.duplicate_model IS
  'per workspace and kind: Fellegi-Sunter m and u per field level, prior, candidate threshold, custom attributes compared';

CREATE TABLE crm.duplicate_rule (
  workspace_id bigint NOT NULL DEFAULT crm.current_workspace() REFERENCES crm.workspace ON DELETE CASCADE,
  kind text NOT NULL CONSTRAINT duplicate_rule_kind CHECK (kind IN ('person', 'company')),
  action text NOT NULL CONSTRAINT duplicate_rule_action CHECK (action IN ('allow', 'alert', 'block')),
  threshold float8 NOT NULL CONSTRAINT duplicate_rule_threshold CHECK (threshold > 0 AND threshold <= 1),
  PRIMARY KEY (workspace_id, kind)
);
COMMENT ON TABLE crm.duplicate_rule IS
  'what a create or update that probably duplicates a record does: allow (default), alert (WARNING) or block (ERROR 23505)';

CREATE FUNCTION crm.default_duplicate_model(kind text) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'crm_default_duplicate_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm.default_duplicate_model(text) IS 'the model a workspace uses until it trains or writes its own';

-- Maintenance of profiles and candidates as records are written (C++, statement level).
-- jit off: the generic plans of the key probes estimate thousands of rows per key, which crosses
-- jit_above_cost and spends 8 ms compiling a query that runs in 0.1 ms.
CREATE FUNCTION crm._duplicates_written() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_duplicates_written' LANGUAGE C SET jit = off;

CREATE FUNCTION crm._duplicates_deleted() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM crm.duplicate_candidate c USING old_rows o
  WHERE c.kind = TG_ARGV[0] AND (c.record_id = o.id OR c.other_id = o.id);
  DELETE FROM crm.match_profile p USING old_rows o WHERE p.kind = TG_ARGV[0] AND p.record_id = o.id;
  RETURN NULL;
END
$$;

CREATE FUNCTION crm._duplicates_truncated() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM crm.duplicate_candidate WHERE kind = TG_ARGV[0];
  DELETE FROM crm.match_profile WHERE kind = TG_ARGV[0];
  DELETE FROM crm.match_frequency WHERE kind = TG_ARGV[0];  -- a truncated table starts over
  RETURN NULL;
END
$$;

CREATE TRIGGER person_duplicates_insert AFTER INSERT ON crm.person
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_written('person');
CREATE TRIGGER person_duplicates_update AFTER UPDATE ON crm.person
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_written('person');
CREATE TRIGGER person_duplicates_delete AFTER DELETE ON crm.person
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_deleted('person');
CREATE TRIGGER company_duplicates_insert AFTER INSERT ON crm.company
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_written('company');
CREATE TRIGGER company_duplicates_update AFTER UPDATE ON crm.company
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_written('company');
CREATE TRIGGER company_duplicates_delete AFTER DELETE ON crm.company
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_deleted('company');

CREATE TRIGGER person_duplicates_truncated AFTER TRUNCATE ON crm.person
  FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_truncated('person');
CREATE TRIGGER company_duplicates_truncated AFTER TRUNCATE ON crm.company
  FOR EACH STATEMENT EXECUTE FUNCTION crm._duplicates_truncated('company');

-- With the owner's rights (src/sql/92_hardening.sql), for the session's workspace once
-- crm._require_workspace allowed it: under row-level security a caller's own query could not
-- probe the keys' index (&& and @> are not leakproof) and would read the whole workspace a key.
CREATE FUNCTION crm.find_duplicates(kind text, record jsonb, max_results integer DEFAULT 10)
  RETURNS TABLE (record_id bigint, score float8, evidence jsonb)
  AS 'MODULE_PATHNAME', 'crm_find_duplicates' LANGUAGE C STABLE STRICT SET jit = off;
COMMENT ON FUNCTION crm.find_duplicates(text, jsonb, integer) IS
  'records of this workspace that the given record (column names as keys) would probably duplicate, best first';

CREATE FUNCTION crm.set_duplicate_rule(kind text, action text, threshold float8) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF kind IS NULL OR kind NOT IN ('person', 'company') THEN
    RAISE EXCEPTION 'unknown record kind "%"', kind USING ERRCODE = '22023', HINT = 'use ''person'' or ''company''';
  END IF;
  IF action IS NULL OR action NOT IN ('allow', 'alert', 'block') THEN
    RAISE EXCEPTION 'unknown duplicate action "%"', action USING ERRCODE = '22023', HINT = 'use ''allow'', ''alert'' or ''block''';
  END IF;
  IF threshold IS NULL OR NOT (threshold > 0 AND threshold <= 1) THEN
    RAISE EXCEPTION 'duplicate threshold must be in (0, 1]' USING ERRCODE = '22023', DETAIL = format('threshold is %s', threshold);
  END IF;
  INSERT INTO crm.duplicate_rule AS r (workspace_id, kind, action, threshold)
  VALUES (crm.current_workspace(), set_duplicate_rule.kind, set_duplicate_rule.action, set_duplicate_rule.threshold)
  ON CONFLICT ON CONSTRAINT duplicate_rule_pkey
  DO UPDATE SET action = excluded.action, threshold = excluded.threshold;
END
$$;
COMMENT ON FUNCTION crm.set_duplicate_rule(text, text, float8) IS
  'on create and update in this workspace: allow, alert (WARNING) or block (ERROR 23505) a probable duplicate scoring at least threshold';

CREATE FUNCTION crm.scan_duplicates(kind text) RETURNS bigint
  AS 'MODULE_PATHNAME', 'crm_scan_duplicates' LANGUAGE C STRICT SET jit = off;
COMMENT ON FUNCTION crm.scan_duplicates(text) IS
  'rebuilds this workspace''s profiles and candidates of a kind from its records; returns the open candidates; idempotent';

CREATE FUNCTION crm.train_duplicate_model(kind text) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'crm_train_duplicate_model' LANGUAGE C STRICT;
COMMENT ON FUNCTION crm.train_duplicate_model(text) IS
  'estimates this workspace''s model from its own records (u from random pairs, m by EM over blocked pairs) and stores it';

CREATE FUNCTION crm.dismiss_duplicate(kind text, record_id bigint, other_id bigint) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM crm._require_workspace(crm.current_workspace());  -- runs with the owner's rights
  UPDATE crm.duplicate_candidate c SET status = 'dismissed'
  WHERE c.kind = dismiss_duplicate.kind
    AND c.record_id = least(dismiss_duplicate.record_id, dismiss_duplicate.other_id)
    AND c.other_id = greatest(dismiss_duplicate.record_id, dismiss_duplicate.other_id)
    AND c.workspace_id = crm.current_workspace()
    AND c.status <> 'merged';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no duplicate candidate % % and % %', kind, record_id, kind, other_id
      USING ERRCODE = 'P0002', HINT = 'crm.duplicate_candidate lists the pairs of this workspace';
  END IF;
END
$$;
COMMENT ON FUNCTION crm.dismiss_duplicate(text, bigint, bigint) IS
  'marks a pair as not duplicates: never proposed again unless either record changes materially';

CREATE FUNCTION crm._duplicate_sets() RETURNS TABLE (workspace_id bigint, kind text, set_id bigint, record_id bigint)
  AS 'MODULE_PATHNAME', 'crm_duplicate_sets' LANGUAGE C STABLE;

CREATE VIEW crm.duplicate_sets WITH (security_invoker = true) AS SELECT * FROM crm._duplicate_sets();
COMMENT ON VIEW crm.duplicate_sets IS
  'records linked by open candidates, without chaining (components cut where one pair alone joins two groups); set_id is the smallest record id of the set';
