#!/usr/bin/env bash
# TAP test of the OpenAI chat completions stub: prove test/ai/stub_server_test.sh
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stub="$here/stub"
state=$(mktemp -d "${TMPDIR:-/tmp}/crm_ai_stub_test.XXXXXX")
work="$state/work"
mkdir -p "$work"

cleanup() {
  "$stub" stop "$state" >/dev/null 2>&1
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0
failed=0
ok() {  # ok COND_STATUS DESCRIPTION
  n=$((n + 1))
  if [[ $1 == 0 ]]; then
    echo "ok $n - $2"
  else
    echo "not ok $n - $2"
    failed=$((failed + 1))
  fi
}
check() {  # check DESCRIPTION COMMAND...
  local d=$1
  shift
  "$@" >/dev/null 2>&1
  ok $? "$d"
}
diag() { sed 's/^/# /' >&2; }

# JSON checks: python3 is needed by the stub anyway.
# jtest FILE EXPR: EXPR is a Python expression over `j` (the parsed file); true -> status 0.
jtest() {
  python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}
# jget FILE EXPR: print EXPR (JSON-encoded unless a string).
jget() {
  python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$1" "$2"
}

CURL=(curl -s --noproxy '*' --max-time 20)

# post NAME MODEL [USER_TEXT [AUTH_HEADER]]: body -> $work/NAME.json, status -> $work/NAME.status,
# headers -> $work/NAME.headers
post_raw() {  # post_raw NAME DATA [curl args...]
  local name=$1 data=$2
  shift 2
  "${CURL[@]}" -o "$work/$name.json" -D "$work/$name.headers" -w '%{http_code}' \
    -H 'Content-Type: application/json' "$@" --data-binary "$data" \
    "$CRM_AI_STUB_URL/chat/completions" >"$work/$name.status"
}
SCHEMA='{"type":"object","properties":{"label":{"type":"string","enum":["customer","supplier","partner","other"]},"confidence":{"type":"number","minimum":0,"maximum":1},"reason":{"type":"string","maxLength":200}},"required":["label","confidence","reason"],"additionalProperties":false}'
body() {  # body MODEL USER_TEXT
  printf '{"model":"%s","messages":[{"role":"system","content":"Classify the company."},{"role":"user","content":"%s"}],"response_format":{"type":"json_schema","json_schema":{"name":"classify","schema":%s,"strict":true}},"max_tokens":200,"temperature":0}' \
    "$1" "$2" "$SCHEMA"
}
post() {  # post NAME MODEL [USER_TEXT [curl args...]]
  local name=$1 model=$2 text=${3:-Acme Corp, acme.example}
  shift 3 2>/dev/null || shift $#
  post_raw "$name" "$(body "$model" "$text")" "$@"
}
status() { cat "$work/$1.status"; }
# content NAME: the assistant message content, parsed, into $work/NAME.content.json
content() {
  python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
c = j["choices"][0]["message"]["content"]
json.dump(json.loads(c), open(sys.argv[2], "w"))' "$work/$1.json" "$work/$1.content.json"
}
LABELS='("customer","supplier","partner","other")'

# ---------------------------------------------------------------------------------------------
if out=$("$stub" start "$state"); then
  eval "$out"
  ok 0 "stub starts and prints CRM_AI_STUB_URL/CRM_AI_STUB_PID"
else
  ok 1 "stub starts"
  echo "Bail out! the stub did not start"
  exit 1
fi
BASE=${CRM_AI_STUB_URL%/v1}
[[ $CRM_AI_STUB_URL =~ ^http://127\.0\.0\.1:[0-9]+/v1$ && $CRM_AI_STUB_PID =~ ^[0-9]+$ ]]
ok $? "URL and PID are well formed ($CRM_AI_STUB_URL)"

out2=$("$stub" start "$state")
[[ $out2 == "$out" ]]
ok $? "start again on a running STATE_DIR prints the same server"

"${CURL[@]}" -o "$work/models.json" "$CRM_AI_STUB_URL/models"
check "GET /v1/models lists stub" jtest "$work/models.json" 'j["object"]=="list" and j["data"][0]["id"]=="stub"'

# Valid reply, deterministic.
post v1 stub
post v2 stub
post v3 stub "Globex Supplies GmbH"
[[ $(status v1) == 200 ]]
ok $? "stub: HTTP 200"
check "stub: OpenAI chat.completion shape" jtest "$work/v1.json" \
  'j["object"]=="chat.completion" and j["id"].startswith("chatcmpl-stub-") and isinstance(j["created"],int) and j["model"]=="stub" and j["choices"][0]["index"]==0 and j["choices"][0]["message"]["role"]=="assistant" and j["choices"][0]["finish_reason"]=="stop"'
check "stub: usage tokens add up" jtest "$work/v1.json" \
  'j["usage"]["prompt_tokens"]>=1 and j["usage"]["completion_tokens"]==max(1,len(j["choices"][0]["message"]["content"])//4) and j["usage"]["total_tokens"]==j["usage"]["prompt_tokens"]+j["usage"]["completion_tokens"]'
content v1 && content v2 && content v3
check "stub: content is JSON with exactly the schema's properties, in order" jtest "$work/v1.content.json" \
  'list(j)==["label","confidence","reason"]'
check "stub: label is in the enum" jtest "$work/v1.content.json" "j['label'] in $LABELS"
check "stub: confidence within [0,1], reason a string <= 200" jtest "$work/v1.content.json" \
  'isinstance(j["confidence"],(int,float)) and 0<=j["confidence"]<=1 and isinstance(j["reason"],str) and len(j["reason"])<=200'
cmp -s "$work/v1.content.json" "$work/v2.content.json"
ok $? "stub: same input, same content ($(jget "$work/v1.content.json" 'j["label"]'))"
check "stub: another record's reply is valid too ($(jget "$work/v3.content.json" 'j["label"]'))" \
  jtest "$work/v3.content.json" "j['label'] in $LABELS"

for i in 1 2 3 4 5 6 7 8; do
  post "d$i" stub "Company number $i"
  content "d$i"
done
python3 -c '
import json, sys
labels = {json.load(open(f))["label"] for f in sys.argv[1:]}
sys.exit(0 if len(labels) >= 2 else 1)' "$work"/d?.content.json
ok $? "stub: different records get different labels (8 records)"

# Invalid replies.
post inv stub-invalid
content inv
check "stub-invalid: label violates the enum" jtest "$work/inv.content.json" \
  "j['label']=='not-a-label' and j['label'] not in $LABELS"
post once1 stub-invalid-once "Initech"
post once2 stub-invalid-once "Initech"
content once1 && content once2
check "stub-invalid-once: first reply invalid" jtest "$work/once1.content.json" "j['label'] not in $LABELS"
check "stub-invalid-once: second reply valid" jtest "$work/once2.content.json" "j['label'] in $LABELS"
post nj stub-not-json
check "stub-not-json: content is not JSON" jtest "$work/nj.json" 'j["choices"][0]["message"]["content"]=="this is not JSON"'
post tr stub-truncated
check "stub-truncated: finish_reason length, content unparseable" jtest "$work/tr.json" \
  '(lambda c: j["choices"][0]["finish_reason"]=="length" and c.startswith("{") and not c.endswith("}"))(j["choices"][0]["message"]["content"])'
post nu stub-no-usage
check "stub-no-usage: no usage field" jtest "$work/nu.json" '"usage" not in j and len(j["choices"])==1'
post em stub-empty
check "stub-empty: 200 with no choices" jtest "$work/em.json" 'j["choices"]==[]'

# Request validation.
post_raw nrf '{"model":"stub","messages":[{"role":"user","content":"x"}]}'
[[ $(status nrf) == 400 ]]
ok $? "no response_format: HTTP 400"
check "no response_format: OpenAI error body" jtest "$work/nrf.json" \
  'j["error"]["type"]=="invalid_request_error" and j["error"]["message"] and "param" in j["error"] and "code" in j["error"]'
post_raw njb 'this is not json'
[[ $(status njb) == 400 ]]
ok $? "non-JSON body: HTTP 400"
post_raw jo '{"model":"stub","messages":[],"response_format":{"type":"json_object"}}'
[[ $(status jo) == 400 ]]
ok $? "response_format json_object: HTTP 400"
post unk no-such-model
[[ $(status unk) == 404 ]] && jtest "$work/unk.json" '"model not found" in j["error"]["message"]'
ok $? "unknown model: HTTP 404 model not found"

# Failing endpoints.
post e503 stub-error-503
[[ $(status e503) == 503 ]] && jtest "$work/e503.json" 'j["error"]["type"]=="server_error"'
ok $? "stub-error-503: HTTP 503 with an error body"
post e429 stub-error-429
[[ $(status e429) == 429 ]] && grep -qi '^Retry-After: 1' "$work/e429.headers"
ok $? "stub-error-429: HTTP 429 with Retry-After: 1"

# Auth.
SECRET="sk-test-SECRET-$$-do-not-log"
post a1 stub-auth x -H "Authorization: Bearer $SECRET"
[[ $(status a1) == 401 ]]
ok $? "stub-auth, wrong key: HTTP 401"
check "stub-auth, wrong key: message echoes the full key" grep -qF "Incorrect API key provided: $SECRET." "$work/a1.json"
check "stub-auth, wrong key: code invalid_api_key" jtest "$work/a1.json" 'j["error"]["code"]=="invalid_api_key"'
post a2 stub-auth x
[[ $(status a2) == 401 ]]
ok $? "stub-auth, no key: HTTP 401"
post a3 stub-auth x -H "Authorization: Bearer test-key-ok"
[[ $(status a3) == 200 ]] && content a3 && jtest "$work/a3.content.json" "j['label'] in $LABELS"
ok $? "stub-auth, right key: valid reply"

# Stats.
"${CURL[@]}" -o "$work/s1.json" "$BASE/stats"
expected=$(find "$work" -name '*.status' | wc -l)
check "/stats: requests counts every chat request ($expected)" jtest "$work/s1.json" "j['requests']==$expected"
check "/stats: by_model" jtest "$work/s1.json" \
  'j["by_model"]["stub"]==13 and j["by_model"]["stub-auth"]==3 and j["by_model"]["stub-invalid-once"]==2'
check "/stats: last_request is the last body, Authorization present" jtest "$work/s1.json" \
  'j["last_request"]["model"]=="stub-auth" and j["last_request"]["response_format"]["json_schema"]["name"]=="classify" and j["last_authorization_present"] is True'
! grep -qF "$SECRET" "$work/s1.json" && ! grep -q 'test-key-ok' "$work/s1.json"
ok $? "/stats never contains an Authorization value"

# Reset, then concurrency.
"${CURL[@]}" -o "$work/r.json" -X POST "$BASE/reset"
check "POST /reset: {\"ok\":true}" jtest "$work/r.json" 'j=={"ok":True}'
"${CURL[@]}" -o "$work/s2.json" "$BASE/stats"
check "/stats after reset: zeroed" jtest "$work/s2.json" \
  'j["requests"]==0 and j["by_model"]=={} and j["max_in_flight"]==0 and j["last_request"] is None'
post once3 stub-invalid-once "Initech"
content once3
check "reset forgets stub-invalid-once state" jtest "$work/once3.content.json" "j['label'] not in $LABELS"
"${CURL[@]}" -o /dev/null -X POST "$BASE/reset"

t0=$(date +%s%N)
for i in 1 2 3; do
  post "slow$i" stub-slow-300 "record $i" &
done
wait
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[[ $(status slow1) == 200 && $(status slow2) == 200 && $(status slow3) == 200 ]]
ok $? "3 concurrent stub-slow-300: all HTTP 200"
(( ms >= 300 ))
ok $? "stub-slow-300 takes >= 300 ms (${ms} ms for 3 in parallel)"
"${CURL[@]}" -o "$work/s3.json" "$BASE/stats"
check "/stats: 3 requests, max_in_flight >= 2 ($(jget "$work/s3.json" 'j["max_in_flight"]'))" jtest "$work/s3.json" \
  'j["requests"]==3 and j["by_model"]=={"stub-slow-300":3} and j["max_in_flight"]>=2 and j["last_authorization_present"] is False'

# Quiet by default, then stop.
! [[ -s $state/log ]]
ok $? "no per-request output without --verbose"
"$stub" stop "$state"
ok $? "stop exits 0"
# Gone = no such process, or a zombie (an init that does not reap leaves one behind).
gone() { ! kill -0 "$1" 2>/dev/null || [[ $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) == Z* ]]; }
gone "$CRM_AI_STUB_PID" && [[ ! -e $state/port && ! -e $state/pid ]]
ok $? "server gone, pid and port files removed"
"$stub" stop "$state"
ok $? "stop again is a no-op"
! "${CURL[@]}" -o /dev/null "$CRM_AI_STUB_URL/models"
ok $? "nothing listens on the port any more"

echo "1..$n"
(( failed == 0 ))
