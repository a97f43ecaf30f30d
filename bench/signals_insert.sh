#!/usr/bin/env bash
# Single-row path: one transaction = one interaction + three participants in one statement
# (bench/sql/insert_one.pgbench), pgbench -n -c 1 -M prepared, with the extension's triggers
# enabled (ON) vs disabled (OFF), and vs OFF writing the rows the trigger would have produced
# (bench/sql/insert_one_resolved.pgbench: member/person/company ids filled in; "pre-resolved").
#
#   bash bench/signals_insert.sh
#
# Builds and installs, starts a throwaway cluster (removed at the end), loads the data set of
# bench/signals_copy.sh once through the triggers (bench_load_dataset in bench/lib.sh), then
# BENCH_ROUNDS rounds of ON, OFF and pre-resolved, rotating their order, BENCH_SECONDS seconds each.
# Rows written with the triggers off are deleted (triggers still off) after their run, so the
# data stays consistent; rows written ON stay. Ends with the link and signal checks.
# Results: stdout and bench/out/signals_insert.md; pgbench output in bench/out/signals_insert.log.
source "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
report="$BENCH_OUT/signals_insert.md"
raw="$BENCH_OUT/signals_insert.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_load_dataset
interactions_before=$(q -c "SELECT count(*) FROM crm.interaction")

declare -A tps lat
rows=""
run() {  # round mode(on|off|pre)
  local round=$1 mode=$2 opts="${BENCH_ON_PGOPTIONS:-}" tag=1 script=insert_one.pgbench
  case $mode in
    off) opts=""; tag=0 ;;
    pre) opts=""; tag=3; script=insert_one_resolved.pgbench ;;
  esac
  if [ "$mode" = on ]; then bench_triggers on; else bench_triggers off; fi
  q -c "VACUUM ANALYZE crm.interaction, crm.participant, crm.person_signal, crm.company_signal" -c CHECKPOINT
  log "round $round: $mode"
  local out
  out=$(PGOPTIONS="$opts" pgbench -n -c 1 -M prepared -T "$SECONDS_PER_RUN" \
          -D members="$BENCH_MEMBERS" -D people=$((BENCH_COMPANIES * BENCH_PEOPLE_PER_COMPANY)) \
          -D per="$BENCH_PEOPLE_PER_COMPANY" -D mode="$tag" -f "$BENCH_DIR/sql/$script" 2>&1)
  printf '== round %s, %s (PGOPTIONS: %s)\n%s\n' "$round" "$mode" "$opts" "$out" >>"$raw"
  local n t l failed
  n=$(printf '%s\n' "$out" | awk -F': ' '/number of transactions actually processed/ {print $2}' | cut -d/ -f1)
  failed=$(printf '%s\n' "$out" | awk -F': ' '/number of failed transactions/ {print $2}' | cut -d' ' -f1)
  t=$(printf '%s\n' "$out" | awk '/^tps = / {print $3}')
  l=$(printf '%s\n' "$out" | awk '/^latency average = / {print $4}')
  if [ -z "$t" ]; then
    rows+="| $round | $mode | error: $(printf '%s' "$out" | grep -m1 -i error) | | |"$'\n'
  else
    rows+="| $round | $mode | $n (failed: ${failed:-0}) | $(printf '%.1f' "$t") | $l |"$'\n'
    tps[$mode]+="$t"$'\n'; lat[$mode]+="$l"$'\n'
  fi
  if [ "$mode" != on ]; then
    # Rows written without the triggers are not folded into the signals: remove them (triggers
    # still off, so nothing is recomputed) to keep the data consistent for the next runs.
    q -c "DELETE FROM crm.interaction WHERE source = 'pgbench-$tag'" >/dev/null
    bench_triggers on
  fi
}

for round in $(seq 1 "$ROUNDS"); do
  case $((round % 3)) in
    1) order="on off pre" ;;
    2) order="off pre on" ;;
    0) order="pre on off" ;;
  esac
  for mode in $order; do run "$round" "$mode"; done
done

# Where the time of one ON transaction goes: the statements the triggers run (auto_explain,
# log_nested_statements), for one insert after three warm-up inserts in the same session.
log "breaking down one ON insert"
one="WITH i AS (INSERT INTO crm.interaction (kind, occurred_at, subject, source)
  VALUES ('email', timestamptz '$BENCH_CLOCK' - interval '2 days', 'pgbench', 'pgbench-1') RETURNING id)
INSERT INTO crm.participant (interaction_id, address, role)
SELECT i.id, a.address, a.role::crm.participant_role FROM i CROSS JOIN (VALUES
  ('member3@ourteam.example', 'from'), ('p12345@company1235.example', 'to'),
  ('p34567@company3457.example', 'cc')) AS a (address, role)"
breakdown=$(q -c "$one" -c "$one" -c "$one" -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 0" \
              -c "SET auto_explain.log_nested_statements = on" -c "SET auto_explain.log_level = notice" \
              -c "SET client_min_messages = notice" -c '\timing on' -c "$one" 2>&1 >/dev/null \
            | awk '/NOTICE:  duration: / {d = $3} /^Query Text: / {sub(/^Query Text: /, ""); q = substr($0, 1, 110); gsub(/\|/, "\\|", q); printf "| %s | %s |\n", d, q}')

log "checking the data after the runs"
checks=$(bench_verify "${BENCH_VERIFY_TIMEOUT:-300}")
written=$(q -c "SELECT count(*) FILTER (WHERE source = 'pgbench-1') || ' interactions written ON (kept), ' || count(*) FILTER (WHERE source IN ('pgbench-0', 'pgbench-3')) || ' written OFF (left; should be 0)' FROM crm.interaction")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

med() { printf '%s' "${1:-}" | grep . | median; }
summary="| mode | median TPS | median latency ms |"$'\n'"|---|---|---|"$'\n'
for mode in on off pre; do
  summary+="| $mode | $(med "${tps[$mode]:-}") | $(med "${lat[$mode]:-}") |"$'\n'
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.1f", a / b}'; }
on_off=$(ratio "$(med "${lat[on]:-}")" "$(med "${lat[off]:-}")")
on_pre=$(ratio "$(med "${lat[on]:-}")" "$(med "${lat[pre]:-}")")

{
  echo "### signals_insert: \`bash bench/signals_insert.sh\`"
  echo
  bench_machine
  echo "- load average (1/5/15 min) before: $load_before, after: $load_after"
  printf '%s\n' "$BENCH_LOAD_MD"
  echo
  echo "- command per run: \`pgbench -n -c 1 -M prepared -T $SECONDS_PER_RUN -D members=$BENCH_MEMBERS -D people=$((BENCH_COMPANIES * BENCH_PEOPLE_PER_COMPANY)) -D per=$BENCH_PEOPLE_PER_COMPANY -D mode=N -f bench/sql/insert_one.pgbench\`;"
  echo "  on: triggers enabled${BENCH_ON_PGOPTIONS:+, PGOPTIONS='$BENCH_ON_PGOPTIONS'}; off: \`ALTER TABLE ... DISABLE TRIGGER USER\` on both tables;"
  echo "  pre (OFF, pre-resolved): triggers disabled, \`-f bench/sql/insert_one_resolved.pgbench\` (the same rows with the ids the trigger would set)"
  echo "- $interactions_before interactions before the runs; after: $written"
  echo
  echo "| round | mode | transactions | TPS | latency avg ms |"
  echo "|---|---|---|---|---|"
  printf '%s' "$rows"
  echo
  printf '%s' "$summary"
  echo
  echo "**Latency ratio ON/OFF: $on_off**; ON/(OFF, pre-resolved): $on_pre (target <= 2)."
  echo
  echo "Statements run for one ON insert (auto_explain, log_nested_statements, log_analyze off; the last row is the whole statement):"
  echo
  echo "| ms | statement (first 110 characters) |"
  echo "|---|---|"
  printf '%s\n' "$breakdown"
  echo
  echo "Checks after the runs:"
  echo
  printf '%s\n' "$checks"
} | tee "$report"
