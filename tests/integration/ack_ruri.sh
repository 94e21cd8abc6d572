#!/usr/bin/env bash
# The ACK sipshard sends for a non-2xx final to a leg B INVITE it gave up,
# through a running sipshardd with raw UDP caller and callees, T1 50 ms. The
# caller's Request-URI user (callee) is not its To user (someone), so leg B's
# INVITE has Request-URI sip:callee@TARGET and To sip:someone@TARGET:
#  1. a silent callee answers 486 after Timer B, after the caller had its 408
#     and ACKed it (the record is gone), and again (our ACK was lost);
#  2. a route's first target, left after failover_ms for the second, which
#     answers 200, answers 486 late, and again.
# Each 486 gets an ACK whose Request-URI is the INVITE's (RFC 3261 17.1.1.3:
# "The Request-URI ... MUST be equal to the Request-URI of the original
# request being acknowledged"), with the INVITE's branch, Call-ID, From and
# CSeq number and the 486's To. It took the 486's To URI, sip:someone@...
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the controller keeps what it needs
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16790    # sipshardd; the callers 16791 and 16794
B_PORT=16792    # the callee of the first call, silent until Timer B
LEFT_PORT=16793 # the second call's first target: silent until it is left
B2_PORT=16795   # the second call's second target: answers 200

cat >"$WORK/ackruri.json" <<JSON
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
start_daemon ackruri "$WORK/ackruri.json"

python3 - "$D_PORT" "$B_PORT" "$LEFT_PORT" "$B2_PORT" >"$WORK/ackruri.out" 2>&1 <<'PY'
import json, sys, time
sys.path.insert(0, "tests/integration")
from rawua import (Caller, branch, drain, header, recv, recv_request, respond, ruri, status,
                   udp, vias_of)

dport, bport, leftport, b2port = (int(a) for a in sys.argv[1:5])
D = ("127.0.0.1", dport)
res = {}


def final_of(sock, t):
    end = time.time() + t
    while time.time() < end:
        m = recv(sock, 0.2)
        if m and m.startswith("SIP/2.0") and status(m) >= 200:
            return m
    return None


def ack_caller(caller, invite_a, final):
    caller.sock.sendto(("ACK sip:callee@127.0.0.1:%d SIP/2.0\r\n%sFrom: %s\r\nTo: %s\r\n"
                        "Call-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0"
                        "\r\n\r\n" % (dport, vias_of(invite_a), header(invite_a, "From"),
                                      header(final, "To"), caller.call_id)).encode(), D)


def acks_of_486(sock, invite):
    """The callee answers invite 486 twice (the second as if our ACK was
    lost): what each ACK it gets says, against the INVITE."""
    out = []
    for _ in range(2):
        respond(sock, invite, D, "486 Busy Here", totag="busy")
        ack = recv_request(sock, "ACK", 1)
        if not ack:
            out.append(None)
            continue
        out.append([ruri(ack), ruri(ack) == ruri(invite), branch(ack) == branch(invite),
                    header(ack, "Call-ID") == header(invite, "Call-ID"),
                    header(ack, "From") == header(invite, "From"),
                    header(ack, "CSeq").split()[0] == header(invite, "CSeq").split()[0],
                    header(ack, "To").endswith(";tag=busy")])
    return out


# 1. Timer B, the caller ACKs its 408, then the callee's 486
callee = udp(bport)
caller = Caller(dport + 1, dport)
caller.to = "<sip:someone@127.0.0.1:%d>" % dport
invite_a = caller.request("INVITE", 1)
caller.sock.sendto(invite_a.encode(), D)
invite = recv_request(callee, "INVITE", 2)
res["c1_invite"] = [ruri(invite), header(invite, "To")] if invite else None
final = final_of(caller.sock, 6)
res["c1_caller_final"] = status(final) if final else None
if final:
    ack_caller(caller, invite_a, final)
time.sleep(0.3)
drain(callee, 0.05)  # the INVITE's copies (Timer A)
res["c1_acks"] = acks_of_486(callee, invite) if invite else None

# 2. a target left after failover_ms answers 486
left, b2 = udp(leftport), udp(b2port)
caller2 = Caller(dport + 4, dport)
caller2.to = "<sip:someone@127.0.0.1:%d>" % dport
invite_a = caller2.request("INVITE", 1).replace("sip:callee@", "sip:left@", 1)
caller2.sock.sendto(invite_a.encode(), D)
invite = recv_request(left, "INVITE", 2)
res["c2_invite"] = [ruri(invite), header(invite, "To")] if invite else None
inv2 = recv_request(b2, "INVITE", 2)
if inv2:
    respond(b2, inv2, D, "200 OK", totag="b2",
            extra="Contact: <sip:left@127.0.0.1:%d>\r\n" % b2port)
final = final_of(caller2.sock, 3)
res["c2_caller_final"] = status(final) if final else None
drain(left, 0.05)
res["c2_acks"] = acks_of_486(left, invite) if invite else None
print(json.dumps(res))
PY
rc=$?
take_result "$WORK/ackruri.out"

check "the helper ran" test "$rc" = 0
check "1. leg B's INVITE: Request-URI sip:callee@, To sip:someone@ (the caller's)" \
	test "$(get 'j["c1_invite"]')" = "['sip:callee@127.0.0.1:$B_PORT', '<sip:someone@127.0.0.1:$B_PORT>']"
check "1. the caller gets 408 at Timer B" test "$(get 'j["c1_caller_final"]')" = "408"
check "1. the callee's late 486, and again: each ACKed with the INVITE's Request-URI, branch, Call-ID, From, CSeq number, the 486's To (RFC 3261 17.1.1.3)" \
	test "$(get 'j["c1_acks"]')" = "[['sip:callee@127.0.0.1:$B_PORT', True, True, True, True, True, True], ['sip:callee@127.0.0.1:$B_PORT', True, True, True, True, True, True]]"
check "2. the call goes to the second target, answered 200" test "$(get 'j["c2_caller_final"]')" = "200"
check "2. the target left answers 486, and again: each ACKed with its INVITE's Request-URI and transaction" \
	test "$(get 'j["c2_acks"]')" = "[['sip:left@127.0.0.1:$LEFT_PORT', True, True, True, True, True, True], ['sip:left@127.0.0.1:$LEFT_PORT', True, True, True, True, True, True]]"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/ackruri.log"
