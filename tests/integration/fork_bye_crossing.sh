#!/usr/bin/env bash
# The caller's BYE in the first fork's early dialog (RFC 3261 15) is still
# waiting for that fork's final when the second fork answers the call
# (13.2.2.4), through a running sipshardd, raw UDP caller and callee: the
# call is the second fork's, in the call's slot, under that fork's tag.
# The BYE ends the first fork's early dialog only: the caller gets its 200
# and the first fork's late 200 to it ends nothing more, so the caller's
# ACK and, later, its BYE in the call reach the second fork and that BYE's
# 200 comes back. The late 200 ended the call's slot, which the second
# fork's dialog had taken over: the second fork got no BYE and the
# caller's BYE was answered 481. The early BYE sent again (its 200 lost)
# gets the 200 again (RFC 3261 17.2.2), where it got 481.
# Ports: sipshardd 16870, the caller 16871, the callee 16872.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16870
B_PORT=16872
write_config "$WORK/fx.json"
start_daemon fx "$WORK/fx.json"

python3 - "$D_PORT" "$B_PORT" >"$WORK/fx.out" 2>&1 <<'PY'
import json, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Caller, fork_response, header, recv_first, status, tag_of, udp, vias_of

dport, bport = int(sys.argv[1]), int(sys.argv[2])
D = ("127.0.0.1", dport)
callee = udp(bport)
r = {}


def response(req, code, totag):
    return fork_response(req, code, totag, bport)


def bye_final(cseq, wait):
    m, _ = recv_first(c.sock, lambda x: status(x) >= 200 and
                      (header(x, "CSeq") or "") == "%d BYE" % cseq, wait)
    return status(m) if m else None


c = Caller(dport + 1, dport)
c.sock.sendto(c.request("INVITE", 1).encode(), D)
inv, _ = recv_first(callee, lambda m: m.startswith("INVITE "), 2)
got = {}
for f in ("f1", "f2"):
    callee.sendto(response(inv, "180 Ringing", f), D)
    got[f], _ = recv_first(c.sock, lambda m: status(m) == 180, 2)

# the caller's BYE in the first fork's early dialog: the fork does not
# answer it yet
c.to = header(got["f1"], "To")
early_bye = c.request("BYE", 2).encode()
c.sock.sendto(early_bye, D)
bye, bye_peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
r["early_bye_to"] = tag_of(header(bye, "To")) if bye else None

# the second fork answers meanwhile
callee.sendto(response(inv, "200 OK", "f2"), D)
ok, _ = recv_first(c.sock, lambda x: status(x) == 200 and "INVITE" in (header(x, "CSeq") or ""), 2)
r["answered_under_f2"] = ok is not None and tag_of(header(ok, "To")) == tag_of(header(got["f2"], "To"))
seen = []
if ok:
    c.to = header(ok, "To")
    c.sock.sendto(c.request("ACK", 1).encode(), D)
    m, _ = recv_first(callee, lambda x: x.startswith("ACK "), 2)
    seen.append(("ACK", tag_of(header(m, "To")) if m else None))
# the first fork's 200 to the BYE, late
if bye:
    callee.sendto(response(bye, "200 OK", "f1"), bye_peer)
r["early_bye_final"] = bye_final(2, 1)
time.sleep(0.3)
# that BYE sent again (as if its 200 were lost): the same 200 (RFC 3261
# 17.2.2), which sipshard gave it when the second fork took the call
c.sock.sendto(early_bye, D)
r["early_bye_again"] = bye_final(2, 1)

# the caller hangs up the call: its BYE reaches the second fork
if ok:
    c.sock.sendto(c.request("BYE", 3).encode(), D)
    m, peer = recv_first(callee, lambda x: x.startswith("BYE "), 1)
    seen.append(("BYE", tag_of(header(m, "To")) if m else None))
    if m:
        callee.sendto(response(m, "200 OK", "f2"), peer)
    seen.append(("final", bye_final(3, 1)))
r["in_dialog"] = seen
print(json.dumps(r))
PY
rc=$?
take_result "$WORK/fx.out"

check "the helper ran" test "$rc" = 0
check "the caller's BYE in the first fork's early dialog reaches that fork" \
	test "$(get 'j["early_bye_to"]')" = "f1"
check "the second fork's 200 meanwhile reaches the caller under that fork's tag" \
	test "$(get 'j["answered_under_f2"]')" = "True"
check "the caller's BYE in the first fork's early dialog gets its 200" \
	test "$(get 'j["early_bye_final"]')" = "200"
check "that BYE sent again gets the 200 again, not 481" \
	test "$(get 'j["early_bye_again"]')" = "200"
check "the caller's ACK and BYE reach the second fork, the BYE's 200 coming back" \
	test "$(get 'j["in_dialog"]')" = "[['ACK', 'f2'], ['BYE', 'f2'], ['final', 200]]"
check "stats: one call answered, ended by the caller" \
	wait_json "$WORK/fx.stats.json" \
	'j["controller"]["calls_answered"], j["controller"]["calls_failed"]' "1 0"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/fx.log"
