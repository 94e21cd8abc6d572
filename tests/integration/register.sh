#!/usr/bin/env bash
# sipshardd registering with a registrar (registrations[]): a SIPp registrar
# challenges each REGISTER with a digest 401, checks the answer with its own
# code (verifyauth) and grants 4 s, so the refresh comes 2 s later; then a
# call from the carrier to the registered Contact goes through to a callee.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16196   # the daemon; its callers use D_PORT+1 and D_PORT+2
R_PORT=16199   # the registrar
B_PORT=16200   # the callee of the route
M_PORT=16201   # Prometheus
STATS=$WORK/register.stats.json

cat >"$WORK/register.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "metrics_listen": "127.0.0.1:$M_PORT",
  "routes": [ { "name": "in", "target": "127.0.0.1:$B_PORT" } ],
  "registrations": [
    { "name": "carrier", "registrar": "127.0.0.1:$R_PORT", "aor": "sip:acct-4471@trunk.test",
      "auth": { "username": "acct-4471", "password": "s3cret", "realm": "trunk.test" },
      "expires_s": 600, "retry_s": 1 }
  ]
}
JSON

sipp_uas "$R_PORT" uas_registrar.xml -m 1
REG_PID=${PIDS[-1]}
sleep 0.3
start_daemon register "$WORK/register.json"

# registered STATE SECONDS: until STATS says the registration's binding is
# STATE (True or False)
registered() {
	for _ in $(seq 1 $(($2 * 10))); do
		[ "$(json_get "$STATS" 'j["controller"]["registration_registered"]["carrier"]' 2>/dev/null)" = "$1" ] &&
			return 0
		sleep 0.1
	done
	return 1
}
check "registered once the challenge was answered" registered True 5
# sipshardctl registrations, while the binding holds
regs() { "$BUILD/sipshardctl" -s "$WORK/run/sipshardd.sock" registrations; }
check "sipshardctl registrations: registered, for 4 s at most, the last status 200" \
	test "$(regs | python3 -c "import json,sys; r=json.load(sys.stdin)[0]; print(r['name'], r['registrar'], r['aor'], r['registered'], 0 < r['expires_in_s'] <= 4, r['last_status'])")" \
	= "carrier 127.0.0.1:$R_PORT sip:acct-4471@trunk.test True True 200"
check "the log says for how long" \
	grep -q "registration carrier: registered at 127.0.0.1:$R_PORT for 4 s" "$WORK/register.log"
check "the registrar saw both registrations through, its own check of each password" \
	wait_exit 10 "$REG_PID"
check "the REGISTERs carried credentials for acct-4471 in realm trunk.test" \
	grep -q 'Authorization: Digest username="acct-4471", realm="trunk.test"' "$WORK/uas-$R_PORT.msg"
check "the refresh kept the Call-ID: one scenario call" \
	grep -q "Successful call.*|.*1 " "$WORK/uas-$R_PORT.out"
check "stats: 4 REGISTERs sent or more, 2 challenges answered, 2 answers 2xx" \
	wait_json "$STATS" '(j["controller"]["registers_sent"] >= 4, j["controller"]["register_challenges_answered"] >= 2, j["controller"]["registers_answered_2xx"])' "(True, True, 2)"
run_flow register "a call from the carrier to the registered Contact" uac_wait_bye.xml uas_bye.xml 1 \
	-s acct-4471
# the registrar is gone: the refresh is not answered, and the binding lapses
check "without the registrar the binding lapses when its 4 s are up" registered False 8
# metric_line: the registration's Prometheus line says it is not registered
metric_line() {
	python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$M_PORT/metrics', timeout=5).read().decode())" |
		grep -q '^sipshard_controller_registration_registered{registration="carrier"} 0$'
}
check "Prometheus: the registration by name, no longer registered" metric_line
stop_daemon
check "the daemon stopped cleanly" test -z "$(grep -i 'sanitizer\|leak' "$WORK/register.log")"
