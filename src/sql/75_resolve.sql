-- Record resolution (docs/RESOLVE.md): which record a free-text mention means. C++ parses the
-- mention and ranks (src/core/resolve, src/pg/match/resolve_functions.cpp); the lookups are the
-- SQL functions below, bound to pg_trgm's operators when this script runs. A tombstone's match
-- profile is empty (no name, no key), so nothing below ever finds one.
--
-- The searches and the evidence run with the owner's rights (SECURITY DEFINER,
-- src/sql/92_hardening.sql): under a workspace's row-level security a caller's query may not use
-- an index through an operator or expression that is not leakproof (&& on the keys, pg_trgm's %
-- and <%, a company id read out of a profile), and would read the whole workspace instead. They
-- read workspace ws only, after crm._require_workspace checked that the calling role may use it;
-- internal functions, granted to readers only.

-- The name a profile is searched by: a person's given and family names, a company's name, as
-- normalised when the record was written (crm.match_profile.fields, src/core/match/profile.hpp).
CREATE FUNCTION crm._profile_name(kind text, fields text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE kind
  WHEN 'person' THEN pg_catalog.btrim(pg_catalog.split_part(fields, U&'\001F', 1) || ' ' ||
                                      pg_catalog.split_part(fields, U&'\001F', 2))
  ELSE pg_catalog.split_part(fields, U&'\001F', 1) END;

-- Typo-tolerant name search (pg_trgm), one index per kind so that a company search never walks
-- the people's trigrams.
CREATE INDEX match_profile_person_name_idx ON crm.match_profile
  USING gin (crm._profile_name(kind, fields) gin_trgm_ops) WHERE kind = 'person';
CREATE INDEX match_profile_company_name_idx ON crm.match_profile
  USING gin (crm._profile_name(kind, fields) gin_trgm_ops) WHERE kind = 'company';
CREATE INDEX deal_name_idx ON crm.deal USING gin (pg_catalog.lower(name) gin_trgm_ops)
  WHERE merged_into IS NULL;
-- A company's deals: resolution's context, and the deletion of a company (ON DELETE SET NULL).
CREATE INDEX deal_company_idx ON crm.deal (company_id) WHERE company_id IS NOT NULL;

-- How alike a mention's name and a record's are, in [0, 1]: trigram similarity, or nine tenths
-- of the best match of the mention within the name ("acme" in "acme widgets").
CREATE FUNCTION crm._name_similarity(mention text, name text) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN GREATEST(similarity(mention, name)::float8, 0.9 * word_similarity(mention, name));

-- Whether a deal is still open, until deal stages are a workspace's ordered set (issue 14).
CREATE FUNCTION crm._deal_open(stage text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN stage IS NULL OR pg_catalog.lower(stage) !~ '(won|lost|closed)';

-- Whether a person's profile may be the person a mention names, among a company's people: the
-- name as part of theirs, or given names that are nicknames of one name (Bob, Robert).
CREATE FUNCTION crm._person_name_alike(person_name text, fields text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN word_similarity(person_name, crm._profile_name('person', fields)) >= 0.5
       OR crm.given_name_forms(pg_catalog.split_part(person_name, ' ', 1))
          && crm.given_name_forms(pg_catalog.split_part(fields, U&'\001F', 1));

-- The records worth scoring, first exactly: those sharing a blocking key with the mention
-- (addresses, phones, domains, a full name and its nicknames by the surname's sound, a company's
-- name), and the people and deals of the companies the mention names exactly (company_keys: the
-- keys of its company part's name and of its domains: few companies share one, and a LIMIT here
-- made the generic plan scan every profile). Each branch is capped at probe rows.
CREATE FUNCTION crm._resolve_exact(ws bigint, kinds text[], keys bigint[], person_name text,
                                   company_keys bigint[], people_of_companies boolean, probe integer)
RETURNS TABLE (kind text, record_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  WITH named AS MATERIALIZED (
    SELECT c.record_id FROM crm.match_profile c
    WHERE c.keys && company_keys AND c.kind = 'company' AND c.workspace_id = ws
      AND crm._require_workspace(ws) = ws)
  (SELECT p.kind, p.record_id FROM crm.match_profile p
   WHERE p.keys && _resolve_exact.keys AND p.kind = ANY (kinds) AND p.workspace_id = ws
     AND crm._require_workspace(ws) = ws
   LIMIT probe)
  UNION
  -- Per company, through its index: the generic plan cannot know how few companies are named.
  (SELECT 'person', x.id FROM named n
   CROSS JOIN LATERAL (SELECT x.id FROM crm.person x
                       JOIN crm.match_profile xp ON xp.kind = 'person' AND xp.record_id = x.id
                       WHERE x.company_id = n.record_id AND x.workspace_id = ws
                         AND crm._person_name_alike(person_name, xp.fields)) x
   WHERE 'person' = ANY (kinds) AND people_of_companies AND person_name <> ''
   LIMIT probe)
  UNION
  (SELECT 'deal', d.id FROM named n
   CROSS JOIN LATERAL (SELECT d.id FROM crm.deal d
                       WHERE d.company_id = n.record_id AND d.merged_into IS NULL AND d.workspace_id = ws) d
   WHERE 'deal' = ANY (kinds)
   LIMIT probe);
END;

-- Then, when nothing exact was convincing, by trigram similarity (pg_trgm): a company's or deal's
-- name (whole, or as part of a longer name), and the people and deals of the ten companies most
-- like the one named.
CREATE FUNCTION crm._resolve_fuzzy(ws bigint, kinds text[], person_name text, company_name text,
                                   people_company text, deal_name text, probe integer)
RETURNS TABLE (kind text, record_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  -- "bob at acme": the ten companies most like Acme ("Crouch Builders" is not every builder's).
  WITH alike AS MATERIALIZED (
    SELECT c.record_id FROM crm.match_profile c
    WHERE people_company <> '' AND c.kind = 'company' AND c.workspace_id = ws
      AND crm._require_workspace(ws) = ws AND people_company <% crm._profile_name(c.kind, c.fields)
    ORDER BY crm._name_similarity(people_company, crm._profile_name(c.kind, c.fields)) DESC
    LIMIT 10)
  (SELECT 'company', p.record_id FROM crm.match_profile p
   WHERE 'company' = ANY (kinds) AND company_name <> '' AND p.kind = 'company' AND p.workspace_id = ws
     AND crm._require_workspace(ws) = ws
     AND (crm._profile_name(p.kind, p.fields) % company_name
          OR company_name <% crm._profile_name(p.kind, p.fields))
   LIMIT probe)
  UNION
  (SELECT 'deal', d.id FROM crm.deal d
   WHERE 'deal' = ANY (kinds) AND deal_name <> '' AND d.merged_into IS NULL AND d.workspace_id = ws
     AND crm._require_workspace(ws) = ws
     AND (pg_catalog.lower(d.name) % pg_catalog.lower(deal_name)
          OR pg_catalog.lower(deal_name) <% pg_catalog.lower(d.name))
   LIMIT probe)
  UNION
  (SELECT 'person', x.id FROM alike n
   CROSS JOIN LATERAL (SELECT x.id FROM crm.person x
                       JOIN crm.match_profile xp ON xp.kind = 'person' AND xp.record_id = x.id
                       WHERE x.company_id = n.record_id AND x.workspace_id = ws
                         AND crm._person_name_alike(person_name, xp.fields)) x
   WHERE 'person' = ANY (kinds) AND person_name <> ''
   LIMIT probe)
  UNION
  (SELECT 'deal', d.id FROM alike n
   CROSS JOIN LATERAL (SELECT d.id FROM crm.deal d
                       WHERE d.company_id = n.record_id AND d.merged_into IS NULL AND d.workspace_id = ws) d
   WHERE 'deal' = ANY (kinds)
   LIMIT probe);
END;

-- The last resort for a person's name: trigram similarity over every full name.
CREATE FUNCTION crm._resolve_person_names(ws bigint, person_name text, probe integer)
RETURNS TABLE (kind text, record_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT 'person', p.record_id FROM crm.match_profile p
  WHERE p.kind = 'person' AND p.workspace_id = ws AND crm._require_workspace(ws) = ws
    AND crm._profile_name(p.kind, p.fields) % person_name
  LIMIT probe;
END;

-- The text evidence of people: name (-1 when the mention gave none), nickname, address, phone,
-- domain of an address or of their company, their company's name against the mention's, and the
-- name as normalised (C++ compares it letter by letter too: src/core/resolve/score.cpp).
CREATE FUNCTION crm._resolve_people(ws bigint, ids bigint[], person_name text, given_forms text[],
                                    last_name text, company_name text, emails text[], phones text[],
                                    domains text[], email_domains text[])
RETURNS TABLE (record_id bigint, name float8, nickname boolean, email boolean, phone boolean,
               domain boolean, email_domain boolean, company float8, profile_name text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT p.record_id,
         CASE WHEN person_name = '' THEN -1
              ELSE crm._name_similarity(person_name, crm._profile_name('person', p.fields)) END,
         given_forms <> '{}'
           AND crm.given_name_forms(pg_catalog.split_part(p.fields, U&'\001F', 1)) && given_forms
           AND (last_name = '' OR similarity(last_name, pg_catalog.split_part(p.fields, U&'\001F', 2)) >= 0.5),
         pg_catalog.string_to_array(pg_catalog.split_part(p.fields, U&'\001F', 3), ' ') && emails,
         pg_catalog.split_part(p.fields, U&'\001F', 4) = ANY (phones),
         pg_catalog.string_to_array(pg_catalog.split_part(p.fields, U&'\001F', 10), ' ') && domains
           OR coalesce(pg_catalog.split_part(p.company_fields, U&'\001F', 2) = ANY (domains), false),
         pg_catalog.string_to_array(pg_catalog.split_part(p.fields, U&'\001F', 10), ' ') && email_domains
           OR coalesce(pg_catalog.split_part(p.company_fields, U&'\001F', 2) = ANY (email_domains), false),
         CASE WHEN company_name = '' OR p.company_fields IS NULL THEN -1
              ELSE crm._name_similarity(company_name, crm._profile_name('company', p.company_fields)) END,
         crm._profile_name('person', p.fields)
  -- The company's profile by its key, once a person (OFFSET 0: not once a column that reads it).
  FROM (SELECT x.record_id, x.fields,
               (SELECT c.fields FROM crm.match_profile c
                WHERE c.kind = 'company'
                  AND c.record_id = NULLIF(pg_catalog.split_part(x.fields, U&'\001F', 9), '')::bigint) AS company_fields
        FROM crm.match_profile x
        WHERE x.kind = 'person' AND x.record_id = ANY (ids) AND x.workspace_id = ws
          AND crm._require_workspace(ws) = ws
        OFFSET 0) p;
END;

CREATE FUNCTION crm._resolve_companies(ws bigint, ids bigint[], company_name text, phones text[],
                                       domains text[], email_domains text[])
RETURNS TABLE (record_id bigint, name float8, nickname boolean, email boolean, phone boolean,
               domain boolean, email_domain boolean, company float8)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT p.record_id,
         CASE WHEN company_name = '' THEN -1
              ELSE crm._name_similarity(company_name, crm._profile_name(p.kind, p.fields)) END,
         false, false,
         pg_catalog.split_part(p.fields, U&'\001F', 3) = ANY (phones),
         pg_catalog.split_part(p.fields, U&'\001F', 2) = ANY (domains),
         pg_catalog.split_part(p.fields, U&'\001F', 2) = ANY (email_domains),
         -1::float8
  FROM crm.match_profile p
  WHERE p.kind = 'company' AND p.record_id = ANY (ids) AND p.workspace_id = ws
    AND crm._require_workspace(ws) = ws;
END;

CREATE FUNCTION crm._resolve_deals(ws bigint, ids bigint[], deal_name text, company_name text,
                                   domains text[], email_domains text[])
RETURNS TABLE (record_id bigint, name float8, nickname boolean, email boolean, phone boolean,
               domain boolean, email_domain boolean, company float8)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT d.id,
         CASE WHEN deal_name = '' THEN -1
              ELSE crm._name_similarity(pg_catalog.lower(deal_name), pg_catalog.lower(d.name)) END,
         false, false, false,
         coalesce(pg_catalog.split_part(d.company_fields, U&'\001F', 2) = ANY (domains), false),
         coalesce(pg_catalog.split_part(d.company_fields, U&'\001F', 2) = ANY (email_domains), false),
         CASE WHEN company_name = '' OR d.company_fields IS NULL THEN -1
              ELSE crm._name_similarity(company_name, crm._profile_name('company', d.company_fields)) END
  FROM (SELECT x.id, x.name,
               (SELECT c.fields FROM crm.match_profile c
                WHERE c.kind = 'company' AND c.record_id = x.company_id) AS company_fields
        FROM crm.deal x
        WHERE x.id = ANY (ids) AND x.workspace_id = ws AND x.merged_into IS NULL
          AND crm._require_workspace(ws) = ws
        OFFSET 0) d;
END;

-- The CRM context of the records still in contention: days since the last past interaction,
-- the member's connection strength, open deals (a person's: their company's), ownership.
CREATE FUNCTION crm._resolve_context(record_kind text, ids bigint[], member bigint)
RETURNS TABLE (record_id bigint, days float8, strength float8, open_deals bigint, owned boolean)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT r.id, pg_catalog.date_part('epoch', crm.now() - r.last_interaction_at) / 86400,
         coalesce(s.strength, 0),
         (SELECT pg_catalog.count(*) FROM crm.deal d
          WHERE d.company_id = r.company_id AND d.merged_into IS NULL AND crm._deal_open(d.stage)),
         coalesce(r.owner_member_id = member, false)
  FROM crm.person_overview r
  LEFT JOIN crm.connection_strength s ON s.person_id = r.id AND s.member_id = member
  WHERE record_kind = 'person' AND r.id = ANY (ids)
  UNION ALL
  SELECT r.id, pg_catalog.date_part('epoch', crm.now() - r.last_interaction_at) / 86400,
         coalesce(s.strength, 0),
         (SELECT pg_catalog.count(*) FROM crm.deal d
          WHERE d.company_id = r.id AND d.merged_into IS NULL AND crm._deal_open(d.stage)),
         coalesce(r.owner_member_id = member, false)
  FROM crm.company_overview r
  LEFT JOIN crm.company_connection_strength s ON s.company_id = r.id AND s.member_id = member
  WHERE record_kind = 'company' AND r.id = ANY (ids)
  UNION ALL
  SELECT d.id, pg_catalog.date_part('epoch', crm.now() - r.last_interaction_at) / 86400,
         coalesce(s.strength, 0),
         CASE WHEN crm._deal_open(d.stage) THEN 1 ELSE 0 END::bigint,
         coalesce(d.owner_member_id = member, false)
  FROM crm.deal d
  LEFT JOIN crm.company_overview r ON r.id = d.company_id
  LEFT JOIN crm.company_connection_strength s ON s.company_id = d.company_id AND s.member_id = member
  WHERE record_kind = 'deal' AND d.id = ANY (ids);
END;

CREATE FUNCTION crm.resolve(mention text, hints jsonb DEFAULT '{}',
                            kinds text[] DEFAULT '{person,company,deal}', max_results integer DEFAULT 5)
RETURNS TABLE (kind text, record_id bigint, score float8, match_level text, match_key text,
               evidence jsonb, ambiguous boolean)
  AS 'MODULE_PATHNAME', 'crm_resolve' LANGUAGE C STABLE STRICT
  SET pg_trgm.similarity_threshold = 0.4 SET pg_trgm.word_similarity_threshold = 0.5 SET jit = off;
COMMENT ON FUNCTION crm.resolve(text, jsonb, text[], integer) IS
  'the records of this workspace a free-text mention (a name, "bob at acme", an email address, a phone number, a domain) may mean, best first, with hints {email, domain, phone, company, member}: score, match_level (exact, strong, possible, name_only), match_key (what agreed), evidence, and ambiguous when the best two are too close to tell';

CREATE FUNCTION crm.resolve_why(mention text, hints jsonb, kind text, record_id bigint)
RETURNS jsonb
  AS 'MODULE_PATHNAME', 'crm_resolve_why' LANGUAGE C STABLE STRICT
  SET pg_trgm.similarity_threshold = 0.4 SET pg_trgm.word_similarity_threshold = 0.5 SET jit = off;
COMMENT ON FUNCTION crm.resolve_why(text, jsonb, text, bigint) IS
  'why crm.resolve returns a record for a mention, or why not: how it was found (or that it was not), each piece of evidence, its score, rank and level';
