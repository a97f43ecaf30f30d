#!/usr/bin/env bash
# Reads of connection strength on the data set of bench/signals_copy.sh (1,000,000 participants,
# 20 members, 5,000 companies, 50,000 people), loaded once through the extension's triggers.
#
#   bash bench/connection_reads.sh
#
# pgbench, one client, BENCH_SECONDS (default 15) per query, prepared statements, after a warm-up:
#   company_top10   the 10 strongest connections of a random company
#                   (crm.company_connection_strength ... ORDER BY strength DESC LIMIT 10)
#   people_1000     the strongest connection (member, strength, band) of 1,000 people, a random
#                   range of ids, from crm.person_overview
#   member_top10    the 10 people a random member knows best (crm.connection_strength ORDER BY rank)
# Results: stdout and bench/out/connection_reads.md; pgbench output in bench/out/connection_reads.log.
source "$(dirname "$0")/lib.sh"
SECONDS_PER=${BENCH_SECONDS:-15}
report="$BENCH_OUT/connection_reads.md"
raw="$BENCH_OUT/connection_reads.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_load_dataset
q -c "VACUUM ANALYZE crm.connection, crm.company_connection"

dir=$(mktemp -d)
trap 'rm -rf "$dir"; bench_stop' EXIT
cat >"$dir/company_top10.sql" <<SQL
\set c random(1, $BENCH_COMPANIES)
SELECT member_id, strength, band FROM crm.company_connection_strength
 WHERE company_id = :c ORDER BY strength DESC LIMIT 10;
SQL
people=$((BENCH_COMPANIES * BENCH_PEOPLE_PER_COMPANY))
cat >"$dir/people_1000.sql" <<SQL
\set p random(1, $((people - 999)))
SELECT id, strongest_connection_member_id, connection_strength, connection_band
  FROM crm.person_overview WHERE id BETWEEN :p AND :p + 999;
SQL
cat >"$dir/member_top10.sql" <<SQL
\set m random(1, $BENCH_MEMBERS)
SELECT person_id, strength, band FROM crm.connection_strength
 WHERE member_id = :m ORDER BY rank DESC NULLS LAST LIMIT 10;
SQL

rows=""
for name in company_top10 people_1000 member_top10; do
  pgbench -n -M prepared -c 1 -T 2 -f "$dir/$name.sql" >/dev/null 2>&1 || true  # warm-up
  out=$(pgbench -n -M prepared -c 1 -T "$SECONDS_PER" -f "$dir/$name.sql" 2>&1)
  printf '== %s\n%s\n' "$name" "$out" >>"$raw"
  avg=$(printf '%s\n' "$out" | awk -F'= ' '/latency average/ {print $2}')
  n=$(printf '%s\n' "$out" | awk -F': ' '/number of transactions actually processed/ {print $2}')
  rows+="| $name | $avg | $n |"$'\n'
  log "$name: $avg ($n runs)"
  q -c "EXPLAIN (ANALYZE, BUFFERS) $(sed -n '2,$p' "$dir/$name.sql" | sed "s/:c/42/; s/:p + 999/1000 + 999/; s/:p/1000/; s/:m/3/")" >>"$raw"
done
pairs=$(q -c "SELECT count(*) FILTER (WHERE person_id IS NOT NULL) || ' person pairs, ' || count(*) FILTER (WHERE person_id IS NULL) || ' address pairs' FROM crm.connection")
cpairs=$(q -c "SELECT count(*) FROM crm.company_connection")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "### connection_reads: \`bash bench/connection_reads.sh\`"
  echo
  bench_machine
  echo "- load average (1/5/15 min) before: $load_before, after: $load_after"
  printf '%s\n' "$BENCH_LOAD_MD"
  echo "- connection state: $pairs; $cpairs company pairs"
  echo
  echo "| query | latency average (pgbench -c1 -M prepared, ${SECONDS_PER} s) | runs |"
  echo "|---|---|---|"
  printf '%s' "$rows"
} | tee "$report"
