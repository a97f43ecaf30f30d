#!/usr/bin/env bash
# Load test: 4 pgbench clients hammer the same 20 people with every write path at once (inserts
# of interactions with participants, moves, cancellations, deletes, people gaining addresses),
# then crm.verify_signals() must be empty. TAP output, for prove. Needs PG* set to a database
# with crm_hygiene installed (scripts/test does that).
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "1..3"

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
TRUNCATE crm.interaction CASCADE;
DELETE FROM crm.person; DELETE FROM crm.company; DELETE FROM crm.member;
INSERT INTO crm.member (id, email) SELECT g, 'm' || g || '@us.example' FROM generate_series(1, 3) g;
INSERT INTO crm.company (id, name, domain) VALUES (1, 'Load', 'load.example');
INSERT INTO crm.person (id, email, company_id) SELECT g, 'p' || g || '@load.example', 1 FROM generate_series(1, 20) g;
SQL

# One logical write per transaction, as applications and sync jobs write: many clients on the
# same few people must never deadlock. (A transaction that touches the same records in several
# statements takes its locks in its own statement order, as with any multi-statement writer.)
cat >"$dir/insert.sql" <<'SQL'
\set m random(1, 3)
\set a random(1, 25)
\set b random(1, 25)
\set op random(1, 10)
\set d random(-300, 300)
WITH i AS (INSERT INTO crm.interaction (kind, occurred_at, status)
           VALUES ((ARRAY['email','meeting','call'])[1 + :a % 3]::crm.interaction_kind,
                   timestamptz '2026-03-01' + :d * interval '1 day',
                   CASE WHEN :op = 1 THEN 'canceled' ELSE 'confirmed' END::crm.interaction_status)
           RETURNING id)
INSERT INTO crm.participant (interaction_id, address, role, response)
SELECT i.id, v.address, v.role::crm.participant_role, v.response::crm.participant_response
FROM i, (VALUES ('m' || :m || '@us.example', 'from', NULL),
                ('p' || :a || '@load.example', 'to', NULL),
                ('p' || :b || '@load.example', 'cc', CASE WHEN :op = 2 THEN 'declined' END)) v(address, role, response);
SQL
cat >"$dir/move.sql" <<'SQL'
\set a random(1, 50)
\set d random(-100, 100)
UPDATE crm.interaction SET occurred_at = occurred_at + interval '1 day' * :d
 WHERE id = (SELECT max(id) - :a FROM crm.interaction);
SQL
cat >"$dir/cancel.sql" <<'SQL'
\set a random(1, 50)
UPDATE crm.interaction SET status = 'canceled' WHERE id = (SELECT max(id) - :a FROM crm.interaction);
SQL
cat >"$dir/delete.sql" <<'SQL'
\set a random(1, 50)
DELETE FROM crm.interaction WHERE id = (SELECT max(id) - :a FROM crm.interaction);
SQL
cat >"$dir/decline.sql" <<'SQL'
\set a random(1, 100)
UPDATE crm.participant SET response = 'declined' WHERE id = (SELECT max(id) - :a FROM crm.participant);
SQL
cat >"$dir/people.sql" <<'SQL'
\set p random(21, 25)
DELETE FROM crm.person WHERE id = :p;
INSERT INTO crm.person (id, email, company_id) VALUES (:p, 'p' || :p || '@load.example', 1) ON CONFLICT DO NOTHING;
SQL

export PGOPTIONS='-c crm.clock=2026-03-01T12:00:00+00 -c deadlock_timeout=100ms'
if pgbench -n --failures-detailed -c 4 -j 2 -t 500 -f "$dir/insert.sql@10" -f "$dir/move.sql@2" \
     -f "$dir/cancel.sql@1" -f "$dir/delete.sql@1" -f "$dir/decline.sql@1" -f "$dir/people.sql@1" \
     >"$dir/pgbench.log" 2>&1 && ! grep -qE 'number of failed transactions: [1-9]' "$dir/pgbench.log"; then
  echo "ok 1 - pgbench: 4 clients, 2000 writes on the same 25 addresses, no deadlock or failure"
else
  echo "not ok 1 - pgbench reported failures"; sed 's/^/# /' "$dir/pgbench.log"
fi
grep -E 'number of (failed|deadlock)|processed' "$dir/pgbench.log" | head -3 | sed 's/^/# /' || true

diffs=$(psql -X -tA -c "SET crm.clock = '2026-03-01 12:00+00'; SELECT count(*) FROM crm.verify_signals()" | tail -1)
if [ "$diffs" = "0" ]; then echo "ok 2 - verify_signals is empty after the load"; else
  echo "not ok 2 - verify_signals lists $diffs differences"
  psql -X -c "SET crm.clock = '2026-03-01 12:00+00'; SELECT * FROM crm.verify_signals() LIMIT 20" | sed 's/^/# /'
fi

counted=$(psql -X -tA -c "SELECT (SELECT sum(interaction_count) FROM crm.person_signal) > 0")
if [ "$counted" = "t" ]; then echo "ok 3 - the load left counted activity"; else echo "not ok 3 - nothing counted"; fi
