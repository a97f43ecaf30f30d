#!/usr/bin/env bash
# Speed of activity capture (crm.ingest_email / crm.ingest_emails / crm.ingest_calendar) into the
# workspace of bench/signals_copy.sh (50,000 people, 1,000,000 participants of activity), with the
# extension's triggers on, so everything derived is maintained. Targets (issue 12): at least 2,000
# messages/s in batches and 1,000/s one call each, 2,000 calendar event instances/s, and within
# 1.5x of plain INSERTs of the same rows with the triggers on.
#
#   bash bench/capture_speed.sh
#   BENCH_PARTICIPANTS=20000 BENCH_COMPANIES=200 BENCH_MESSAGES=2000 BENCH_EVENTS=1000 bash bench/capture_speed.sh
#
# Builds and installs, starts a throwaway cluster (removed at the end), loads the data set once
# through the triggers (bench_load_dataset in bench/lib.sh, database postgres), then generates in
# SQL (bench/sql/capture_generate.sql, deterministic) BENCH_MESSAGES raw RFC 5322 messages and
# calendar files holding BENCH_EVENTS event instances (see that file for their shape: members
# writing to people, people writing to members, new addresses at known and new domains, ~10 %
# automated or bulk, ~3 % the same message again from another member's mailbox; single events and
# weekly series with TZID=Europe/Berlin). Each mode below then runs in a database of its own,
# copied from the loaded one (CREATE DATABASE ... TEMPLATE postgres STRATEGY FILE_COPY, untimed,
# dropped after), so every mode starts from the same state; one psql session, one timed statement:
#   email_single     SELECT ... FROM msgs, LATERAL crm.ingest_email(raw, mailbox): one call a message
#   email_batch100   crm.ingest_emails(messages, mailbox), 100 messages a call: each mailbox's
#                    messages in stream order, cut into batches (a sync job per mailbox)
#   email_batch1000  the same, 1,000 a call
#   calendar         SELECT ... FROM files, LATERAL crm.ingest_calendar(ics, mailbox): one call a
#                    file, rows returned = event instances
#   email_insert_on / calendar_insert_on
#                    baseline: what the first email (calendar) mode wrote - its new companies,
#                    people, interactions and participants, read back from that mode's database -
#                    written by plain INSERT ... SELECT from staging tables (loaded untimed), in one
#                    transaction, triggers on: the difference to the capture modes is parsing,
#                    policy and identity
#   email_insert_off / calendar_insert_off
#                    the same INSERTs with the triggers disabled (ALTER TABLE ... DISABLE TRIGGER
#                    USER on crm.company, crm.person, crm.interaction and crm.participant), the
#                    participants carrying the member / person / company ids the trigger stored
# After each mode with the triggers on: SELECT count(*) FROM crm.verify_signals() (must be 0; the
# differences are listed otherwise), the outcomes (created / updated / duplicate / skipped) and
# what was written. Rates are rows returned per second of the timed statement (one row per message;
# per event instance, plus one per skipped item, for calendars); the baselines are given against
# the rows returned by the capture mode whose rows they write. The timed statements group the
# returned rows by outcome (SELECT r.outcome, count(*) ... GROUP BY 1) instead of a bare count(*).
# Then (BENCH_BREAKDOWN=1, default) where the time of one call goes: the nested statements of
# BENCH_BREAKDOWN_CALLS (100) ingest_email and ingest_calendar calls (auto_explain), summed.
# Results: stdout and bench/out/capture_speed.md; psql output in bench/out/capture_speed.log.
#
# Knobs: BENCH_MESSAGES=20000, BENCH_EVENTS=10000, BENCH_ROUNDS=1 (the list of modes that many
# times, medians reported), BENCH_CAPTURE_MODES (default: all of the above, in that order; the
# baselines need the email / calendar mode to run before them), BENCH_CAPTURE_TIMEOUT=3600 (s, per
# timed statement), BENCH_VERIFY_TIMEOUT=600, the data-set sizes of bench/lib.sh
# (BENCH_PARTICIPANTS, BENCH_COMPANIES, ...), BENCH_BREAKDOWN=1, BENCH_BREAKDOWN_CALLS=100,
# BENCH_SKIP_BUILD=1.
source "$(dirname "$0")/lib.sh"
MESSAGES=${BENCH_MESSAGES:-20000}
EVENTS=${BENCH_EVENTS:-10000}
ROUNDS=${BENCH_ROUNDS:-1}
MODES=${BENCH_CAPTURE_MODES:-email_single email_batch100 email_batch1000 calendar calendar_feed email_insert_on email_insert_off calendar_insert_on calendar_insert_off}
TIMEOUT=${BENCH_CAPTURE_TIMEOUT:-3600}
VERIFY_TIMEOUT=${BENCH_VERIFY_TIMEOUT:-600}
for mode in $MODES; do
  case $mode in
    email_single|email_batch100|email_batch1000|calendar|calendar_feed|email_insert_on|email_insert_off|calendar_insert_on|calendar_insert_off) ;;
    *) echo "capture_speed.sh: unknown mode '$mode' in BENCH_CAPTURE_MODES" >&2; exit 2 ;;
  esac
done
report="$BENCH_OUT/capture_speed.md"
raw="$BENCH_OUT/capture_speed.log"
: >"$raw"

bench_build
# Without a build, the library installed now is the one measured: bench_machine warns if another
# make install replaces it during the run.
[ -n "$BENCH_SO_MD5" ] || BENCH_SO_MD5=$(md5sum "$(pg_config --pkglibdir)/crm_hygiene.so" | cut -d' ' -f1)
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_load_dataset

log "generating $MESSAGES messages and $EVENTS calendar event instances"
t0=$SECONDS
q -v clock="$BENCH_CLOCK" -v members="$BENCH_MEMBERS" -v companies="$BENCH_COMPANIES" \
  -v per_company="$BENCH_PEOPLE_PER_COMPANY" -v messages="$MESSAGES" -v events="$EVENTS" \
  -f "$BENCH_DIR/sql/capture_generate.sql" >>"$raw"
gen_s=$((SECONDS - t0))
msg_md=$(q -c "SELECT format('%s messages (%s member to people, %s people to members, %s bulk, %s automated, %s repeated Message-IDs from another member''s mailbox; %s multipart/alternative; %s mailboxes; %s bytes on average, %s in all)',
    count(*), count(*) FILTER (WHERE kind = 'out'), count(*) FILTER (WHERE kind = 'in'), count(*) FILTER (WHERE kind = 'bulk'),
    count(*) FILTER (WHERE kind = 'auto'), count(*) FILTER (WHERE kind = 'copy'),
    count(*) FILTER (WHERE position('multipart/alternative' IN convert_from(raw, 'UTF8')) > 0),
    count(DISTINCT mailbox), round(avg(octet_length(raw))), pg_size_pretty(sum(octet_length(raw))))
  FROM bench.capture_msg")
ics_md=$(q -c "SELECT format('%s calendar files with %s event instances (%s weekly series with %s instances; %s bytes on average)',
    count(*), sum(instances), count(*) FILTER (WHERE recurring), coalesce(sum(instances) FILTER (WHERE recurring), 0), round(avg(octet_length(ics))))
  FROM bench.capture_ics")
n_msgs=$(q -c "SELECT count(*) FROM bench.capture_msg")
n_instances=$(q -c "SELECT coalesce(sum(instances), 0) FROM bench.capture_ics")
n_files=$(q -c "SELECT count(*) FROM bench.capture_ics")
log "generated in $gen_s s: $msg_md; $ics_md"
# Before the modes: ids above these are what a mode created.
max_person=$(q -c "SELECT coalesce(max(id), 0) FROM crm.person")
max_company=$(q -c "SELECT coalesce(max(id), 0) FROM crm.company")
q -c "VACUUM ANALYZE" -c CHECKPOINT
db_size=$(q -c "SELECT pg_size_pretty(pg_database_size('postgres'))")

# ---------------------------------------------------------------------------------------------
copy_ms=""
make_db() {  # name: a copy of the loaded database, with its clock
  local t0 t1
  t0=$(date +%s%N)
  q -d template1 -c "CREATE DATABASE $1 TEMPLATE postgres STRATEGY FILE_COPY" \
    -c "ALTER DATABASE $1 SET crm.clock = '$BENCH_CLOCK'"
  t1=$(date +%s%N)
  copy_ms+="$(( (t1 - t0) / 1000000 ))"$'\n'
}
drop_db() { q -d template1 -c "DROP DATABASE IF EXISTS $1"; }
user_triggers() {  # db on|off: the user triggers of the tables the baselines write
  local verb=ENABLE t; [ "$2" = off ] && verb=DISABLE
  for t in company person interaction participant; do q -d "$1" -c "ALTER TABLE crm.$t $verb TRIGGER USER"; done
}

# The timed statement of each capture mode; outcomes grouped in the same statement (a hash
# aggregate over the returned rows). Batches are built before, untimed.
capture_sql() {  # mode
  case $1 in
    email_single) echo "SELECT r.outcome, count(*) FROM (SELECT n, raw, mailbox FROM bench.capture_msg ORDER BY n) m
      CROSS JOIN LATERAL crm.ingest_email(m.raw, m.mailbox) r GROUP BY 1 ORDER BY 1" ;;
    email_batch*) echo "SELECT r.outcome, count(*) FROM (SELECT msgs, mailbox FROM bench.capture_batch ORDER BY first) b
      CROSS JOIN LATERAL crm.ingest_emails(b.msgs, b.mailbox) r GROUP BY 1 ORDER BY 1" ;;
    calendar) echo "SELECT r.outcome, count(*) FROM (SELECT n, ics, mailbox FROM bench.capture_ics ORDER BY n) c
      CROSS JOIN LATERAL crm.ingest_calendar(c.ics, c.mailbox) r GROUP BY 1 ORDER BY 1" ;;
    # A calendar sync's shape: each mailbox's files joined into feeds of up to 100 VCALENDARs.
    calendar_feed) echo "SELECT r.outcome, count(*) FROM bench.capture_feed c
      CROSS JOIN LATERAL crm.ingest_calendar(c.ics, c.mailbox) r GROUP BY 1 ORDER BY 1" ;;
  esac
}
# Warm-up in the same session, untimed: the library (GMime, libical) and the policy row, which
# the first call would otherwise create.
WARMUP="SELECT FROM crm._capture_policy(crm.current_workspace())"

# What a mode left in its database (one line of Markdown).
written_md() {  # db
  q -d "$1" -c "SELECT format('%s interactions (%s emails, %s meetings) with %s participants, %s people and %s companies created, %s captured events, capture log: %s',
      (SELECT count(*) FROM crm.interaction WHERE source = 'capture'),
      (SELECT count(*) FROM crm.interaction WHERE source = 'capture' AND kind = 'email'),
      (SELECT count(*) FROM crm.interaction WHERE source = 'capture' AND kind = 'meeting'),
      (SELECT count(*) FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id WHERE i.source = 'capture'),
      (SELECT count(*) FROM crm.person WHERE id > $max_person), (SELECT count(*) FROM crm.company WHERE id > $max_company),
      (SELECT count(*) FROM crm.captured_event),
      coalesce((SELECT string_agg(category || ' ' || n, ', ' ORDER BY category) FROM (SELECT category, count(*) n FROM crm.capture_log GROUP BY 1) x), 'empty'))"
}

# crm.verify_signals() in a database: sets VERIFY (cell text) and appends the differences, if
# any, to verify_details.
verify_details=""
verify_db() {  # db label
  local r status count
  r=$(PGDATABASE=$1 timed_sql "$VERIFY_TIMEOUT" "SELECT count(*) FROM crm.verify_signals()")
  status=$(echo "$r" | cut -d' ' -f2); count=$(echo "$r" | cut -d' ' -f3)
  if [ "$status" = ok ]; then VERIFY="$count rows ($(printf '%.0f' "$(echo "$r" | cut -d' ' -f1)") ms)"; else VERIFY="$(echo "$r" | cut -d' ' -f2-)"; fi
  if [ "$status" = ok ] && [ "$count" != 0 ]; then
    verify_details+="Differences reported by \`crm.verify_signals()\` after $2:"$'\n\n''```'$'\n'
    verify_details+="$(PGDATABASE=$1 qt -c "SELECT record_kind, field, count(*) FROM crm.verify_signals() GROUP BY 1, 2 ORDER BY 1, 2" \
                        -c "SELECT * FROM crm.verify_signals() ORDER BY 1, 2, 3 LIMIT 15" 2>&1)"$'\n''```'$'\n\n'
  fi
}

# Reads back what a capture mode wrote, for the baselines (files in $BENCH_DATA).
extract_baseline() {  # db kind(email|calendar)
  local db=$1 k=$2
  q -d "$db" -c "COPY (SELECT id, name, domain FROM crm.company WHERE id > $max_company ORDER BY id) TO STDOUT" >"$BENCH_DATA/base_${k}_company.tsv"
  q -d "$db" -c "COPY (SELECT id, first_name, last_name, email, company_id FROM crm.person WHERE id > $max_person ORDER BY id) TO STDOUT" >"$BENCH_DATA/base_${k}_person.tsv"
  q -d "$db" -c "COPY (SELECT id, kind, occurred_at, ends_at, subject, status, external_id, thread_key FROM crm.interaction
                       WHERE source = 'capture' ORDER BY id) TO STDOUT" >"$BENCH_DATA/base_${k}_interaction.tsv"
  q -d "$db" -c "COPY (SELECT p.interaction_id, p.address, p.display_name, p.role, p.response, p.person_id, p.member_id, p.company_id
                       FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
                       WHERE i.source = 'capture' ORDER BY p.id) TO STDOUT" >"$BENCH_DATA/base_${k}_participant.tsv"
  base_ready[$k]=1
  base_counts[$k]="$(wc -l <"$BENCH_DATA/base_${k}_company.tsv") companies, $(wc -l <"$BENCH_DATA/base_${k}_person.tsv") people, $(wc -l <"$BENCH_DATA/base_${k}_interaction.tsv") interactions, $(wc -l <"$BENCH_DATA/base_${k}_participant.tsv") participants"
}
declare -A base_ready=() base_counts=() base_items=() base_from=()

load_staging() {  # db kind
  local db=$1 k=$2 t
  q -d "$db" -c "CREATE TABLE bench.base_company (id bigint, name text, domain text)" \
    -c "CREATE TABLE bench.base_person (id bigint, first_name text, last_name text, email text, company_id bigint)" \
    -c "CREATE TABLE bench.base_interaction (id bigint, kind crm.interaction_kind, occurred_at timestamptz, ends_at timestamptz,
          subject text, status crm.interaction_status, external_id text, thread_key text)" \
    -c "CREATE TABLE bench.base_participant (interaction_id bigint, address text, display_name text, role crm.participant_role,
          response crm.participant_response, person_id bigint, member_id bigint, company_id bigint)"
  for t in company person interaction participant; do
    q -d "$db" -c "COPY bench.base_$t FROM STDIN" <"$BENCH_DATA/base_${k}_$t.tsv"
  done
  q -d "$db" -c "VACUUM ANALYZE bench.base_company, bench.base_person, bench.base_interaction, bench.base_participant" -c CHECKPOINT
}

# The baseline's timed transaction: one INSERT ... SELECT per table, in the order capture writes.
insert_sql() {  # on|off
  local ids="" cols=""
  [ "$1" = off ] && { cols=", person_id, member_id, company_id"; ids=", person_id, member_id, company_id"; }
  cat <<SQL
\\timing on
BEGIN;
INSERT INTO crm.company (id, workspace_id, name, domain) SELECT id, 1, name, domain FROM bench.base_company ORDER BY id;
INSERT INTO crm.person (id, workspace_id, first_name, last_name, email, company_id)
  SELECT id, 1, first_name, last_name, email, company_id FROM bench.base_person ORDER BY id;
INSERT INTO crm.interaction (id, workspace_id, kind, occurred_at, ends_at, subject, status, external_id, thread_key, source)
  SELECT id, 1, kind, occurred_at, ends_at, subject, status, external_id, thread_key, 'capture' FROM bench.base_interaction ORDER BY id;
INSERT INTO crm.participant (workspace_id, interaction_id, address, display_name, role, response$cols)
  SELECT 1, interaction_id, address, display_name, role, response$ids FROM bench.base_participant ORDER BY interaction_id, role, address;
COMMIT;
SQL
}

declare -A rate=() ms_of_mode=()
rows=""; outcome_rows=""
run_mode() {  # round mode
  local round=$1 mode=$2 db="cap_$2" kind items unit calls="" out rc ms outcomes="" note="" written
  case $mode in
    email_*) kind=email; items=$n_msgs; unit=messages ;;
    calendar*) kind=calendar; items=$n_instances; unit="calendar rows" ;;
  esac
  case $mode in
    *_insert_*)
      if [ -z "${base_ready[$kind]:-}" ]; then
        rows+="| $round | $mode | skipped: no $kind capture mode ran before it | | | | | | |"$'\n'; return
      fi ;;
  esac
  make_db "$db"
  log "round $round: $mode (database $db, copied in $(printf '%s' "$copy_ms" | tail -1) ms)"
  case $mode in
    email_batch*)
      local size=${mode#email_batch}
      q -d "$db" -c "CREATE TABLE bench.capture_batch AS
          SELECT mailbox, array_agg(raw ORDER BY n) AS msgs, min(n) AS first
          FROM (SELECT n, mailbox, raw, (row_number() OVER (PARTITION BY mailbox ORDER BY n) - 1) / $size AS batch
                FROM bench.capture_msg) x
          GROUP BY mailbox, batch" -c "ANALYZE bench.capture_batch"
      calls=$(q -d "$db" -c "SELECT count(*) FROM bench.capture_batch") ;;
    email_single) calls=$n_msgs ;;
    calendar) calls=$n_files ;;
    calendar_feed)
      q -d "$db" -c "CREATE TABLE bench.capture_feed AS
          SELECT mailbox, string_agg(ics, '' ORDER BY n) AS ics, min(n) AS first
          FROM (SELECT n, mailbox, ics, (row_number() OVER (PARTITION BY mailbox ORDER BY n) - 1) / 100 AS feed
                FROM bench.capture_ics) x
          GROUP BY mailbox, feed ORDER BY first" -c "ANALYZE bench.capture_feed"
      calls=$(q -d "$db" -c "SELECT count(*) FROM bench.capture_feed") ;;
    *_insert_*)
      load_staging "$db" "$kind"
      calls=1
      [ "${mode##*_}" = off ] && user_triggers "$db" off ;;
  esac
  q -d "$db" -c CHECKPOINT
  set +e
  case $mode in
    *_insert_*)
      out=$(insert_sql "${mode##*_}" | PGDATABASE=$db PGOPTIONS="-c statement_timeout=${TIMEOUT}s" \
              psql -X -q -At -v ON_ERROR_STOP=1 2>&1) ;;
    *)
      out=$(PGDATABASE=$db PGOPTIONS="-c statement_timeout=${TIMEOUT}s" psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 \
              -c "$WARMUP" -c '\timing on' -c "$(capture_sql "$mode")" 2>&1) ;;
  esac
  rc=$?
  set -e
  printf '== round %s, %s (%s calls)\n%s\n' "$round" "$mode" "$calls" "$out" >>"$raw"
  ms=$(printf '%s\n' "$out" | sum_timing)
  if [ $rc -ne 0 ]; then
    note="**error**: $(printf '%s\n' "$out" | grep -m1 -E 'ERROR|timeout' | cut -c1-200 || true)"
    rows+="| $round | $mode | $calls | | $(printf '%.0f' "$ms") | | | $note | |"$'\n'
    log "  $note"
    drop_db "$db"; return
  fi
  local r returned input
  returned=$(printf '%s\n' "$out" | awk '!/^Time: / && NF == 2 {s += $2} END {print s + 0}')
  case $mode in
    *_insert_*) items=${base_items[$kind]}; input="the rows ${base_from[$kind]} wrote for its $items rows" ;;
    calendar) input="$n_files files, $n_instances instances; $returned rows returned"; items=$returned ;;
    calendar_feed) input="$n_files files in $calls feeds, $n_instances instances; $returned rows returned"; items=$returned ;;
    *) input="$n_msgs messages; $returned rows returned"; items=$returned ;;
  esac
  r=$(awk -v n="$items" -v ms="$ms" 'BEGIN {if (ms > 0) printf "%.0f", n * 1000 / ms; else print "n/a"}')
  rate[$mode]+="$r"$'\n'; ms_of_mode[$mode]+="$ms"$'\n'
  outcomes=$(printf '%s\n' "$out" | awk '!/^Time: / && NF == 2 {printf "%s%s %s", sep, $1, $2; sep = ", "}')
  if [ "$mode" = email_insert_off ] || [ "$mode" = calendar_insert_off ]; then
    VERIFY="not checked (triggers off: nothing derived)"
    user_triggers "$db" on
  else
    log "  $ms ms, $r $unit/s; checking crm.verify_signals()"
    verify_db "$db" "round $round, $mode"
  fi
  written=$(written_md "$db")
  log "  $mode: $ms ms, $r $unit/s; ${outcomes:-(no outcome rows)}; verify_signals: $VERIFY"
  rows+="| $round | $mode | $calls | $input | $(printf '%.0f' "$ms") | $(awk -v ms="$ms" -v c="$calls" 'BEGIN {printf "%.2f", ms / c}') | **$r** | ${outcomes:-} | $VERIFY |"$'\n'
  outcome_rows+="| $round | $mode | $written |"$'\n'
  case $mode in
    email_single|email_batch*|calendar|calendar_feed)
      if [ -z "${base_ready[$kind]:-}" ]; then extract_baseline "$db" "$kind"; base_items[$kind]=$items; base_from[$kind]=$mode; fi ;;
  esac
  drop_db "$db"
}

for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do run_mode "$round" "$mode"; done
done

# Where the time of a call goes: the statements the functions and triggers run (auto_explain,
# log_nested_statements, log_analyze off), summed over BENCH_BREAKDOWN_CALLS calls after as many
# warm-up calls, in a fresh copy. The total of all rows exceeds the calls' time: nested statements
# are counted in their callers too.
breakdown_md=""
BREAKDOWN_CALLS=${BENCH_BREAKDOWN_CALLS:-100}
breakdown() {  # label sql-with-:lo-:hi
  local lo=$((BREAKDOWN_CALLS + 1)) hi=$((2 * BREAKDOWN_CALLS)) warm sql
  warm=${2//:lo/1}; warm=${warm//:hi/$BREAKDOWN_CALLS}
  sql=${2//:lo/$lo}; sql=${sql//:hi/$hi}
  breakdown_md+=$'\n'"$1 (statements over all $BREAKDOWN_CALLS calls; top 15 by total ms):"$'\n\n'"| total ms | runs | statement (first 100 characters) |"$'\n'"|---|---|---|"$'\n'
  breakdown_md+=$(PGDATABASE=cap_breakdown psql -X -q -At -v ON_ERROR_STOP=1 -c "$WARMUP" -c "$warm" -c "LOAD 'auto_explain'" \
      -c "SET auto_explain.log_min_duration = 0" -c "SET auto_explain.log_nested_statements = on" \
      -c "SET auto_explain.log_level = notice" -c "SET client_min_messages = notice" -c "$sql" 2>&1 >/dev/null \
    | awk '/NOTICE:  duration: / {d = $3; getline; if ($0 ~ /^Query Text: /) {sub(/^Query Text: */, ""); while ($0 ~ /^[ \t]*$/ && (getline) > 0) {}; sub(/^[ \t]+/, ""); t = substr($0, 1, 100); gsub(/\|/, "\\|", t); s[t] += d; c[t]++}}
           END {for (t in s) printf "%.1f\t%d\t%s\n", s[t], c[t], t}' | sort -t$'\t' -k1,1 -gr | head -15 \
    | awk -F'\t' '{printf "| %s | %s | %s |\n", $1, $2, $3}' || true)$'\n'
}
if [ "${BENCH_BREAKDOWN:-1}" = 1 ]; then
  log "breaking down calls ($BREAKDOWN_CALLS each)"
  make_db cap_breakdown
  breakdown "crm.ingest_email, one call a message" \
    "SELECT count(*) FROM (SELECT * FROM bench.capture_msg WHERE n BETWEEN :lo AND :hi ORDER BY n) m CROSS JOIN LATERAL crm.ingest_email(m.raw, m.mailbox) r"
  breakdown "crm.ingest_calendar, one call a file" \
    "SELECT count(*) FROM (SELECT * FROM bench.capture_ics WHERE n BETWEEN :lo AND :hi ORDER BY n) c CROSS JOIN LATERAL crm.ingest_calendar(c.ics, c.mailbox) r"
  drop_db cap_breakdown
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
med() { local v; v=$(printf '%s' "${1:-}" | grep . | median 2>/dev/null || true); echo "${v:-n/a}"; }
target_of() {
  case $1 in
    email_single) echo 1000 ;;  # issue 12's targets
    email_batch*|calendar|calendar_feed) echo 2000 ;;
    *) echo "" ;;
  esac
}
summary=""
for mode in $MODES; do
  m=$(med "${rate[$mode]:-}"); t=$(target_of "$mode"); verdict=""
  if [ -n "$t" ] && [ "$m" != n/a ]; then
    verdict=$(awk -v m="$m" -v t="$t" 'BEGIN {if (m >= t) printf "≥ %d: met", t; else printf "≥ %d: **missed** (%.0f%% of it)", t, 100 * m / t}')
  fi
  summary+="| $mode | $(med "${ms_of_mode[$mode]:-}") | $m | $verdict |"$'\n'
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "n/a" || b == "n/a" || a == "" || b == "" || b == 0) print "n/a"; else printf "%.1f", a / b}'; }
ms_med() { med "${ms_of_mode[$1]:-}"; }
ratios="- time of the capture against the plain INSERTs of the same rows (triggers on / off):"
for m in email_single email_batch100 email_batch1000; do
  ratios+=" $m $(ratio "$(ms_med "$m")" "$(ms_med email_insert_on)") / $(ratio "$(ms_med "$m")" "$(ms_med email_insert_off)");"
done
ratios+=" calendar $(ratio "$(ms_med calendar)" "$(ms_med calendar_insert_on)") / $(ratio "$(ms_med calendar)" "$(ms_med calendar_insert_off)");"
ratios+=" calendar_feed $(ratio "$(ms_med calendar_feed)" "$(ms_med calendar_insert_on)") / $(ratio "$(ms_med calendar_feed)" "$(ms_med calendar_insert_off)")"
ratios+=$'\n'"- plain INSERTs, triggers on / off: emails $(ratio "$(ms_med email_insert_on)" "$(ms_med email_insert_off)"), meetings $(ratio "$(ms_med calendar_insert_on)" "$(ms_med calendar_insert_off)")"

{
  echo "### capture_speed: \`$(env | grep -E '^BENCH_(PARTICIPANTS|COMPANIES|PEOPLE_PER_COMPANY|MEMBERS|MESSAGES|EVENTS|ROUNDS|CAPTURE_MODES|SKIP_BUILD)=' | sort | sed -E 's/=(.* .*)$/="\1"/' | tr '\n' ' ' || true)bash bench/capture_speed.sh\`"
  echo
  bench_machine
  echo "- load average (1/5/15 min) before: $load_before, after: $load_after; whole script $SECONDS s"
  printf '%s\n' "$BENCH_LOAD_MD"
  echo "- input (bench/sql/capture_generate.sql, generated in $gen_s s): $msg_md; $ics_md"
  echo "- each mode in its own copy of the loaded database ($db_size; \`CREATE DATABASE ... TEMPLATE postgres STRATEGY FILE_COPY\`, untimed, median $(med "$copy_ms") ms), one psql session, one timed statement (psql \\timing), triggers on unless the mode says off; default capture policy (people created when a member wrote, companies for new business domains)"
  echo "- baselines: what the first email / calendar capture mode wrote (email: ${base_counts[email]:-n/a}; calendar: ${base_counts[calendar]:-n/a}), read back from its database and written by INSERT ... SELECT from staging tables in one transaction; *_insert_off with \`ALTER TABLE ... DISABLE TRIGGER USER\` on crm.company, crm.person, crm.interaction and crm.participant and the participants' resolved ids included (the rows the trigger would leave)"
  echo
  echo "| round | mode | calls | input | ms | ms per call | rows/s | outcomes (rows returned) | \`count(*) FROM crm.verify_signals()\` after |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s' "$rows"
  echo
  echo "| mode | median ms | median rows/s | target |"
  echo "|---|---|---|---|"
  printf '%s' "$summary"
  echo
  printf '%s\n' "$ratios"
  echo
  echo "What each mode left in its database:"
  echo
  echo "| round | mode | written |"
  echo "|---|---|---|"
  printf '%s' "$outcome_rows"
  if [ -n "$breakdown_md" ]; then
    echo
    echo "Where the time of a call goes (auto_explain, log_nested_statements; nested statements are counted in their callers as well):"
    printf '%s' "$breakdown_md"
  fi
  if [ -n "$verify_details" ]; then
    echo
    printf '%s' "$verify_details"
  fi
} | tee "$report"
