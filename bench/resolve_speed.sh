#!/usr/bin/env bash
# Record resolution at size (issue 13): crm.resolve latency over a mix of mentions, with
# 1,000,000 people and 100,000 companies, and how often the record a mention was made from comes
# back (first, or among the five results).
#
#   bash bench/resolve_speed.sh
#
# Data: the people of bench/duplicates_speed.sh (bench/sql/duplicates_generate.sql: names from
# the FEBRL and fake_1000 sets of ../shared/data/linkage when present, ~5% duplicates, e-mail,
# phones in the formats people write, companies of 50 people), BENCH_RESOLVE_PEOPLE (1,000,000),
# loaded by COPY with every trigger on (which builds the match profiles resolution searches);
# its companies plus generated ones up to BENCH_RESOLVE_COMPANIES (100,000).
# Mentions: BENCH_RESOLVE_MENTIONS (1,000) drawn deterministically from the data: a person's
# e-mail, their phone as stored, a company's domain, "first last", "first last" with two letters
# of the surname swapped, "first at company", a company's name. Each is one psql statement
# (\timing: p50, p99, max per kind and overall), run as a role with the reader access.
# Results: stdout and bench/out/resolve_speed.md; psql output in bench/out/resolve_speed.log.
source "$(dirname "$0")/lib.sh"
PEOPLE=${BENCH_RESOLVE_PEOPLE:-1000000}
COMPANIES=${BENCH_RESOLVE_COMPANIES:-100000}
MENTIONS=${BENCH_RESOLVE_MENTIONS:-1000}
LINKAGE=${BENCH_LINKAGE_DIR:-$BENCH_ROOT/../shared/data/linkage}
NICKNAMES=$BENCH_ROOT/data/reference/nicknames/names.csv
report="$BENCH_OUT/resolve_speed.md"
raw="$BENCH_OUT/resolve_speed.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
q -c "CREATE DATABASE res"
export PGDATABASE=res
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION crm_hygiene CASCADE" -c "CREATE SCHEMA bench" \
  -c "CREATE TABLE bench.raw_line (file text NOT NULL DEFAULT current_setting('bench.file'), n bigserial, line text)"
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
q -v people="$PEOPLE" -v probes=10 -v inserts=10 -f "$BENCH_DIR/sql/duplicates_generate.sql" >>"$raw"

# Companies: the generated ones, then variants of their names at domains of their own up to
# COMPANIES (namesakes a resolution must tell apart: "Acme", "Acme Labs", "Acme Group").
t0=$SECONDS
q -c "INSERT INTO crm.company (id, workspace_id, name, domain, country) SELECT id, 1, name, domain, country FROM bench.gen_company" \
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

q -c "COPY (SELECT id, 1, company_id, first_name, last_name, email, emails, phone, street, city, postal_code, country, birth_date
            FROM bench.gen_person ORDER BY id) TO '$BENCH_DATA/people.csv' WITH (FORMAT csv)"
log "COPY of $PEOPLE people, every trigger on"
t0=$SECONDS
q -c "COPY crm.person (id, workspace_id, company_id, first_name, last_name, email, emails, phone, street, city, postal_code, country, birth_date) FROM '$BENCH_DATA/people.csv' WITH (FORMAT csv)"
load_s=$((SECONDS - t0))
q -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
people=$(q -c "SELECT count(*) FROM crm.person")
log "$people people loaded in $load_s s"

# The mentions, each with the record it was made from.
q -v n="$MENTIONS" <<'SQL' >>"$raw"
CREATE TABLE bench.mention AS
WITH p AS (SELECT p.*, row_number() OVER (ORDER BY md5(p.id::text)) AS r FROM crm.person p
           WHERE p.first_name IS NOT NULL AND p.last_name IS NOT NULL),
     c AS (SELECT c.*, row_number() OVER (ORDER BY md5(c.id::text)) AS r FROM crm.company c WHERE c.name IS NOT NULL)
SELECT row_number() OVER (ORDER BY m.r, m.sort) AS id, m.* FROM (
  SELECT r, 1 AS sort, 'email' AS mix, email AS mention, 'person' AS kind, id AS expected FROM p WHERE email IS NOT NULL AND r <= :n * 0.2
  UNION ALL SELECT r, 2, 'phone', phone, 'person', id FROM p WHERE phone IS NOT NULL AND r > :n * 0.2 AND r <= :n * 0.3
  UNION ALL SELECT r, 3, 'name', first_name || ' ' || last_name, 'person', id FROM p WHERE r > :n * 0.3 AND r <= :n * 0.5
  UNION ALL SELECT r, 4, 'typo', first_name || ' ' || left(last_name, 1) || substr(last_name, 3, 1) || substr(last_name, 2, 1) || substr(last_name, 4),
                   'person', id FROM p WHERE length(last_name) >= 4 AND r > :n * 0.5 AND r <= :n * 0.65
  UNION ALL SELECT p.r, 5, 'at_company', p.first_name || ' at ' || co.name, 'person', p.id FROM p JOIN crm.company co ON co.id = p.company_id
            WHERE p.r > :n * 0.65 AND p.r <= :n * 0.8
  UNION ALL SELECT r, 6, 'domain', domain, 'company', id FROM c WHERE domain IS NOT NULL AND r <= :n * 0.1
  UNION ALL SELECT r, 7, 'company', name, 'company', id FROM c WHERE r > :n * 0.1 AND r <= :n * 0.2) m;
SQL
# Each timed script starts with untimed calls that prepare the plans a backend keeps (a new
# backend's first call is reported on its own).
# The timed calls run as a role with crm.grant_access(role, 'reader'), as an application's or a
# BI tool's would: under the workspace's row-level security, not as the superuser.
q -c "CREATE ROLE bench_reader NOLOGIN" -c "SELECT crm.grant_access('bench_reader', 'reader')" >/dev/null
warm="SET ROLE bench_reader;
SELECT count(*) FROM crm.resolve('warm.up@example.com'); SELECT count(*) FROM crm.resolve('Bob at Acme');
SELECT count(*) FROM crm.resolve('+1 415 555 2671'); SELECT count(*) FROM crm.resolve('Acme renewal');"
first_call=$(q -c 'SET ROLE bench_reader' -c '\timing on' -c "SELECT count(*) FROM crm.resolve('Ann Lee at Acme')" | awk '/^Time: / {print $2}')
script="$BENCH_OUT/resolve_speed.sql"
{ echo "$warm"; echo '\timing on'
  q -c "SELECT format('SELECT count(*) FROM crm.resolve(%L); -- %s', mention, mix) FROM bench.mention ORDER BY id"; } >"$script"
n=$(q -c "SELECT count(*) FROM bench.mention")
log "resolving $n mentions (one warm-up pass, then the timed one)"
qt -f "$script" >/dev/null 2>>"$raw"
all_t=$(statement_timings "$script" "$raw")
rows_md=""
for mix in email phone domain name typo at_company company; do
  { echo "$warm"; echo '\timing on'; grep -- "-- $mix\$" "$script"; } >"$BENCH_OUT/resolve_speed.$mix.sql"
  t=$(statement_timings "$BENCH_OUT/resolve_speed.$mix.sql" "$raw")
  acc=$(q -F' ' -c "SELECT count(*), count(*) FILTER (WHERE top.record_id = m.expected AND top.kind = m.kind),
                           count(*) FILTER (WHERE EXISTS (SELECT FROM crm.resolve(m.mention) r WHERE r.record_id = m.expected AND r.kind = m.kind))
                    FROM bench.mention m LEFT JOIN LATERAL (SELECT * FROM crm.resolve(m.mention) LIMIT 1) top ON true
                    WHERE m.mix = '$mix'")
  read -r count first five <<<"$acc"
  read -r p50 p99 max <<<"$t"
  rows_md+="| $mix | $count | $p50 | $p99 | $max | $first | $five |"$'\n'
done
read -r p50 p99 max <<<"$all_t"

{
  echo "## Record resolution at size"
  echo
  echo "\`bash bench/resolve_speed.sh\`, $(date -u +%Y-%m-%d), commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD)."
  echo "$(bench_machine); load average before: $load_before."
  echo "Data: $people people (COPY with every trigger on: $load_s s), $companies companies; $n mentions."
  echo
  echo "All mentions, as a role with the reader access: p50 **$p50 ms**, p99 **$p99 ms**, max $max ms (one statement each, warm cache, in a session"
  echo "whose first calls prepared its plans; the first call of a new session took $first_call ms)."
  echo
  echo "| mention | n | p50 ms | p99 ms | max ms | the record first | among the 5 results |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s' "$rows_md"
} | tee "$report"
bench_stop
