#!/usr/bin/env bash
# The callee's 200 after the caller ended the call's early dialog with a BYE
# (RFC 3261 15), through a running sipshardd, raw UDP caller and callee: the
# callee gets the ACK and a BYE for it (13.2.2.4), and the caller, which
# holds no dialog to confirm, gets 487 for its INVITE (15.1.2), not the 200
# (it was relayed with no dialog behind it, and the callee's 200 went on
# unACKed). A second call, whose callee forks: the first fork's 200 after
# the caller's BYE in that fork's early dialog is ACKed and ended, and the
# caller gets 487 there too: a 2xx is leg B's final, after which a forking
# proxy cancels its other forks and sends no other final (RFC 3261 16.7), so
# the call rang on until no_answer_s; the second fork's 180 after it reaches
# the caller no more. A third call: the caller ends the first fork's early
# dialog and the second fork answers: the call is that fork's, the caller's
# ACK and BYE reaching it (the call's slot was freed with the first fork's
# early dialog, and the 200 reached the caller with no dialog behind it).
# A fourth call: the caller's BYE in the second fork's early dialog, sent
# again after that fork's 200 to it ended that dialog (the 200 lost), gets
# the 200 again, as the BYE's server transaction would (17.2.2), not 481.
# Ports: sipshardd 16840, the callers 16841 and 16843, the callee 16842.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16840
B_PORT=16842
write_config "$WORK/eb.json"
start_daemon eb "$WORK/eb.json"

python3 - "$D_PORT" "$B_PORT" >"$WORK/eb.out" 2>&1 <<'PY'
import json, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Caller, fork_response, header, recv_first, status, tag_of, udp, vias_of

dport, bport = int(sys.argv[1]), int(sys.argv[2])
D = ("127.0.0.1", dport)
callee = udp(bport)
r = {}


def response(req, code, totag):
    return fork_response(req, code, totag, bport)


def ring(c, forks):
    c.sock.sendto(c.request("INVITE", 1).encode(), D)
    inv, _ = recv_first(callee, lambda m: m.startswith("INVITE "), 2)
    got = {}
    for f in forks:
        callee.sendto(response(inv, "180 Ringing", f), D)
        got[f], _ = recv_first(c.sock, lambda m: status(m) == 180, 2)
    return inv, got


def early_bye(c, ringing, fork):
    """The caller's BYE in the early dialog of ringing (a 180); the callee
    answers it 200 as fork."""
    c.to = header(ringing, "To")
    c.sock.sendto(c.request("BYE", 2).encode(), D)
    bye, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
    if bye:
        callee.sendto(response(bye, "200 OK", fork), peer)
        recv_first(c.sock, lambda x: status(x) == 200 and "BYE" in (header(x, "CSeq") or ""), 2)
    time.sleep(0.3)  # the worker's end of that early dialog reaches the controller
    return tag_of(header(bye, "To")) if bye else None


def answer_after(c, inv, fork):
    """fork's 200 to leg B's INVITE: what the callee got for it (ACK, BYE,
    answering the BYE) and what the caller got."""
    callee.sendto(response(inv, "200 OK", fork), D)
    seen, to_caller = [], []
    end = time.time() + 1.5
    while time.time() < end:
        m, peer = recv_first(callee, lambda x: x.startswith("ACK ") or x.startswith("BYE "), 0.1)
        if m:
            seen.append((m.split(" ")[0], tag_of(header(m, "To"))))
            if m.startswith("BYE "):
                callee.sendto(response(m, "200 OK", fork), peer)
        a, _ = recv_first(c.sock, lambda x: status(x) >= 100, 0.05)
        if a:
            to_caller.append(status(a))
            if status(a) >= 300:
                c.to = header(a, "To")
                c.sock.sendto(c.request("ACK", 1).encode(), D)
    return sorted(set(seen)), sorted(set(to_caller))


# ---- call 1: one callee ---------------------------------------------------
c = Caller(dport + 1, dport)
inv, got = ring(c, ["b1"])
r["early_bye_to"] = early_bye(c, got["b1"], "b1")
r["got"], r["to_caller"] = answer_after(c, inv, "b1")
c.sock.close()

# ---- call 2: two forks, the first one's early dialog ended -----------------
c = Caller(dport + 3, dport)
inv, got = ring(c, ["f1", "f2"])
r["fork_early_bye_to"] = early_bye(c, got["f1"], "f1")
r["fork_got"], r["fork_to_caller"] = answer_after(c, inv, "f1")
callee.sendto(response(inv, "180 Ringing", "f2"), D)
m, _ = recv_first(c.sock, lambda x: status(x) == 180, 0.5)
r["f2_rings"] = m is not None
c.sock.close()

# ---- call 3: two forks, the first one's early dialog ended, the second answers
c = Caller(dport + 1, dport)
inv, got = ring(c, ["g1", "g2"])
r["kept_early_bye_to"] = early_bye(c, got["g1"], "g1")
callee.sendto(response(inv, "200 OK", "g2"), D)
ok, _ = recv_first(c.sock, lambda x: status(x) == 200 and "INVITE" in (header(x, "CSeq") or ""), 2)
r["kept_answered_under_g2"] = ok is not None and tag_of(header(ok, "To")) == tag_of(
    header(got["g2"], "To"))
seen = []
if ok:
    c.to = header(ok, "To")
    c.sock.sendto(c.request("ACK", 1).encode(), D)
    m, _ = recv_first(callee, lambda x: x.startswith("ACK "), 2)
    seen.append(("ACK", tag_of(header(m, "To")) if m else None))
    c.sock.sendto(c.request("BYE", 3).encode(), D)
    m, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
    seen.append(("BYE", tag_of(header(m, "To")) if m else None))
    if m:
        callee.sendto(response(m, "200 OK", "g2"), peer)
        m, _ = recv_first(c.sock, lambda x: status(x) == 200 and "BYE" in (header(x, "CSeq") or ""), 2)
        seen.append(("200", m is not None))
r["kept_in_dialog"] = seen
c.sock.close()

# ---- call 4: two forks, the caller ends the second one's early dialog and
# sends that BYE again (its 200 lost): the same 200 again, not 481 ---------
c = Caller(dport + 3, dport)
inv, got = ring(c, ["h1", "h2"])
c.to = header(got["h2"], "To")
c.sock.sendto(c.request("BYE", 2).encode(), D)
bye, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
r["second_bye_to"] = tag_of(header(bye, "To")) if bye else None
if bye:
    callee.sendto(response(bye, "200 OK", "h2"), peer)
    m, _ = recv_first(c.sock, lambda x: "BYE" in (header(x, "CSeq") or ""), 2)
    r["second_bye_answer"] = status(m) if m else None
time.sleep(0.3)  # the worker has freed that early dialog
c.sock.sendto(c.request("BYE", 2).encode(), D)
m, _ = recv_first(c.sock, lambda x: "BYE" in (header(x, "CSeq") or ""), 2)
r["second_bye_again"] = status(m) if m else None
m, _ = recv_first(callee, lambda x: x.startswith("BYE "), 0.3)
r["second_bye_again_relayed"] = m is not None
print(json.dumps(r))
PY
rc=$?
take_result "$WORK/eb.out"

check "the helper ran" test "$rc" = 0
check "the caller's BYE in the early dialog reaches the callee" test "$(get 'j["early_bye_to"]')" = "b1"
check "the callee's 200 after it: ACKed and ended with a BYE" \
	test "$(get 'j["got"]')" = "[['ACK', 'b1'], ['BYE', 'b1']]"
check "the callee's 200 after it: the caller gets 487, not the 200" \
	test "$(get 'j["to_caller"]')" = "[487]"
check "forking: the caller's BYE in the first fork's early dialog reaches it" \
	test "$(get 'j["fork_early_bye_to"]')" = "f1"
check "forking: the first fork's 200 after it: ACKed and ended with a BYE" \
	test "$(get 'j["fork_got"]')" = "[['ACK', 'f1'], ['BYE', 'f1']]"
check "forking: the caller gets 487, not the 200" \
	test "$(get 'j["fork_to_caller"]')" = "[487]"
check "forking: the second fork's 180 after it does not reach the caller" \
	test "$(get 'j["f2_rings"]')" = "False"
check "forking, the second fork answering: the caller's BYE in the first fork's early dialog reaches it" \
	test "$(get 'j["kept_early_bye_to"]')" = "g1"
check "forking: the second fork's 200 after it reaches the caller under that fork's tag" \
	test "$(get 'j["kept_answered_under_g2"]')" = "True"
check "forking: the caller's ACK and BYE reach the second fork, and the BYE's 200 comes back" \
	test "$(get 'j["kept_in_dialog"]')" = "[['ACK', 'g2'], ['BYE', 'g2'], ['200', True]]"
check "forking: the caller's BYE in the second fork's early dialog reaches it, and its 200 the caller" \
	test "$(get 'j["second_bye_to"], j["second_bye_answer"]')" = "h2 200"
check "forking: that BYE sent again after the early dialog ended gets its 200 again, not 481 (RFC 3261 17.2.2)" \
	test "$(get 'j["second_bye_again"], j["second_bye_again_relayed"]')" = "200 False"
check "stats: the two 2xx ended, two calls failed (487), one answered, two slots kept for a fork" \
	wait_json "$WORK/eb.stats.json" \
	'j["controller"]["stale_answers_ended"], j["controller"]["calls_failed"], j["controller"]["calls_answered"], j["controller"]["first_forks_ended"]' "2 2 1 2"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/eb.log"
