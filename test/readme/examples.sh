#!/usr/bin/env bash
# The README's SQL examples (every ```sql block of README.md), run as written against the demo
# workspace (scripts/demo_data.sql): each block in one session, inside a transaction that is
# rolled back, so the demo database is left as it was. A block fails on any error, and on any
# statement that shows nothing (a query returning no row, an UPDATE or DELETE of no row): an
# example must show something on the demo. TAP output, for prove.
#
#   PGDATABASE=crm_demo test/readme/examples.sh   (PG* set to the demo's cluster; see scripts/demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
readme=${1:-README.md}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# block_N.sql: the lines between ```sql and ```, numbered in README order, with their first line.
awk -v dir="$work" '
  /^```sql[[:space:]]*$/ { n++; inside = 1; file = sprintf("%s/block_%02d.sql", dir, n); printf "" > file
                            printf "%d\n", NR > (file ".line"); next }
  inside && /^```/ { inside = 0; close(file); next }
  inside { print > file }
' "$readme"
blocks=("$work"/block_*.sql)
[ -e "${blocks[0]}" ] || { echo "1..0 # SKIP no sql block in $readme"; exit 0; }
echo "1..${#blocks[@]}"

i=0
for block in "${blocks[@]}"; do
  i=$((i + 1))
  line=$(cat "$block.line")
  {
    echo '\set ON_ERROR_STOP on'
    echo 'BEGIN;'
    cat "$block"
    echo
    echo 'ROLLBACK;'
  } >"$work/run.sql"
  if ! PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
      psql -X -P pager=off -f "$work/run.sql" >"$work/out.txt" 2>&1; then
    echo "not ok $i - README.md line $line: the example fails"
    sed 's/^/# /' "$work/out.txt" | tail -n 30
  elif grep -nE '^\(0 rows\)$|^(UPDATE|DELETE) 0$' "$work/out.txt" >"$work/empty.txt"; then
    echo "not ok $i - README.md line $line: a statement shows nothing on the demo data"
    sed 's/^/# /' "$work/out.txt" | tail -n 30
  else
    echo "ok $i - README.md line $line: $(grep -cvE '^[[:space:]]*(--|$)' "$block") lines run on the demo data"
  fi
done
