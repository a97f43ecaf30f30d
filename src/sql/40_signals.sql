-- Interaction attributes per person and company, maintained by C++ triggers
-- (src/pg/signals/signals_trigger.cpp) with the folding rules of src/core/signals.
--
-- Each row is exact at the clock it was last written at (signals_as_of) and stays exact while no
-- stored future interaction has started (next_interaction_at > crm.now()). Rows past that point
-- are "due": the overview views compute them live, and crm.tick() folds them into storage.

-- No foreign key to the record: its row would be locked by the cascade before the record's
-- participants are relinked, the reverse of the order every activity write takes (participant rows,
-- then signal rows). The record triggers delete the row last; verify_signals checks for orphans.
CREATE TABLE crm.person_signal (
  person_id bigint PRIMARY KEY,
  workspace_id bigint NOT NULL,
  first_interaction_at timestamptz,
  last_interaction_at timestamptz,
  last_interaction_id bigint,
  last_interaction_kind crm.interaction_kind,
  last_interaction_member_id bigint,
  first_email_at timestamptz,
  last_email_at timestamptz,
  last_inbound_email_at timestamptz,
  last_outbound_email_at timestamptz,
  first_meeting_at timestamptz,
  last_meeting_at timestamptz,
  next_meeting_at timestamptz,
  next_interaction_at timestamptz,
  email_count bigint NOT NULL DEFAULT 0,
  meeting_count bigint NOT NULL DEFAULT 0,
  interaction_count bigint NOT NULL DEFAULT 0,
  -- The strongest connection (45_connections.sql): its member and log2 R at the epoch.
  strongest_member_id bigint,
  strongest_rank float8,
  signals_as_of timestamptz
);
CREATE INDEX person_signal_last_idx ON crm.person_signal (workspace_id, last_interaction_at);
CREATE INDEX person_signal_due_idx ON crm.person_signal (next_interaction_at) WHERE next_interaction_at IS NOT NULL;

CREATE TABLE crm.company_signal (LIKE crm.person_signal INCLUDING DEFAULTS);
ALTER TABLE crm.company_signal DROP COLUMN person_id;
ALTER TABLE crm.company_signal ADD COLUMN company_id bigint PRIMARY KEY;
CREATE INDEX company_signal_last_idx ON crm.company_signal (workspace_id, last_interaction_at);
CREATE INDEX company_signal_due_idx ON crm.company_signal (next_interaction_at) WHERE next_interaction_at IS NOT NULL;

-- The C++ entry points.
CREATE FUNCTION crm._participant_resolve() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_participant_resolve' LANGUAGE C;
CREATE FUNCTION crm._participant_signals() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_participant_signals' LANGUAGE C;
CREATE FUNCTION crm._interaction_signals() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_interaction_signals' LANGUAGE C;
CREATE FUNCTION crm._activity_truncated() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_activity_truncated' LANGUAGE C;
-- Remembers an interaction being deleted, for the participants' trigger that runs after the
-- cascade: it takes out what they contributed as a difference.
CREATE FUNCTION crm._interaction_deleting() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_interaction_deleting' LANGUAGE C;
CREATE FUNCTION crm._claim_addresses(ws bigint, addrs text[], domains text[]) RETURNS void
  AS 'MODULE_PATHNAME', 'crm_claim_addresses' LANGUAGE C STRICT;
-- A record statement's claims (addrs[i] in wss[i], domains[i] in domain_wss[i]): all or none.
CREATE FUNCTION crm._claim_addresses(wss bigint[], addrs text[], domain_wss bigint[], domains text[]) RETURNS void
  AS 'MODULE_PATHNAME', 'crm_claim_record_addresses' LANGUAGE C STRICT;

CREATE FUNCTION crm._signals_now(record_kind text, record_id bigint,
  OUT first_interaction_at timestamptz, OUT last_interaction_at timestamptz,
  OUT last_interaction_kind crm.interaction_kind, OUT last_interaction_member_id bigint,
  OUT first_email_at timestamptz, OUT last_email_at timestamptz,
  OUT last_inbound_email_at timestamptz, OUT last_outbound_email_at timestamptz,
  OUT first_meeting_at timestamptz, OUT last_meeting_at timestamptz,
  OUT next_meeting_at timestamptz, OUT next_interaction_at timestamptz,
  OUT email_count bigint, OUT meeting_count bigint, OUT interaction_count bigint,
  OUT strongest_member_id bigint, OUT strongest_rank float8)
  AS 'MODULE_PATHNAME', 'crm_signals_now' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION crm._signals_now(text, bigint) IS 'interaction attributes of one record computed from its activity at crm.now()';

CREATE FUNCTION crm._verify_signal_state(OUT record_kind text, OUT record_id bigint, OUT field text,
                                         OUT stored text, OUT expected text)
  RETURNS SETOF record AS 'MODULE_PATHNAME', 'crm_verify_signal_state' LANGUAGE C;

CREATE FUNCTION crm.rebuild_signals() RETURNS bigint
  AS 'MODULE_PATHNAME', 'crm_rebuild_signals' LANGUAGE C;
COMMENT ON FUNCTION crm.rebuild_signals() IS 'recomputes the interaction attributes of every person and company from scratch; returns the number of records written';

CREATE FUNCTION crm.tick() RETURNS bigint
  AS 'MODULE_PATHNAME', 'crm_tick' LANGUAGE C;
COMMENT ON FUNCTION crm.tick() IS 'folds interactions that have started since they were written into stored state; returns the number of records refreshed';

CREATE TRIGGER participant_resolve BEFORE INSERT OR UPDATE ON crm.participant
  FOR EACH ROW EXECUTE FUNCTION crm._participant_resolve();
CREATE TRIGGER participant_signals_insert AFTER INSERT ON crm.participant
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._participant_signals();
CREATE TRIGGER participant_signals_update AFTER UPDATE ON crm.participant
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._participant_signals();
CREATE TRIGGER participant_signals_delete AFTER DELETE ON crm.participant
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._participant_signals();
CREATE TRIGGER interaction_signals_insert AFTER INSERT ON crm.interaction
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._interaction_signals();
CREATE TRIGGER interaction_signals_update AFTER UPDATE ON crm.interaction
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._interaction_signals();
CREATE TRIGGER interaction_signals_delete AFTER DELETE ON crm.interaction
  FOR EACH STATEMENT EXECUTE FUNCTION crm._interaction_signals();
CREATE TRIGGER interaction_signals_deleting BEFORE DELETE ON crm.interaction
  FOR EACH ROW EXECUTE FUNCTION crm._interaction_deleting();
CREATE TRIGGER participant_truncated AFTER TRUNCATE ON crm.participant
  FOR EACH STATEMENT EXECUTE FUNCTION crm._activity_truncated();
CREATE TRIGGER interaction_truncated AFTER TRUNCATE ON crm.interaction
  FOR EACH STATEMENT EXECUTE FUNCTION crm._activity_truncated();

-- Views for BI tools: each record's columns, its interaction attributes and its strongest
-- connection, right at read time. A record whose stored state holds a future interaction that has
-- started (or that was written at a later clock) is "due" and computed live.
-- Shape, for reads of a few or a thousand records: the signal row by primary key per record
-- (OFFSET 0 keeps the planner from hashing the whole signal table), the clock evaluated once
-- ((SELECT crm.now()) is an InitPlan), and the live computation behind a one-time filter, so it
-- only runs for due records.
CREATE VIEW crm.person_overview WITH (security_invoker = true) AS
SELECT r.*,
       CASE WHEN d.due THEN l.first_interaction_at ELSE s.first_interaction_at END AS first_interaction_at,
       CASE WHEN d.due THEN l.last_interaction_at ELSE s.last_interaction_at END AS last_interaction_at,
       CASE WHEN d.due THEN l.last_interaction_kind ELSE s.last_interaction_kind END AS last_interaction_kind,
       CASE WHEN d.due THEN l.last_interaction_member_id ELSE s.last_interaction_member_id END AS last_interaction_member_id,
       CASE WHEN d.due THEN l.first_email_at ELSE s.first_email_at END AS first_email_at,
       CASE WHEN d.due THEN l.last_email_at ELSE s.last_email_at END AS last_email_at,
       CASE WHEN d.due THEN l.last_inbound_email_at ELSE s.last_inbound_email_at END AS last_inbound_email_at,
       CASE WHEN d.due THEN l.last_outbound_email_at ELSE s.last_outbound_email_at END AS last_outbound_email_at,
       CASE WHEN d.due THEN l.first_meeting_at ELSE s.first_meeting_at END AS first_meeting_at,
       CASE WHEN d.due THEN l.last_meeting_at ELSE s.last_meeting_at END AS last_meeting_at,
       CASE WHEN d.due THEN l.next_meeting_at ELSE s.next_meeting_at END AS next_meeting_at,
       CASE WHEN d.due THEN l.next_interaction_at ELSE s.next_interaction_at END AS next_interaction_at,
       CASE WHEN d.due THEN l.email_count ELSE s.email_count END AS email_count,
       CASE WHEN d.due THEN l.meeting_count ELSE s.meeting_count END AS meeting_count,
       CASE WHEN d.due THEN l.interaction_count ELSE s.interaction_count END AS interaction_count,
       CASE WHEN d.due THEN l.strongest_member_id ELSE s.strongest_member_id END AS strongest_connection_member_id,
       CASE WHEN d.due THEN l.strongest_rank ELSE s.strongest_rank END AS connection_rank,
       v.strength AS connection_strength,
       crm._band(v.strength, coalesce(m.very_strong, 0.8), coalesce(m.strong, 0.6),
                 coalesce(m.good, 0.4), coalesce(m.weak, 0.2)) AS connection_band
FROM crm.person r
CROSS JOIN LATERAL (SELECT * FROM crm.person_signal s WHERE s.person_id = r.id OFFSET 0) s
CROSS JOIN LATERAL (SELECT (s.next_interaction_at <= (SELECT crm.now())
                            OR s.signals_as_of > (SELECT crm.now())) IS TRUE AS due) d
LEFT JOIN LATERAL (SELECT * FROM crm._signals_now('person', r.id) WHERE d.due OFFSET 0) l ON true
LEFT JOIN crm.connection_model m ON m.workspace_id = r.workspace_id
CROSS JOIN LATERAL (SELECT crm._strength(CASE WHEN d.due THEN l.strongest_rank ELSE s.strongest_rank END,
                                         coalesce(m.half_life, '90 days'), coalesce(m.scale, 10),
                                         (SELECT crm.now())) AS strength) v;

CREATE VIEW crm.company_overview WITH (security_invoker = true) AS
SELECT r.*,
       CASE WHEN d.due THEN l.first_interaction_at ELSE s.first_interaction_at END AS first_interaction_at,
       CASE WHEN d.due THEN l.last_interaction_at ELSE s.last_interaction_at END AS last_interaction_at,
       CASE WHEN d.due THEN l.last_interaction_kind ELSE s.last_interaction_kind END AS last_interaction_kind,
       CASE WHEN d.due THEN l.last_interaction_member_id ELSE s.last_interaction_member_id END AS last_interaction_member_id,
       CASE WHEN d.due THEN l.first_email_at ELSE s.first_email_at END AS first_email_at,
       CASE WHEN d.due THEN l.last_email_at ELSE s.last_email_at END AS last_email_at,
       CASE WHEN d.due THEN l.last_inbound_email_at ELSE s.last_inbound_email_at END AS last_inbound_email_at,
       CASE WHEN d.due THEN l.last_outbound_email_at ELSE s.last_outbound_email_at END AS last_outbound_email_at,
       CASE WHEN d.due THEN l.first_meeting_at ELSE s.first_meeting_at END AS first_meeting_at,
       CASE WHEN d.due THEN l.last_meeting_at ELSE s.last_meeting_at END AS last_meeting_at,
       CASE WHEN d.due THEN l.next_meeting_at ELSE s.next_meeting_at END AS next_meeting_at,
       CASE WHEN d.due THEN l.next_interaction_at ELSE s.next_interaction_at END AS next_interaction_at,
       CASE WHEN d.due THEN l.email_count ELSE s.email_count END AS email_count,
       CASE WHEN d.due THEN l.meeting_count ELSE s.meeting_count END AS meeting_count,
       CASE WHEN d.due THEN l.interaction_count ELSE s.interaction_count END AS interaction_count,
       CASE WHEN d.due THEN l.strongest_member_id ELSE s.strongest_member_id END AS strongest_connection_member_id,
       CASE WHEN d.due THEN l.strongest_rank ELSE s.strongest_rank END AS connection_rank,
       v.strength AS connection_strength,
       crm._band(v.strength, coalesce(m.very_strong, 0.8), coalesce(m.strong, 0.6),
                 coalesce(m.good, 0.4), coalesce(m.weak, 0.2)) AS connection_band
FROM crm.company r
CROSS JOIN LATERAL (SELECT * FROM crm.company_signal s WHERE s.company_id = r.id OFFSET 0) s
CROSS JOIN LATERAL (SELECT (s.next_interaction_at <= (SELECT crm.now())
                            OR s.signals_as_of > (SELECT crm.now())) IS TRUE AS due) d
LEFT JOIN LATERAL (SELECT * FROM crm._signals_now('company', r.id) WHERE d.due OFFSET 0) l ON true
LEFT JOIN crm.connection_model m ON m.workspace_id = r.workspace_id
CROSS JOIN LATERAL (SELECT crm._strength(CASE WHEN d.due THEN l.strongest_rank ELSE s.strongest_rank END,
                                         coalesce(m.half_life, '90 days'), coalesce(m.scale, 10),
                                         (SELECT crm.now())) AS strength) v;

-- Records whose last interaction is older than older_than, or that never had one, oldest first.
-- Two ranges of the (workspace_id, last_interaction_at) index: never (NULL), and before the
-- cutoff. A record whose stored state holds a meeting that has started since (due for tick) is
-- judged by its live state, as the views show it.
CREATE FUNCTION crm.stale_records(kind text, older_than interval)
RETURNS TABLE (record_id bigint, last_interaction_at timestamptz)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  clock timestamptz := crm.now();
BEGIN
  IF kind IS DISTINCT FROM 'person' AND kind IS DISTINCT FROM 'company' THEN
    RAISE EXCEPTION 'unknown record kind "%"', kind
      USING ERRCODE = 'invalid_parameter_value', HINT = 'use ''person'' or ''company''';
  END IF;
  RETURN QUERY EXECUTE pg_catalog.format($q$
    SELECT c.id, c.last_at
    FROM (SELECT x.id,
                 -- CASE: only records due for tick are computed live.
                 CASE WHEN x.next_at <= $2
                      THEN (SELECT l.last_interaction_at FROM crm._signals_now(%1$L, x.id) l)
                      ELSE x.last_at END AS last_at
          FROM (SELECT s.%2$I AS id, s.last_interaction_at AS last_at, s.next_interaction_at AS next_at
                FROM crm.%3$I s WHERE s.workspace_id = $1 AND s.last_interaction_at IS NULL
                UNION ALL
                SELECT s.%2$I, s.last_interaction_at, s.next_interaction_at
                FROM crm.%3$I s WHERE s.workspace_id = $1 AND s.last_interaction_at < $3) x) c
    WHERE c.last_at IS NULL OR c.last_at < $3
    ORDER BY 2 NULLS FIRST, 1$q$, kind, kind || '_id', kind || '_signal')
  USING crm.current_workspace(), clock, clock - older_than;
END
$$;
COMMENT ON FUNCTION crm.stale_records(text, interval) IS 'people or companies of this workspace whose last interaction is older than older_than, or that never had one';
