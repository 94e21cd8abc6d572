#!/usr/bin/env bash
# A callee that rings after sipshard gave its INVITE up, through a running
# sipshardd with raw UDP caller and callee, T1 50 ms (Timer B at 3.2 s): the
# callee sends nothing until the caller has its 408 (Timer B) and has ACKed
# it; then its 180 gets the CANCEL of that INVITE (its branch, Request-URI,
# Call-ID, CSeq number, a To without tag, Reason cause 408: RFC 3261 9.1,
# which lets a CANCEL go only once a provisional came), resent until
# answered, one only for a second provisional; the callee's 200 that crossed
# the CANCEL is ACKed and ended with a BYE (once; the 200 again gets the ACK
# again); the caller hears none of it. The 180 was dropped as unknown: the
# callee rang on until its own timeout and answered 200 to nobody.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the controller keeps what it needs
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16606 # sipshardd; the caller 16607, the callee 16608
B_PORT=16608

cat >"$WORK/late.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "info",
  "run_dir": "$WORK/run", "persist_dialogs": false,
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "timers": { "t1_ms": 50 },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
start_daemon late "$WORK/late.json"

python3 - "$D_PORT" "$B_PORT" >"$WORK/late.out" 2>&1 <<'PY'
import json, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Caller, branch, drain, header, recv, recv_request, respond, status, udp, vias_of

dport, bport = int(sys.argv[1]), int(sys.argv[2])
D = ("127.0.0.1", dport)
callee = udp(bport)
caller = Caller(dport + 1, dport)
res = {}


# the call: the callee keeps quiet until Timer B (64*T1 = 3.2 s)
invite_a = caller.request("INVITE", 1)
caller.sock.sendto(invite_a.encode(), D)
invite = recv_request(callee, "INVITE", 2)
final, end = None, time.time() + 6
while not final and time.time() < end:
    m = recv(caller.sock, 0.2)
    if m and status(m) >= 200:
        final = m
res["caller_final"] = status(final)
# the caller ACKs it (RFC 3261 17.1.1.3): the call's record is gone
caller.sock.sendto(("ACK sip:callee@127.0.0.1:%d SIP/2.0\r\n%sFrom: %s\r\nTo: %s\r\n"
                    "Call-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                    % (dport, vias_of(invite_a), header(invite_a, "From"), header(final, "To"),
                       caller.call_id)).encode(), D)
time.sleep(0.3)
while recv(callee, 0.05):  # the INVITE's copies (Timer A)
    pass

# it rings after all
respond(callee, invite, D, "180 Ringing", totag="late",
        extra="Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport)
cancel = recv_request(callee, "CANCEL", 1)
res["cancel"] = bool(cancel)
if cancel:
    res["cancel_same_txn"] = [branch(cancel) == branch(invite),
                              cancel.split(" ")[1] == invite.split(" ")[1],
                              header(cancel, "Call-ID") == header(invite, "Call-ID"),
                              header(cancel, "From") == header(invite, "From"),
                              ";tag=" not in header(cancel, "To"),
                              header(cancel, "CSeq").split()[0] == header(invite, "CSeq").split()[0]]
    res["cancel_reason"] = header(cancel, "Reason")
    respond(callee, invite, D, "183 Session Progress", totag="late")
    again = recv_request(callee, "CANCEL", 0.3)  # Timer E, T1 after it: the same CANCEL
    res["cancel_again_same"] = again == cancel
    respond(callee, cancel, D, "200 OK", totag="late")
    time.sleep(0.2)
    res["cancels_after_its_200"] = sum(1 for m in iter(lambda: recv(callee, 0.3), None)
                                       if m.startswith("CANCEL "))
# the 200 that crossed that CANCEL
ok = ("Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport)
respond(callee, invite, D, "200 OK", totag="late", extra=ok)
got, end = [], time.time() + 1
while time.time() < end:
    m = recv(callee, 0.1)
    if m and not m.startswith("SIP/2.0"):
        got.append(m.split(" ")[0])
        if m.startswith("BYE "):
            respond(callee, m, D, "200 OK")
res["after_200"] = got
respond(callee, invite, D, "200 OK", totag="late", extra=ok)  # not ACKed, it says
got, end = [], time.time() + 0.5
while time.time() < end:
    m = recv(callee, 0.1)
    if m and not m.startswith("SIP/2.0"):
        got.append(m.split(" ")[0])
res["after_200_again"] = got
res["caller_heard"] = [status(m) for m in drain(caller.sock, 0.2)]
print(json.dumps(res))
PY
rc=$?
take_result "$WORK/late.out"

check "the helper ran" test "$rc" = 0
check "the caller gets 408 at Timer B" test "$(get 'j["caller_final"]')" = "408"
check "the callee's late 180 gets a CANCEL" test "$(get 'j["cancel"]')" = "True"
check "the CANCEL of that INVITE: its branch, Request-URI, Call-ID, From, To without tag, CSeq number (RFC 3261 9.1)" \
	test "$(get 'j["cancel_same_txn"]')" = "[True, True, True, True, True, True]"
check "the CANCEL says why: Reason cause 408" \
	bash -c "grep -q '^SIP;cause=408' <<<\"\$1\"" _ "$(get 'j["cancel_reason"]')"
check "a second provisional sends no second CANCEL; Timer E resends the same until its 200" \
	test "$(get 'j["cancel_again_same"], j["cancels_after_its_200"]')" = "True 0"
check "the 200 that crossed it: ACKed and ended with a BYE" \
	test "$(get 'j["after_200"]')" = "['ACK', 'BYE']"
check "that 200 again: the ACK again, no second BYE" \
	test "$(get 'j["after_200_again"]')" = "['ACK']"
check "the caller hears none of it" test "$(get 'j["caller_heard"]')" = "[]"
sleep 1.2 # a stats write
check "counted: controller.late_provisionals_cancelled 1, stale_answers_ended 1, late_provisionals 1 (the 183)" \
	wait_json "$WORK/late.stats.json" \
	'j["controller"]["late_provisionals_cancelled"], j["controller"]["stale_answers_ended"], j["controller"]["late_provisionals"]' "1 1 1"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/late.log"
