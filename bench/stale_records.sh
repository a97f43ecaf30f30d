#!/usr/bin/env bash
# crm.stale_records(kind, '90 days') on the data set of bench/signals_copy.sh (1,000,000
# participants, 50,000 people, 5,000 companies), loaded once through the extension's triggers.
#
#   bash bench/stale_records.sh
#
# Three states of the clock: (a) the load's clock; (b) 7 days later without crm.tick(), when the
# records whose stored next interaction has started are "due" and computed live; (c) the same
# clock after crm.tick(). For each: the row count, the median of BENCH_RUNS (default 7; 3 when a
# call takes over 2 s) timed runs of SELECT * in one session (psql \timing, rows sent to the client
# and discarded), after one untimed call; EXPLAIN (ANALYZE, BUFFERS) of the call with auto_explain
# (log_nested_statements) showing the plan of the query inside the function.
# Results: stdout and bench/out/stale_records.md; plans in bench/out/stale_records.log.
source "$(dirname "$0")/lib.sh"
RUNS=${BENCH_RUNS:-7}
report="$BENCH_OUT/stale_records.md"
raw="$BENCH_OUT/stale_records.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_load_dataset
later=$(q -c "SELECT to_char(timestamptz '$BENCH_CLOCK' + interval '7 days', 'YYYY-MM-DD HH24:MI:SSOF')")

rows=""; plans=""
measure() {  # state-label clock kind
  local label=$1 clock=$2 kind=$3 call="SELECT * FROM crm.stale_records('$3', '90 days')"
  local count due first n timings med mn mx plan
  due=$(q -c "SET crm.clock = '$clock'" -c "SELECT count(*) FROM crm.${kind}_signal WHERE next_interaction_at <= crm.now()")
  # A first call (count(*)) gives the row count and decides how many timed runs fit the time
  # budget: RUNS, or 3 when one takes over 2 s.
  local out; out=$(q -c "SET crm.clock = '$clock'" -c '\timing on' -c "SELECT count(*) FROM crm.stale_records('$kind', '90 days')")
  count=$(printf '%s\n' "$out" | grep -v '^Time: ' | tail -1)
  first=$(printf '%s\n' "$out" | awk '/^Time: / {print $2}')
  n=$RUNS; awk -v t="$first" 'BEGIN {exit !(t > 2000)}' && n=3
  timings=$( { echo "SET crm.clock = '$clock';"; echo '\o /dev/null'; echo '\timing on'
               for _ in $(seq 1 "$n"); do echo "$call;"; done; } | qt | awk '/^Time: / {print $2}')
  med=$(printf '%s\n' "$timings" | median)
  mn=$(printf '%s\n' "$timings" | sort -g | head -1); mx=$(printf '%s\n' "$timings" | sort -g | tail -1)
  # EXPLAIN ANALYZE of the call, with auto_explain showing the plan of the query inside the function.
  local notices="$BENCH_OUT/stale_records_notices.txt" explain inner
  explain=$(q -c "SET crm.clock = '$clock'" -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 0" \
              -c "SET auto_explain.log_nested_statements = on" -c "SET auto_explain.log_analyze = on" \
              -c "SET auto_explain.log_buffers = on" -c "SET auto_explain.log_level = notice" \
              -c "SET client_min_messages = notice" -c "EXPLAIN (ANALYZE, BUFFERS) $call" 2>"$notices")
  # The statements of the function body that read the signal tables (not the nested ones of
  # crm._signals_now(), not the top-level call).
  inner=$(awk 'function flush() {if (sig && !top) printf "%s", block; block = ""; sig = 0; top = 0}
               /^NOTICE:  duration/ {flush()}
               {block = block $0 "\n"} /crm\.(person|company)_signal/ {sig = 1} /crm\.stale_records\(/ {top = 1}
               END {flush()}' "$notices" | sed 's/\t/ /g')
  rm -f "$notices"
  plan="$explain"$'\n\n'"$inner"
  printf '== %s, %s (clock %s)\nfirst: %s; timings: %s\n%s\n' "$label" "$kind" "$clock" "$first" "$(echo $timings)" "$plan" >>"$raw"
  rows+="| $label | $kind | $count | $due | $med | $mn / $mx | $n |"$'\n'
  plans+="#### $label, $kind"$'\n\n''```'$'\n'"$plan"$'\n''```'$'\n\n'
  log "$label $kind: $count rows, median $med ms"
}

for kind in person company; do measure "(a) clock of the load" "$BENCH_CLOCK" "$kind"; done
for kind in person company; do measure "(b) 7 days later, before crm.tick()" "$later" "$kind"; done
tick=$(timed_sql 600 "SET crm.clock = '$later'; SELECT crm.tick()")
log "crm.tick(): $tick"
for kind in person company; do measure "(c) 7 days later, after crm.tick()" "$later" "$kind"; done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "### stale_records: \`bash bench/stale_records.sh\`"
  echo
  bench_machine
  echo "- load average (1/5/15 min) before: $load_before, after: $load_after"
  printf '%s\n' "$BENCH_LOAD_MD"
  echo
  echo "- timed: \`SELECT * FROM crm.stale_records(kind, '90 days')\` n times in one session after one untimed call (psql \\timing, output discarded); \`crm.tick()\` between (b) and (c): $(echo "$tick" | cut -d' ' -f1) ms, $(echo "$tick" | cut -d' ' -f3-) records refreshed"
  echo
  echo "| state | kind | rows | due records | median ms | min / max ms | n |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s' "$rows"
  echo
  echo "Target: < 20 ms."
  echo
  printf '%s' "$plans"
} | tee "$report"
