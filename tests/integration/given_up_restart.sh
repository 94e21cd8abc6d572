#!/usr/bin/env bash
# A leg B INVITE given up before a restart (persist_dialogs): a raw callee
# that sends nothing to an INVITE until Timer B (T1 100 ms: 6.4 s), the
# caller getting 408 and ACKing it; then sipshardd is killed (SIGKILL) and
# started again on the same run_dir, and the callee rings after all: its 180
# gets the CANCEL of that INVITE (its branch, CSeq number, Reason cause=408:
# RFC 3261 9.1), the CANCEL's 200 and the INVITE's 487 close it (the 487
# ACKed). Before, the given-up INVITEs were in the stopped process's memory
# only: the 180 was a counted drop and the callee rang on.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16836 # sipshardd; the caller is 16837, the callee 16838
KEEP_DIALOGS=1 # start_daemon: carry the set-up records over
CFG=$WORK/given_up_restart.json

cat >"$CFG" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "info",
  "management_socket": null, "run_dir": "$WORK/run", "persist_dialogs": true,
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "timers": { "t1_ms": 100 },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" },
                "target": "127.0.0.1:$((D_PORT + 2))" } ]
}
JSON
start_daemon before "$CFG"

# phase 1: the call given up at Timer B; the INVITE kept in $WORK/invite
python3 - "$D_PORT" "$WORK/invite" >"$WORK/phase1.out" 2>&1 <<'PY'
import json, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Caller, header, recv, recv_request, status, udp

dport, keep = int(sys.argv[1]), sys.argv[2]
D = ("127.0.0.1", dport)
b = udp(dport + 2)
a = Caller(dport + 1, dport)
req = a.request("INVITE", 1)
a.sock.sendto(req.encode(), D)
inv = recv_request(b, "INVITE", 3)
res = {"invite": inv is not None}
final, end = None, time.time() + 10
while time.time() < end and final is None:
    m = recv(a.sock, 0.2)
    if m and status(m) >= 200:
        final = m
res["final"] = status(final)
if final:
    # the ACK of the 408: the INVITE's branch and CSeq number (RFC 3261 17.1.1.3)
    ack = req.replace("INVITE sip:", "ACK sip:", 1).replace("CSeq: 1 INVITE", "CSeq: 1 ACK")
    ack = ack.replace("To: %s" % header(req, "To"), "To: %s" % header(final, "To"))
    a.sock.sendto(ack.encode(), D)
if inv:
    open(keep, "w", newline="").write(inv)
time.sleep(0.3)
print(json.dumps(res))
PY
sed 's/^/# /' "$WORK/phase1.out"
R1=$(tail -1 "$WORK/phase1.out")
r1() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$R1" "$1" 2>/dev/null; }
check "the callee got the INVITE and sent nothing: the caller got 408 at Timer B" \
	test "$(r1 invite)/$(r1 final)" = "True/408"

kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
start_daemon after "$CFG"

# phase 2: the callee rings after all, to the new process
python3 - "$D_PORT" "$WORK/invite" >"$WORK/phase2.out" 2>&1 <<'PY'
import json, sys
sys.path.insert(0, "tests/integration")
from rawua import branch, header, recv_request, respond, udp

dport, keep = int(sys.argv[1]), sys.argv[2]
D = ("127.0.0.1", dport)
b = udp(dport + 2)
inv = open(keep, newline="").read()  # its CRLFs as they are
respond(b, inv, D, "180 Ringing", totag="late")
cancel = recv_request(b, "CANCEL", 2)
res = {"cancel": cancel is not None}
if cancel:
    res["same_branch"] = branch(cancel) == branch(inv)
    res["cseq"] = header(cancel, "CSeq")
    res["reason"] = header(cancel, "Reason")
    respond(b, cancel, D, "200 OK", totag="late")
    respond(b, inv, D, "487 Request Terminated", totag="late")
    res["acked"] = recv_request(b, "ACK", 2) is not None
print(json.dumps(res))
PY
sed 's/^/# /' "$WORK/phase2.out"
R2=$(tail -1 "$WORK/phase2.out")
r2() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$R2" "$1" 2>/dev/null; }
check "after the restart, the callee's 180 gets the CANCEL of the INVITE given up" \
	test "$(r2 cancel)/$(r2 same_branch)" = "True/True"
check "the CANCEL's CSeq is the INVITE's number, its Reason Timer B's" \
	test "$(r2 cseq)/$(r2 reason)" = '1 CANCEL/SIP;cause=408;text="Request Timeout"'
check "the 487 that follows is ACKed" test "$(r2 acked)" = True
check "stats of the new process: late_provisionals_cancelled 1, no late_provisionals" \
	wait_json "$WORK/after.stats.json" \
	'(j["controller"]["late_provisionals_cancelled"], j["controller"]["late_provisionals"])' "(1, 0)"
stop_daemon
check "the daemon stopped cleanly" test -z "$(grep -i 'sanitizer\|leak' "$WORK/after.log")"
