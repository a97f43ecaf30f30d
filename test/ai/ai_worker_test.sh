#!/usr/bin/env bash
# AI background workers against the stub endpoint (CRM_AI_STUB_URL, started by scripts/test): they
# start from SQL without shared_preload_libraries, wake on NOTIFY, heartbeat, fill every queued
# record, keep commits of writers independent of the endpoint, and stop between jobs when asked.
# The API key never reaches the server log. Needs the running test cluster (PGHOST, PGPORT).
set -u
: "${CRM_AI_STUB_URL:?start the stub first: eval \"\$(test/ai/stub start DIR)\"}"
db=crm_ai_worker_$$
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
# Polls a query until it prints the expected value, for at most $3 seconds.
wait_for() {
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(q "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
# The stub's counters: reset, and the most calls it served at once.
stub_reset() { curl -s -X POST "${CRM_AI_STUB_URL%/v1}/reset" >/dev/null; }
max_in_flight() { curl -s "${CRM_AI_STUB_URL%/v1}/stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["max_in_flight"])'; }
workers_gone() { wait_for "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'crm_hygiene AI worker' AND datname = current_database()" 0 "$1"; }
# Summarises the 21 companies with a slow model through the running workers; prints the most
# calls the stub saw at once.
most_calls_at_once() {
  local name=$1 model=$2
  stub_reset
  q "SELECT crm.define_ai_attribute('company', '$name', 'summarize', '{\"model\": \"$model\"}')" >/dev/null
  wait_for "SELECT results FROM crm.ai_status WHERE attribute = '$name'" 21 60
  max_in_flight
}
echo "1..18"
key_file=$(mktemp /tmp/crm_ai_worker_key.XXXXXX)
echo "sk-worker-SECRET-31337" >"$key_file"
chmod 644 "$key_file"
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; rm -f "$key_file"' EXIT
createdb "$db"
q "SET client_min_messages = warning; CREATE EXTENSION crm_hygiene CASCADE" >/dev/null
q "ALTER DATABASE $db SET crm.ai_base_url = '$CRM_AI_STUB_URL'" >/dev/null
q "ALTER DATABASE $db SET crm.ai_model = 'stub'" >/dev/null
q "ALTER DATABASE $db SET crm.ai_api_key_file = '$key_file'" >/dev/null
# No polling to speak of: a worker that finds new work fast was woken by NOTIFY.
q "ALTER DATABASE $db SET crm.ai_poll_interval = '1h'" >/dev/null
q "INSERT INTO crm.company (name, domain) SELECT 'Company ' || i, 'company' || i || '.com' FROM generate_series(1, 20) i" >/dev/null
q "SELECT crm.define_ai_attribute('company', 'segment', 'classify', '{\"labels\": [\"smb\", \"mid\", \"enterprise\"]}')" >/dev/null

pids=$(q "SELECT crm.start_ai_workers(2)")
[[ $pids =~ ^\{[0-9]+,[0-9]+\}$ ]]; ok $? "two workers started from SQL: $pids"
wait_for "SELECT count(*) FROM crm.ai_result" 20 30; ok $? "they fill every queued record"
wait_for "SELECT workers || ' ' || (last_heartbeat_at > now() - interval '1 minute') FROM crm.ai_status" "2 true" 10
ok $? "crm.ai_status shows both, with a recent heartbeat"
q "INSERT INTO crm.company (name, domain) VALUES ('Late Arrival', 'late.example')" >/dev/null
wait_for "SELECT count(*) FROM crm.ai_result" 21 10; ok $? "a new record is done within seconds: NOTIFY woke an idle worker (poll interval 1 h)"
q "SELECT pg_catalog.sum(jobs_done) FROM crm.ai_worker" | grep -qx 21; ok $? "each job ran once (jobs_done counts 21)"

# With the endpoint down, writers commit as before: they only enqueue.
q "ALTER DATABASE $db SET crm.ai_base_url = 'http://127.0.0.1:9/v1'" >/dev/null
q "UPDATE crm.company SET name = name || ' Ltd'" >/dev/null; ok $? "with the endpoint down, an update of every record commits"

# A wrong key is echoed by the stub's 401; neither the error nor the log holds it.
q "ALTER DATABASE $db SET crm.ai_base_url = '$CRM_AI_STUB_URL'" >/dev/null
q "SELECT crm.define_ai_attribute('company', 'gate', 'summarize', '{\"model\": \"stub-auth\"}')" >/dev/null
wait_for "SELECT count(*) > 0 FROM crm.ai_job j JOIN crm.ai_attribute a ON a.id = j.attribute_id WHERE a.name = 'gate' AND j.last_error LIKE '%401%'" t 20
ok $? "the endpoint refused the key; the job says so"

# A slow endpoint holds no lock a writer needs: the worker's call runs with only its job row
# locked, so an update of the very record commits at once (a 1 s statement_timeout only stands
# guard against a wait; the call takes 3 s).
q "SELECT crm.define_ai_attribute('company', 'slow', 'summarize', '{\"model\": \"stub-slow-3000\"}')" >/dev/null
wait_for "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'crm_hygiene AI worker' AND query LIKE '%_ai_worker_event(''run''%' AND state = 'active'" t 10
PGOPTIONS="-c statement_timeout=1s" q "UPDATE crm.company SET domain = 'first.example' WHERE id = (SELECT min(id) FROM crm.company)" >/dev/null
ok $? "while the endpoint is slow, a write of the records it works on commits without waiting"
q "UPDATE crm.ai_attribute SET enabled = false WHERE name = 'slow'" >/dev/null

# Two workers call at once for one workspace: no lock of the budget or the queue is held across a
# call (crm.ai_concurrency 2, the default).
q "SELECT crm.set_ai_budget(1000, 10000000)" >/dev/null
in_flight=$(most_calls_at_once parallel stub-slow-500)
[ "$in_flight" = 2 ]; ok $? "two workers of one workspace, with a budget, call in parallel (max in flight: $in_flight)"
q "UPDATE crm.ai_attribute SET enabled = false WHERE name = 'parallel'" >/dev/null

# Another role stops only the workers running as a role it belongs to.
psql -X -q -d "$db" -c "DROP ROLE IF EXISTS crm_ai_worker_other" -c "CREATE ROLE crm_ai_worker_other LOGIN" >/dev/null 2>&1
q "SELECT crm.grant_access('crm_ai_worker_other', 'maintenance')" >/dev/null
asked=$(psql -X -q -At -d "$db" -U crm_ai_worker_other -c "SELECT crm.stop_ai_workers()")
[ "$asked" = 0 ]; ok $? "a maintenance role cannot stop a superuser's workers (asked: $asked)"

# A reader of the workspace sees the live workers in crm.ai_status (pg_stat_activity hides other
# roles' backends from it); a maintenance role may start workers of its own.
psql -X -q -d "$db" -c "DROP ROLE IF EXISTS crm_ai_worker_reader" -c "CREATE ROLE crm_ai_worker_reader LOGIN" >/dev/null 2>&1
q "SELECT crm.grant_access('crm_ai_worker_reader', 'reader')" >/dev/null
seen=$(psql -X -q -At -d "$db" -U crm_ai_worker_reader -c "SELECT DISTINCT workers FROM crm.ai_status")
[ "$seen" = 2 ]; ok $? "a reader sees the two live workers ($seen)"
own=$(psql -X -q -At -d "$db" -U crm_ai_worker_other -c "SELECT cardinality(crm.start_ai_workers(1))" 2>&1)
[ "$own" = 1 ]; ok $? "a maintenance login role starts a worker of its own ($own)"
psql -X -q -At -d "$db" -U crm_ai_worker_other -c "SELECT crm.stop_ai_workers()" >/dev/null

# crm.ai_concurrency bounds the calls of all workers together.
q "ALTER DATABASE $db SET crm.ai_concurrency = 1" >/dev/null
q "SELECT crm.stop_ai_workers()" >/dev/null
workers_gone 60
q "SELECT crm.start_ai_workers(2)" >/dev/null
in_flight=$(most_calls_at_once paced stub-slow-200)
[ "$in_flight" = 1 ]; ok $? "two workers, crm.ai_concurrency = 1: one call at a time (max in flight: $in_flight)"

q "SELECT crm.stop_ai_workers()" >/dev/null
workers_gone 60
ok $? "crm.stop_ai_workers() stops them between jobs"
# Collecting requests never waits for a job another session holds: here a crm.run_ai_jobs batch
# whose transaction holds its claim through a 3 s call.
q "UPDATE crm.ai_attribute SET enabled = false" >/dev/null
q "SELECT crm.define_ai_attribute('company', 'held', 'classify', '{\"labels\": [\"a\", \"b\"], \"model\": \"stub-slow-3000\"}')" >/dev/null
q "SELECT count(*) FROM crm.run_ai_jobs(1)" >/dev/null &
batch=$!
sleep 1
q "UPDATE crm.company SET name = name || '!'" >/dev/null
PGOPTIONS="-c statement_timeout=2s" q "SELECT crm._ai_collect()" >/dev/null
ok $? "collecting requests does not wait for a job a batch holds"
wait $batch

# A worker whose steps fail keeps going and stays stoppable; one whose extension is dropped ends.
q "SELECT crm.start_ai_workers(1)" >/dev/null
wait_for "SELECT count(*) FROM crm.ai_worker" 1 20
q "REVOKE EXECUTE ON FUNCTION crm._ai_claim(bigint[]) FROM PUBLIC; ALTER FUNCTION crm._ai_claim(bigint[]) RENAME TO _ai_claim_away" >/dev/null
sleep 7  # two failed steps, five seconds apart
q "ALTER FUNCTION crm._ai_claim_away(bigint[]) RENAME TO _ai_claim" >/dev/null
wait_for "SELECT (heartbeat_at > now() - interval '5 seconds')::text FROM crm.ai_worker" true 20
ok $? "after failing steps a worker recovers and beats again"
q "DROP EXTENSION crm_hygiene CASCADE" >/dev/null
workers_gone 20
ok $? "dropping the extension ends its workers"
psql -X -q -d "$db" -c "DROP OWNED BY crm_ai_worker_other" -c "DROP OWNED BY crm_ai_worker_reader" >/dev/null 2>&1
trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; psql -X -q -d postgres -c "DROP ROLE IF EXISTS crm_ai_worker_other" -c "DROP ROLE IF EXISTS crm_ai_worker_reader" >/dev/null 2>&1; rm -f "$key_file"' EXIT

log=${CRM_CLUSTER_DIR:+$CRM_CLUSTER_DIR/server.log}
if [ -n "$log" ] && [ -r "$log" ]; then
  ! grep -q "SECRET-31337" "$log"; ok $? "the key is nowhere in the server log ($log)"
else
  ok 1 "the server log is readable (CRM_CLUSTER_DIR=${CRM_CLUSTER_DIR:-unset})"
fi
