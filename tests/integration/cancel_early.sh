#!/usr/bin/env bash
# The caller's CANCEL before the callee sent any provisional, through a
# running sipshardd with raw UDP caller and callees, T1 50 ms (Timer B at
# 3.2 s). RFC 3261 9.1 keeps leg B's CANCEL until a provisional comes, and
# the caller once waited with it for its 487: until Timer B when none came.
# sipshard is the caller's UAS (9.2): 200 and 487 at once; leg B's INVITE is
# no longer sent again (Timer A); the callee's late 180 gets the CANCEL of
# that INVITE (its branch, its Request-URI although the caller's Request-URI
# user is not its To user, the caller's Reason), and its 200 that crossed it
# ACK and BYE. Then a call that fails over from a silent target: that
# target's late 180 gets the CANCEL with its INVITE's Request-URI, not its
# To URI (RFC 3261 9.1), as it once did.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the controller keeps what it needs
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16740 # sipshardd; the callers 16741 and 16744
B_PORT=16742    # the callee of the first call
LEFT_PORT=16745 # the second call's first target: silent until it rings late
B2_PORT=16743   # the second call's second target

cat >"$WORK/early.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "info",
  "run_dir": "$WORK/run", "persist_dialogs": false,
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "timers": { "t1_ms": 50 },
  "routes": [ { "name": "left", "match": { "user_prefix": "left" },
                "targets": [ "127.0.0.1:$LEFT_PORT", "127.0.0.1:$B2_PORT" ], "failover_ms": 400 },
              { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
start_daemon early "$WORK/early.json"

python3 - "$D_PORT" "$B_PORT" "$B2_PORT" "$LEFT_PORT" >"$WORK/early.out" 2>&1 <<'PY'
import json, sys, time
sys.path.insert(0, "tests/integration")
from rawua import (Caller, branch, drain, header, recv, recv_first, recv_request, respond,
                   ruri, status, udp, vias_of)

dport, bport, b2port, lport = (int(a) for a in sys.argv[1:5])
D = ("127.0.0.1", dport)
callee, callee2, left_callee = udp(bport), udp(b2port), udp(lport)
REASON = 'SIP;cause=200;text="Call completed elsewhere"'
res = {}


def ack_of(caller, invite, final):
    return ("ACK %s SIP/2.0\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (ruri(invite), vias_of(invite), header(invite, "From"), header(final, "To"),
               caller.call_id))


# ---- 1: CANCEL before any provisional -----------------------------------
caller = Caller(dport + 1, dport)
caller.to = "<sip:someone@127.0.0.1:%d>" % dport  # not the Request-URI's user
invite_a = caller.request("INVITE", 1)
caller.sock.sendto(invite_a.encode(), D)
invite = recv_request(callee, "INVITE", 2)
res["ruri_not_to"] = bool(invite) and ("<%s>" % ruri(invite)) != header(invite, "To")
cancel_a = (invite_a.replace("INVITE sip:", "CANCEL sip:", 1)
            .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL")
            .replace("Content-Length: 0", "Reason: %s\r\nContent-Length: 0" % REASON))
t0 = time.time()
caller.sock.sendto(cancel_a.encode(), D)
got, final = [], None
while not final and time.time() < t0 + 5:
    m = recv(caller.sock, 0.1)
    if m and status(m) >= 200:
        got.append((status(m), header(m, "CSeq")))
        if header(m, "CSeq").endswith("INVITE"):
            final = m
res["caller_got"] = got
res["final_after_s"] = round(time.time() - t0, 2)
if final:
    caller.sock.sendto(ack_of(caller, invite_a, final).encode(), D)
# no more copies of leg B's INVITE (Timer A: 50, 100, 200 ... ms)
res["invites_after_cancel"] = sum(1 for m in drain(callee, 0.4) if m.startswith("INVITE "))

# the callee rings after all
respond(callee, invite, D, "180 Ringing", totag="late",
        extra="Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport)
cancel = recv_request(callee, "CANCEL", 1)
res["cancel"] = bool(cancel)
if cancel:
    res["cancel_of_invite"] = [branch(cancel) == branch(invite), ruri(cancel) == ruri(invite),
                               header(cancel, "Call-ID") == header(invite, "Call-ID"),
                               ";tag=" not in header(cancel, "To"),
                               header(cancel, "CSeq").split()[0] == header(invite, "CSeq").split()[0]]
    res["cancel_reason"] = header(cancel, "Reason")
    respond(callee, cancel, D, "200 OK", totag="late")
# its 200 that crossed the CANCEL
respond(callee, invite, D, "200 OK", totag="late",
        extra="Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport)
after, end = [], time.time() + 1
while time.time() < end:
    m = recv(callee, 0.1)
    if m and not m.startswith("SIP/2.0"):
        after.append(m.split(" ")[0])
        if m.startswith("BYE "):
            respond(callee, m, D, "200 OK")
res["after_200"] = after
res["caller_heard"] = [status(m) for m in drain(caller.sock, 0.2)]

# ---- 2: the target left after failover_ms rings --------------------------
caller2 = Caller(dport + 4, dport)
caller2.to = "<sip:someone@127.0.0.1:%d>" % dport
invite2_a = caller2.request("INVITE", 1).replace("INVITE sip:callee@", "INVITE sip:leftcallee@", 1)
caller2.sock.sendto(invite2_a.encode(), D)
left = recv_request(left_callee, "INVITE", 2)
now_at = recv_request(callee2, "INVITE", 2)  # after 400 ms of silence
res["failed_over"] = bool(left) and bool(now_at)
if now_at:
    respond(callee2, now_at, D, "100 Trying")
if left:
    drain(left_callee, 0.1)
    respond(left_callee, left, D, "180 Ringing", totag="left",
            extra="Contact: <sip:callee@127.0.0.1:%d>\r\n" % lport)
    c2 = recv_request(left_callee, "CANCEL", 1)
    res["left_cancel"] = bool(c2)
    if c2:
        res["left_cancel_of_invite"] = [branch(c2) == branch(left), ruri(c2) == ruri(left),
                                        ";tag=" not in header(c2, "To")]
        respond(left_callee, c2, D, "200 OK", totag="left")
        respond(left_callee, left, D, "487 Request Terminated", totag="left")
if now_at:
    respond(callee2, now_at, D, "486 Busy Here", totag="b2")
fin2, _ = recv_first(caller2.sock, lambda m: status(m) >= 200, 2)
res["caller2_final"] = status(fin2)
if fin2:
    caller2.sock.sendto(ack_of(caller2, invite2_a, fin2).encode(), D)
print(json.dumps(res))
PY
rc=$?
take_result "$WORK/early.out"

check "the helper ran" test "$rc" = 0
check "leg B's Request-URI is not its To URI (the caller's Request-URI user is not its To user)" \
	test "$(get 'j["ruri_not_to"]')" = "True"
check "CANCEL before any provisional: the caller gets 200, then 487" \
	test "$(get 'j["caller_got"]')" = "[[200, '1 CANCEL'], [487, '1 INVITE']]"
check "... at once, not at Timer B (3.2 s)" \
	test "$(get 'j["final_after_s"] < 0.5')" = "True"
check "leg B's INVITE is not sent again after it" test "$(get 'j["invites_after_cancel"]')" = "0"
check "the callee's late 180 gets a CANCEL" test "$(get 'j["cancel"]')" = "True"
check "the CANCEL of that INVITE: its branch, Request-URI, Call-ID, To without tag, CSeq number (RFC 3261 9.1)" \
	test "$(get 'j["cancel_of_invite"]')" = "[True, True, True, True, True]"
check "the CANCEL carries the caller's Reason" \
	test "$(get 'j["cancel_reason"]')" = 'SIP;cause=200;text="Call completed elsewhere"'
check "the callee's 200 that crossed it: ACKed and ended with a BYE" \
	test "$(get 'j["after_200"]')" = "['ACK', 'BYE']"
check "the caller hears none of it" test "$(get 'j["caller_heard"]')" = "[]"
check "a silent target: the call fails over" test "$(get 'j["failed_over"]')" = "True"
check "that target's late 180 gets the CANCEL of its INVITE: its branch, Request-URI (not the To URI), To without tag" \
	test "$(get 'j["left_cancel"], j["left_cancel_of_invite"]')" = "True [True, True, True]"
check "the call goes on at the other target: its 486 reaches the caller" \
	test "$(get 'j["caller2_final"]')" = "486"
sleep 1.2 # a stats write
check "counted: calls_cancelled 1, late_provisionals_cancelled 1, stale_provisionals_cancelled 1, stale_answers_ended 1" \
	wait_json "$WORK/early.stats.json" \
	'j["controller"]["calls_cancelled"], j["controller"]["late_provisionals_cancelled"], j["controller"]["stale_provisionals_cancelled"], j["controller"]["stale_answers_ended"]' "1 1 1 1"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/early.log"
