#!/usr/bin/env bash
# AI jobs per second (issue 15): the queue, the endpoint client and the write path, through the
# deterministic stub of the OpenAI protocol (test/ai/stub_server.py, 127.0.0.1, no model time), and
# the embedded default for comparison.
#
#   bash bench/ai_jobs.sh
#
# Data: BENCH_AI_COMPANIES (5,000) companies inserted with every trigger on, a third of them with
# an industry (the classifier's labelled examples), and 2 interactions each for the summaries.
# Timed: crm.run_ai_jobs(all) of a classify attribute through the stub in one session; the same
# with 2 background workers (time until crm.ai_status shows nothing pending); and the embedded
# classify (fastText, training included) and summarize attributes with crm.run_ai_jobs.
# Results: stdout and bench/out/ai_jobs.md.
source "$(dirname "$0")/lib.sh"
COMPANIES=${BENCH_AI_COMPANIES:-5000}
report="$BENCH_OUT/ai_jobs.md"

bench_build
bench_start
stub_dir=$(mktemp -d /tmp/crm_bench_stub.XXXXXX)
trap '"$BENCH_ROOT/test/ai/stub" stop "$stub_dir"; rm -rf "$stub_dir"; bench_stop' EXIT
eval "$("$BENCH_ROOT/test/ai/stub" start "$stub_dir")"
q -c "CREATE DATABASE ai_bench"
export PGDATABASE=ai_bench
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION crm_hygiene CASCADE"
q -c "ALTER DATABASE ai_bench SET crm.ai_model = 'stub'" -c "ALTER DATABASE ai_bench SET crm.ai_poll_interval = '1s'"
q -c "INSERT INTO crm.member (email, name) VALUES ('me@us.example', 'Me')"
q -c "INSERT INTO crm.company (name, domain, industry)
      SELECT 'Company ' || i || CASE i % 3 WHEN 0 THEN ' Software' WHEN 1 THEN ' Stores' ELSE ' Bank' END,
             'company' || i || '.example',
             CASE WHEN i % 3 = 0 AND i % 9 = 0 THEN 'software' WHEN i % 3 = 1 AND i % 9 = 1 THEN 'retail'
                  WHEN i % 3 = 2 AND i % 9 = 2 THEN 'finance' END
      FROM generate_series(1, $COMPANIES) i"
q -c "INSERT INTO crm.person (company_id, email) SELECT id, 'buyer@' || domain FROM crm.company"
q -c "INSERT INTO crm.interaction (id, kind, occurred_at, subject)
      SELECT i, 'email', '2026-01-01'::timestamptz + i * interval '1 minute', 'Proposal ' || i FROM generate_series(1, $((COMPANIES * 2))) i"
q -c "INSERT INTO crm.participant (interaction_id, address, role)
      SELECT i, 'me@us.example', 'from'::crm.participant_role FROM generate_series(1, $((COMPANIES * 2))) i
      UNION ALL SELECT i, 'buyer@company' || ((i - 1) % $COMPANIES + 1) || '.example', 'to'::crm.participant_role FROM generate_series(1, $((COMPANIES * 2))) i"
q -c "VACUUM ANALYZE"

rate() { awk -v n="$1" -v ms="$2" 'BEGIN {printf "%.0f", n / (ms / 1000)}'; }
define() { q -c "SELECT crm.define_ai_attribute('company', '$1', '$2', '$3')" >/dev/null; }
run_all() {  # -> ms jobs
  local r; r=$(PGOPTIONS="${1:-}" timed_sql 0 "SELECT count(*) FROM crm.run_ai_jobs($COMPANIES)")
  echo "$(echo "$r" | cut -d' ' -f1) $(echo "$r" | cut -d' ' -f3)"
}

log "classify through the stub, one session"
define segment classify '{"labels": ["smb", "mid", "enterprise"], "engine": "endpoint"}'
read -r stub_ms stub_jobs < <(run_all "-c crm.ai_base_url=$CRM_AI_STUB_URL")
q -c "UPDATE crm.ai_attribute SET enabled = false"

log "classify through the stub, 2 background workers"
q -c "ALTER DATABASE ai_bench SET crm.ai_base_url = '$CRM_AI_STUB_URL'"
define tier classify '{"labels": ["a", "b", "c"], "engine": "endpoint"}'
start=$(date +%s.%N)
q -c "SELECT crm.start_ai_workers(2)" >/dev/null
until [ "$(q -c "SELECT pending + running FROM crm.ai_status WHERE attribute = 'tier'")" = 0 ]; do sleep 0.2; done
workers_ms=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", (b - a) * 1000}')
workers_jobs=$(q -c "SELECT results FROM crm.ai_status WHERE attribute = 'tier'")
q -c "SELECT crm.stop_ai_workers()" >/dev/null
q -c "ALTER DATABASE ai_bench RESET crm.ai_base_url"
q -c "UPDATE crm.ai_attribute SET enabled = false"
sleep 1

log "embedded classify (fastText) and summarize"
define industry_guess classify '{"labels": ["software", "retail", "finance"], "target": "industry", "inputs": ["name", "domain"]}'
read -r fast_ms fast_jobs < <(run_all)
applied=$(q -c "SELECT count(*) FROM crm.ai_result r JOIN crm.ai_attribute a ON a.id = r.attribute_id WHERE a.name = 'industry_guess' AND r.outcome = 'applied'")
right=$(q -c "SELECT count(*) FROM crm.company WHERE industry = CASE WHEN name LIKE '%Software' THEN 'software' WHEN name LIKE '%Stores' THEN 'retail' ELSE 'finance' END")
q -c "UPDATE crm.ai_attribute SET enabled = false"
define relationship summarize '{}'
read -r sum_ms sum_jobs < <(run_all)

{
  echo "## AI jobs per second (bench/ai_jobs.sh)"
  echo
  echo "Command: \`bash bench/ai_jobs.sh\` (BENCH_AI_COMPANIES=$COMPANIES; the stub answers at once, so this is the extension's own cost per job)"
  echo
  bench_machine
  echo
  echo "| attribute | engine | how run | jobs | time (ms) | jobs/s |"
  echo "|---|---|---|---|---|---|"
  echo "| classify | endpoint (stub) | crm.run_ai_jobs, one session | $stub_jobs | $stub_ms | $(rate "$stub_jobs" "$stub_ms") |"
  echo "| classify | endpoint (stub) | 2 background workers | $workers_jobs | $workers_ms | $(rate "$workers_jobs" "$workers_ms") |"
  echo "| classify | embedded fastText (training included) | crm.run_ai_jobs | $fast_jobs | $fast_ms | $(rate "$fast_jobs" "$fast_ms") |"
  echo "| summarize | embedded | crm.run_ai_jobs | $sum_jobs | $sum_ms | $(rate "$sum_jobs" "$sum_ms") |"
  echo
  echo "Embedded classifier: $applied unlabelled companies filled; $right of $COMPANIES companies hold the industry their name implies (people labelled a third)."
} | tee "$report"
