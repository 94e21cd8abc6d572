#!/usr/bin/env bash
# A forking callee's early dialogs through a running sipshardd, raw UDP caller
# and callee (RFC 3261 12.1, 13.2.2.4; RFC 3262; RFC 3311):
#  - the second fork's own requests in its early dialog (INFO, then UPDATE
#    with an offer) reach the caller under that fork's To tag of ours, and
#    the caller's answers come back (they got 481: their To tag, leg B's
#    From tag, names the call's slot, which holds the first fork's);
#  - the daemon is killed (SIGKILL) and started again while both forks ring:
#    the caller's PRACK of the second fork's 183 still reaches that fork, its
#    UPDATE still reaches the caller, and its 200 reaches the caller under
#    its tag, the BYE after it going to it (the forks' early dialogs were
#    dropped at the re-attach: the PRACK got 481);
#  - a fork whose early dialog the caller ended (its BYE in it) answers 200
#    all the same: the callee gets ACK and BYE, and the caller 487, not the
#    200 (it reached the caller under the ended fork's tag): a 2xx is leg B's
#    final, after which a forking proxy cancels its other forks (RFC 3261
#    16.7); the other fork's 200 sent at the same moment is ended too;
#  - a call whose first fork's early dialog the caller ended while the second
#    rang, before the kill: after the start, the second fork's 200 answers
#    it under that fork's tag, the caller's ACK and BYE reaching that fork.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
KEEP_DIALOGS=1 # start_daemon: the second start takes the calls over
. tests/integration/common.bash

D_PORT=16810 # sipshardd; the callers 16811 and 16813, the callee 16812
B_PORT=16812

cat >"$WORK/fr.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "info",
  "run_dir": "$WORK/run",
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
start_daemon fr-1 "$WORK/fr.json"

python3 - "$D_PORT" "$B_PORT" "$WORK" >"$WORK/fr.out" 2>&1 <<'PY' &
import json, os, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Caller, fork_response, header, recv_first, respond, status, tag_of, udp, vias_of

dport, bport, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
D = ("127.0.0.1", dport)
callee = udp(bport)
OFFER = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
SDP = {f: "v=0\r\no=%s 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
          "m=audio %d RTP/AVP 0\r\n" % (f, 5000 + int(f[1])) for f in ("f1", "f2")}
r = {}


def response(req, code, totag, extra="", body=""):
    return fork_response(req, code, totag, bport, extra, body)


def fork_request(inv, fork, method, cseq, body=""):
    """Fork `fork`'s own request in its early dialog of leg B's INVITE inv."""
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s%s%d\r\n"
            "Max-Forwards: 70\r\nFrom: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
            "Contact: <sip:%s@127.0.0.1:%d>\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method, header(inv, "Contact").strip("<>"), bport, fork, method.lower(), cseq,
               header(inv, "To"), fork, header(inv, "From"), header(inv, "Call-ID"), cseq,
               method, fork, bport, "Content-Type: application/sdp\r\n" if body else "",
               len(body), body)).encode()


def h(msg, name):
    return header(msg, name) if msg else None


def callee_request_reaches_caller(c, inv, fork, method, cseq, ctag, body=""):
    """fork's request: whether the caller gets it under ctag (its From tag)
    and the caller's 200 gets back to the fork."""
    callee.sendto(fork_request(inv, fork, method, cseq, body), D)
    m, peer = recv_first(c.sock, lambda x: x.startswith(method + " "), 2)
    if not m:
        got, _ = recv_first(callee, lambda x: status(x) >= 300, 0.5)
        return "not relayed (%s)" % (status(got) or "nothing")
    if tag_of(header(m, "From")) != ctag:
        return "under %s" % tag_of(header(m, "From"))
    extra, ans = "", ""
    if body:
        ans = OFFER.replace("1 1", "1 2")
        extra = "Content-Type: application/sdp\r\n"
    c.sock.sendto(("SIP/2.0 200 OK\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                   "Contact: <sip:caller@127.0.0.1:%d>\r\n%sContent-Length: %d\r\n\r\n%s"
                   % (vias_of(m), header(m, "From"), header(m, "To"), header(m, "Call-ID"),
                      header(m, "CSeq"), c.port, extra, len(ans), ans)).encode(), peer)
    ok, _ = recv_first(callee, lambda x: status(x) == 200 and method in (h(x, "CSeq") or ""), 2)
    return "ok" if ok and tag_of(header(ok, "From")) == fork else "no 200 back"


def prack(c, inv_a, m, cseq):
    """The caller's PRACK of reliable provisional m: the fork it reached
    (answered 200 there), and whether that 200 came back under m's tag."""
    c.sock.sendto(("PRACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKpr%d\r\n"
                   "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d PRACK\r\nRAck: %s 1 INVITE\r\n"
                   "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                   % (header(m, "Contact").strip("<>"), c.port, cseq, header(inv_a, "From"),
                      header(m, "To"), c.call_id, cseq, header(m, "RSeq"))).encode(), D)
    p, peer = recv_first(callee, lambda x: x.startswith("PRACK "), 2)
    if not p:
        got, _ = recv_first(c.sock, lambda x: status(x) >= 300, 0.5)
        return "not relayed (%s)" % (status(got) or "nothing"), False
    callee.sendto(response(p, "200 OK", tag_of(header(p, "To"))), peer)
    ok, _ = recv_first(c.sock, lambda x: status(x) == 200 and "PRACK" in (h(x, "CSeq") or ""), 2)
    return tag_of(header(p, "To")), tag_of(h(ok, "To")) == tag_of(header(m, "To"))


def ring(c, reliable):
    """INVITE from c; forks f1 and f2 each answer 183 with their SDP. Leg B's
    INVITE, the caller's INVITE and each fork's 183 as the caller got it."""
    inv_a = c.request("INVITE", 1, sdp=OFFER,
                      call_id_line="Call-ID: %s\r\nSupported: 100rel\r\n" % c.call_id)
    c.sock.sendto(inv_a.encode(), D)
    inv, _ = recv_first(callee, lambda m: m.startswith("INVITE "), 2)
    got = {}
    for i, f in enumerate(("f1", "f2")):
        extra = "Require: 100rel\r\nRSeq: 1\r\n" if reliable else ""
        callee.sendto(response(inv, "183 Session Progress", f, extra, SDP[f]), D)
        m, _ = recv_first(c.sock, lambda m: status(m) == 183 and ("o=%s " % f) in m, 2)
        got[f] = m
    return inv, inv_a, got


# ---- call 1: the second fork's own requests, then a restart ----------------
c = Caller(dport + 1, dport)
inv, inv_a, got = ring(c, True)
tags = {f: tag_of(h(m, "To")) for f, m in got.items()}
r["ring_two_tags"] = None not in tags.values() and tags["f1"] != tags["f2"]
r["prack_f1"] = prack(c, inv_a, got["f1"], 2)
r["info_f2"] = callee_request_reaches_caller(c, inv, "f2", "INFO", 1, tags["f2"])
r["info_f1"] = callee_request_reaches_caller(c, inv, "f1", "INFO", 1, tags["f1"])
# ---- call K: the caller ends fork 1's early dialog while fork 2 rings; the
# worker keeps the call's slot for fork 2 across the restart
ck = Caller(dport + 3, dport)
inv_k, inv_ka, got_k = ring(ck, False)
ck.to = header(got_k["f1"], "To")
ck.sock.sendto(ck.request("BYE", 2).encode(), D)
bye, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
r["kept_early_bye_to"] = tag_of(h(bye, "To"))
if bye:
    callee.sendto(response(bye, "200 OK", "f1"), peer)
    recv_first(ck.sock, lambda x: status(x) == 200 and "BYE" in (h(x, "CSeq") or ""), 2)
time.sleep(0.3)
open(os.path.join(work, "killnow"), "w").close()
end = time.time() + 15
while not os.path.exists(os.path.join(work, "restarted")) and time.time() < end:
    time.sleep(0.05)
time.sleep(0.3)
r["prack_f2_after_restart"] = prack(c, inv_a, got["f2"], 3)
r["update_f2_after_restart"] = callee_request_reaches_caller(c, inv, "f2", "UPDATE", 2,
                                                             tags["f2"], SDP["f2"])
callee.sendto(response(inv, "200 OK", "f2"), D)
ok, _ = recv_first(c.sock, lambda x: status(x) == 200 and "INVITE" in (h(x, "CSeq") or ""), 2)
r["answered_under_f2"] = tag_of(h(ok, "To")) == tags["f2"]
if ok:
    c.to = header(ok, "To")
    c.sock.sendto(c.request("ACK", 1).encode(), D)
    time.sleep(0.2)
c.sock.sendto(c.request("BYE", 4).encode(), D)
bye, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
r["bye_to"] = tag_of(h(bye, "To"))
if bye:
    callee.sendto(response(bye, "200 OK", "f2"), peer)
    recv_first(c.sock, lambda x: status(x) == 200 and "BYE" in (h(x, "CSeq") or ""), 2)
c.sock.close()

# ---- call K after the restart: fork 2 answers in the kept slot -------------
callee.sendto(response(inv_k, "200 OK", "f2"), D)
ok, _ = recv_first(ck.sock, lambda x: status(x) == 200 and "INVITE" in (h(x, "CSeq") or ""), 2)
r["kept_answered_under_f2"] = ok is not None and tag_of(h(ok, "To")) == tag_of(h(got_k["f2"], "To"))
seen = []
if ok:
    ck.to = header(ok, "To")
    ck.sock.sendto(ck.request("ACK", 1).encode(), D)
    m, _ = recv_first(callee, lambda x: x.startswith("ACK "), 2)
    seen.append(("ACK", tag_of(h(m, "To"))))
    ck.sock.sendto(ck.request("BYE", 3).encode(), D)
    m, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
    seen.append(("BYE", tag_of(h(m, "To"))))
    if m:
        callee.sendto(response(m, "200 OK", "f2"), peer)
r["kept_in_dialog"] = seen
ck.sock.close()

# ---- call 2: the caller ends the second fork's early dialog, which answers --
c = Caller(dport + 3, dport)
inv, inv_a, got = ring(c, False)
c.to = header(got["f2"], "To")
c.sock.sendto(c.request("BYE", 2).encode(), D)
bye, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
r["early_bye_to"] = tag_of(h(bye, "To"))
if bye:
    callee.sendto(response(bye, "200 OK", "f2"), peer)
    recv_first(c.sock, lambda x: status(x) == 200 and "BYE" in (h(x, "CSeq") or ""), 2)
time.sleep(0.3)  # the worker's end of that early dialog reaches the controller
callee.sendto(response(inv, "200 OK", "f2", body=SDP["f2"]), D)
seen = []
end = time.time() + 1.5
while time.time() < end:
    m, peer = recv_first(callee, lambda x: x.startswith("ACK ") or x.startswith("BYE "),
                         max(0, end - time.time()))
    if not m:
        break
    seen.append((m.split(" ")[0], tag_of(header(m, "To"))))
    if m.startswith("BYE "):
        callee.sendto(response(m, "200 OK", "f2"), peer)
r["ended_fork_2xx_got"] = sorted(set(seen))
final, _ = recv_first(c.sock, lambda x: status(x) >= 200 and "INVITE" in (h(x, "CSeq") or ""),
                      0.5)
r["ended_fork_final_to_caller"] = status(final) if final else None
if final:
    c.to = header(final, "To")
    c.sock.sendto(c.request("ACK", 1).encode(), D)
# fork 1's 200 sent at the same moment: ended as a second answer
callee.sendto(response(inv, "200 OK", "f1", body=SDP["f1"]), D)
seen = []
end = time.time() + 1.5
while time.time() < end:
    m, peer = recv_first(callee, lambda x: x.startswith("ACK ") or x.startswith("BYE "),
                         max(0, end - time.time()))
    if not m:
        break
    seen.append((m.split(" ")[0], tag_of(header(m, "To"))))
    if m.startswith("BYE "):
        callee.sendto(response(m, "200 OK", "f1"), peer)
r["f1_2xx_got"] = sorted(set(seen))
ok, _ = recv_first(c.sock, lambda x: status(x) == 200 and "INVITE" in (h(x, "CSeq") or ""), 0.3)
r["f1_2xx_relayed"] = ok is not None
print(json.dumps(r))
PY
HELPER=$!
for _ in $(seq 1 150); do
	[ -e "$WORK/killnow" ] && break
	sleep 0.1
done
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
start_daemon fr-2 "$WORK/fr.json"
touch "$WORK/restarted"
wait "$HELPER"
rc=$?
take_result "$WORK/fr.out"

check "the helper ran" test "$rc" = 0
check "the caller gets each fork's 183 under a tag of its own" test "$(get 'j["ring_two_tags"]')" = "True"
check "the caller's PRACK of fork 1's 183 reaches fork 1" test "$(get 'j["prack_f1"]')" = "['f1', True]"
check "fork 2's INFO in its early dialog reaches the caller under fork 2's tag, and its 200 comes back" \
	test "$(get 'j["info_f2"]')" = "ok"
check "fork 1's INFO likewise under fork 1's" test "$(get 'j["info_f1"]')" = "ok"
check "after a SIGKILL and a start: the caller's PRACK of fork 2's 183 reaches fork 2" \
	test "$(get 'j["prack_f2_after_restart"]')" = "['f2', True]"
check "after it: fork 2's UPDATE with an offer reaches the caller under fork 2's tag, and the answer comes back" \
	test "$(get 'j["update_f2_after_restart"]')" = "ok"
check "after it: fork 2's 200 reaches the caller under fork 2's tag" \
	test "$(get 'j["answered_under_f2"]')" = "True"
check "after it: the caller's BYE reaches fork 2" test "$(get 'j["bye_to"]')" = "f2"
check "the new process took the ringing call and fork 2's early dialog up" \
	wait_json "$WORK/fr-2.stats.json" \
	'j["controller"]["setups_restored"], sum(w["setups_dropped_at_reattach"] for w in j["workers"])' "2 0"
check "a call whose first fork's early dialog the caller ended before the kill: the BYE reached fork 1" \
	test "$(get 'j["kept_early_bye_to"]')" = "f1"
check "after the start: its second fork's 200 reaches the caller under that fork's tag" \
	test "$(get 'j["kept_answered_under_f2"]')" = "True"
check "after the start: the caller's ACK and BYE reach its second fork" \
	test "$(get 'j["kept_in_dialog"]')" = "[['ACK', 'f2'], ['BYE', 'f2']]"
check "the caller's BYE in fork 2's early dialog reaches fork 2" test "$(get 'j["early_bye_to"]')" = "f2"
check "fork 2's 200 after that: ACKed and ended with a BYE" \
	test "$(get 'j["ended_fork_2xx_got"]')" = "[['ACK', 'f2'], ['BYE', 'f2']]"
check "fork 2's 200 after that: the caller gets 487, not the 200" \
	test "$(get 'j["ended_fork_final_to_caller"]')" = "487"
check "fork 1's 200 at the same moment: ACKed and ended with a BYE, not relayed" \
	test "$(get 'j["f1_2xx_got"]') $(get 'j["f1_2xx_relayed"]')" = "[['ACK', 'f1'], ['BYE', 'f1']] False"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\" \"\$2\"" _ "$WORK/fr-1.log" "$WORK/fr-2.log"
