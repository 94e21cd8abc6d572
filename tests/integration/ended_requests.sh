#!/usr/bin/env bash
# Requests still open when their call ends, sent again once it has ended,
# through a running sipshardd, raw UDP caller and callee (rawua.py):
# the caller's INFO and re-INVITE wait for the callee, who hangs up instead
# (its BYE answered by the caller). sipshard answers both 487 as the call
# ends (RFC 3261 15.1.2), the re-INVITE's again until its ACK (17.2.1,
# Timer G); sent again (as if those 487s were lost), each gets
# its 487 again (17.2.2, 17.2.1: its server transaction answers a
# retransmission with the final it sent), where it got 481, and the ACK of
# the re-INVITE's 487 ends in the worker (ack_of_local_answer), where it
# went to the controller; a CANCEL of the re-INVITE then gets 200 (RFC 3261
# 9.2: its INVITE has its final), where it got 481; a new request in the
# ended call gets 481.
# 2. With a forking callee, the caller's BYE in the first fork's early
# dialog, then four INFOs there (RELAY_PENDING_LOOKBACK), unanswered when
# the second fork answers the call: the BYE, found behind them, gets its
# 200 at once (again when sent again), and the first fork's late 200 to it
# ends nothing, the caller's INFO and BYE reaching the second fork. Found
# among the last four CSeqs only, it was left open and that late 200 ended
# the call the second fork had answered.
# Ports: sipshardd 17130, the caller 17131, the callee 17132.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=17130
B_PORT=17132
write_config "$WORK/er.json"
start_daemon er "$WORK/er.json"

python3 - "$D_PORT" "$B_PORT" >"$WORK/er.out" 2>&1 <<'PY'
import json, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Caller, fork_response, header, recv_all, recv_first, respond, status, tag_of, udp

dport, bport = int(sys.argv[1]), int(sys.argv[2])
D = ("127.0.0.1", dport)
callee = udp(bport)
r = {}


def final_of(got, cseq):
    """The statuses among got (as recv_all gives them) with this CSeq."""
    return [status(m) for m, _ in got if status(m) >= 200 and header(m, "CSeq") == cseq]


def sent_again(req, cseq):
    c.sock.sendto(req, D)
    m, _ = recv_first(c.sock, lambda x: status(x) >= 200 and header(x, "CSeq") == cseq, 1)
    return status(m) if m else None


c = Caller(dport + 1, dport)
c.sock.sendto(c.request("INVITE", 1).encode(), D)
inv, inv_peer = recv_first(callee, lambda m: m.startswith("INVITE "), 2)
if inv:
    respond(callee, inv, inv_peer, "200 OK", "callee1",
            "Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport)
ok, _ = recv_first(c.sock, lambda m: status(m) == 200, 2)
r["call"] = status(ok) if ok else None
if ok:
    c.to = header(ok, "To")
    c.sock.sendto(c.request("ACK", 1).encode(), D)
    recv_first(callee, lambda m: m.startswith("ACK "), 2)

# the caller's INFO and re-INVITE, which the callee leaves unanswered
info = c.request("INFO", 2).encode()
reinvite = c.request("INVITE", 3).encode()
c.sock.sendto(info, D)
c.sock.sendto(reinvite, D)
got_b = [m for m, _ in recv_all(callee, 1) if not m.startswith("SIP/2.0")]
r["at_callee"] = sorted(header(m, "CSeq").split()[1] for m in got_b)

# the callee hangs up; the caller answers its BYE and gets 487 for both
b_inv = inv or ""
callee.sendto(("BYE sip:sipshard@127.0.0.1:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKerbye1\r\n"
               "Max-Forwards: 70\r\nFrom: %s;tag=callee1\r\nTo: %s\r\nCall-ID: %s\r\n"
               "CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
               % (dport, bport, header(b_inv, "To"), header(b_inv, "From"),
                  header(b_inv, "Call-ID"))).encode(), D)
bye, bye_peer = recv_first(c.sock, lambda m: m.startswith("BYE "), 2)
if bye:
    respond(c.sock, bye, bye_peer, "200 OK")
got_a = recv_all(c.sock, 1)
# the re-INVITE's 487, not ACKed yet, comes again after T1 (500 ms): Timer G
r["at_end"] = [final_of(got_a, "2 INFO"), sorted(set(final_of(got_a, "3 INVITE")))]
r["reinvite_487s"] = len(final_of(got_a, "3 INVITE"))
r["bye_final"] = [status(m) for m, _ in recv_all(callee, 0.5) if status(m)]
time.sleep(0.2)

# each sent again, as if its 487 were lost: the 487 again
r["info_again"] = sent_again(info, "2 INFO")
r["reinvite_again"] = sent_again(reinvite, "3 INVITE")
# its CANCEL (its branch and CSeq number, RFC 3261 9.1), sent late: the
# INVITE has its final
cancel = reinvite.decode().replace("INVITE sip:", "CANCEL sip:", 1).replace(
    "CSeq: 3 INVITE", "CSeq: 3 CANCEL")
r["cancel_after_end"] = sent_again(cancel.encode(), "3 CANCEL")
# the ACK of the re-INVITE's 487 (its branch, RFC 3261 17.1.1.3)
ack = reinvite.decode().replace("INVITE sip:", "ACK sip:", 1).replace("CSeq: 3 INVITE",
                                                                        "CSeq: 3 ACK")
c.sock.sendto(ack.encode(), D)
# a new request in the ended call
r["new_info"] = sent_again(c.request("INFO", 4).encode(), "4 INFO")
r["at_callee_after"] = [m.split(" ", 1)[0] for m, _ in recv_all(callee, 0.5)]
c.sock.close()

# 2. a forking callee: the caller's BYE in the first fork's early dialog,
# then four INFOs there (RELAY_PENDING_LOOKBACK), none answered, when the
# second fork answers the call
c = Caller(dport + 1, dport)
c.sock.sendto(c.request("INVITE", 1).encode(), D)
inv, _ = recv_first(callee, lambda m: m.startswith("INVITE "), 2)
f1 = None
if inv:
    callee.sendto(fork_response(inv, "180 Ringing", "f1", bport), D)
    f1, _ = recv_first(c.sock, lambda m: status(m) == 180, 2)
    callee.sendto(fork_response(inv, "180 Ringing", "f2", bport), D)
    recv_first(c.sock, lambda m: status(m) == 180, 2)
c.to = header(f1 or "", "To")
early_bye = c.request("BYE", 2).encode()
c.sock.sendto(early_bye, D)
for cseq in range(3, 7):
    c.sock.sendto(c.request("INFO", cseq).encode(), D)
got_b = [(m, p) for m, p in recv_all(callee, 1) if not m.startswith("SIP/2.0")]
r["f1_got"] = [header(m, "CSeq").split()[1] for m, _ in got_b]
bye_b = [(m, p) for m, p in got_b if m.startswith("BYE ")]
if inv:
    callee.sendto(fork_response(inv, "200 OK", "f2", bport), D)
got_a = recv_all(c.sock, 1)
ok = [m for m, _ in got_a if status(m) == 200 and header(m, "CSeq") == "1 INVITE"]
r["f2_answered"] = bool(ok)
r["early_finals"] = [final_of(got_a, "2 BYE")] + [final_of(got_a, "%d INFO" % n)
                                                 for n in range(3, 7)]
if ok:
    c.to = header(ok[0], "To")
    c.sock.sendto(c.request("ACK", 1).encode(), D)
# the first fork's late 200 to that BYE: ends nothing
if bye_b:
    callee.sendto(fork_response(bye_b[0][0], "200 OK", "f1", bport), bye_b[0][1])
time.sleep(0.3)
r["early_bye_again"] = sent_again(early_bye, "2 BYE")
# the call goes on with the second fork: the caller's INFO and BYE reach it
seen = []
for method, cseq in (("INFO", 7), ("BYE", 8)):
    c.sock.sendto(c.request(method, cseq).encode(), D)
    m, peer = recv_first(callee, lambda x: x.startswith(method + " "), 1)
    seen.append((method, tag_of(header(m, "To")) if m else None))
    if m:
        callee.sendto(fork_response(m, "200 OK", "f2", bport), peer)
    f, _ = recv_first(c.sock, lambda x: status(x) >= 200 and
                      header(x, "CSeq") == "%d %s" % (cseq, method), 1)
    seen.append(status(f) if f else None)
r["call2"] = seen
print(json.dumps(r))
PY
rc=$?
take_result "$WORK/er.out"

check "the helper ran" test "$rc" = 0
check "the call is up, the caller's INFO and re-INVITE reach the callee" \
	test "$(get 'j["call"], j["at_callee"]')" = "200 ['INFO', 'INVITE']"
check "the callee's BYE ends the call: its 200 back, 487 to the INFO and re-INVITE" \
	test "$(get 'j["bye_final"], j["at_end"]')" = "[200] [[487], [487]]"
check "the re-INVITE's 487, not ACKed, comes again within a second (Timer G)" \
	test "$(get 'j["reinvite_487s"] >= 2')" = "True"
check "the INFO sent again gets its 487 again, not 481" test "$(get 'j["info_again"]')" = "487"
check "the re-INVITE sent again gets its 487 again, not 481" \
	test "$(get 'j["reinvite_again"]')" = "487"
check "the re-INVITE's CANCEL after the end gets 200, not 481" \
	test "$(get 'j["cancel_after_end"]')" = "200"
check "a new INFO in the ended call gets 481, nothing reaches the callee" \
	test "$(get 'j["new_info"], j["at_callee_after"]')" = "481 []"
check "2. the caller's BYE and four INFOs after it reach the first fork" \
	test "$(get 'j["f1_got"]')" = "['BYE', 'INFO', 'INFO', 'INFO', 'INFO']"
check "2. the second fork's 200 answers the call; the BYE gets 200 at once, each INFO 487" \
	test "$(get 'j["f2_answered"], j["early_finals"]')" = "True [[200], [487], [487], [487], [487]]"
check "2. that BYE sent again gets its 200 again" test "$(get 'j["early_bye_again"]')" = "200"
check "2. the first fork's late 200 to it ends nothing: the caller's INFO and BYE reach the second fork" \
	test "$(get 'j["call2"]')" = "[['INFO', 'f2'], 200, ['BYE', 'f2'], 200]"
# answered_2xx: the late CANCEL's 200, the BYE answered 200 as the second
# fork took the call, and that BYE's 200 again
check "stats: requests answered at the ends and again, the ACK absorbed by the worker" \
	wait_json "$WORK/er.stats.json" \
	'sum(w["pending_ended"] for w in j["workers"]), sum(w["pending_replayed"] for w in j["workers"]), sum(w["bye_replayed"] for w in j["workers"]), sum(w["drops"]["ack_of_local_answer"] for w in j["workers"]), j["controller"]["dropped_unmatched"], j["controller"]["calls_answered"], sum(w["answered_2xx"] for w in j["workers"])' \
	"7 2 1 1 0 2 3"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/er.log"
