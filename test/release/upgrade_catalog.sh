#!/usr/bin/env bash
# Upgrade test: the oldest released version (src/sql/releases), upgraded step by step with the
# scripts of src/sql/upgrades to the current default version, has the catalog of a fresh install
# of the current version (functions, tables, columns, indexes, constraints, triggers, views,
# policies, grants, dump registration: test/release/catalog.sql). Then the upgraded database
# keeps working: a write folds, and crm.verify_signals() is empty; workspaces made before the
# upgrade have what a new one gets (a crm.capture_policy row); before the update, a write is
# refused with a clear error. TAP output, for prove; needs
# PG* set to a cluster with crm_hygiene installed (scripts/test).
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
cd "$(dirname "$0")/../.."
echo "1..6"
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" crm_hygiene.control)
oldest=$(ls src/sql/releases | sed -n 's/^crm_hygiene--\(.*\)\.sql$/\1/p' | sort -V | head -1)
work=$(mktemp -d); trap 'rm -rf "$work"; dropdb --if-exists crm_upgrade_fresh; dropdb --if-exists crm_upgrade_old' EXIT
dropdb --if-exists crm_upgrade_fresh; dropdb --if-exists crm_upgrade_old
createdb crm_upgrade_fresh; createdb crm_upgrade_old
psql -X -q -v ON_ERROR_STOP=1 -d crm_upgrade_fresh -c "CREATE EXTENSION crm_hygiene CASCADE"
psql -X -q -v ON_ERROR_STOP=1 -d crm_upgrade_old -c "CREATE EXTENSION crm_hygiene VERSION '$oldest' CASCADE" \
  -c "INSERT INTO crm.workspace (id, name) VALUES (2, 'made before the upgrade')"

# Between make install and ALTER EXTENSION UPDATE the library is newer than the database's
# objects: a record write is refused with 55000 and the hint to update, never an internal error.
before_update=$(psql -X -q -v VERBOSITY=verbose -d crm_upgrade_old \
  -c "INSERT INTO crm.person (id, email) VALUES (99, 'early@them.example')" 2>&1 || true)

# Every step of the path, one at a time, as a DBA would take them.
steps=$(psql -X -tA -d crm_upgrade_old -c "SELECT pg_catalog.replace(path, '--', ' ') FROM pg_catalog.pg_extension_update_paths('crm_hygiene') WHERE source = '$oldest' AND target = '$current'")
if [ -z "$steps" ]; then
  echo "not ok 1 - no upgrade path from $oldest to $current"
else
  ok=1
  for v in ${steps#* }; do
    psql -X -q -v ON_ERROR_STOP=1 -d crm_upgrade_old -c "ALTER EXTENSION crm_hygiene UPDATE TO '$v'" || ok=0
  done
  if [ $ok = 1 ]; then echo "ok 1 - upgraded $oldest -> $current by: $steps"; else echo "not ok 1 - an upgrade step failed ($steps)"; fi
fi

psql -X -tA -v ON_ERROR_STOP=1 -d crm_upgrade_fresh -f test/release/catalog.sql >"$work/fresh.txt"
psql -X -tA -v ON_ERROR_STOP=1 -d crm_upgrade_old -f test/release/catalog.sql >"$work/upgraded.txt"
if diff -u "$work/fresh.txt" "$work/upgraded.txt" >"$work/diff.txt"; then
  echo "ok 2 - upgraded catalog equals a fresh $current install ($(wc -l <"$work/fresh.txt") objects compared)"
else
  echo "not ok 2 - upgraded catalog differs from a fresh $current install (- fresh, + upgraded)"
  sed 's/^/# /' "$work/diff.txt" | head -n 80
fi

version=$(psql -X -tA -d crm_upgrade_old -c "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'crm_hygiene'")
if [ "$version" = "$current" ]; then echo "ok 3 - extversion is $current"; else echo "not ok 3 - extversion is $version"; fi

diffs=$(psql -X -tA -v ON_ERROR_STOP=1 -d crm_upgrade_old <<'SQL' | tail -1
SET client_min_messages = warning;
INSERT INTO crm.member (id, email) VALUES (1, 'me@us.example');
INSERT INTO crm.person (id, email) VALUES (1, 'them@them.example');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (1, 'email', '2026-01-01');
INSERT INTO crm.participant (interaction_id, address, role) VALUES (1, 'me@us.example', 'from'), (1, 'them@them.example', 'to');
SELECT pg_catalog.count(*) || ' ' || (SELECT email_count FROM crm.person_signal WHERE person_id = 1) FROM crm.verify_signals();
SQL
)
if [ "$diffs" = "0 1" ]; then echo "ok 4 - the upgraded extension folds a write, verify_signals empty"; else echo "not ok 4 - after upgrade: $diffs"; fi

policies=$(psql -X -tA -d crm_upgrade_old -c "SELECT pg_catalog.string_agg(workspace_id::text, ',' ORDER BY workspace_id) FROM crm.capture_policy")
if [ "$policies" = "1,2" ]; then echo "ok 5 - workspaces made before the upgrade have their capture policy row"; else echo "not ok 5 - capture policy rows after upgrade: '$policies' (want 1,2)"; fi

if grep -q "ERROR:  55000" <<<"$before_update" && grep -q "ALTER EXTENSION crm_hygiene UPDATE" <<<"$before_update"; then
  echo "ok 6 - before the update a record write is refused with 55000 and the hint to update"
else
  echo "not ok 6 - a record write between install and update gave:"; sed 's/^/# /' <<<"$before_update"
fi
