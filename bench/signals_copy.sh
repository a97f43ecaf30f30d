#!/usr/bin/env bash
# Bulk import cost of the activity triggers: COPY crm.interaction + COPY crm.participant in one
# transaction, with the extension's triggers enabled (ON) vs disabled (OFF).
#
#   bash bench/signals_copy.sh
#
# Builds and installs the extension, starts a throwaway cluster (removed at the end), seeds a
# workspace (20 members, 5,000 companies, 50,000 people), writes 1,000,000 participants over
# ~328,000 interactions as CSV (deterministic, bench/sql/generate.sql), then runs BENCH_ROUNDS
# rounds of three modes, rotating their order:
#   ON    triggers enabled, the participant file as an application has it (addresses only)
#   OFF   ALTER TABLE crm.interaction / crm.participant DISABLE TRIGGER USER, the same file
#   PRE   ("OFF, pre-resolved") triggers disabled, a participant file that already holds what the
#         trigger stores (canonical address, member/person/company ids): the same final rows as ON.
#         OFF leaves every participant unlinked, so every row goes into the partial index
#         participant_unlinked_domain_idx (person_id IS NULL AND member_id IS NULL), which ON
#         and PRE only fill for unknown addresses; PRE is the fairer baseline.
# Each run: set the triggers, TRUNCATE (untimed; with the triggers of the run, so ON starts from
# reset signals), VACUUM ANALYZE, CHECKPOINT, then the timed transaction (server-side COPY FROM
# file; psql \timing of COPY, COPY, COMMIT). After each ON run crm.verify_signals() is counted and
# timed; after the last one, also an independent set-based check of the participant links and
# crm._verify_signal_state() alone; after the first PRE run, the same link check of its rows.
# Bounded by BENCH_BUDGET: a run that would not fit is skipped and shown as such.
# Results: stdout and bench/out/signals_copy.md; psql output in bench/out/signals_copy.log.
#
# Knobs (environment):
#   BENCH_ROUNDS=3            rounds of (ON, OFF, PRE)
#   BENCH_MODES="on off pre"  the modes to run
#   BENCH_BUDGET=870          seconds the whole script may take: a run that would not fit (judged by
#                             the previous run of its kind) is skipped and reported as such
#   BENCH_ON_TIMEOUT=420      seconds an ON run may take; once one is stopped, later ON runs are skipped
#   BENCH_VERIFY_TIMEOUT=120  seconds crm.verify_signals() may take
#   BENCH_ON_PGOPTIONS=       extra server settings for the ON runs and the checks (diagnostics)
#   BENCH_PARTICIPANTS=1000000, BENCH_SKIP_BUILD=1
source "$(dirname "$0")/lib.sh"
ROUNDS=${BENCH_ROUNDS:-3}
MODES=${BENCH_MODES:-on off pre}
ON_TIMEOUT=${BENCH_ON_TIMEOUT:-420}
BUDGET=${BENCH_BUDGET:-870}
VERIFY_TIMEOUT=${BENCH_VERIFY_TIMEOUT:-120}
ON_OPTS=${BENCH_ON_PGOPTIONS:-}
OFF_TIMEOUT=1200
report="$BENCH_OUT/signals_copy.md"
raw="$BENCH_OUT/signals_copy.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_seed
bench_generate_csv 2>&1 | tee -a "$raw" >&2
sums=$(cd "$BENCH_DATA" && md5sum interaction.csv participant.csv participant_resolved.csv \
         | awk '{printf "%s%s %s", (NR > 1 ? "; " : ""), $2, $1}')
counts="$(wc -l <"$BENCH_DATA/interaction.csv") interactions, $(wc -l <"$BENCH_DATA/participant.csv") participants"

declare -A label=([on]="ON" [off]="OFF" [pre]="OFF, pre-resolved")
declare -A ms=([on]="" [off]="" [pre]="")
declare -A last_s=([on]=120 [off]=90 [pre]=90)  # seconds the last run of each mode took, checks included
rows=""; verify_ms=""; checks=""; progress=""; on_stopped=0; pre_checked=0; last_on_round=0

# The round of the last ON run (where the detailed checks go).
for round in $(seq 1 "$ROUNDS"); do last_on_round=$round; done

run() {  # round mode
  local round=$1 mode=$2 opts="" timeout=$OFF_TIMEOUT resolved=""
  case $mode in
    on) opts=$ON_OPTS; timeout=$ON_TIMEOUT ;;
    pre) resolved=resolved ;;
  esac
  if [ "$mode" = on ] && [ $on_stopped = 1 ]; then
    rows+="| $round | ${label[$mode]} | | | | not run: an earlier ON run exceeded ${ON_TIMEOUT} s | |"$'\n'
    return
  fi
  # Keep a minute for the detailed checks and the report.
  if [ $((SECONDS + ${last_s[$mode]} + 60)) -gt "$BUDGET" ]; then
    rows+="| $round | ${label[$mode]} | | | | not run: would exceed the time budget of ${BUDGET} s | |"$'\n'
    log "round $round $mode: skipped (time budget)"
    return
  fi
  local run_start=$SECONDS
  if [ "$mode" = on ]; then bench_triggers on; else bench_triggers off; fi
  bench_reset_activity
  log "round $round: $mode"
  # Progress of the COPYs, every 10 s (pg_stat_progress_copy).
  local samples="$BENCH_OUT/signals_copy_progress_${round}_$mode.txt"
  (
    start=$(date +%s)
    while sleep 10; do
      psql -X -At -F ' ' -c "SELECT relid::regclass, tuples_processed FROM pg_stat_progress_copy" 2>/dev/null \
        | sed "s/^/$(( $(date +%s) - start ))s /"
    done
  ) >"$samples" &
  BENCH_SAMPLER=$!
  local out rc
  set +e
  out=$(bench_copy_sql $resolved | PGOPTIONS="$opts -c statement_timeout=${timeout}s" qt 2>&1)
  rc=$?
  set -e
  kill "$BENCH_SAMPLER" 2>/dev/null || true; wait "$BENCH_SAMPLER" 2>/dev/null || true; BENCH_SAMPLER=""
  printf '== round %s, %s (PGOPTIONS: %s)\n%s\n' "$round" "$mode" "$opts" "$out" >>"$raw"
  local times t_int t_part t_commit total
  times=$(printf '%s\n' "$out" | awk '/^Time: /{print $2}')
  t_int=$(echo "$times" | sed -n 2p); t_part=$(echo "$times" | sed -n 3p); t_commit=$(echo "$times" | sed -n 4p)
  if [ $rc -ne 0 ]; then
    local last; last=$(tail -1 "$samples" 2>/dev/null || true)
    if [ "$mode" = on ]; then on_stopped=1; fi
    if printf '%s' "$out" | grep -q 'statement timeout'; then
      rows+="| $round | ${label[$mode]} | ${t_int:-} | stopped | | **> ${timeout} s** (statement_timeout; last progress sample: ${last:-none}) | |"$'\n'
    else
      rows+="| $round | ${label[$mode]} | | | | error: $(printf '%s' "$out" | grep -m1 ERROR) | |"$'\n'
    fi
    progress+="round $round ${label[$mode]}: $(tr '\n' ';' <"$samples")"$'\n'
    log "round $round $mode: failed ($rc)"
    return
  fi
  total=$(awk -v a="$t_int" -v b="$t_part" -v c="$t_commit" 'BEGIN {printf "%.0f", a + b + c}')
  log "round $round $mode: $total ms"
  local verify=""
  if [ "$mode" = on ]; then
    local r; r=$(timed_sql "$VERIFY_TIMEOUT" "SELECT count(*) FROM crm.verify_signals()" "$ON_OPTS")
    verify="$(echo "$r" | cut -d' ' -f3-) rows in $(printf '%.0f' "$(echo "$r" | cut -d' ' -f1)") ms"
    if [ "$(echo "$r" | cut -d' ' -f2)" != ok ]; then verify="$(echo "$r" | cut -d' ' -f2-)"; fi
    verify_ms+="$(echo "$r" | cut -d' ' -f1)"$'\n'
    if [ "$round" = "$last_on_round" ] || [ $((SECONDS + ${last_s[on]} + ${last_s[off]} + ${last_s[pre]} + 60)) -gt "$BUDGET" ]; then
      log "checking the result of round $round in detail"
      checks+="Checks after the ON run of round $round (besides crm.verify_signals() above):"$'\n\n'"$(bench_verify 0 "$ON_OPTS")"$'\n\n'
    fi
  elif [ "$mode" = pre ] && [ $pre_checked = 0 ]; then
    pre_checked=1
    local t0 t1 links; t0=$(date +%s%N); links=$(q -F ' ' -f "$BENCH_DIR/sql/check_links.sql"); t1=$(date +%s%N)
    checks+="Rows of the pre-resolved file (round $round), set-based check of the links (bench/sql/check_links.sql): $(echo "$links" | awk '{printf "%s participants, %s wrong links, %s non-canonical addresses", $1, $2, $3}') ($(( (t1 - t0) / 1000000 )) ms): the same final rows as ON."$'\n\n'
  fi
  last_s[$mode]=$((SECONDS - run_start))
  rows+="| $round | ${label[$mode]} | $(printf '%.0f' "$t_int") | $(printf '%.0f' "$t_part") | $(printf '%.0f' "$t_commit") | $total | $verify |"$'\n'
  ms[$mode]+="$total"$'\n'
}

read -r -a modes <<<"$MODES"
for round in $(seq 1 "$ROUNDS"); do
  # Rotate the order: round 1 starts with the first mode, round 2 with the second, ...
  n=${#modes[@]}
  for i in $(seq 0 $((n - 1))); do run "$round" "${modes[$(( (i + round - 1) % n ))]}"; done
done

# Where an ON run was stopped: how long one address resolution takes, and the plans it runs.
diagnosis=""
if [ $on_stopped = 1 ]; then
  log "diagnosing the address resolution"
  diagnosis=$(bench_resolve_probe 2>>"$raw")
fi

med() { printf '%s' "${ms[$1]}" | grep . | median; }
cnt() { printf '%s' "${ms[$1]}" | grep -c . || true; }
ratio() {  # numerator-mode denominator-mode
  if [ -z "${ms[$1]}" ] || [ -z "${ms[$2]}" ]; then echo "n/a"; return; fi
  awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN {printf "%.2f", a / b}'
}
summary=""
for mode in on off pre; do
  case " $MODES " in *" $mode "*) ;; *) continue ;; esac
  if [ -n "${ms[$mode]}" ]; then
    summary+="median ${label[$mode]}: $(med "$mode") ms (n=$(cnt "$mode")); "
  else
    summary+="median ${label[$mode]}: no completed run; "
  fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "### signals_copy: \`bash bench/signals_copy.sh\`"
  echo
  bench_machine
  echo "- load average (1/5/15 min) before: $load_before, after: $load_after"
  echo "- data: $counts; 20 members, $BENCH_COMPANIES companies, $((BENCH_COMPANIES * BENCH_PEOPLE_PER_COMPANY)) people; crm.clock = '$BENCH_CLOCK'"
  echo "- files (md5): $sums"
  echo "- settings: ROUNDS=$ROUNDS MODES='$MODES' BUDGET=${BUDGET}s ON_TIMEOUT=${ON_TIMEOUT}s VERIFY_TIMEOUT=${VERIFY_TIMEOUT}s ON_PGOPTIONS='${ON_OPTS}'; whole script: $SECONDS s"
  echo
  echo "| round | mode | COPY interaction ms | COPY participant ms | COMMIT ms | total ms | count(*) FROM crm.verify_signals() |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s' "$rows"
  echo
  echo "${summary%; }."
  echo
  echo "**Ratio ON/OFF: $(ratio on off)**; ratio ON/(OFF, pre-resolved): $(ratio on pre) (target <= 1.5)."
  if [ -n "$verify_ms" ]; then echo "crm.verify_signals() at this size: median $(printf '%s' "$verify_ms" | grep . | median) ms."; fi
  echo
  if [ -n "$progress" ]; then
    echo "Progress of stopped runs (elapsed, table, rows processed by the running COPY):"
    echo '```'
    printf '%s' "$progress"
    echo '```'
    echo
  fi
  if [ -n "$checks" ]; then printf '%s' "$checks"; fi
  if [ -n "$diagnosis" ]; then printf '%s\n' "$diagnosis"; fi
} | tee "$report"
