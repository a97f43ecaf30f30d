-- The demo's report on the demo workspace: what crm_hygiene derived from the activity.
--
--   psql -X -v ON_ERROR_STOP=1 [-v clock='2026-11-20 09:00+00'] -f scripts/demo_report.sql
--
-- Uses only what the extension offers (crm.company_overview, crm.person_overview,
-- crm.company_connection_strength, crm.stale_records, crm.run_enrichers, crm.define_ai_attribute,
-- crm.run_ai_jobs, crm.ai_status, crm.quality_report,
-- crm.verify_signals, crm.now) and joins to the base tables.
\set ON_ERROR_STOP on
\set QUIET on
\if :{?clock}
\else
\set clock '2026-11-20 09:00+00'
\endif
SET crm.clock = :'clock';
SET timezone = 'UTC';
\pset footer off
\pset null '-'

\pset tuples_only on
\pset format unaligned
SELECT format('Clock: crm.now() = %s (crm.clock is set for the session; all "last", "next" and "stale" are relative to it)',
              to_char(crm.now(), 'Dy YYYY-MM-DD HH24:MI TZ'));
\pset tuples_only off
\pset format aligned
\echo

\echo 'Workspace'
SELECT (SELECT count(*) FROM crm.member) AS members,
       (SELECT count(*) FROM crm.company) AS companies,
       (SELECT count(*) FROM crm.person) AS people,
       (SELECT count(*) FROM crm.interaction) AS interactions,
       (SELECT count(*) FROM crm.interaction WHERE kind = 'email') AS emails,
       (SELECT count(*) FROM crm.interaction WHERE kind = 'meeting') AS meetings,
       (SELECT count(*) FROM crm.participant) AS participants;

\echo 'Most active companies, last 90 days'
WITH recent AS (
  SELECT p.company_id, count(DISTINCT i.id) AS n
  FROM crm.interaction i
  JOIN crm.participant p ON p.interaction_id = i.id
  WHERE p.company_id IS NOT NULL AND p.response IS DISTINCT FROM 'declined' AND i.status <> 'canceled'
    AND i.occurred_at > crm.now() - interval '90 days' AND i.occurred_at <= crm.now()
  GROUP BY p.company_id
)
SELECT o.name AS company, o.domain, r.n AS interactions,
       to_char(o.last_interaction_at, 'YYYY-MM-DD HH24:MI') AS "last interaction",
       o.last_interaction_kind AS "last kind", m.name AS "team member",
       to_char(o.next_meeting_at, 'YYYY-MM-DD HH24:MI') AS "next meeting"
FROM recent r
JOIN crm.company_overview o ON o.id = r.company_id
LEFT JOIN crm.member m ON m.id = o.last_interaction_member_id
ORDER BY r.n DESC, o.name
LIMIT 10;

\echo 'Companies going stale: had activity, none in 90+ days (crm.stale_records(''company'', ''90 days''))'
\pset tuples_only on
\pset format unaligned
SELECT format('%s companies are stale: %s went quiet after past activity, %s were never contacted',
              count(*), count(last_interaction_at), count(*) - count(last_interaction_at))
FROM crm.stale_records('company', '90 days');
\pset tuples_only off
\pset format aligned
SELECT o.name AS company, o.domain,
       to_char(s.last_interaction_at, 'YYYY-MM-DD') AS "last interaction",
       crm.now()::date - s.last_interaction_at::date AS "days quiet",
       o.last_interaction_kind AS "last kind", m.name AS "team member",
       o.interaction_count AS "interactions (all time)"
FROM crm.stale_records('company', '90 days') s
JOIN crm.company_overview o ON o.id = s.record_id
LEFT JOIN crm.member m ON m.id = o.last_interaction_member_id
WHERE s.last_interaction_at IS NOT NULL
ORDER BY s.last_interaction_at DESC, o.name
LIMIT 10;

\echo 'Strongest relationships: who knows each company best (crm.company_connection_strength)'
SELECT c.name AS company, m.name AS "team member", round(s.strength::numeric, 3) AS strength, s.band,
       s.people AS "people known", to_char(s.last_interaction_at, 'YYYY-MM-DD') AS "last interaction"
FROM crm.company_connection_strength s
JOIN crm.company c ON c.id = s.company_id
JOIN crm.member m ON m.id = s.member_id
ORDER BY s.rank DESC NULLS LAST, c.name
LIMIT 10;

\echo 'Warm introductions: people and the member who knows them best (crm.person_overview)'
SELECT coalesce(o.first_name || ' ' || o.last_name, o.email) AS person, c.name AS company,
       m.name AS "ask", round(o.connection_strength::numeric, 3) AS strength, o.connection_band AS band
FROM crm.person_overview o
JOIN crm.member m ON m.id = o.strongest_connection_member_id
LEFT JOIN crm.company c ON c.id = o.company_id
ORDER BY o.connection_rank DESC NULLS LAST, o.id
LIMIT 10;

\pset tuples_only on
\pset format unaligned
SELECT format('Connection bands of the %s people someone on the team knows: %s', sum(n),
              string_agg(format('%s %s', n, band), ', ' ORDER BY min_strength DESC))
FROM (SELECT connection_band AS band, count(*) AS n, min(connection_strength) AS min_strength
      FROM crm.person_overview WHERE strongest_connection_member_id IS NOT NULL GROUP BY 1) b;
\pset tuples_only off
\pset format aligned
\echo

\echo 'Next meetings'
SELECT to_char(i.occurred_at, 'Dy YYYY-MM-DD HH24:MI') AS "when", i.subject, c.name AS company,
       m.name AS "team member", i.status
FROM crm.interaction i
LEFT JOIN LATERAL (SELECT p.company_id FROM crm.participant p
                   WHERE p.interaction_id = i.id AND p.company_id IS NOT NULL
                   ORDER BY (p.role = 'organizer') DESC, p.id LIMIT 1) pc ON true
LEFT JOIN crm.company c ON c.id = pc.company_id
LEFT JOIN LATERAL (SELECT p.member_id FROM crm.participant p
                   WHERE p.interaction_id = i.id AND p.member_id IS NOT NULL
                   ORDER BY (p.role = 'organizer') DESC, p.id LIMIT 1) pm ON true
LEFT JOIN crm.member m ON m.id = pm.member_id
WHERE i.kind = 'meeting' AND i.status <> 'canceled' AND i.occurred_at > crm.now()
ORDER BY i.occurred_at, i.id
LIMIT 10;

\echo 'Probable duplicates, found as records were written (crm.duplicate_candidate)'
SELECT d.kind, d.record_id, d.other_id,
       coalesce(p1.first_name || ' ' || p1.last_name, c1.name) AS record,
       coalesce(p2.first_name || ' ' || p2.last_name, c2.name) AS "probable duplicate",
       round(d.score::numeric, 4) AS score,
       (SELECT string_agg(f.key || ' ' || (f.value->>'level'), ', ' ORDER BY (f.value->>'weight')::float8 DESC)
        FROM jsonb_each(d.evidence->'fields') f) AS evidence
FROM crm.duplicate_candidate d
LEFT JOIN crm.person p1 ON d.kind = 'person' AND p1.id = d.record_id
LEFT JOIN crm.person p2 ON d.kind = 'person' AND p2.id = d.other_id
LEFT JOIN crm.company c1 ON d.kind = 'company' AND c1.id = d.record_id
LEFT JOIN crm.company c2 ON d.kind = 'company' AND c2.id = d.other_id
WHERE d.status = 'open'
ORDER BY d.kind DESC, d.score DESC, d.record_id
LIMIT 12;

SELECT kind, count(DISTINCT set_id) AS "duplicate sets", count(*) AS records
FROM crm.duplicate_sets GROUP BY kind ORDER BY kind;

\echo 'Before creating a record, an app asks crm.find_duplicates:'
SELECT f.record_id, p.first_name || ' ' || p.last_name AS name, p.email, round(f.score::numeric, 4) AS score
FROM (SELECT p.first_name, p.last_name, p.email FROM crm.person p WHERE p.id % 41 = 0 ORDER BY p.id LIMIT 1) probe,
     crm.find_duplicates('person', jsonb_build_object('first_name', probe.first_name,
                                                      'last_name', probe.last_name,
                                                      'email', ' ' || upper(probe.email))) f
JOIN crm.person p ON p.id = f.record_id;

\echo 'With crm.set_duplicate_rule(''person'', ''block'', 0.95), the same record is refused:'
BEGIN;
SELECT crm.set_duplicate_rule('person', 'block', 0.95) \gset
\set ON_ERROR_STOP off
INSERT INTO crm.person (first_name, last_name, email)
SELECT p.first_name, p.last_name, upper(p.email) FROM crm.person p WHERE p.id % 41 = 0 ORDER BY p.id LIMIT 1;
\set ON_ERROR_STOP on
ROLLBACK;
\echo

\echo 'Enrichment: the built-in rules over the whole workspace (crm.run_enrichers), values written through the'
\echo 'write policy, never over a user''s (docs/ENRICHMENT.md)'
SELECT * FROM crm.run_enrichers();
SELECT f.field, f.source, count(*) AS "values written" FROM crm.field_provenance f
WHERE f.source LIKE 'rule:%' GROUP BY f.field, f.source ORDER BY count(*) DESC, f.field LIMIT 8;
SELECT count(*) FILTER (WHERE status = 'pending') AS "suggestions pending review" FROM crm.field_suggestion;
\echo 'Labels are one value whatever the spelling: crm.label_value(''person'', ''lifecycle_stage'', ''MQL'') ='
SELECT crm.label_value('person', 'lifecycle_stage', 'MQL') AS "stored as";
\echo

\echo 'AI autofill with the embedded default, no endpoint configured (docs/AI.md). Say one company in six'
\echo 'came in without an industry: a fastText classifier learns from the names and domains of the companies'
\echo 'people gave one and fills the gaps, each with a confidence; a summary of the relationship lands in every'
\echo 'account, from its signals and recent subjects'
CREATE TEMP TABLE demo_industry AS SELECT id, industry FROM crm.company WHERE id % 6 = 0 AND industry IS NOT NULL;
UPDATE crm.company c SET industry = NULL FROM demo_industry d WHERE d.id = c.id;
SELECT a.name AS "AI attribute", a.type, a.target, a.version
FROM (SELECT * FROM crm.define_ai_attribute('company', 'industry_guess', 'classify', jsonb_build_object(
        'labels', (SELECT jsonb_agg(DISTINCT industry) FROM crm.company WHERE industry IS NOT NULL),
        'target', 'industry', 'inputs', jsonb_build_array('name', 'domain')))
      UNION ALL
      SELECT * FROM crm.define_ai_attribute('company', 'relationship', 'summarize', '{}')) a;
SELECT outcome AS "AI job outcome", count(*) AS jobs FROM crm.run_ai_jobs(100000) GROUP BY 1 ORDER BY 2 DESC;
SELECT count(*) AS "industries filled", count(*) FILTER (WHERE c.industry = d.industry) AS "as people had them",
       round(avg(r.confidence)::numeric, 2) AS "mean confidence"
FROM demo_industry d JOIN crm.company c ON c.id = d.id
JOIN crm.ai_result r ON r.record_id = c.id AND r.attribute_id = (SELECT id FROM crm.ai_attribute WHERE name = 'industry_guess');
SELECT o.name, o.attributes ->> 'relationship' AS "relationship (attributes.relationship)"
FROM crm.company_overview o ORDER BY o.interaction_count DESC NULLS LAST, o.id LIMIT 3;
SELECT attribute, type, pending, failed, results FROM crm.ai_status ORDER BY attribute;
\echo

\echo 'Data quality: the checks that warn or fail (crm.quality_report(); docs/QUALITY.md)'
SELECT check_name, category, severity, status, failing, total, sample_ids
FROM crm.quality_report() WHERE status <> 'pass'
ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, status, check_name
LIMIT 12;
\echo

\echo 'Checking the derived state: crm.verify_signals() recomputes it all from scratch ...'
\pset tuples_only on
\pset format unaligned
SELECT format(E'derived-state differences: %s\n(crm.verify_signals(): stored state against a from-scratch recomputation, %ss)',
              count(*), round(extract(epoch FROM clock_timestamp() - statement_timestamp())::numeric))
FROM crm.verify_signals();
\pset tuples_only off
\pset format aligned
