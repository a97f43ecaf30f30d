#!/usr/bin/env bash
# Merges at size (issue 13): two-record merges of people, each its own transaction, then their
# undoing, on the data set of bench/signals_copy.sh; and crm.merge_sets over the same number of
# two-record duplicate sets.
#
#   bash bench/merge_speed.sh
#
# Data: bench/sql/generate.sql at BENCH_PARTICIPANTS=1000000 participants, BENCH_COMPANIES=5000
# companies of 10 people (50,000 people), 20 members, loaded by COPY with the triggers ON. Pairs
# are two people of the same company (both with activity), drawn deterministically; BENCH_MERGES
# (1000) of them. Each merge and each unmerge is one psql statement (\timing: p50, p99, max, and
# the rate). crm.verify_signals() is counted after the merges and after the unmerges. Then the
# same pairs are made duplicate sets (a copy of each pair's survivor's name and email on the
# other) and merged by one crm.merge_sets call.
# Results: stdout and bench/out/merge_speed.md; psql output in bench/out/merge_speed.log.
export BENCH_PARTICIPANTS=${BENCH_PARTICIPANTS:-1000000}
export BENCH_COMPANIES=${BENCH_COMPANIES:-5000}
source "$(dirname "$0")/lib.sh"
MERGES=${BENCH_MERGES:-1000}
report="$BENCH_OUT/merge_speed.md"
raw="$BENCH_OUT/merge_speed.log"
: >"$raw"

bench_build
bench_start
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_load_dataset
export PGOPTIONS="-c crm.clock=${BENCH_CLOCK/ /T}"
q -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null

# Two people of one company, every (5000 / MERGES)-th company: the first survives.
pairs=$(q -F' ' -c "SELECT min(p.id), max(p.id) FROM crm.person p
                    WHERE p.company_id % greatest(5000 / $MERGES, 1) = 0
                      AND EXISTS (SELECT FROM crm.participant x WHERE x.person_id = p.id)
                    GROUP BY p.company_id HAVING count(*) >= 2 ORDER BY p.company_id LIMIT $MERGES")
merges="$BENCH_OUT/merge_speed.merge.sql"
unmerges="$BENCH_OUT/merge_speed.unmerge.sql"
{ echo '\timing on'
  printf '%s\n' "$pairs" | awk '{printf "SELECT crm.merge($$person$$, %s, $${%s}$$) ->> $$merge_id$$;\n", $1, $2}'; } >"$merges"
n=$(printf '%s\n' "$pairs" | grep -c .)
log "merging $n pairs, one transaction each"
start=$(date +%s.%N)
merge_t=$(statement_timings "$merges" "$raw")
merge_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
verify_merged=$(timed_sql 600 "SELECT count(*) FROM crm.verify_signals()")
participants_moved=$(q -c "SELECT coalesce(sum(jsonb_array_length(moved -> 'participant')), 0) FROM crm.merge_log")
{ echo '\timing on'
  q -c "SELECT 'SELECT crm.unmerge(' || id || ') IS NOT NULL;' FROM crm.merge_log ORDER BY id DESC"; } >"$unmerges"
log "unmerging them"
start=$(date +%s.%N)
unmerge_t=$(statement_timings "$unmerges" "$raw")
unmerge_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
verify_unmerged=$(timed_sql 600 "SELECT count(*) FROM crm.verify_signals()")
left=$(q -c "SELECT count(*) FROM crm.person WHERE merged_into IS NOT NULL")

# The same pairs as duplicate sets: the other takes the survivor's names and email (so the pair
# scores as a duplicate), then one crm.merge_sets call.
log "making $n duplicate sets"
printf '%s\n' "$pairs" | awk '{print $1 "," $2}' >"$BENCH_DATA/merge_pairs.csv"
chmod a+r "$BENCH_DATA/merge_pairs.csv"
q -c "CREATE TABLE merge_pairs (survivor bigint, other bigint)" \
  -c "\\copy merge_pairs FROM '$BENCH_DATA/merge_pairs.csv' CSV" \
  -c "UPDATE crm.person o SET first_name = s.first_name, last_name = s.last_name, emails = ARRAY[s.email]
      FROM merge_pairs m JOIN crm.person s ON s.id = m.survivor WHERE o.id = m.other" >/dev/null
sets=$(q -c "SELECT count(DISTINCT set_id) FROM crm.duplicate_sets WHERE kind = 'person'")
log "crm.merge_sets over $sets sets"
bulk=$(timed_sql 1800 "SELECT count(*) FILTER (WHERE outcome = 'merged') || '/' || count(*) FROM crm.merge_sets('person', 0.9)")
verify_bulk=$(timed_sql 600 "SELECT count(*) FROM crm.verify_signals()")

rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.0f", n * 60 / s}'; }
bulk_ms=$(echo "$bulk" | cut -d' ' -f1)
bulk_merged=$(echo "$bulk" | cut -d' ' -f3 | cut -d/ -f1)
{
  echo "## Merges at $BENCH_PARTICIPANTS participants (bench/merge_speed.sh)"
  echo
  echo "Command: \`bash bench/merge_speed.sh\` (BENCH_PARTICIPANTS=$BENCH_PARTICIPANTS, BENCH_COMPANIES=$BENCH_COMPANIES, BENCH_MERGES=$MERGES)"
  echo
  bench_machine
  echo "- load average before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$BENCH_LOAD_MD"
  echo
  echo "| what | count | p50 ms | p99 ms | max ms | wall s | per minute |"
  echo "|---|---|---|---|---|---|---|"
  echo "| crm.merge of two people of one company, one transaction each | $n | ${merge_t// / | } | $merge_s | $(rate "$n" "$merge_s") |"
  echo "| crm.unmerge of each, newest first | $n | ${unmerge_t// / | } | $unmerge_s | $(rate "$n" "$unmerge_s") |"
  echo "| crm.merge_sets('person', 0.9), one call | $bulk_merged of $sets sets merged | | | | $(awk -v m="$bulk_ms" 'BEGIN {printf "%.1f", m / 1000}') | $(rate "${bulk_merged:-0}" "$(awk -v m="$bulk_ms" 'BEGIN {print m / 1000}')") |"
  echo
  echo "- participants moved by the merges: $participants_moved"
  echo "- \`crm.verify_signals()\` after the merges: $(echo "$verify_merged" | cut -d' ' -f2-); after the unmerges: $(echo "$verify_unmerged" | cut -d' ' -f2-) ($left tombstones left); after merge_sets: $(echo "$verify_bulk" | cut -d' ' -f2-)"
  echo "- issue 13's target: at least 1,000 two-record merges per minute"
} | tee "$report"
