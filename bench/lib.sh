# Shared by the bench/*.sh scripts: build, throwaway cluster, data set, timing helpers.
# Source it; do not run it. Every script that sources it gets:
#   bench_build            make -j2 && make install (skip with BENCH_SKIP_BUILD=1)
#   bench_start            a fresh cluster (scripts/cluster start DIR), stopped and removed on exit
#   bench_seed             extension + workspace: 20 members, 5,000 companies, 50,000 people
#   bench_generate_csv     the activity CSVs (deterministic), in $BENCH_DATA (readable by 'postgres')
#   bench_load_dataset     seed + CSVs + COPY with the triggers enabled (for insert / stale_records)
#   bench_machine          a Markdown description of this machine and build
#   q / qt                 psql -X -At / psql with \timing, both ON_ERROR_STOP
#   median                 median of numbers on stdin
set -euo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR="$BENCH_ROOT/bench"
BENCH_OUT="$BENCH_DIR/out"          # git-ignored: logs and result fragments of the last runs
# The fixed clock every run uses (crm.clock): data are generated relative to it, so row counts
# and derived values are the same on every run and every machine.
BENCH_CLOCK='2026-06-15 12:00:00+00'
# Data-set size (defaults are the issue's: 1,000,000 participants, 50,000 people, 5,000 companies).
BENCH_PARTICIPANTS=${BENCH_PARTICIPANTS:-1000000}
BENCH_COMPANIES=${BENCH_COMPANIES:-5000}
BENCH_PEOPLE_PER_COMPANY=${BENCH_PEOPLE_PER_COMPANY:-10}
BENCH_MEMBERS=${BENCH_MEMBERS:-20}
mkdir -p "$BENCH_OUT"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# The code measured: commit and work-tree state when the extension was built (others may commit
# while a benchmark runs).
BENCH_CODE=""
bench_build() {
  BENCH_CODE="commit $(cd "$BENCH_ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
  if [ -n "$(cd "$BENCH_ROOT" && git --no-optional-locks status --porcelain --untracked-files=no -- src Makefile crm_hygiene.control 2>/dev/null)" ]; then
    BENCH_CODE+=" plus uncommitted changes to src/"
  fi
  if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
    BENCH_CODE+=" (not rebuilt: BENCH_SKIP_BUILD=1; the build installed before the run was measured)"
    log "build skipped (BENCH_SKIP_BUILD=1)"; return
  fi
  log "building and installing the extension ($BENCH_CODE)"
  BENCH_CODE+=", built and installed with \`make -j2 && make install\` at the start of the run"
  (cd "$BENCH_ROOT" && make -j2 >"$BENCH_OUT/build.log" 2>&1 && make install >>"$BENCH_OUT/build.log" 2>&1) \
    || { tail -30 "$BENCH_OUT/build.log" >&2; exit 1; }
  BENCH_SO_MD5=$(md5sum "$(pg_config --pkglibdir)/crm_hygiene.so" | cut -d' ' -f1)
}
BENCH_SO_MD5=""
BENCH_SEED_S=""

BENCH_CLUSTER=""
bench_stop() {
  trap '' PIPE  # stderr may be a pipe whose reader is gone: stop the cluster anyway
  if [ -n "${BENCH_SAMPLER:-}" ]; then kill "$BENCH_SAMPLER" 2>/dev/null || true; fi
  if [ -n "$BENCH_CLUSTER" ] && [ "${BENCH_KEEP_CLUSTER:-0}" = 1 ]; then
    log "BENCH_KEEP_CLUSTER=1: cluster left running; use: source $BENCH_CLUSTER/env; stop: scripts/cluster stop $BENCH_CLUSTER" 2>/dev/null || true
    BENCH_CLUSTER=""
  fi
  if [ -n "$BENCH_CLUSTER" ]; then
    (cd "$BENCH_ROOT" && scripts/cluster stop "$BENCH_CLUSTER") || true
    log "stopped and removed cluster $BENCH_CLUSTER" 2>/dev/null || true
    BENCH_CLUSTER=""
  fi
}

bench_start() {
  # Our own folder, so concurrent users of scripts/cluster (and .cluster/current) are not confused
  # with this cluster; its env file is read from the folder itself.
  BENCH_CLUSTER=$(mktemp -d /tmp/crm_bench_cluster.XXXXXX)
  trap bench_stop EXIT
  trap 'exit 130' INT TERM
  local current="$BENCH_ROOT/.cluster/current" previous=""
  previous=$(cat "$current" 2>/dev/null || true)
  (cd "$BENCH_ROOT" && scripts/cluster start "$BENCH_CLUSTER" >/dev/null)
  # scripts/cluster records the last started cluster in .cluster/current, which others read:
  # put back what was there, unless someone else has started a cluster meanwhile.
  if [ "$(cat "$current" 2>/dev/null || true)" = "$BENCH_CLUSTER" ]; then
    if [ -n "$previous" ]; then echo "$previous" >"$current"; else rm -f "$current"; fi
  fi
  # shellcheck disable=SC1091
  source "$BENCH_CLUSTER/env"
  export PGTZ=UTC PGAPPNAME=crm_bench
  BENCH_DATA="$BENCH_CLUSTER/data_files"
  mkdir -p "$BENCH_DATA"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$BENCH_DATA"; fi
  log "cluster $BENCH_CLUSTER on port $PGPORT"
}

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
qt() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# Prints the median of the numbers on stdin (one a line).
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# p50, p99 and max (ms) of the \timing lines of a script of one-statement transactions (run with
# psql here; its output is appended to log).
statement_timings() {  # sql-file log-file
  local t; t=$(qt -f "$1" 2>>"$2" | tee -a "$2" | awk '/^Time: / {print $2}')
  local n; n=$(printf '%s\n' "$t" | wc -l)
  printf '%s\n' "$t" | sort -g | awk -v n="$n" '{a[NR]=$1} END {
    p99 = int(n * 0.99 + 0.999); if (p99 < 1) p99 = 1
    printf "%.3f %.3f %.3f\n", (n % 2 ? a[(n+1)/2] : (a[n/2]+a[n/2+1])/2), a[p99], a[n]}'
}

# Sums the "Time: N ms" lines psql's \timing prints (stdin), in ms.
sum_timing() { awk '/^Time: /{s+=$2} END {printf "%.1f\n", s}'; }

bench_seed() {
  log "seeding workspace: $BENCH_MEMBERS members, $BENCH_COMPANIES companies, $((BENCH_COMPANIES * BENCH_PEOPLE_PER_COMPANY)) people"
  local t0=$SECONDS
  q -v clock="$BENCH_CLOCK" -v members="$BENCH_MEMBERS" -v companies="$BENCH_COMPANIES" \
    -v per_company="$BENCH_PEOPLE_PER_COMPANY" -f "$BENCH_DIR/sql/seed.sql" >/dev/null
  BENCH_SEED_S=$((SECONDS - t0))
  log "seeded in $BENCH_SEED_S s"
}

bench_generate_csv() {
  log "generating $BENCH_PARTICIPANTS participants into $BENCH_DATA"
  local t0=$SECONDS
  q -v clock="$BENCH_CLOCK" -v participants="$BENCH_PARTICIPANTS" -v members="$BENCH_MEMBERS" \
    -v companies="$BENCH_COMPANIES" -v per_company="$BENCH_PEOPLE_PER_COMPANY" \
    -v dir="$BENCH_DATA" -f "$BENCH_DIR/sql/generate.sql"
  log "generated in $((SECONDS - t0)) s: $(wc -l <"$BENCH_DATA/interaction.csv") interactions, $(wc -l <"$BENCH_DATA/participant.csv") participants"
  # Warm the page cache so the first timed COPY does not pay for the disk.
  cat "$BENCH_DATA"/*.csv >/dev/null
}

bench_triggers() {  # on|off
  local verb=ENABLE; [ "$1" = off ] && verb=DISABLE
  q -c "ALTER TABLE crm.interaction $verb TRIGGER USER" -c "ALTER TABLE crm.participant $verb TRIGGER USER"
}

# Empties the activity (with whatever triggers are enabled), vacuums, checkpoints: untimed.
bench_reset_activity() {
  q -c "TRUNCATE crm.interaction RESTART IDENTITY CASCADE" \
    -c "VACUUM ANALYZE crm.interaction, crm.participant, crm.person_signal, crm.company_signal" \
    -c "CHECKPOINT"
}

# The timed part: both COPYs in one transaction. Prints the psql \timing output. With the
# argument "resolved", the participants carry the ids the trigger would have resolved.
bench_copy_sql() {
  local file=participant.csv columns="interaction_id, workspace_id, address, display_name, role, response"
  if [ "${1:-}" = resolved ]; then file=participant_resolved.csv; columns+=", person_id, member_id, company_id"; fi
  cat <<SQL
\\timing on
BEGIN;
COPY crm.interaction (id, workspace_id, kind, occurred_at, ends_at, subject, status, external_id, thread_key, source)
  FROM '$BENCH_DATA/interaction.csv' WITH (FORMAT csv);
COPY crm.participant ($columns)
  FROM '$BENCH_DATA/$file' WITH (FORMAT csv);
COMMIT;
SQL
}

bench_machine() {
  local cpu mem
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
  cat <<EOF
- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr)
- server: $(pg_config --version); scripts/cluster defaults (shared_buffers 512MB, work_mem 32MB,
  fsync $(q -c 'SHOW fsync'), synchronous_commit $(q -c 'SHOW synchronous_commit'))
- code: $BENCH_CODE
- seeding the workspace (members, companies, people inserted with their triggers): ${BENCH_SEED_S:-?} s
EOF
  if [ -n "$BENCH_SO_MD5" ] && [ "$(md5sum "$(pg_config --pkglibdir)/crm_hygiene.so" | cut -d' ' -f1)" != "$BENCH_SO_MD5" ]; then
    echo "- **warning: the installed crm_hygiene.so was replaced during the run (another make install); figures may mix builds**"
  fi
}

# Runs one SQL command with \timing and an optional statement timeout (seconds, 0 = none).
# Prints "<ms> <status> <first output line>"; status is ok, timeout or error.
timed_sql() {
  local timeout=$1 sql=$2 opts=${3:-} out rc ms
  set +e
  out=$(PGOPTIONS="${PGOPTIONS:-} $opts -c statement_timeout=${timeout}s" \
        psql -X -q -At -v ON_ERROR_STOP=1 -c '\timing on' -c "$sql" 2>&1)
  rc=$?
  set -e
  ms=$(printf '%s\n' "$out" | sum_timing)
  if [ $rc -eq 0 ]; then
    echo "$ms ok $(printf '%s\n' "$out" | grep -v '^Time: ' | head -1)"
  elif printf '%s' "$out" | grep -q 'statement timeout'; then
    echo "$((timeout * 1000)) timeout >${timeout}s"
  else
    echo "0 error $(printf '%s' "$out" | grep -m1 ERROR)"
  fi
}

# Checks the loaded activity: participant links (set-based, bench/sql/check_links.sql), the
# stored signals against a recomputation (crm._verify_signal_state(), the C++ half of
# crm.verify_signals()), and crm.verify_signals() itself under a time limit. Markdown to stdout.
bench_verify() {
  local verify_timeout=$1 opts=${2:-} r
  echo "| check | result | time |"
  echo "|---|---|---|"
  local t0 t1 links
  t0=$(date +%s%N); links=$(q -F ' ' -f "$BENCH_DIR/sql/check_links.sql"); t1=$(date +%s%N)
  set -- $links
  echo "| participant links vs the documented rule (set-based; bench/sql/check_links.sql) | $1 participants, $2 wrong links, $3 non-canonical addresses | $(( (t1 - t0) / 1000000 )) ms |"
  r=$(timed_sql 1800 "SELECT count(*) FROM crm._verify_signal_state()" "$opts")
  echo "| \`count(*) FROM crm._verify_signal_state()\` (stored signals vs recomputation) | $(echo "$r" | cut -d' ' -f2-) | $(echo "$r" | cut -d' ' -f1) ms |"
  [ "$verify_timeout" = 0 ] && return 0
  r=$(timed_sql "$verify_timeout" "SELECT count(*) FROM crm.verify_signals()" "$opts")
  echo "| \`count(*) FROM crm.verify_signals()\` (limit ${verify_timeout} s) | $(echo "$r" | cut -d' ' -f2-) | $(echo "$r" | cut -d' ' -f1) ms |"
  local status count; status=$(echo "$r" | cut -d' ' -f2); count=$(echo "$r" | cut -d' ' -f3)
  if [ "$status" = ok ] && [ "$count" != 0 ]; then
    echo
    echo "Differences reported by crm.verify_signals():"
    echo '```'
    PGOPTIONS="$opts" qt -c "SELECT record_kind, field, count(*) FROM crm.verify_signals() GROUP BY 1, 2 ORDER BY 1, 2" \
      -c "SELECT * FROM crm.verify_signals() ORDER BY 1, 2, 3 LIMIT 15"
    echo '```'
  fi
}

# How long crm._resolve_participant() (what the participant BEFORE trigger runs once per new
# address) takes for a few kinds of address, with the default planner settings and with plain
# index scans disabled; then the plan of the slow case (auto_explain, nested statements).
# Needs the seeded workspace only. Markdown to stdout.
bench_resolve_probe() {
  local addrs=(
    "member3@ourteam.example|member"
    "p10@company1.example|person 10"
    "p25000@company2500.example|person 25,000"
    "p49990@company4999.example|person 49,990"
    "contact1@company13.example|unknown, company domain"
    "nobody@nowhere.example|unknown, no company"
  )
  echo "Resolution of one address, \`SELECT * FROM crm._resolve_participant(1, <address>, NULL, NULL, true)\` (ms; second call in a session, so the plans are cached):"
  echo
  echo "| address | kind | default settings | enable_indexscan = off |"
  echo "|---|---|---|---|"
  local a addr kind d o
  for a in "${addrs[@]}"; do
    addr=${a%%|*}; kind=${a#*|}
    d=$(q -c '\timing on' -c "SELECT * FROM crm._resolve_participant(1, 'warm@up.example', NULL, NULL, true)" \
           -c "SELECT * FROM crm._resolve_participant(1, '$addr', NULL, NULL, true)" | awk '/^Time: /{t=$2} END {print t}')
    o=$(PGOPTIONS="-c enable_indexscan=off" q -c '\timing on' -c "SELECT * FROM crm._resolve_participant(1, 'warm@up.example', NULL, NULL, true)" \
           -c "SELECT * FROM crm._resolve_participant(1, '$addr', NULL, NULL, true)" | awk '/^Time: /{t=$2} END {print t}')
    echo "| $addr | $kind | $d | $o |"
  done
  echo
  echo "Plans inside one resolution of an address without a person (auto_explain, log_nested_statements, statements over 100 ms, default settings):"
  echo
  echo '```'
  q -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 100" -c "SET auto_explain.log_nested_statements = on" \
    -c "SET auto_explain.log_analyze = on" -c "SET auto_explain.log_level = notice" -c "SET client_min_messages = notice" \
    -c "SELECT * FROM crm._resolve_participant(1, 'contact1@company13.example', NULL, NULL, true)" 2>&1 \
    | sed 's/\t/ /g'
  echo '```'
}

# The data set of bench/signals_copy.sh, loaded once through the extension's triggers (COPY with
# the triggers enabled, default settings unless BENCH_LOAD_PGOPTIONS), for the benchmarks that
# need activity in place; then checks links and signals. Sets BENCH_LOAD_MD (Markdown).
bench_load_dataset() {
  local opts=${BENCH_LOAD_PGOPTIONS:-}
  bench_seed
  bench_generate_csv >/dev/null
  bench_triggers on
  bench_reset_activity
  log "loading the activity with triggers ON (PGOPTIONS: $opts)"
  local out ms
  out=$(bench_copy_sql | PGOPTIONS="$opts" qt)
  ms=$(printf '%s\n' "$out" | sum_timing)
  log "loaded in $ms ms"
  # Interaction ids came from the file: move the identity past them for later inserts.
  q -c "SELECT setval(pg_get_serial_sequence('crm.interaction', 'id'), (SELECT max(id) FROM crm.interaction))" >/dev/null
  q -c "VACUUM ANALYZE crm.interaction, crm.participant, crm.person_signal, crm.company_signal, crm.person, crm.company, crm.member"
  log "checking the loaded data"
  BENCH_LOAD_MD="- data: $(q -c "SELECT count(*) FROM crm.interaction") interactions, $(q -c "SELECT count(*) FROM crm.participant") participants, $BENCH_MEMBERS members, $BENCH_COMPANIES companies, $((BENCH_COMPANIES * BENCH_PEOPLE_PER_COMPANY)) people (the data set of signals_copy.sh), crm.clock = '$BENCH_CLOCK'
- loaded by COPY with the triggers ON in $(printf '%.0f' "$ms") ms${opts:+ (PGOPTIONS '$opts' for the load only)}
- $(r=$(timed_sql "${BENCH_VERIFY_TIMEOUT:-300}" "SELECT count(*) FROM crm.verify_signals()" "$opts"); echo "\`SELECT count(*) FROM crm.verify_signals()\` after the load: $(echo "$r" | cut -d' ' -f2-), $(printf '%.0f' "$(echo "$r" | cut -d' ' -f1)") ms")"
}
