#!/usr/bin/env bash
# Backups at size: pg_dump and pg_restore of the signals data set (bench/lib.sh: 20 members,
# 5,000 companies, 50,000 people, BENCH_PARTICIPANTS participants, loaded by COPY with every
# trigger on), then crm.verify_signals() and a row count of every crm table in the restored
# database against the original. The restore reloads derived state as dumped (docs/BACKUP.md).
#
#   bash bench/dump_restore.sh            (BENCH_PARTICIPANTS=1000000 by default; BENCH_SKIP_BUILD=1)
#
# Results: stdout and bench/out/dump_restore.md.
source "$(dirname "$0")/lib.sh"
bench_build
bench_start
bench_load_dataset
db=$PGDATABASE
dump="$BENCH_CLUSTER/crm.dump"

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
counts() {
  q -d "$1" -c "SELECT string_agg(c.relname || '=' || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass), false, false, '')))[1]::text, ' ' ORDER BY c.relname)
                FROM pg_class c WHERE c.relnamespace = 'crm'::regnamespace AND c.relkind = 'r'"
}

log "pg_dump -Fc"
t0=$(date +%s.%N); pg_dump -Fc -f "$dump" "$db"; t1=$(date +%s.%N)
dump_s=$(secs "$t0" "$t1"); dump_bytes=$(stat -c %s "$dump")
log "pg_restore into a new database"
createdb crm_restored
t0=$(date +%s.%N); pg_restore --exit-on-error -d crm_restored "$dump"; t1=$(date +%s.%N)
restore_s=$(secs "$t0" "$t1")
t0=$(date +%s.%N); diffs=$(q -d crm_restored -c "SET crm.clock = '$BENCH_CLOCK'" -c "SELECT count(*) FROM crm.verify_signals()"); t1=$(date +%s.%N)
verify_s=$(secs "$t0" "$t1")
same=no; [ "$(counts "$db")" = "$(counts crm_restored)" ] && same=yes
db_bytes=$(q -c "SELECT pg_database_size('$db')")

out="$BENCH_OUT/dump_restore.md"
{
  echo "### Dump and restore ($(date -u +%Y-%m-%d))"
  echo
  echo "Command: \`bash bench/dump_restore.sh\` (BENCH_PARTICIPANTS=$BENCH_PARTICIPANTS)"
  echo
  echo "$BENCH_LOAD_MD"
  echo "- database size $((db_bytes / 1048576)) MB; \`pg_dump -Fc\`: $((dump_bytes / 1048576)) MB in ${dump_s} s"
  echo "- \`pg_restore\` into a new database: ${restore_s} s (one job)"
  echo "- after the restore: \`crm.verify_signals()\` = $diffs rows (${verify_s} s); row counts of every crm table equal: $same"
  echo
  bench_machine
} | tee "$out"
