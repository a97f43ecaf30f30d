#!/usr/bin/env bash
# Crash test: a backend is killed with SIGKILL in the middle of a bulk write (the postmaster then
# restarts every backend and replays WAL); afterwards committed activity is all there, the killed
# transaction left nothing, and crm.verify_signals() is empty. TAP output, for prove. Needs PG*
# set to a database with crm_hygiene installed, on a server this user may signal (scripts/test).
set -euo pipefail
echo "1..4"
q() { psql -X -q -tA -v ON_ERROR_STOP=1 -c "SET crm.clock = '2026-03-01 12:00+00'" -c "$1" | tail -1; }

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
TRUNCATE crm.interaction CASCADE;
DELETE FROM crm.person; DELETE FROM crm.company; DELETE FROM crm.member;
INSERT INTO crm.member (id, email) VALUES (1, 'crash@us.example');
INSERT INTO crm.person (id, email) SELECT g, 'c' || g || '@crash.example' FROM generate_series(1, 50) g;
INSERT INTO crm.interaction (id, kind, occurred_at) SELECT g, 'email', timestamptz '2026-01-01' + g * interval '1 hour' FROM generate_series(1, 500) g;
INSERT INTO crm.participant (interaction_id, address, role)
SELECT g, 'crash@us.example', 'from'::crm.participant_role FROM generate_series(1, 500) g
UNION ALL SELECT g, 'c' || (g % 50 + 1) || '@crash.example', 'to' FROM generate_series(1, 500) g;
SQL
before=$(q "SELECT sum(email_count) FROM crm.person_signal")

# The victim: writes a batch, then waits inside its transaction until it is killed.
PGAPPNAME=crm_crash_victim psql -X -q <<'SQL' >/dev/null 2>&1 &
SET crm.clock = '2026-03-01 12:00+00';
BEGIN;
INSERT INTO crm.interaction (id, kind, occurred_at) SELECT g, 'meeting', timestamptz '2026-02-01' + g * interval '1 minute' FROM generate_series(1000, 2999) g;
INSERT INTO crm.participant (interaction_id, address, role)
SELECT g, 'crash@us.example', 'organizer'::crm.participant_role FROM generate_series(1000, 2999) g
UNION ALL SELECT g, 'c' || (g % 50 + 1) || '@crash.example', 'attendee' FROM generate_series(1000, 2999) g;
UPDATE crm.interaction SET occurred_at = occurred_at - interval '1 day' WHERE id <= 100;
SELECT pg_sleep(60);
COMMIT;
SQL
victim_client=$!

pid=""
for _ in $(seq 1 100); do
  pid=$(psql -X -tA -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'crm_crash_victim' AND wait_event = 'PgSleep'" 2>/dev/null || true)
  [ -n "$pid" ] && break
  sleep 0.2
done
if [ -n "$pid" ]; then
  kill -9 "$pid"
  echo "ok 1 - backend $pid killed with SIGKILL inside its transaction"
else
  echo "not ok 1 - the victim never reached its sleep"
fi
wait "$victim_client" 2>/dev/null || true

for _ in $(seq 1 100); do
  psql -X -tA -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.3
done
if psql -X -tA -c "SELECT 1" >/dev/null 2>&1; then echo "ok 2 - the server recovered"; else echo "not ok 2 - the server did not come back"; fi

after=$(q "SELECT sum(email_count) FROM crm.person_signal")
meetings=$(q "SELECT coalesce(sum(meeting_count), 0) FROM crm.person_signal")
if [ "$before" = "$after" ] && [ "$meetings" = "0" ]; then
  echo "ok 3 - committed activity intact ($after emails), the killed transaction left nothing"
else
  echo "not ok 3 - emails before $before, after $after; meetings $meetings"
fi

diffs=$(q "SELECT count(*) FROM crm.verify_signals()")
if [ "$diffs" = "0" ]; then echo "ok 4 - verify_signals is empty after crash recovery"; else
  echo "not ok 4 - verify_signals lists $diffs differences"
fi
