#!/usr/bin/env bash
# A route whose target asks for credentials (routes[].auth): a SIPp callee
# answers each INVITE 401 with a digest challenge and checks the INVITE that
# comes back (SIPp's verifyauth, its own digest code). With the right password
# the call is answered and the caller never sees the challenge; with a wrong
# one the caller gets 403. Both routes lead to the same callee.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16192 # the daemon; its callers use D_PORT+1 and D_PORT+2
B_PORT=16195 # the callee
STATS=$WORK/auth.stats.json

cat >"$WORK/auth.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "cdr_file": "$WORK/cdr.jsonl",
  "routes": [
    { "name": "good", "match": { "user_prefix": "1" }, "target": "127.0.0.1:$B_PORT",
      "auth": { "username": "trunk7", "password": "s3cret", "realm": "carrier.test" } },
    { "name": "bad", "match": { "user_prefix": "2" }, "target": "127.0.0.1:$B_PORT",
      "auth": { "username": "trunk7", "password": "guess" } }
  ]
}
JSON
start_daemon auth "$WORK/auth.json"

sipp_uas "$B_PORT" uas_auth.xml -m 4
UAS_PID=${PIDS[-1]}
sleep 0.3
check "calls on the route with the password are answered (3 calls)" \
	sipp_uac good "$D_PORT" uac_wait_bye.xml -s 1000 -m 3 -l 3 -r 10 -i 127.0.0.1 \
	-p "$((D_PORT + 1))"
check "a call on the route with a wrong password gets 403" \
	sipp_uac bad "$D_PORT" probe_invite_403.xml -s 2000 -m 1 -i 127.0.0.1 -p "$((D_PORT + 2))"
check "the callee saw four calls through (its own check of each password)" \
	wait_exit 10 "$UAS_PID"
check "the caller never saw a 401" \
	test "$(grep -c '^SIP/2.0 401' "$WORK/uac-good.msg" "$WORK/uac-bad.msg" | awk -F: '{s+=$2} END {print s}')" = 0
check "the INVITEs carried an Authorization line for trunk7" \
	grep -q 'Authorization: Digest username="trunk7", realm="carrier.test"' "$WORK/uas-$B_PORT.msg"
check "stats: 4 challenges answered, 1 refused" \
	wait_json "$STATS" '(j["controller"]["auth_answered"], j["controller"]["auth_refused"])' "(4, 1)"
check "the log says why the last challenge was not answered" \
	grep -q "401 from 127.0.0.1:$B_PORT (route bad) not answered: the credentials were refused" \
	"$WORK/auth.log"
# cdr_outcomes: each CDR's (disposition, status), sorted
cdr_outcomes() {
	python3 -c "
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(sorted((r.get('disposition'), r.get('status')) for r in rows))" "$WORK/cdr.jsonl"
}
check "the CDRs: 3 answered, 1 failed with 403" \
	test "$(cdr_outcomes)" = "[('answered', 200), ('answered', 200), ('answered', 200), ('failed', 403)]"
check "the configuration printed hides the password" \
	sh -c "! '$BUILD/sipshardd' -c '$WORK/auth.json' --check-config | grep -q 's3cret'"
stop_daemon
check "the daemon stopped cleanly" test -z "$(grep -i 'sanitizer\|leak' "$WORK/auth.log")"
