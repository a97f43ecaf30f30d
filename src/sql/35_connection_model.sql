-- The connection-strength model, one row per workspace: every number of the published formula
-- (docs/CONNECTION_STRENGTH.md). Weights, the audience cap and the half-life shape stored state,
-- so changing them recomputes the workspace's connections in the same transaction; the scale
-- and the band thresholds only shape how stored state reads.
CREATE TABLE crm.connection_model (
  workspace_id bigint PRIMARY KEY REFERENCES crm.workspace ON DELETE CASCADE,
  outbound_email float8 NOT NULL DEFAULT 1.0,
  inbound_email float8 NOT NULL DEFAULT 0.7,
  meeting float8 NOT NULL DEFAULT 2.5,
  call float8 NOT NULL DEFAULT 2.0,
  role_primary float8 NOT NULL DEFAULT 1.0,
  role_cc float8 NOT NULL DEFAULT 0.5,
  role_bcc float8 NOT NULL DEFAULT 0.5,
  max_audience integer NOT NULL DEFAULT 10 CHECK (max_audience >= 1),
  half_life interval NOT NULL DEFAULT '90 days'
    CHECK (half_life BETWEEN interval '1 hour' AND interval '36500 days'
           AND extract(month FROM half_life) = 0 AND extract(year FROM half_life) = 0),
  scale float8 NOT NULL DEFAULT 10 CHECK (scale > 0 AND scale <= 1e9),
  very_strong float8 NOT NULL DEFAULT 0.8,
  strong float8 NOT NULL DEFAULT 0.6,
  good float8 NOT NULL DEFAULT 0.4,
  weak float8 NOT NULL DEFAULT 0.2,
  -- NaN fails "<= 1e6" too. The cap keeps every product of weights finite.
  CONSTRAINT connection_model_weights CHECK (
    outbound_email BETWEEN 0 AND 1e6 AND inbound_email BETWEEN 0 AND 1e6
    AND meeting BETWEEN 0 AND 1e6 AND call BETWEEN 0 AND 1e6
    AND role_primary BETWEEN 0 AND 1e6 AND role_cc BETWEEN 0 AND 1e6 AND role_bcc BETWEEN 0 AND 1e6),
  CONSTRAINT connection_model_bands CHECK (0 < weak AND weak <= good AND good <= strong
                                           AND strong <= very_strong AND very_strong < 1)
);
COMMENT ON TABLE crm.connection_model IS 'per-workspace numbers of the connection-strength model; updating weights or half_life recomputes the workspace';
INSERT INTO crm.connection_model (workspace_id) SELECT 1 WHERE NOT crm._restoring();

CREATE FUNCTION crm._workspace_model() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- the dump brings the workspace's model
  INSERT INTO crm.connection_model (workspace_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER workspace_model AFTER INSERT ON crm.workspace
  FOR EACH ROW EXECUTE FUNCTION crm._workspace_model();

-- Strength at a clock of a pair whose log2 R at the epoch is rank (NULL: no connection).
CREATE FUNCTION crm._strength(rank float8, half_life interval, scale float8, at timestamptz)
  RETURNS float8 AS 'MODULE_PATHNAME', 'crm_connection_strength' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The band of a strength: very strong, strong, good, weak, very weak (> 0) or none. In C: a SQL
-- function here would not be inlined (strength appears five times) and would cost microseconds
-- per row of an overview.
CREATE FUNCTION crm._band(strength float8, very_strong float8, strong float8, good float8, weak float8)
  RETURNS text AS 'MODULE_PATHNAME', 'crm_connection_band' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION crm._recompute_connections(workspace bigint) RETURNS bigint
  AS 'MODULE_PATHNAME', 'crm_recompute_connections' LANGUAGE C STRICT;

CREATE FUNCTION crm._model_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- connections are restored as dumped
  IF TG_OP = 'UPDATE' AND NEW.workspace_id = OLD.workspace_id
     AND (NEW.outbound_email, NEW.inbound_email, NEW.meeting, NEW.call, NEW.role_primary,
          NEW.role_cc, NEW.role_bcc, NEW.max_audience, NEW.half_life)
         IS NOT DISTINCT FROM
         (OLD.outbound_email, OLD.inbound_email, OLD.meeting, OLD.call, OLD.role_primary,
          OLD.role_cc, OLD.role_bcc, OLD.max_audience, OLD.half_life) THEN
    RETURN NULL;  -- scale and bands only change how stored state reads
  END IF;
  -- A new workspace (or a model row for one without records) has nothing to recompute.
  IF TG_OP = 'INSERT'
     AND NOT EXISTS (SELECT FROM crm.person_signal s WHERE s.workspace_id = NEW.workspace_id)
     AND NOT EXISTS (SELECT FROM crm.company_signal s WHERE s.workspace_id = NEW.workspace_id) THEN
    RETURN NULL;
  END IF;
  -- Exclusive against every writer of activity (they take it shared, src/pg/common/lock_keys.hpp):
  -- nobody folds with the old model once the new one is in place.
  PERFORM pg_catalog.pg_advisory_xact_lock(1668443496, 1836016748);  -- 'crmh', 'modl'
  IF TG_OP <> 'INSERT' AND EXISTS (SELECT FROM crm.workspace w WHERE w.id = OLD.workspace_id) THEN
    PERFORM crm._recompute_connections(OLD.workspace_id);
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.workspace_id <> OLD.workspace_id) THEN
    PERFORM crm._recompute_connections(NEW.workspace_id);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER connection_model_changed AFTER INSERT OR UPDATE OR DELETE ON crm.connection_model
  FOR EACH ROW EXECUTE FUNCTION crm._model_changed();
