#!/usr/bin/env bash
# A forking callee's second fork sends a BYE in its early dialog (RFC 3261
# 15 wants none before the 2xx, but a callee may send one), through a
# running sipshardd, raw UDP caller and callee: the BYE reaches the caller
# under that fork's tag toward it, the caller's 200 crosses back and ends
# that early dialog, and the BYE sent again (as if that 200 were lost) gets
# the 200 again (17.2.2), where it got 481: the final was kept under the
# fork's slot, which the BYE's To tag, sipshard's tag toward every fork,
# does not name. A BYE from a fork tag no dialog has gets 481, and the
# first fork still answers the call, the caller's ACK and BYE reaching it.
# Ports: sipshardd 17100, the caller 17101, the callee 17102.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=17100
B_PORT=17102
write_config "$WORK/fcb.json"
start_daemon fcb "$WORK/fcb.json"

python3 - "$D_PORT" "$B_PORT" >"$WORK/fcb.out" 2>&1 <<'PY'
import json, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Caller, fork_response, header, recv_first, respond, status, tag_of, udp

dport, bport = int(sys.argv[1]), int(sys.argv[2])
D = ("127.0.0.1", dport)
callee = udp(bport)
r = {}

c = Caller(dport + 1, dport)
c.sock.sendto(c.request("INVITE", 1).encode(), D)
inv, _ = recv_first(callee, lambda m: m.startswith("INVITE "), 2)
got = {}
for f in ("f1", "f2"):
    callee.sendto(fork_response(inv, "180 Ringing", f, bport), D)
    got[f], _ = recv_first(c.sock, lambda m: status(m) == 180, 2)
f2_tag = tag_of(header(got["f2"], "To")) if got["f2"] else None


def callee_bye(fork, cseq):
    """fork's BYE in its early dialog: To sipshard's tag toward the callee
    (the INVITE's From), From the fork's tag; its final, or None."""
    msg = ("BYE sip:caller@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKcbye%s%d\r\n"
           "From: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d BYE\r\n"
           "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
           % (dport, bport, fork, cseq, header(inv, "To"), fork, header(inv, "From"),
              header(inv, "Call-ID"), cseq))
    callee.sendto(msg.encode(), D)


def callee_final(cseq, wait):
    m, _ = recv_first(callee, lambda x: status(x) >= 200 and
                      (header(x, "CSeq") or "") == "%d BYE" % cseq, wait)
    return status(m) if m else None


callee_bye("f2", 7)
bye, bye_peer = recv_first(c.sock, lambda x: x.startswith("BYE "), 2)
r["bye_from"] = tag_of(header(bye, "From")) == f2_tag if bye else None
if bye:
    respond(c.sock, bye, bye_peer, "200 OK")
r["bye_final"] = callee_final(7, 1)
time.sleep(0.3)
callee_bye("f2", 7)
r["bye_again"] = callee_final(7, 1)
callee_bye("f9", 7)
r["stranger"] = callee_final(7, 1)

# the first fork answers: the call is up under its tag
callee.sendto(fork_response(inv, "200 OK", "f1", bport), D)
ok, _ = recv_first(c.sock, lambda x: status(x) == 200 and "INVITE" in (header(x, "CSeq") or ""), 2)
seen = []
if ok:
    seen.append(("200", tag_of(header(ok, "To")) == tag_of(header(got["f1"], "To"))))
    c.to = header(ok, "To")
    c.sock.sendto(c.request("ACK", 1).encode(), D)
    m, _ = recv_first(callee, lambda x: x.startswith("ACK "), 2)
    seen.append(("ACK", tag_of(header(m, "To")) if m else None))
    c.sock.sendto(c.request("BYE", 2).encode(), D)
    m, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
    seen.append(("BYE", tag_of(header(m, "To")) if m else None))
    if m:
        callee.sendto(fork_response(m, "200 OK", "f1", bport), peer)
    f, _ = recv_first(c.sock, lambda x: status(x) >= 200 and "BYE" in (header(x, "CSeq") or ""), 2)
    seen.append(("final", status(f) if f else None))
r["call"] = seen
print(json.dumps(r))
PY
rc=$?
take_result "$WORK/fcb.out"

check "the helper ran" test "$rc" = 0
check "the second fork's BYE in its early dialog reaches the caller under that fork's tag" \
	test "$(get 'j["bye_from"]')" = "True"
check "the caller's 200 to it reaches the fork" test "$(get 'j["bye_final"]')" = "200"
check "that BYE sent again gets the 200 again, not 481" test "$(get 'j["bye_again"]')" = "200"
check "a BYE from a fork tag of no dialog gets 481" test "$(get 'j["stranger"]')" = "481"
check "the first fork's 200 answers the call, the caller's ACK and BYE reaching it" \
	test "$(get 'j["call"]')" = "[['200', True], ['ACK', 'f1'], ['BYE', 'f1'], ['final', 200]]"
check "stats: one call answered, one BYE answered from ended[]" \
	wait_json "$WORK/fcb.stats.json" \
	'j["controller"]["calls_answered"], sum(w["bye_replayed"] for w in j["workers"])' "1 1"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/fcb.log"
