#!/usr/bin/env bash
# Backup test: pg_dump of a database using every part of the extension (records, activity,
# derived signals and connections, duplicate pairs with a dismissal, a blocking duplicate rule,
# settings, capture log), restored into a new database with pg_restore (custom format) and with
# psql (plain format), gives back every table row for row, the identity sequences where they
# were, and an empty crm.verify_signals(); triggers re-derive nothing during the restore (derived
# tables equal, not doubled), and the restored database keeps deriving afterwards. TAP output.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
echo "1..10"
work=$(mktemp -d)
cleanup() { rm -rf "$work"; for d in crm_dump_src crm_dump_custom crm_dump_plain; do dropdb --if-exists "$d"; done; }
trap cleanup EXIT
for d in crm_dump_src crm_dump_custom crm_dump_plain; do dropdb --if-exists "$d"; done
createdb crm_dump_src
psql -X -q -v ON_ERROR_STOP=1 -d crm_dump_src <<'SQL'
CREATE EXTENSION crm_hygiene CASCADE;
SET crm.clock = '2026-03-01 12:00+00';
UPDATE crm.workspace SET name = 'Acme sales' WHERE id = 1;
INSERT INTO crm.workspace (id, name) VALUES (2, 'second');
UPDATE crm.connection_model SET meeting = 3.5, half_life = '60 days' WHERE workspace_id = 1;
INSERT INTO crm.member (id, email, name) VALUES (1, 'ann@us.example', 'Ann'), (2, 'bob@us.example', 'Bob');
INSERT INTO crm.member (id, workspace_id, email) VALUES (3, 2, 'zed@them.example');
INSERT INTO crm.company (id, name, domain, city) VALUES (1, 'Globex Corporation', 'globex.example', 'Springfield'),
  (2, 'Initech', 'initech.example', 'Austin');
INSERT INTO crm.person (id, company_id, first_name, last_name, email, city) VALUES
  (1, 1, 'Hank', 'Scorpio', 'hank@globex.example', 'Springfield'),
  (2, 1, 'Hank', 'Scorpio', 'h.scorpio@globex.example', 'Springfield'),
  (3, 2, 'Peter', 'Gibbons', 'peter@initech.example', 'Austin'),
  (4, 2, 'Pete', 'Gibbons', 'pgibbons@initech.example', 'Austin'),
  (5, NULL, 'Milton', 'Waddams', 'milton@initech.example', NULL);
INSERT INTO crm.person (id, workspace_id, first_name, last_name, email) VALUES (6, 2, 'Hank', 'Scorpio', 'hank@globex.example');
INSERT INTO crm.interaction (id, kind, occurred_at, ends_at, subject, external_id)
SELECT g, CASE WHEN g % 3 = 0 THEN 'meeting' ELSE 'email' END::crm.interaction_kind,
       timestamptz '2026-01-01' + g * interval '17 hours',
       CASE WHEN g % 3 = 0 THEN timestamptz '2026-01-01' + g * interval '17 hours' + interval '1 hour' END,
       'subject ' || g, 'msg-' || g
FROM generate_series(1, 120) g;  -- some in the future of the clock: next meetings
INSERT INTO crm.participant (interaction_id, address, role, display_name)
SELECT g, CASE WHEN g % 2 = 0 THEN 'ann@us.example' ELSE 'bob@us.example' END,
       CASE WHEN g % 3 = 0 THEN 'organizer' ELSE 'from' END::crm.participant_role, 'Us'
FROM generate_series(1, 120) g
UNION ALL
SELECT g, CASE g % 6 WHEN 0 THEN 'hank@globex.example' WHEN 1 THEN 'peter@initech.example'
              WHEN 2 THEN 'milton@initech.example' WHEN 3 THEN 'someone@globex.example'
              WHEN 4 THEN 'stranger@nowhere.example' ELSE 'h.scorpio@globex.example' END,
       CASE WHEN g % 3 = 0 THEN 'attendee' ELSE 'to' END::crm.participant_role, NULL
FROM generate_series(1, 120) g;
INSERT INTO crm.interaction (id, workspace_id, kind, occurred_at) VALUES (500, 2, 'email', '2026-02-01');
INSERT INTO crm.participant (workspace_id, interaction_id, address, role) VALUES
  (2, 500, 'zed@them.example', 'from'), (2, 500, 'hank@globex.example', 'to');
SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('crm.interaction', 'id'), 1000);
SELECT crm.dismiss_duplicate('person', 3, 4);
-- A merge (tombstone, log) and a pending request: the merge is undone after the restore (test
-- 10), with the blocking rule below in force (an unmerge gives back records as they were).
SELECT crm.merge('person', 1, '{2}') IS NOT NULL;
SELECT crm.request_merge('person', 3, '{4}') IS NOT NULL;
SELECT crm.set_duplicate_rule('person', 'block', 0.5);
SELECT * FROM crm.ingest_email(E'From: Hank <hank@globex.example>\r\nTo: ann@us.example\r\nSubject: hi\r\nMessage-ID: <cap-1@globex.example>\r\nDate: Mon, 02 Feb 2026 10:00:00 +0000\r\n\r\nhello\r\n', 'ann@us.example');
-- AI autofill: an attribute, a result written through provenance, a job still queued, requests
-- in the inbox, a budget, its usage, a failed job. A restore must bring them back, not queue more.
SELECT 1 FROM crm.define_ai_attribute('company', 'relationship', 'summarize');
SELECT count(*) FROM crm.run_ai_jobs(1);
UPDATE crm.company SET name = 'Initech LLC' WHERE id = 2;
SELECT crm.set_ai_budget(100, 50000);
INSERT INTO crm.ai_usage (workspace_id, day, calls, tokens) VALUES (1, '2026-02-01', 3, 1200);
INSERT INTO crm.ai_failed_job (workspace_id, attribute_id, record_id, attempts, error, failed_at)
SELECT 1, id, 1, 3, '08000: could not reach the endpoint', '2026-02-01' FROM crm.ai_attribute;
SELECT * FROM crm.ingest_email(E'From: MAILER-DAEMON@us.example\r\nTo: ann@us.example\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <bounce-1@us.example>\r\nDate: Mon, 02 Feb 2026 11:00:00 +0000\r\n\r\nbounce\r\n', 'ann@us.example');
SQL

# Every table of the extension, row for row, and the sequences.
fingerprint() {
  psql -X -tA -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT c.relname || ' ' || (xpath('/row/n/text()', query_to_xml(pg_catalog.format(
         'SELECT pg_catalog.count(*) AS n FROM %s', c.oid::regclass), false, false, '')))[1]::text
       || ' ' || (xpath('/row/h/text()', query_to_xml(pg_catalog.format(
         'SELECT pg_catalog.md5(coalesce(pg_catalog.string_agg(t::text, E''\n'' ORDER BY t::text), '''')) AS h FROM %s t',
         c.oid::regclass), false, false, '')))[1]::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'crm' AND c.relkind = 'r' ORDER BY 1;
SELECT c.relname || ' ' || (xpath('/row/v/text()', query_to_xml(pg_catalog.format(
         'SELECT last_value || CASE WHEN is_called THEN ''+'' ELSE '''' END AS v FROM %s', c.oid::regclass), false, false, '')))[1]::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'crm' AND c.relkind = 'S' ORDER BY 1;
SQL
}
fingerprint crm_dump_src >"$work/src.txt"
signals=$(psql -X -tA -d crm_dump_src -c "SELECT pg_catalog.count(*) FROM crm.person_signal WHERE interaction_count > 0")
pairs=$(psql -X -tA -d crm_dump_src -c "SELECT pg_catalog.count(*) FROM crm.duplicate_candidate")

pg_dump -Fc -f "$work/crm.dump" crm_dump_src
rows=$(pg_restore -f - --data-only "$work/crm.dump" | grep -c '^COPY crm\.' || true)
if [ "$rows" -ge 20 ]; then
  echo "ok 1 - pg_dump holds the data of $rows crm tables ($(stat -c %s "$work/crm.dump") bytes, $signals people with activity, $pairs duplicate pairs)"
else
  echo "not ok 1 - pg_dump holds the data of only $rows crm tables"
fi

createdb crm_dump_custom
if pg_restore --exit-on-error -d crm_dump_custom "$work/crm.dump" 2>"$work/restore.err"; then
  echo "ok 2 - pg_restore succeeds"
else
  echo "not ok 2 - pg_restore failed"; sed 's/^/# /' "$work/restore.err" | head -20
fi
fingerprint crm_dump_custom >"$work/custom.txt"
if diff -u "$work/src.txt" "$work/custom.txt" >"$work/diff.txt"; then
  echo "ok 3 - every table and sequence equal after pg_restore ($(wc -l <"$work/src.txt") compared)"
else
  echo "not ok 3 - tables differ after pg_restore (- original, + restored)"; sed 's/^/# /' "$work/diff.txt" | head -40
fi

createdb crm_dump_plain
pg_dump -Fp crm_dump_src >"$work/crm.sql"
if psql -X -q -v ON_ERROR_STOP=1 -d crm_dump_plain -f "$work/crm.sql" >/dev/null 2>"$work/plain.err"; then
  echo "ok 4 - a plain-format dump restores with psql"
else
  echo "not ok 4 - plain restore failed"; sed 's/^/# /' "$work/plain.err" | head -20
fi
fingerprint crm_dump_plain >"$work/plain.txt"
if diff -u "$work/src.txt" "$work/plain.txt" >"$work/diff2.txt"; then
  echo "ok 5 - every table and sequence equal after the plain restore"
else
  echo "not ok 5 - tables differ after the plain restore"; sed 's/^/# /' "$work/diff2.txt" | head -40
fi

for db in crm_dump_custom crm_dump_plain; do
  n=$(psql -X -tA -d "$db" -c "SET crm.clock = '2026-03-01 12:00+00'" -c "SELECT pg_catalog.count(*) FROM crm.verify_signals()" | tail -1)
  if [ "$n" = "0" ]; then echo "ok - crm.verify_signals() empty in $db"; else echo "not ok - crm.verify_signals() lists $n differences in $db"; fi
done | sed -e '1s/^ok -/ok 6 -/; 1s/^not ok -/not ok 6 -/; 2s/^ok -/ok 7 -/; 2s/^not ok -/not ok 7 -/'

# The restored database derives as before: new activity folds, new ids follow the old ones, and
# the blocking rule (which the restore had to stand aside from) blocks again.
after=$(psql -X -tA -v ON_ERROR_STOP=1 -d crm_dump_custom <<'SQL' | tail -1
SET crm.clock = '2026-03-01 12:00+00';
INSERT INTO crm.interaction (kind, occurred_at) VALUES ('call', '2026-02-28') RETURNING id \gset
INSERT INTO crm.participant (interaction_id, address, role) VALUES (:id, 'ann@us.example', 'from'), (:id, 'milton@initech.example', 'to');
SELECT :id || ' ' || (SELECT interaction_count FROM crm.person_signal WHERE person_id = 5)
       || ' ' || (SELECT pg_catalog.count(*) FROM crm.verify_signals());
SQL
)
before=$(psql -X -tA -d crm_dump_src -c "SELECT interaction_count FROM crm.person_signal WHERE person_id = 5")
next=$(psql -X -tA -d crm_dump_src -c "SELECT last_value + 1 FROM crm.interaction_id_seq")
if [ "$after" = "$next $((before + 1)) 0" ]; then
  echo "ok 8 - the restored database folds new activity (next id $next, count $before -> $((before + 1)))"
else
  echo "not ok 8 - after restore: '$after' (expected '$next $((before + 1)) 0')"
fi
if psql -X -q -d crm_dump_custom -c "INSERT INTO crm.person (first_name, last_name, email, company_id, city) VALUES ('Hank', 'Scorpio', 'hank@globex.example', 1, 'Springfield')" 2>"$work/block.err"; then
  echo "not ok 9 - the restored blocking rule let a duplicate in"
elif grep -q 'duplicate' "$work/block.err"; then
  echo "ok 9 - the restored blocking rule still blocks a duplicate"
else
  echo "not ok 9 - unexpected error: $(head -1 "$work/block.err")"
fi

# A merge survives the dump: the tombstone's id still resolves, and the merge is undone from its log.
undone=$(psql -X -tA -v ON_ERROR_STOP=1 -d crm_dump_plain -c "SET crm.clock = '2026-03-01 12:00+00'" \
  -c "SELECT crm.resolve_id('person', 2) || ' ' || (crm.unmerge(1) ->> 'survivor') || ' '
             || (SELECT pg_catalog.count(*) FROM crm.verify_signals()) || ' '
             || (SELECT pg_catalog.count(*) FROM crm.merge_request WHERE status = 'pending')" 2>&1 | tail -1 || true)
if [ "$undone" = "1 1 0 1" ]; then
  echo "ok 10 - after the restore a tombstone resolves, its merge is undone from the log, the request is pending"
else
  echo "not ok 10 - after the restore: '$undone' (expected '1 1 0 1')"
fi
