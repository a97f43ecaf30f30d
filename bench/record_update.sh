#!/usr/bin/env bash
# Cost of one-row UPDATEs of a person at size (issue 12), each its own transaction, with every
# trigger of crm.person enabled (ON) and disabled (OFF: ALTER TABLE crm.person DISABLE TRIGGER
# USER), on other rows of the same data:
#   title     a column nothing derives from: the target is ON <= 1.2x OFF
#   surname   a column duplicate detection reads (profile, frequencies, pairs)
#   email     a column the address book and participant links read (relink)
#
#   bash bench/record_update.sh
#   BENCH_BASELINE=provenance bash bench/record_update.sh
#     OFF disables only person_field_written, the trigger that records a user's writes as field
#     provenance (issue 14: ON <= 1.25x OFF); every other trigger stays on for both sides.
#   BENCH_BASELINE=ai bash bench/record_update.sh
#     An AI attribute of people reads title, first_name, last_name and email, so every update
#     below queues an AI request; OFF disables only zz_ai_enqueue, the trigger that queues it
#     (issue 15: ON <= 1.1x OFF).
#
# Data: bench/sql/generate.sql at BENCH_PARTICIPANTS=1000000 participants, BENCH_COMPANIES=5000
# companies of 10 people (50,000 people), 20 members, loaded by COPY with the triggers ON (as
# signals_copy.sh). A warm-up, then three rounds, ON and OFF alternating, each of BENCH_WRITES
# (1000, at most 1,000) writes of each kind on people no other run touches (drawn
# deterministically over the table). psql \timing of each
# statement gives p50 / p99 / max; the ratio is of the median p50s. crm.verify_signals() is counted
# after the first round's ON writes (the OFF writes leave derived state behind on purpose).
# Results: stdout and bench/out/record_update.md; psql output in bench/out/record_update.log.
export BENCH_PARTICIPANTS=${BENCH_PARTICIPANTS:-1000000}
export BENCH_COMPANIES=${BENCH_COMPANIES:-5000}
source "$(dirname "$0")/lib.sh"
WRITES=${BENCH_WRITES:-1000}
BASELINE=${BENCH_BASELINE:-all}
case $BASELINE in
  all) name=record_update; off_triggers=USER ;;
  provenance) name=record_update_provenance; off_triggers=person_field_written ;;
  ai) name=record_update_ai; off_triggers=zz_ai_enqueue ;;
  *) echo "BENCH_BASELINE is all, provenance or ai" >&2; exit 2 ;;
esac
report="$BENCH_OUT/$name.md"
raw="$BENCH_OUT/$name.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_load_dataset
export PGOPTIONS="-c crm.clock=${BENCH_CLOCK/ /T}"
q -c "VACUUM ANALYZE crm.person, crm.match_profile, crm.match_frequency, crm.record_address" >/dev/null
if [ "$BASELINE" = ai ]; then
  # Every person is queued once at definition; the requests the updates append are what is timed.
  q -c "SELECT crm.define_ai_attribute('person', 'persona', 'classify',
          '{\"labels\": [\"buyer\", \"user\"], \"inputs\": [\"title\", \"first_name\", \"last_name\", \"email\"]}')" >/dev/null
fi

ids() {  # offset: every k-th person id from it
  q -c "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS total FROM crm.person) x
        WHERE n % greatest(total / $WRITES, 1) = $1 % greatest(total / $WRITES, 1) ORDER BY id LIMIT $WRITES"
}
script() {  # kind offset -> file of WRITES statements
  local f="$BENCH_OUT/record_update.$1.$2.sql"
  { echo '\timing on'
    for id in $(ids "$2"); do
      case $1 in
        title) echo "UPDATE crm.person SET title = CASE WHEN title IS NULL THEN 'Dr.' END WHERE id = $id;" ;;
        surname) echo "UPDATE crm.person SET last_name = last_name || 'e' WHERE id = $id;" ;;
        email) echo "UPDATE crm.person SET email = 'moved.$id@example.org' WHERE id = $id;" ;;
      esac
    done; } >"$f"
  echo "$f"
}
declare -A p50s
rows=""
run() {  # ON|OFF kind offset round
  local r; r=$(statement_timings "$(script "$2" "$3")" "$raw")
  set -- "$1" "$2" "$3" "$4" $r
  [ "$4" = 4 ] && return  # the warm-up
  p50s[$1.$2]+="$5 "
  rows+="| $4 | $2 | $1 | $5 | $6 | $7 |"$'\n'
  log "round $4, $1 $2: p50 $5 ms, p99 $6 ms, max $7 ms"
}
side() {  # ON|OFF round: one run of each kind, on people no other run touches
  local k=0 kind off=0
  [ "$1" = OFF ] && off=1
  if [ "$1" = ON ]; then q -c "ALTER TABLE crm.person ENABLE TRIGGER USER"; else q -c "ALTER TABLE crm.person DISABLE TRIGGER $off_triggers"; fi
  for kind in title surname email; do
    run "$1" "$kind" $(( $2 * 10 + k * 2 + off )) "$2"
    k=$((k + 1))
  done
}
# Quiet first: the load leaves autovacuum and a checkpoint to run, which would land on whichever
# side ran first. Then the sides alternate (ON first, OFF first, ON first) and each p50 reported is
# the median of its three rounds.
q -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
# A warm-up of each side and kind on people of their own (round 4, not reported): the first run
# after the VACUUM reads pages and sets hint bits that later runs find done. The OFF writes leave
# derived state behind, so verify_signals is counted before any of them.
side ON 4
side ON 1
verify=$(timed_sql 600 "SELECT count(*) FROM crm.verify_signals()")
side OFF 4
side OFF 1
side OFF 2
side ON 2
side ON 3
side OFF 3
q -c "ALTER TABLE crm.person ENABLE TRIGGER USER"
declare -A p50
for key in "${!p50s[@]}"; do
  p50[$key]=$(printf '%s\n' ${p50s[$key]} | sort -g | sed -n 2p)
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

{
  echo "## One-row person updates at $BENCH_PARTICIPANTS participants (bench/record_update.sh, OFF: $off_triggers disabled)"
  echo
  echo "Command: \`BENCH_BASELINE=$BASELINE bash bench/record_update.sh\` (BENCH_PARTICIPANTS=$BENCH_PARTICIPANTS, BENCH_COMPANIES=$BENCH_COMPANIES, BENCH_WRITES=$WRITES)"
  echo
  bench_machine
  echo "- load average before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$BENCH_LOAD_MD"
  echo "- \`SELECT count(*) FROM crm.verify_signals()\` after the first round's ON writes: $(echo "$verify" | cut -d' ' -f2-), $(printf '%.0f' "$(echo "$verify" | cut -d' ' -f1)") ms"
  echo
  echo "$WRITES updates of each kind, each its own transaction (psql \\timing, ms):"
  echo
  echo "| round | column updated | triggers | p50 | p99 | max |"
  echo "|---|---|---|---|---|---|"
  printf '%s' "$rows"
  echo
  [ "$BASELINE" = ai ] && echo "- AI requests the ON writes appended: $(q -c "SELECT count(*) FROM crm.ai_inbox")"
  echo "Ratio ON/OFF of the median p50 of three rounds: title $(ratio "${p50[ON.title]}" "${p50[OFF.title]}") (issue 12, all triggers: <= 1.2; issue 14, provenance: <= 1.25; issue 15, AI enqueue: <= 1.1), surname $(ratio "${p50[ON.surname]}" "${p50[OFF.surname]}"), email $(ratio "${p50[ON.email]}" "${p50[OFF.email]}")."
} | tee "$report"
