#!/usr/bin/env bash
# Speed of fuzzy duplicate detection (issue 4) with 1,000,000 people in one workspace.
#
#   bash bench/duplicates_speed.sh
#
# Builds and installs the extension, starts a throwaway cluster (removed at the end), and in a
# database of its own ("dup", workspace 1) generates in SQL (bench/sql/duplicates_generate.sql,
# deterministic) BENCH_DUP_PEOPLE people (default 1,000,000) and their companies (one per 50
# people): names drawn with their frequencies from the FEBRL originals, fake_1000 and the
# nicknames list of data/reference (built-in lists when ../shared/data is absent) plus a long tail of rarer surnames,
# e-mail mostly at the company's domain, else free mail, phones for ~50% in the formats people
# type, cities and postal codes of five countries, birth dates for ~20%; 5% of the rows are
# duplicates of others with nicknames, typos, changed or missing e-mail, reformatted phones,
# abbreviated streets, missing fields, new jobs. Then:
#   1. load: COPY of the people (server-side file, one statement) into an emptied crm.person
#      (TRUNCATE of the people and what their triggers wrote, VACUUM, CHECKPOINT: untimed) with
#      these user triggers of crm.person enabled (BENCH_DUP_LOAD_MODES, in this order):
#        none      none (ALTER TABLE crm.person DISABLE TRIGGER USER)
#        dup_only  the duplicate triggers only (the foundation's person_relink_* triggers disabled)
#        off       the foundation's only (DISABLE TRIGGER person_duplicates_insert/_update/_delete)
#        on        all, as an application has them (last, so the data stays for what follows)
#      ON/OFF is the cost of duplicate maintenance in a real import; DUP_ONLY/NONE the same cost
#      against a bare COPY. BENCH_ROUNDS rounds. Companies are inserted once before, triggers on.
#   2. crm.find_duplicates('person', record, 10) on BENCH_DUP_PROBES probes (half near-duplicates
#      of people in the table, half new people): server-side, clock_timestamp() around each call in
#      a plpgsql loop (p50 / p99, and whether near-duplicates found their original); and
#      client-side, pgbench -M prepared, one call per transaction (latency log, p50 / p99).
#   3. single-row INSERT into crm.person, one per transaction (pgbench -M prepared, latency log),
#      BENCH_DUP_INSERTS rows (half near-duplicates, half new), OFF then ON; the rows are deleted after.
#   4. crm.scan_duplicates('person') over all of them, twice (time, returned count); the open
#      candidates the trigger wrote are compared with the scan's, and the second scan's with the first's.
#   5. crm.verify_signals() (empty: no activity here) and the synthetic truth: precision / recall
#      of the candidates and sets against the injected duplicates (labels of a generator: two
#      generated people may also be alike by chance).
#   6. (BENCH_DUP_FOUNDATION=1, default) the foundation's COPY benchmark (bench/signals_copy.sh's
#      data set in database "postgres": seed, then COPY of 1,000,000 participants, activity triggers
#      on) with the duplicate triggers of crm.person and crm.company enabled vs disabled; how often
#      the duplicate trigger ran during the COPY (track_functions); crm.verify_signals() after.
# Results: stdout and bench/out/duplicates_speed.md; psql and pgbench output in
# bench/out/duplicates_speed.log.
#
# Knobs: BENCH_DUP_PEOPLE=1000000, BENCH_DUP_PROBES=1000, BENCH_DUP_INSERTS=2000, BENCH_ROUNDS=1,
# BENCH_DUP_LOAD_MODES="none dup_only off on", BENCH_DUP_LOAD_TIMEOUT=3600, BENCH_DUP_SCAN_TIMEOUT=1800, BENCH_DUP_FOUNDATION=1,
# BENCH_LINKAGE_DIR (default ../shared/data/linkage), BENCH_SKIP_BUILD=1.
source "$(dirname "$0")/lib.sh"
PEOPLE=${BENCH_DUP_PEOPLE:-1000000}
PROBES=${BENCH_DUP_PROBES:-1000}
INSERTS=${BENCH_DUP_INSERTS:-2000}
ROUNDS=${BENCH_ROUNDS:-1}
LOAD_TIMEOUT=${BENCH_DUP_LOAD_TIMEOUT:-3600}
LOAD_MODES=${BENCH_DUP_LOAD_MODES:-none dup_only off on}
SCAN_TIMEOUT=${BENCH_DUP_SCAN_TIMEOUT:-1800}
FOUNDATION=${BENCH_DUP_FOUNDATION:-1}
LINKAGE=${BENCH_LINKAGE_DIR:-$BENCH_ROOT/../shared/data/linkage}
NICKNAMES=$BENCH_ROOT/data/reference/nicknames/names.csv  # the list the extension installs
report="$BENCH_OUT/duplicates_speed.md"
raw="$BENCH_OUT/duplicates_speed.log"
: >"$raw"

# Nearest-rank percentile of the numbers on stdin.
pct() { sort -g | awk -v p="$1" '{a[NR]=$1} END {if (NR==0) {print "n/a"; exit} i=int((NR*p+99)/100); if (i<1) i=1; if (i>NR) i=NR; printf "%.3f\n", a[i]}'; }
# One statement, timed (psql \timing) under statement_timeout, with extra PGOPTIONS; prints
# "<ms> <ok|timeout|error> <first output line>"; NOTICEs (progress) go to the log, not the value.
run_sql() {  # timeout-seconds options sql
  local out rc ms
  set +e
  out=$(PGOPTIONS="${PGOPTIONS:-} $2 -c statement_timeout=${1}s" \
        psql -X -q -At -v ON_ERROR_STOP=1 -c '\timing on' -c "$3" 2>"$BENCH_OUT/.dup_speed_stderr")
  rc=$?
  set -e
  cat "$BENCH_OUT/.dup_speed_stderr" >>"$raw"
  ms=$(printf '%s\n' "$out" | sum_timing)
  if [ $rc -eq 0 ]; then
    echo "$ms ok $(printf '%s\n' "$out" | grep -v '^Time: ' | head -1)"
  elif grep -q 'statement timeout' "$BENCH_OUT/.dup_speed_stderr"; then
    echo "$(($1 * 1000)) timeout >${1}s"
  else
    echo "0 error $(grep -m1 ERROR "$BENCH_OUT/.dup_speed_stderr")"
  fi
}
ms_of() { printf '%.0f' "$(echo "$1" | cut -d' ' -f1)"; }
status_of() { echo "$1" | cut -d' ' -f2; }
value_of() { echo "$1" | cut -d' ' -f3-; }
dup_triggers() {  # on|off [tables]
  local verb=ENABLE t; [ "$1" = off ] && verb=DISABLE
  for t in ${2:-person}; do
    q -c "ALTER TABLE crm.$t $verb TRIGGER ${t}_duplicates_insert" -c "ALTER TABLE crm.$t $verb TRIGGER ${t}_duplicates_update" \
      -c "ALTER TABLE crm.$t $verb TRIGGER ${t}_duplicates_delete"
  done
}

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# The 1,000,000 people, in database "dup".
q -c "CREATE DATABASE dup"
export PGDATABASE=dup
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION crm_hygiene CASCADE" -c "CREATE SCHEMA bench" \
  -c "CREATE TABLE bench.raw_line (file text NOT NULL DEFAULT current_setting('bench.file'), n bigserial, line text)"
pools="built-in name lists (../shared/data absent)"
load_file() {  # label path
  [ -f "$2" ] || return 0
  q -c "SET bench.file = '$1'" \
    -c "COPY bench.raw_line (line) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER E'\\x01', QUOTE E'\\x02')" <"$2"
}
if [ -d "$LINKAGE/febrl" ]; then
  for f in dataset1 dataset2 dataset3 dataset4a dataset4b; do load_file "$f" "$LINKAGE/febrl/$f.csv"; done
  load_file fake_1000 "$LINKAGE/splink_fake_1000/fake_1000.csv"
  load_file nicknames "$NICKNAMES"
  pools="names from the FEBRL originals and fake_1000 in $(dirname "$LINKAGE"), nicknames from data/reference"
fi
log "generating $PEOPLE people ($pools)"
t0=$SECONDS
q -v people="$PEOPLE" -v probes="$PROBES" -v inserts="$INSERTS" -f "$BENCH_DIR/sql/duplicates_generate.sql" >>"$raw"
gen_s=$((SECONDS - t0))
data_md=$(q -F ' ' -c "SELECT format('%s people (%s originals + %s duplicates, %s true pairs), %s companies; %s distinct first names, %s distinct last names; e-mail %s%%, phone %s%%, street %s%%, city %s%%, postal code %s%%, birth date %s%%, company %s%%; countries %s',
    count(*), count(*) FILTER (WHERE NOT dup), count(*) FILTER (WHERE dup),
    (SELECT sum(c * (c - 1) / 2) FROM (SELECT count(*) c FROM bench.gen_person GROUP BY entity) x),
    (SELECT count(*) FROM bench.gen_company), count(DISTINCT first_name), count(DISTINCT last_name),
    round(100.0 * count(email) / count(*)), round(100.0 * count(phone) / count(*)), round(100.0 * count(street) / count(*)),
    round(100.0 * count(city) / count(*)), round(100.0 * count(postal_code) / count(*)), round(100.0 * count(birth_date) / count(*)),
    round(100.0 * count(company_id) / count(*)),
    (SELECT string_agg(country || ' ' || n, ', ' ORDER BY n DESC) FROM (SELECT country, count(*) n FROM bench.gen_person GROUP BY 1) y))
  FROM bench.gen_person")
log "generated in $gen_s s: $data_md"
q -c "SELECT id, entity, dup, first_name, last_name, email, phone, street, city, postal_code, country, birth_date, company_id FROM bench.gen_person WHERE entity IN (SELECT entity FROM bench.gen_person WHERE dup ORDER BY id LIMIT 6) ORDER BY entity, dup, id" >>"$raw"

# Companies, once, triggers on.
t0=$(date +%s%N)
q -c "INSERT INTO crm.company (id, workspace_id, name, domain, country) SELECT id, 1, name, domain, country FROM bench.gen_company" \
  -c "SELECT setval(pg_get_serial_sequence('crm.company', 'id'), (SELECT max(id) FROM crm.company))" >/dev/null
company_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
company_cands=$(q -c "SELECT count(*) FROM crm.duplicate_candidate WHERE kind = 'company'" 2>/dev/null || echo '?')
log "companies inserted in $company_ms ms ($company_cands company candidates)"

# The people file (server-side COPY, as bench/signals_copy.sh does).
q -c "COPY (SELECT id, 1, company_id, first_name, last_name, email, emails, phone, street, city, postal_code, country, birth_date
            FROM bench.gen_person ORDER BY id) TO '$BENCH_DATA/people.csv' WITH (FORMAT csv)"
people_md5=$(md5sum "$BENCH_DATA/people.csv" | cut -d' ' -f1)
cat "$BENCH_DATA/people.csv" >/dev/null

# Empties the people and everything their triggers wrote (untimed), vacuums, checkpoints.
reset_people() {
  q -c "TRUNCATE crm.person, crm.person_signal, crm.record_address, crm.connection, crm.match_profile, crm.duplicate_candidate CASCADE" \
    -c "VACUUM ANALYZE crm.person, crm.person_signal, crm.record_address, crm.match_profile, crm.duplicate_candidate" -c CHECKPOINT >/dev/null 2>>"$raw"
}
# Load modes: which user triggers of crm.person are enabled.
#   none      none (DISABLE TRIGGER USER): the table and its indexes alone
#   dup_only  the duplicate triggers only (the foundation's person_relink_* triggers disabled)
#   off       the foundation's triggers only (duplicate triggers disabled): the baseline
#   on        all of them, as an application has it
declare -A mode_label=([none]="none" [dup_only]="duplicate triggers only" [off]="foundation triggers only (duplicates OFF)" [on]="all (duplicates ON)")
declare -A load_ms=([none]="" [dup_only]="" [off]="" [on]="")
load_rows=""; on_loaded=0
load_people() {  # round mode
  local round=$1 mode=$2 r
  q -c "ALTER TABLE crm.person ENABLE TRIGGER USER"
  case $mode in
    none) q -c "ALTER TABLE crm.person DISABLE TRIGGER USER" ;;
    dup_only) for t in person_relink_insert person_relink_update person_relink_delete; do
                q -c "ALTER TABLE crm.person DISABLE TRIGGER $t"
              done ;;
    off) dup_triggers off ;;
  esac
  reset_people
  log "people load, round $round, triggers: ${mode_label[$mode]}"
  r=$(run_sql "$LOAD_TIMEOUT" "" "COPY crm.person (id, workspace_id, company_id, first_name, last_name, email, emails, phone, street, city, postal_code, country, birth_date) FROM '$BENCH_DATA/people.csv' WITH (FORMAT csv)")
  echo "load round $round $mode: $r" >>"$raw"
  q -c "ALTER TABLE crm.person ENABLE TRIGGER USER"
  on_loaded=0
  if [ "$(status_of "$r")" = ok ]; then
    load_ms[$mode]+="$(ms_of "$r")"$'\n'
    local extra
    extra="$(q -c "SELECT format('%s match profiles, %s open candidates', (SELECT count(*) FROM crm.match_profile WHERE kind = 'person'), (SELECT count(*) FROM crm.duplicate_candidate WHERE kind = 'person' AND status = 'open'))")"
    [ "$mode" = on ] && on_loaded=1
    load_rows+="| $round | ${mode_label[$mode]} | $(ms_of "$r") | $extra |"$'\n'
    log "  $(ms_of "$r") ms; $extra"
  else
    load_rows+="| $round | ${mode_label[$mode]} | $(status_of "$r") | $(value_of "$r") |"$'\n'
    log "  failed: $r"
  fi
}
read -r -a load_modes <<<"$LOAD_MODES"
for round in $(seq 1 "$ROUNDS"); do
  for mode in "${load_modes[@]}"; do load_people "$round" "$mode"; done
done
fallback=""
if [ $on_loaded = 0 ]; then
  # The last load was not the complete one with every trigger (the last mode was not "on", or it
  # failed): load again with the foundation's triggers only, then build the profiles and
  # candidates with a scan, so that what follows runs on the same state as after an ON load.
  log "the last load was not a complete ON load: loading with the foundation's triggers, then scan_duplicates"
  dup_triggers off; reset_people
  q -c "COPY crm.person (id, workspace_id, company_id, first_name, last_name, email, emails, phone, street, city, postal_code, country, birth_date) FROM '$BENCH_DATA/people.csv' WITH (FORMAT csv)"
  dup_triggers on
  r0=$(run_sql "$SCAN_TIMEOUT" "-c crm.workspace=1" "SELECT crm.scan_duplicates('person')")
  fallback="**The last load was not a complete one with the duplicate triggers (modes: $LOAD_MODES); the people were loaded again with them disabled, then \`scan_duplicates\` built the profiles and candidates ($(ms_of "$r0") ms, returned $(value_of "$r0"); status $(status_of "$r0")) before the measures below.**"
fi
q -c "SELECT setval(pg_get_serial_sequence('crm.person', 'id'), (SELECT max(id) FROM crm.person))" >/dev/null
q -c "VACUUM ANALYZE crm.person, crm.company, crm.match_profile, crm.duplicate_candidate" 2>>"$raw" || true
max_id=$(q -c "SELECT max(id) FROM crm.person")
sizes=$(q -c "SELECT format('crm.person %s, crm.match_profile %s (of which indexes %s), crm.duplicate_candidate %s',
  pg_size_pretty(pg_total_relation_size('crm.person')), pg_size_pretty(pg_total_relation_size('crm.match_profile')),
  pg_size_pretty(pg_indexes_size('crm.match_profile')), pg_size_pretty(pg_total_relation_size('crm.duplicate_candidate')))" 2>>"$raw" || echo '?')
trigger_scores=""
if [ $on_loaded = 1 ]; then
  trigger_scores=$(q -c "SELECT bench.synthetic_scores(1)" 2>>"$raw" || echo "")
  q -c "SELECT bench.snapshot('trigger', 1)" 2>>"$raw" || true
fi

# ---------------------------------------------------------------------------------------------
# find_duplicates: server-side timing, then pgbench.
log "find_duplicates: $PROBES probes, server-side timing"
probe_md=""
if q -c "SELECT bench.time_probes(20)" >>"$raw" 2>&1; then
  probe_md=$(q -F ' ' -c "SELECT format('| server-side, clock_timestamp() in plpgsql | %s | %s | %s | %s | %s | near-duplicates: %s of %s found their original among the results; new people: %s of %s got at least one result |',
      count(*), to_char(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms), 'FM990.000'), to_char(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms), 'FM990.000'),
      to_char(avg(ms), 'FM990.000'), to_char(max(ms), 'FM99990.000'),
      count(*) FILTER (WHERE kind = 'near' AND found), count(*) FILTER (WHERE kind = 'near'),
      count(*) FILTER (WHERE kind = 'new' AND results > 0), count(*) FILTER (WHERE kind = 'new'))
    FROM bench.probe_time")
  probe_md+=$'\n'$(q -F ' ' -c "SELECT format('| server-side, %s probes only | %s | %s | %s | %s | %s | |', kind, count(*),
      to_char(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms), 'FM990.000'), to_char(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms), 'FM990.000'),
      to_char(avg(ms), 'FM990.000'), to_char(max(ms), 'FM99990.000')) FROM bench.probe_time GROUP BY kind ORDER BY kind")
else
  probe_md="| server-side | error: $(grep -m1 ERROR "$raw" | tail -1) | | | | | |"
fi
pg_dir=$(mktemp -d "$BENCH_OUT/pgbench.XXXXXX")
run_pgbench() {  # label script-file transactions -> prints latencies (ms) one a line; summary into $raw
  local label=$1 script=$2 n=$3 out
  rm -f "$pg_dir/lat_$label".*
  out=$(cd "$pg_dir" && pgbench -n -c 1 -M prepared -t "$n" --log --log-prefix="lat_$label" -f "$script" 2>&1) || true
  printf '== pgbench %s\n%s\n' "$label" "$out" >>"$raw"
  cat "$pg_dir/lat_$label".* 2>/dev/null | awk '{printf "%.3f\n", $3 / 1000}'
}
pgbench_row() {  # label latencies
  local lat=$2 n
  n=$(printf '%s' "$lat" | grep -c . || true)
  if [ "$n" = 0 ]; then echo "| $1 | error (see bench/out/duplicates_speed.log) | | | | | |"; return; fi
  echo "| $1 | $n | $(printf '%s\n' "$lat" | pct 50) | $(printf '%s\n' "$lat" | pct 99) | $(printf '%s\n' "$lat" | awk '{s+=$1} END {printf "%.3f", s/NR}') | $(printf '%s\n' "$lat" | sort -g | tail -1) | |"
}
cat >"$pg_dir/find.sql" <<EOF
\\set i random(1, $PROBES)
SELECT count(*) FROM crm.find_duplicates('person', (SELECT rec FROM bench.probe WHERE i = :i), 10);
EOF
log "find_duplicates: pgbench"
find_lat=$(run_pgbench find "$pg_dir/find.sql" $((PROBES * 2)))
probe_md+=$'\n'$(pgbench_row "client-side, pgbench -M prepared, one call a transaction (random probe; the probe's lookup by primary key included)" "$find_lat")

# ---------------------------------------------------------------------------------------------
# Single-row inserts, OFF then ON (rows deleted after each run, duplicate triggers on).
cat >"$pg_dir/insert.sql" <<'EOF'
INSERT INTO crm.person (workspace_id, company_id, first_name, last_name, email, emails, phone, street, city, postal_code, country, birth_date)
SELECT 1, company_id, first_name, last_name, email, emails, phone, street, city, postal_code, country, birth_date
FROM bench.insert_src WHERE i = (SELECT nextval('bench.insert_seq'));
EOF
declare -A ins_lat
insert_md=""
for mode in off on; do
  dup_triggers "$mode"
  q -c "ALTER SEQUENCE bench.insert_seq RESTART" -c "VACUUM ANALYZE crm.person" -c CHECKPOINT >/dev/null
  log "single-row inserts, duplicate triggers $mode"
  ins_lat[$mode]=$(run_pgbench "insert_$mode" "$pg_dir/insert.sql" "$INSERTS")
  insert_md+="$(pgbench_row "INSERT, duplicate triggers $mode" "${ins_lat[$mode]}")"$'\n'
  if [ "$mode" = on ]; then
    insert_cands=$(q -c "SELECT format('%s of the %s inserted rows are in an open candidate pair (near-duplicates: %s of %s paired with their original)',
        count(*) FILTER (WHERE EXISTS (SELECT FROM crm.duplicate_candidate c WHERE c.kind = 'person' AND c.status = 'open' AND c.record_id = p.id)
                         OR EXISTS (SELECT FROM crm.duplicate_candidate c WHERE c.kind = 'person' AND c.status = 'open' AND c.other_id = p.id)),
        count(*), count(*) FILTER (WHERE s.kind = 'near' AND EXISTS (SELECT FROM bench.gen_person g JOIN crm.duplicate_candidate c
            ON c.kind = 'person' AND c.status = 'open' AND c.record_id = least(p.id, g.id) AND c.other_id = greatest(p.id, g.id) WHERE g.entity = s.entity)),
        count(*) FILTER (WHERE s.kind = 'near'))
      FROM crm.person p JOIN bench.insert_src s ON s.i = p.id - $max_id WHERE p.id > $max_id" 2>>"$raw" || echo '?')
  fi
  dup_triggers on
  q -c "DELETE FROM crm.person WHERE id > $max_id" >/dev/null
  q -c "SELECT setval(pg_get_serial_sequence('crm.person', 'id'), $max_id)" >/dev/null
done
ins_ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b}'; }

# ---------------------------------------------------------------------------------------------
# Scans.
q -c "VACUUM ANALYZE crm.person, crm.match_profile, crm.duplicate_candidate" 2>>"$raw" || true
scan_rows=""; scan_counts=""
for n in 1 2; do
  log "scan_duplicates('person') #$n"
  if [ "$n" = 2 ]; then q -c "SELECT bench.snapshot('scan1', 1)" 2>>"$raw" || true; fi
  r=$(run_sql "$SCAN_TIMEOUT" "-c crm.workspace=1" "SELECT crm.scan_duplicates('person')")
  notice=$(grep NOTICE "$BENCH_OUT/.dup_speed_stderr" | tail -1 | sed 's/^NOTICE: *//' || true)
  echo "scan $n: $r" >>"$raw"
  cmp=""
  if [ "$(status_of "$r")" = ok ]; then
    scan_counts+="$(value_of "$r") "
    if [ "$n" = 1 ] && [ $on_loaded = 1 ]; then
      cmp="against the trigger's candidates: $(q -c "SELECT bench.compare_snapshot('trigger', 1)")"
    elif [ "$n" = 2 ]; then
      cmp="against the first scan: $(q -c "SELECT bench.compare_snapshot('scan1', 1)")"
    fi
    scan_rows+="| $n | $(ms_of "$r") | $(value_of "$r") | $cmp; ${notice:-no notice} |"$'\n'
  else
    scan_rows+="| $n | $(status_of "$r") | $(value_of "$r") | |"$'\n'
  fi
  log "  $r; $cmp"
done
scan_scores=$(q -c "SELECT bench.synthetic_scores(1)" 2>>"$raw" || echo "")
q -c "SELECT bench.synthetic_examples(1, 30)" >"$BENCH_OUT/duplicates_speed_errors.txt" 2>>"$raw" || true
sets_r=$(run_sql 600 "" "SELECT count(*) || ' records in ' || count(DISTINCT set_id) || ' sets' FROM crm.duplicate_sets WHERE workspace_id = 1 AND kind = 'person'")
verify_r=$(run_sql 600 "" "SELECT count(*) FROM crm.verify_signals()")

scores_md() {  # label "truth cand cand_tp set_pairs set_tp sets largest"
  [ -n "$2" ] || { echo "| $1 | n/a | | | | | |"; return; }
  echo "$2" | awk -v l="$1" '{
    cp = ($2 ? $3 / $2 : 0); cr = ($1 ? $3 / $1 : 0); cf = (cp + cr ? 2 * cp * cr / (cp + cr) : 0);
    sp = ($4 ? $5 / $4 : 0); sr = ($1 ? $5 / $1 : 0); sf = (sp + sr ? 2 * sp * sr / (sp + sr) : 0);
    printf "| %s | %.0f | %.0f | %.3f / %.3f / %.3f | %.0f | %.3f / %.3f / %.3f | %.0f (largest %.0f) |\n", l, $1, $2, cp, cr, cf, $4, sp, sr, sf, $6, $7 }'
}

# ---------------------------------------------------------------------------------------------
# The foundation's COPY benchmark with duplicate maintenance on and off (database postgres).
found_rows=""; found_md=""
if [ "$FOUNDATION" = 1 ]; then
  export PGDATABASE=postgres
  bench_seed
  bench_generate_csv >>"$raw" 2>&1
  declare -A copy_ms=([on]="" [off]="")
  for round in $(seq 1 "$ROUNDS"); do
    for mode in off on; do
      dup_triggers "$mode" "person company"
      bench_triggers on
      bench_reset_activity
      q -c "SELECT pg_stat_reset()" >/dev/null
      log "foundation COPY, round $round, duplicate triggers $mode"
      out=$(bench_copy_sql | PGOPTIONS="-c track_functions=all -c statement_timeout=${LOAD_TIMEOUT}s" qt 2>&1) || true
      printf '== foundation round %s %s\n%s\n' "$round" "$mode" "$out" >>"$raw"
      total=$(printf '%s\n' "$out" | sum_timing)
      calls=$(q -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname IN ('_duplicates_written', '_duplicates_deleted')")
      if printf '%s' "$out" | grep -q ERROR; then
        found_rows+="| $round | $mode | error: $(printf '%s' "$out" | grep -m1 ERROR) | |"$'\n'
      else
        copy_ms[$mode]+="$total"$'\n'
        found_rows+="| $round | $mode | $(printf '%.0f' "$total") | $calls |"$'\n'
      fi
      log "  $total ms; duplicate trigger functions called $calls times"
    done
  done
  dup_triggers on "person company"
  fv=$(run_sql 600 "" "SELECT count(*) FROM crm.verify_signals()")
  fmed_on=$(printf "%s" "${copy_ms[on]}" | grep . | median 2>/dev/null || true); fmed_on=${fmed_on:-n/a}
  fmed_off=$(printf "%s" "${copy_ms[off]}" | grep . | median 2>/dev/null || true); fmed_off=${fmed_off:-n/a}
  found_md="Median ON $fmed_on ms, OFF $fmed_off ms: **ratio ON/OFF $(ins_ratio "$fmed_on" "$fmed_off")**. Seeding (20 members, $BENCH_COMPANIES companies, $((BENCH_COMPANIES * BENCH_PEOPLE_PER_COMPANY)) people, duplicate triggers on): $BENCH_SEED_S s. \`count(*) FROM crm.verify_signals()\` after the last ON COPY: $(value_of "$fv") ($(ms_of "$fv") ms; status $(status_of "$fv"))."
  export PGDATABASE=dup
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
lmed() { local v; v=$(printf '%s' "${load_ms[$1]}" | grep . | median 2>/dev/null || true); echo "${v:-n/a}"; }
med_on=$(lmed on); med_off=$(lmed off); med_none=$(lmed none); med_duponly=$(lmed dup_only)
p50_on=$(printf '%s\n' "${ins_lat[on]}" | grep . | pct 50); p50_off=$(printf '%s\n' "${ins_lat[off]}" | grep . | pct 50)
p99_on=$(printf '%s\n' "${ins_lat[on]}" | grep . | pct 99); p99_off=$(printf '%s\n' "${ins_lat[off]}" | grep . | pct 99)
{
  echo "### duplicates_speed: \`bash bench/duplicates_speed.sh\` (BENCH_DUP_PEOPLE=$PEOPLE)"
  echo
  bench_machine | grep -v '^- seeding'
  echo "- load average (1/5/15 min) before: $load_before, after: $load_after; whole script $SECONDS s"
  echo "- data (database dup, workspace 1; generated in $gen_s s by bench/sql/duplicates_generate.sql, $pools): $data_md"
  echo "- people file md5 $people_md5; companies inserted (one INSERT, triggers on) in $company_ms ms, $company_cands company candidates"
  echo "- sizes after the load: $sizes"
  echo
  echo "**Load of the people** (COPY crm.person from a server-side CSV file, one statement; empty table each time):"
  echo
  echo "| round | user triggers of crm.person enabled | ms | after |"
  echo "|---|---|---|---|"
  printf '%s' "$load_rows"
  echo
  echo "Medians (ms): none $med_none, duplicate triggers only $med_duponly, foundation only (OFF) $med_off, all (ON) $med_on. **Ratio ON/OFF $(ins_ratio "$med_on" "$med_off")** (duplicate maintenance in a real import); duplicate triggers only / none $(ins_ratio "$med_duponly" "$med_none"). $fallback"
  echo
  echo "**crm.find_duplicates('person', record, 10)** over $PROBES probes (ms):"
  echo
  echo "| timing | calls | p50 | p99 | mean | max | results |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "$probe_md"
  echo
  echo "**Single-row INSERT into crm.person** (pgbench -M prepared, one row a transaction, $INSERTS rows: half near-duplicates of people in the table, half new; latency per transaction, ms):"
  echo
  echo "| mode | inserts | p50 | p99 | mean | max | |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s' "$insert_md"
  echo
  echo "Ratio ON/OFF: p50 $(ins_ratio "$p50_on" "$p50_off"), p99 $(ins_ratio "$p99_on" "$p99_off"). With the trigger: ${insert_cands:-?}."
  echo
  echo "**crm.scan_duplicates('person')** over the $PEOPLE people (target ≤ 90 s):"
  echo
  echo "| scan | ms | returned | open candidates compared; the scan's notice |"
  echo "|---|---|---|---|"
  printf '%s' "$scan_rows"
  echo
  echo "Against the injected duplicates (synthetic labels; candidates and crm.duplicate_sets pairs, P / R / F1):"
  echo
  echo "| state | true pairs | candidates | candidates P / R / F1 | set pairs | sets P / R / F1 | sets |"
  echo "|---|---|---|---|---|---|---|"
  [ $on_loaded = 1 ] && scores_md "after the load (trigger)" "$trigger_scores"
  scores_md "after the scans" "$scan_scores"
  echo
  echo "- \`crm.duplicate_sets\` of the workspace: $(value_of "$sets_r") ($(ms_of "$sets_r") ms)"
  echo "- disagreements with the synthetic labels after the scans (first 30 each, both records, evidence): bench/out/duplicates_speed_errors.txt"
  echo "- \`count(*) FROM crm.verify_signals()\` in this database: $(value_of "$verify_r") ($(ms_of "$verify_r") ms; status $(status_of "$verify_r"))"
  if [ "$FOUNDATION" = 1 ]; then
    echo
    echo "**The foundation's COPY benchmark** (bench/signals_copy.sh's data set, database postgres: COPY of $BENCH_PARTICIPANTS participants with the activity triggers on), duplicate triggers of crm.person and crm.company on vs off:"
    echo
    echo "| round | duplicate triggers | total ms | duplicate trigger calls during the COPY |"
    echo "|---|---|---|---|"
    printf '%s' "$found_rows"
    echo
    echo "$found_md"
  fi
} | tee "$report"
rm -rf "$pg_dir"
