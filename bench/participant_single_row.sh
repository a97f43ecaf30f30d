#!/usr/bin/env bash
# Cost of one-row writes of activity at size: UPDATE and DELETE of a participant, and an interaction
# moved an hour back (UPDATE crm.interaction SET occurred_at), each its own transaction, with the extension's triggers enabled (ON) and disabled (OFF: ALTER
# TABLE crm.participant / crm.interaction DISABLE TRIGGER USER).
#
#   bash bench/participant_single_row.sh
#
# Data: bench/sql/generate.sql at BENCH_PARTICIPANTS=600000 participants (~200,000 interactions),
# BENCH_COMPANIES=500 companies of 10 people (5,000 people), 20 members, loaded by COPY with the
# triggers ON. Then, in one session each: BENCH_WRITES (200) UPDATEs that flip the response of a
# participant (declined <-> none: every one changes what the participant contributes, and the
# audience that weighs everyone else's connection in the interaction), then BENCH_WRITES DELETEs of
# other participants, ids drawn deterministically over the whole table; then the same for
# participants of the company with the most activity (before 0.2.0 every such write recomputed
# that company); then BENCH_WRITES interactions of participants of each kind moved an hour back;
# the same with the triggers OFF on other rows. psql
# \timing of each statement (autocommit) gives p50 / p99 / max. crm.verify_signals() is counted
# after the ON writes. Results: stdout and bench/out/participant_single_row.md; psql output and
# the plans of one ON write (auto_explain, nested statements) in bench/out/participant_single_row.log.
export BENCH_PARTICIPANTS=${BENCH_PARTICIPANTS:-600000}
export BENCH_COMPANIES=${BENCH_COMPANIES:-500}
source "$(dirname "$0")/lib.sh"
WRITES=${BENCH_WRITES:-200}
report="$BENCH_OUT/participant_single_row.md"
raw="$BENCH_OUT/participant_single_row.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_load_dataset
export PGOPTIONS="-c crm.clock=${BENCH_CLOCK/ /T}"

# Participant ids for each run, spread over the table (deterministic: every k-th id from an offset).
ids() {  # offset [top]: with "top", only participants of the company with the most activity
  local where=""
  [ "${2:-}" = top ] && where="AND company_id = (SELECT company_id FROM crm.participant WHERE company_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)"
  q -c "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS total FROM crm.participant WHERE true $where) x
        WHERE n % greatest(total / $WRITES, 1) = $1 % greatest(total / $WRITES, 1) ORDER BY id LIMIT $WRITES"
}
script() {  # kind offset [top] -> file of WRITES statements
  local f="$BENCH_OUT/participant_single_row.$1.$2${3:+.$3}.sql"
  { echo '\timing on'
    for id in $(ids "$2" "${3:-}"); do
      if [ "$1" = update ]; then
        echo "UPDATE crm.participant SET response = CASE WHEN response IS NULL THEN 'declined' END::crm.participant_response WHERE id = $id;"
      elif [ "$1" = reschedule ]; then
        echo "UPDATE crm.interaction SET occurred_at = occurred_at - interval '1 hour' WHERE id = (SELECT interaction_id FROM crm.participant WHERE id = $id);"
      else
        echo "DELETE FROM crm.participant WHERE id = $id;"
      fi
    done; } >"$f"
  echo "$f"
}

rows=""
run() {  # label kind offset [top]
  local f r what; f=$(script "$2" "$3" "${4:-}")
  what="any participant"; [ "${4:-}" = top ] && what="participants of the most active company ($top_size)"
  echo "== $1 $2 (offset $3) $what" >>"$raw"
  r=$(statement_timings "$f" "$raw")
  set -- "$1" "$2" $r
  rows+="| $2 | $what | $1 | $3 | $4 | $5 |"$'\n'
  log "$1 $2 $what: p50 $3 ms, p99 $4 ms, max $5 ms"
}
top_size=$(q -c "SELECT count(*) || ' participants in ' || count(DISTINCT interaction_id) || ' interactions' FROM crm.participant WHERE company_id = (SELECT company_id FROM crm.participant WHERE company_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)")

# One write of each kind with its plans, for the log.
{ echo "== plans of one ON update and one ON delete (auto_explain, nested statements)"
  PGOPTIONS="$PGOPTIONS -c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c auto_explain.log_nested_statements=on -c auto_explain.log_analyze=on -c client_min_messages=log -c auto_explain.log_level=notice" \
    qt -c "BEGIN" -c "UPDATE crm.participant SET response = 'declined' WHERE id = (SELECT min(id) + 7 FROM crm.participant)" \
       -c "DELETE FROM crm.participant WHERE id = (SELECT min(id) + 11 FROM crm.participant)" -c "ROLLBACK" 2>&1; } >>"$raw" || true

bench_triggers on
run ON update 1
run ON delete 2
run ON update 5 top
run ON delete 6 top
run ON reschedule 9
run ON reschedule 10 top
verify=$(timed_sql 600 "SELECT count(*) FROM crm.verify_signals()")
bench_triggers off
run OFF update 3
run OFF delete 4
run OFF update 7 top
run OFF delete 8 top
run OFF reschedule 11
run OFF reschedule 12 top
bench_triggers on

{
  echo "## One-row participant writes at $BENCH_PARTICIPANTS participants (bench/participant_single_row.sh)"
  echo
  echo "Command: \`bash bench/participant_single_row.sh\` (BENCH_PARTICIPANTS=$BENCH_PARTICIPANTS, BENCH_COMPANIES=$BENCH_COMPANIES, BENCH_WRITES=$WRITES)"
  echo
  bench_machine
  echo "- load average before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$BENCH_LOAD_MD"
  echo "- \`SELECT count(*) FROM crm.verify_signals()\` after the ON writes: $(echo "$verify" | cut -d' ' -f2-), $(printf '%.0f' "$(echo "$verify" | cut -d' ' -f1)") ms"
  echo
  echo "$WRITES writes of each kind, each its own transaction (psql \\timing, ms):"
  echo
  echo "| write | rows written | triggers | p50 | p99 | max |"
  echo "|---|---|---|---|---|---|"
  printf '%s' "$rows"
} | tee "$report"
