-- Connection strength per (member, person) and (member, company), maintained by the same C++
-- triggers as the interaction attributes (src/pg/signals/record_apply.cpp, src/core/connection).
--
-- Sums are stored as log2 of sum(w * 2^(t/H)) with t counted from 2000-01-01 (Postgres' epoch):
-- they never change as time passes, an interaction arriving late adds into them exactly, and
-- rank = log2 R at the epoch orders pairs exactly as their current strengths do. A row is exact
-- at as_of while none of its future interactions has started (next_interaction_at > crm.now()).

-- One row per member and contact. A contact is a person, or an address no person record owns
-- whose domain belongs to a company (person_id NULL, address_key identifying the address): it
-- counts towards that company as a person would. No foreign keys, as for the signal rows: the
-- triggers keep them right and verify_signals checks them.
CREATE TABLE crm.connection (
  workspace_id bigint NOT NULL,
  member_id bigint NOT NULL,
  person_id bigint,
  address_key bigint,
  company_id bigint,
  log_out float8,
  log_in float8,
  log_meet float8,
  rank float8,
  emails_sent bigint NOT NULL DEFAULT 0,
  emails_received bigint NOT NULL DEFAULT 0,
  meetings bigint NOT NULL DEFAULT 0,
  calls bigint NOT NULL DEFAULT 0,
  first_interaction_at timestamptz,
  last_interaction_at timestamptz,
  next_interaction_at timestamptz,
  as_of timestamptz NOT NULL,
  CHECK ((person_id IS NULL) <> (address_key IS NULL)),
  CHECK (person_id IS NOT NULL OR company_id IS NOT NULL)
);
CREATE UNIQUE INDEX connection_person_idx ON crm.connection (person_id, member_id) WHERE person_id IS NOT NULL;
CREATE UNIQUE INDEX connection_address_idx ON crm.connection (company_id, address_key, member_id) WHERE person_id IS NULL;
CREATE INDEX connection_member_idx ON crm.connection (member_id, rank DESC NULLS LAST) WHERE person_id IS NOT NULL;
COMMENT ON TABLE crm.connection IS 'derived: connection state per member and contact; read crm.connection_strength instead';

CREATE TABLE crm.company_connection (
  company_id bigint NOT NULL,
  member_id bigint NOT NULL,
  workspace_id bigint NOT NULL,
  rank float8,
  people bigint NOT NULL DEFAULT 0,
  last_interaction_at timestamptz,
  next_interaction_at timestamptz,
  as_of timestamptz NOT NULL,
  PRIMARY KEY (company_id, member_id)
);
CREATE INDEX company_connection_member_idx ON crm.company_connection (member_id, rank DESC NULLS LAST);
COMMENT ON TABLE crm.company_connection IS 'derived: connection state per member and company; read crm.company_connection_strength instead';

CREATE FUNCTION crm._connections_now(record_kind text, record_id bigint)
RETURNS TABLE (member_id bigint, rank float8, emails_sent bigint, emails_received bigint,
               meetings bigint, calls bigint, people bigint, first_interaction_at timestamptz,
               last_interaction_at timestamptz)
  AS 'MODULE_PATHNAME', 'crm_connections_now' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION crm._connections_now(text, bigint) IS 'connection pairs of one person or company computed from its activity at crm.now()';

CREATE VIEW crm.connection_strength WITH (security_invoker = true) AS
SELECT x.workspace_id, x.member_id, x.person_id, v.strength,
       crm._band(v.strength, coalesce(m.very_strong, 0.8), coalesce(m.strong, 0.6),
                 coalesce(m.good, 0.4), coalesce(m.weak, 0.2)) AS band,
       x.emails_sent, x.emails_received, x.meetings, x.calls, x.first_interaction_at,
       x.last_interaction_at, x.rank
FROM (SELECT c.workspace_id, c.member_id, c.person_id, c.rank, c.emails_sent, c.emails_received,
             c.meetings, c.calls, c.first_interaction_at, c.last_interaction_at
      FROM crm.connection c
      WHERE c.person_id IS NOT NULL
        AND NOT (c.next_interaction_at <= (SELECT crm.now()) OR c.as_of > (SELECT crm.now())) IS TRUE
      UNION ALL
      SELECT c.workspace_id, c.member_id, c.person_id, l.rank, l.emails_sent, l.emails_received,
             l.meetings, l.calls, l.first_interaction_at, l.last_interaction_at
      FROM crm.connection c
      CROSS JOIN LATERAL crm._connections_now('person', c.person_id) l
      WHERE c.person_id IS NOT NULL AND l.member_id = c.member_id
        AND (c.next_interaction_at <= (SELECT crm.now()) OR c.as_of > (SELECT crm.now())) IS TRUE) x
LEFT JOIN crm.connection_model m ON m.workspace_id = x.workspace_id
CROSS JOIN LATERAL (SELECT crm._strength(x.rank, coalesce(m.half_life, '90 days'),
                                         coalesce(m.scale, 10), (SELECT crm.now())) AS strength) v;
COMMENT ON VIEW crm.connection_strength IS 'connection strength in [0, 1) and band of every member and person who interacted; rank orders pairs as strength does';

CREATE VIEW crm.company_connection_strength WITH (security_invoker = true) AS
SELECT x.workspace_id, x.member_id, x.company_id, v.strength,
       crm._band(v.strength, coalesce(m.very_strong, 0.8), coalesce(m.strong, 0.6),
                 coalesce(m.good, 0.4), coalesce(m.weak, 0.2)) AS band,
       x.people, x.last_interaction_at, x.rank
FROM (SELECT c.workspace_id, c.member_id, c.company_id, c.rank, c.people, c.last_interaction_at
      FROM crm.company_connection c
      WHERE NOT (c.next_interaction_at <= (SELECT crm.now()) OR c.as_of > (SELECT crm.now())) IS TRUE
      UNION ALL
      SELECT c.workspace_id, c.member_id, c.company_id, l.rank, l.people, l.last_interaction_at
      FROM crm.company_connection c
      CROSS JOIN LATERAL crm._connections_now('company', c.company_id) l
      WHERE l.member_id = c.member_id
        AND (c.next_interaction_at <= (SELECT crm.now()) OR c.as_of > (SELECT crm.now())) IS TRUE) x
LEFT JOIN crm.connection_model m ON m.workspace_id = x.workspace_id
CROSS JOIN LATERAL (SELECT crm._strength(x.rank, coalesce(m.half_life, '90 days'),
                                         coalesce(m.scale, 10), (SELECT crm.now())) AS strength) v;
COMMENT ON VIEW crm.company_connection_strength IS 'connection strength of every member and company: R summed over the company''s people and unknown addresses at its domain';

CREATE FUNCTION crm.explain_connection(member_id bigint, person_id bigint) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'crm_explain_connection' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION crm.explain_connection(bigint, bigint) IS 'every interaction behind a member''s connection to a person, with its weight and decay, the sums, reciprocity, R and the strength';
