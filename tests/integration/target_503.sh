#!/usr/bin/env bash
# A target's 503 that reaches the caller goes as 500 (RFC 3261 16.7 item
# 6): an upstream proxy that took a 503 from sipshardd, and its Retry-After,
# as about sipshardd itself would stop sending it every call, not only this
# route's. A single-target route whose target answers 503 with Retry-After
# 60 and a Reason: the caller gets 500 Server Internal Error with the
# Reason and without the Retry-After; the target is ACKed and is still out
# of service for the Retry-After; the CDR says 500, the statistics count it.
# A route that does not fail over on 503 does the same with a target left.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16584 # the probing caller is at D_PORT+2
B_PORT=16587 # route one's target: 503, Retry-After 60
NOFO=16589   # route nofo's first target: 503, Retry-After 60
LEFT=16588   # route nofo's second target: notes INVITEs, answers none
STATS=$WORK/target_503.stats.json
CDR=$WORK/cdr.jsonl

cat >"$WORK/target_503.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "management_socket": "$WORK/target_503.sock",
  "cdr_file": "$CDR",
  "routes": [
    { "name": "nofo", "match": { "user_prefix": "nofo" }, "failover_on": [408],
      "targets": [ "127.0.0.1:$NOFO", "127.0.0.1:$LEFT" ] },
    { "name": "one", "target": "127.0.0.1:$B_PORT" }
  ]
}
JSON
start_daemon target_503 "$WORK/target_503.json"

# probe_500 WHAT NAME USER: a call to USER whose caller must get 500 without
# Retry-After (its messages in $WORK/uac-NAME.msg)
probe_500() {
	if sipp_uac "$2" "$D_PORT" probe_invite_500.xml -s "$3" -m 1 -i 127.0.0.1 \
		-p "$((D_PORT + 2))"; then
		ok "$1"
	else
		not_ok "$1"
		tail -3 "$WORK/uac-$2.out" | sed 's/^/#   /'
	fi
}
# the final the caller NAME got, as its message trace holds it
final_of() {
	python3 - "$WORK/uac-$1.msg" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
# each message SIPp received follows a line "... message received [N] bytes :"
got = re.split(r"message received \[\d+\] bytes :\s*\n", text)[1:]
finals = [m for m in got if re.match(r"SIP/2\.0 [2-6]\d\d ", m)]
print(finals[0].split("\n\n")[0] if finals else "")
PY
}
# check_final NAME: a 500 Server Internal Error with the target's Reason and no Retry-After
check_final() {
	local f
	f=$(final_of "$1")
	echo "$f" | head -1 | grep -q "^SIP/2.0 500 Server Internal Error" &&
		echo "$f" | grep -q '^Reason: Q.850;cause=42;text="Switching equipment congestion"' &&
		! echo "$f" | grep -qi '^Retry-After' || {
		echo "# the final: $(echo "$f" | tr '\r\n' '  ' | head -c 600)"
		return 1
	}
}

# ---- a single-target route ---------------------------------------------------
sipp_uas "$B_PORT" uas_503_retry_after.xml -m 1
UAS=${PIDS[-1]}
probe_500 "the target's 503 reaches the caller as 500" one one1
check "the 500 names itself Server Internal Error, keeps the Reason, has no Retry-After" \
	check_final one
check "the target got the ACK of its 503" wait_exit 5 "$UAS"
check "counted: controller.target_503_sent_as_500 1, the target out for its Retry-After" \
	wait_json "$STATS" '[j["controller"][k] for k in ("target_503_sent_as_500", "targets_retry_after", "calls_failed")]' "[1, 1, 1]"
check "the log says the target is out for 60 s" \
	wait_text "$WORK/target_503.log" "target 127.0.0.1:$B_PORT answered 503 with Retry-After 60"
check "the CDR says what the caller got: 500, failed" python3 - "$CDR" "127.0.0.1:$B_PORT" <<'PY'
import json, sys, time
for _ in range(50):
    try:
        recs = [json.loads(l) for l in open(sys.argv[1])]
    except FileNotFoundError:
        recs = []
    if recs:
        break
    time.sleep(0.1)
print("# %s" % [(r.get("status"), r.get("disposition"), r.get("target")) for r in recs])
sys.exit(0 if [(r["status"], r["disposition"], r["target"]) for r in recs] == [(500, "failed", sys.argv[2])] else 1)
PY

# ---- a route that does not fail over on 503 -----------------------------------
sip_target 127.0.0.1 "$LEFT" "$WORK/left.callids" "$WORK/left.up"
sipp_uas "$NOFO" uas_503_retry_after.xml -m 1
UAS=${PIDS[-1]}
probe_500 "503 not in failover_on: the caller gets 500" nofo nofo1
check "its 500 too has the Reason and no Retry-After" check_final nofo
check "the first target got the ACK of its 503" wait_exit 5 "$UAS"
check "the second target got no INVITE" test ! -s "$WORK/left.callids"
check "counted: 2 sent as 500" \
	wait_json "$STATS" 'j["controller"]["target_503_sent_as_500"]' 2

stop_daemon
check "no sanitizer report" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$WORK/target_503.log'"
[ "$NOT_OK" -eq 0 ]
