#!/usr/bin/env bash
# End to end against a real llama.cpp runtime (node-llama-cpp, test/ai/llama): a tiny model the
# harness generates (random weights, so its text is noise) behind an OpenAI-compatible server on
# 127.0.0.1. What must hold is the plumbing: every reply, constrained by the JSON schema the
# extension sends, comes back valid and is written; never the content of an answer.
# Needs the running test cluster (PGHOST, PGPORT), Node.js >= 20 and npm (first run: npm ci).
set -u
here=$(cd "$(dirname "$0")" && pwd)
db=crm_ai_llama_$$
state=$(mktemp -d /tmp/crm_ai_llama.XXXXXX)
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
trap '"$here/llama/stop" "$state" >/dev/null 2>&1; psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; rm -rf "$state"' EXIT
echo "1..5"
if ! env_lines=$("$here/llama/start" "$state"); then
  ok 1 "the llama.cpp server starts (see $state/llama.log)"
  exit 1
fi
eval "$env_lines"
ok 0 "a llama.cpp server answers at $CRM_LLAMA_URL"
createdb "$db"
q "SET client_min_messages = warning; CREATE EXTENSION crm_hygiene CASCADE" >/dev/null
q "ALTER DATABASE $db SET crm.ai_base_url = '$CRM_LLAMA_URL'" >/dev/null
q "ALTER DATABASE $db SET crm.ai_model = 'crm-tiny'" >/dev/null
q "INSERT INTO crm.company (name, domain) SELECT 'Company ' || i, 'company' || i || '.example' FROM generate_series(1, 5) i" >/dev/null
q "SELECT crm.define_ai_attribute('company', 'segment', 'classify', '{\"labels\": [\"smb\", \"mid\", \"enterprise\"]}')" >/dev/null
q "SELECT crm.define_ai_attribute('company', 'fit', 'score', '{}')" >/dev/null
q "SELECT crm.define_ai_attribute('company', 'next_step', 'extract', '{\"schema\": {\"type\": \"object\", \"additionalProperties\": false, \"required\": [\"step\", \"urgency\"], \"properties\": {\"step\": {\"type\": \"string\", \"maxLength\": 40}, \"urgency\": {\"type\": \"string\", \"enum\": [\"low\", \"medium\", \"high\"]}}}}')" >/dev/null
q "SELECT crm.define_ai_attribute('company', 'relationship', 'summarize', '{\"max_length\": 120}')" >/dev/null

outcomes=$(q "SELECT string_agg(outcome || ':' || n, ' ' ORDER BY outcome) FROM (SELECT outcome, count(*) n FROM crm.run_ai_jobs(100) GROUP BY 1) x")
[ "$outcomes" = "applied:20" ]; ok $? "20 jobs (4 attributes x 5 companies) through the real runtime: $outcomes"
bad=$(q "SELECT count(*) FROM crm.ai_result r JOIN crm.ai_attribute a ON a.id = r.attribute_id
         WHERE crm._ai_schema_violation(crm._ai_reply_schema(a), CASE a.type WHEN 'classify' THEN jsonb_build_object('label', r.value, 'confidence', r.confidence)
                                                               WHEN 'score' THEN jsonb_build_object('score', r.value)
                                                               WHEN 'summarize' THEN jsonb_build_object('summary', r.value) ELSE r.value END) IS NOT NULL")
[ "$bad" = 0 ]; ok $? "every value written conforms to the schema it was asked for ($bad do not)"
written=$(q "SELECT count(*) FROM crm.company WHERE attributes ?& ARRAY['segment', 'fit', 'next_step', 'relationship']")
[ "$written" = 5 ]; ok $? "each company holds all four attributes"
models=$(q "SELECT string_agg(DISTINCT model, ',') || ' ' || bool_and(tokens > 0) FROM crm.ai_result")
[[ $models == *" true" ]]; ok $? "results name the server's model and its real token counts ($models)"
