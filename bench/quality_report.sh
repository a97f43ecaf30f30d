#!/usr/bin/env bash
# The data-quality report at size (issue 14): crm.quality_report() over 1,000,000 people and
# 100,000 companies, target 60 s on 2 cores.
#
#   bash bench/quality_report.sh
#
# Data: the people and companies of bench/resolve_speed.sh (bench/sql/duplicates_generate.sql:
# names from ../shared/data/linkage when present, ~5% duplicates, so duplicate sets exist),
# BENCH_QUALITY_PEOPLE (1,000,000) loaded by COPY with every trigger on, companies up to
# BENCH_QUALITY_COMPANIES (100,000); plus what the checks read: titles, lifecycle stages and owners
# on the people, ~1% of names in capitals and ~0.5% of addresses broken, a deal for half of the
# companies (won, open, lost), BENCH_QUALITY_INTERACTIONS (200,000) emails with a person over the
# last 400 days (stale records), and 29 days of field writes in crm.field_provenance
# (BENCH_QUALITY_WRITES a day, 30,000), person.title about ten times its volume in the last 24 hours.
# Timed (psql \timing, one statement each): the whole report as a role with the reader access
# (row-level security on, as a BI tool's), first and second call; the report per kind; the same
# as the extension's owner; crm.take_quality_snapshot(). The second reader call runs with
# auto_explain (durations only), whose slowest statements inside the report are listed.
# BENCH_QUALITY_RELOAD=1 takes the report's objects out of the installed extension and loads
# src/sql/85_quality.sql instead: the working tree's file, measured without make install.
# Results: stdout and bench/out/quality_report.md; psql output in bench/out/quality_report.log.
source "$(dirname "$0")/lib.sh"
PEOPLE=${BENCH_QUALITY_PEOPLE:-1000000}
COMPANIES=${BENCH_QUALITY_COMPANIES:-100000}
INTERACTIONS=${BENCH_QUALITY_INTERACTIONS:-200000}
WRITES=${BENCH_QUALITY_WRITES:-30000}
LINKAGE=${BENCH_LINKAGE_DIR:-$BENCH_ROOT/../shared/data/linkage}
NICKNAMES=$BENCH_ROOT/data/reference/nicknames/names.csv
report="$BENCH_OUT/quality_report.md"
raw="$BENCH_OUT/quality_report.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
q -c "CREATE DATABASE quality"
export PGDATABASE=quality
q -c "ALTER DATABASE quality SET crm.clock = '$BENCH_CLOCK'"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION crm_hygiene CASCADE" -c "CREATE SCHEMA bench" \
  -c "CREATE TABLE bench.raw_line (file text NOT NULL DEFAULT current_setting('bench.file'), n bigserial, line text)"
if [ "${BENCH_QUALITY_RELOAD:-0}" = 1 ]; then
  log "loading src/sql/85_quality.sql over the installed extension's report"
  q >>"$raw" <<'SQL'
DO $$ DECLARE o record; BEGIN
  FOR o IN SELECT pg_describe_object(d.classid, d.objid, 0) AS obj FROM pg_depend d
           JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'crm_hygiene'
           WHERE d.deptype = 'e' AND pg_describe_object(d.classid, d.objid, 0) ~ '(quality_|data_quality)' LOOP
    EXECUTE 'ALTER EXTENSION crm_hygiene DROP ' || o.obj;
  END LOOP;
END $$;
DROP VIEW IF EXISTS crm.data_quality;
DROP TRIGGER IF EXISTS workspace_quality_checks ON crm.workspace;
DROP TABLE IF EXISTS crm.quality_snapshot, crm.quality_check CASCADE;
DROP FUNCTION IF EXISTS crm.quality_report(text), crm._quality_report(text), crm.take_quality_snapshot(bigint),
  crm._quality_eval(text, bigint), crm._quality_check_valid(), crm._quality_seed(bigint), crm._workspace_quality_checks();
DROP INDEX IF EXISTS crm.field_provenance_written_idx;
SQL
  q -f "$BENCH_ROOT/src/sql/85_quality.sql" >>"$raw"
fi
[ "$(q -c "SELECT to_regprocedure('crm.quality_report(text)') IS NOT NULL")" = t ] \
  || { echo "the installed crm_hygiene has no crm.quality_report (BENCH_QUALITY_RELOAD=1 loads it from src/sql)" >&2; exit 1; }

load_file() {  # label path
  [ -f "$2" ] || return 0
  q -c "SET bench.file = '$1'" \
    -c "COPY bench.raw_line (line) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER E'\\x01', QUOTE E'\\x02')" <"$2"
}
if [ -d "$LINKAGE/febrl" ]; then
  for f in dataset1 dataset2 dataset3 dataset4a dataset4b; do load_file "$f" "$LINKAGE/febrl/$f.csv"; done
  load_file fake_1000 "$LINKAGE/splink_fake_1000/fake_1000.csv"
  load_file nicknames "$NICKNAMES"
fi
log "generating $PEOPLE people"
t0=$SECONDS
q -v people="$PEOPLE" -v probes=10 -v inserts=10 -f "$BENCH_DIR/sql/duplicates_generate.sql" >>"$raw"
log "generated in $((SECONDS - t0)) s"

# Members, then companies: the generated ones and variants of their names up to COMPANIES.
t0=$SECONDS
q -c "INSERT INTO crm.member (id, workspace_id, email) SELECT m, 1, 'member' || m || '@ourteam.example' FROM generate_series(1, 20) m" \
  -c "SELECT setval(pg_get_serial_sequence('crm.member', 'id'), 20)" \
  -c "INSERT INTO crm.company (id, workspace_id, name, domain, country, owner_member_id)
      SELECT id, 1, name, domain, country, CASE WHEN bench.rnd(id, 910) < 0.7 THEN 1 + (id % 20) END FROM bench.gen_company" \
  -c "SELECT setval(pg_get_serial_sequence('crm.company', 'id'), (SELECT max(id) FROM crm.company))" \
  -c "INSERT INTO crm.company (workspace_id, name, domain, country)
      SELECT 1, c.name || ' ' || s.word, s.word || '-' || c.domain, c.country
      FROM bench.gen_company c
      CROSS JOIN generate_series(1, 20) AS k
      CROSS JOIN LATERAL (SELECT (ARRAY['Labs', 'Group', 'Partners', 'Holdings', 'Studio', 'Capital', 'Digital',
                                        'Health', 'Energy', 'Logistics', 'Media', 'Ventures', 'Systems', 'Foods',
                                        'Analytics', 'Consulting', 'Robotics', 'Finance', 'Retail', 'Travel'])[k] AS word) s
      ORDER BY k, c.id
      LIMIT greatest($COMPANIES - (SELECT count(*) FROM crm.company), 0)" >/dev/null
companies=$(q -c "SELECT count(*) FROM crm.company")
log "$companies companies in $((SECONDS - t0)) s"

# People, with what the checks read: a title for 40%, a lifecycle stage for 95%, an owner for
# 60%, 1% of names in capitals, 0.5% of addresses broken.
q -c "COPY (SELECT g.id, 1, g.company_id,
                   CASE WHEN bench.rnd(g.id, 901) < 0.01 THEN upper(g.first_name) ELSE g.first_name END,
                   CASE WHEN bench.rnd(g.id, 901) < 0.01 THEN upper(g.last_name) ELSE g.last_name END,
                   CASE WHEN bench.rnd(g.id, 902) < 0.005 THEN replace(g.email, '@', ' at ') ELSE g.email END,
                   g.emails, g.phone, g.street, g.city, g.postal_code, g.country, g.birth_date,
                   CASE WHEN bench.rnd(g.id, 903) < 0.4
                        THEN (ARRAY['CEO', 'CTO', 'VP Sales', 'Engineer', 'Manager', 'Analyst'])[1 + floor(bench.rnd(g.id, 904) * 6)::int] END,
                   (ARRAY['subscriber', 'subscriber', 'subscriber', 'lead', 'lead', 'lead', 'marketing qualified lead',
                          'sales qualified lead', 'opportunity', 'customer', 'customer', NULL])[1 + floor(bench.rnd(g.id, 905) * 12)::int],
                   CASE WHEN bench.rnd(g.id, 906) < 0.6 THEN 1 + g.id % 20 END
            FROM bench.gen_person g ORDER BY g.id) TO '$BENCH_DATA/people.csv' WITH (FORMAT csv)"
log "COPY of $PEOPLE people, every trigger on"
t0=$SECONDS
q -c "COPY crm.person (id, workspace_id, company_id, first_name, last_name, email, emails, phone, street, city, postal_code,
                       country, birth_date, title, lifecycle_stage, owner_member_id)
      FROM '$BENCH_DATA/people.csv' WITH (FORMAT csv)"
load_s=$((SECONDS - t0))
people=$(q -c "SELECT count(*) FROM crm.person")
log "$people people loaded in $load_s s"

# Deals, activity and field writes.
t0=$SECONDS
q -v clock="$BENCH_CLOCK" -v interactions="$INTERACTIONS" -v people="$PEOPLE" -v writes="$WRITES" >>"$raw" <<'SQL'
SET crm.clock = :'clock';
INSERT INTO crm.deal (workspace_id, company_id, name, stage, amount, close_date, owner_member_id)
SELECT 1, c.id, c.name || ' deal',
       (ARRAY['won', 'won', 'proposal', 'negotiation', 'qualified', 'lost'])[1 + floor(bench.rnd(c.id, 920) * 6)::int],
       CASE WHEN bench.rnd(c.id, 921) < 0.8 THEN round((bench.rnd(c.id, 922) * 100000)::numeric, 2) END,
       CASE WHEN bench.rnd(c.id, 923) < 0.7 THEN date :'clock' - floor(bench.rnd(c.id, 924) * 365)::int END,
       CASE WHEN bench.rnd(c.id, 925) < 0.9 THEN 1 + c.id % 20 END
FROM crm.company c WHERE bench.rnd(c.id, 926) < 0.5;
-- Emails between a member and a person, over the last 400 days.
INSERT INTO crm.interaction (id, workspace_id, kind, occurred_at, subject)
SELECT g, 1, 'email', timestamptz :'clock' - bench.rnd(g, 930) * interval '400 days', 'hello'
FROM generate_series(1, :interactions) g;
SELECT setval(pg_get_serial_sequence('crm.interaction', 'id'), :interactions);
INSERT INTO crm.participant (interaction_id, workspace_id, address, role)
SELECT g, 1, 'member' || (1 + g % 20) || '@ourteam.example', 'from'::crm.participant_role FROM generate_series(1, :interactions) g
UNION ALL
SELECT g, 1, p.email, 'to' FROM generate_series(1, :interactions) g
JOIN crm.person p ON p.id = 1 + floor(bench.rnd(g, 931) * :people)::bigint
WHERE p.email LIKE '%@%';
-- 29 days of field writes (what crm.field_provenance holds of user and automated writes), :writes
-- a day over ten fields; twice as many in the last 24 hours, half of them to person.title.
INSERT INTO crm.field_provenance (workspace_id, kind, record_id, field, value, source, source_kind, confidence,
                                  observed_at, written_at, actor)
SELECT 1, f.kind, 1 + floor(bench.rnd(n, 941) * CASE f.kind WHEN 'person' THEN :people ELSE 100000 END)::bigint, f.field,
       '"x"', 'bench', 'import', 1, t.at, t.at, 'bench'
FROM generate_series(0, 28) d
CROSS JOIN LATERAL generate_series(d * 10 * :writes + 1, d * 10 * :writes + :writes * CASE WHEN d = 0 THEN 2 ELSE 1 END) n
CROSS JOIN LATERAL (SELECT (ARRAY[['person', 'title'], ['person', 'phone'], ['person', 'lifecycle_stage'], ['person', 'owner_member_id'],
                                  ['person', 'city'], ['company', 'industry'], ['company', 'employee_count'], ['deal', 'stage'],
                                  ['deal', 'amount'], ['person', 'email']])[1 + floor(bench.rnd(n, 942) * 10)::int:1 + floor(bench.rnd(n, 942) * 10)::int] AS kf) x
CROSS JOIN LATERAL (SELECT CASE WHEN d = 0 AND bench.rnd(n, 943) < 0.5 THEN 'person' ELSE x.kf[1][1] END AS kind,
                           CASE WHEN d = 0 AND bench.rnd(n, 943) < 0.5 THEN 'title' ELSE x.kf[1][2] END AS field) f
CROSS JOIN LATERAL (SELECT timestamptz :'clock' - d * interval '1 day' - bench.rnd(n, 944) * interval '1 day' AS at) t;
SQL
log "deals, activity and field writes in $((SECONDS - t0)) s"
q -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
counts=$(q -F ', ' -c "SELECT (SELECT count(*) FROM crm.deal) || ' deals', (SELECT count(*) FROM crm.interaction) || ' interactions',
                             (SELECT count(*) FROM crm.participant) || ' participants',
                             (SELECT count(*) FROM crm.field_provenance) || ' field writes',
                             (SELECT count(*) FROM crm.duplicate_candidate WHERE status = 'open') || ' open duplicate pairs',
                             (SELECT count(*) FROM crm.quality_check WHERE workspace_id = 1 AND enabled) || ' checks'")
log "$counts"

q -c "CREATE ROLE bench_reader NOLOGIN" -c "SELECT crm.grant_access('bench_reader', 'reader')" >/dev/null
# One timed statement: ms and status (lib.sh timed_sql), its output to the log.
run() {  # label sql [PGOPTIONS]
  local r; r=$(timed_sql 600 "$2" "${3:-}")
  printf '== %s: %s\n' "$1" "$r" >>"$raw"
  log "$1: $(echo "$r" | cut -d' ' -f1) ms ($(echo "$r" | cut -d' ' -f2))"
  echo "$r"
}
summary="SELECT sum(n) || ' checks: ' || string_agg(status || ' ' || n, ', ' ORDER BY status)
         FROM (SELECT status, count(*) AS n FROM crm.quality_report() GROUP BY status) s"
reader_first=$(run "reader, first call" "SET ROLE bench_reader; $summary")
# The second call with auto_explain: the durations of the statements inside the report.
notices="$BENCH_OUT/quality_report.notices"
PGOPTIONS="-c client_min_messages=notice" q -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 200" \
  -c "SET auto_explain.log_nested_statements = on" -c "SET auto_explain.log_level = notice" -c '\timing on' \
  -c "SET ROLE bench_reader" -c "$summary" >"$BENCH_OUT/quality_report.second" 2>"$notices" || true
reader_second=$(awk '/^Time: / {t=$2} END {print t}' "$BENCH_OUT/quality_report.second")
statuses=$(grep -v '^Time: ' "$BENCH_OUT/quality_report.second" | tail -1)
slowest=$(awk '/^NOTICE:  duration:/ {ms = $3; getline; sub(/^[ \t]*Query Text: */, "")
                                        while ($0 ~ /^[ \t]*$/ && (getline) > 0) {}; sub(/^[ \t]+/, ""); print ms "\t" substr($0, 1, 110)}' "$notices" \
          | grep -v "$(printf '\t')SELECT sum(n)" | sort -t$'\t' -k1,1 -gr | head -12)
cat "$notices" >>"$raw"; rm -f "$notices"
per_kind=""
for k in person company deal; do
  r=$(run "reader, $k" "SET ROLE bench_reader; SELECT count(*) FROM crm.quality_report('$k')")
  per_kind+="| \`crm.quality_report('$k')\`, as the reader | $(echo "$r" | cut -d' ' -f1) |"$'\n'
done
owner=$(run "owner" "$summary")
snapshot=$(run "snapshot" "SELECT crm.take_quality_snapshot()")
q -c "SELECT check_name, status, failing, total, left(coalesce(detail, ''), 100) AS detail FROM crm.data_quality ORDER BY kind, category, check_name" >>"$raw"

{
  echo "## Data-quality report at size"
  echo
  echo "\`bash bench/quality_report.sh\`, $(date -u +%Y-%m-%d)."
  bench_machine
  echo "- load average before: $load_before"
  echo "- data: $people people (COPY with every trigger on: $load_s s), $companies companies, $counts; crm.clock = '$BENCH_CLOCK'"
  echo "- statuses of the report: $statuses"
  echo
  echo "| call | ms |"
  echo "|---|---|"
  echo "| \`crm.quality_report()\`, as the reader (row-level security on), first call | $(echo "$reader_first" | cut -d' ' -f1) |"
  echo "| the same, second call (auto_explain on, durations only) | $reader_second |"
  printf '%s' "$per_kind"
  echo "| \`crm.quality_report()\`, as the extension's owner | $(echo "$owner" | cut -d' ' -f1) |"
  echo "| \`crm.take_quality_snapshot()\`, as the owner | $(echo "$snapshot" | cut -d' ' -f1) |"
  echo
  echo "Slowest statements inside the second call (auto_explain, over 200 ms):"
  echo
  echo '```'
  printf '%s\n' "$slowest"
  echo '```'
} | tee "$report"
bench_stop
