#!/usr/bin/env bash
# Requests still open when their dialog ends, through a running sipshardd
# with raw UDP caller and callee (rawua.py), T1 50 ms:
#  1. the operator's BYE (sipshardctl bye) while the caller's re-INVITE waits
#     for the callee, who then answers it 200;
#  2. the caller's own BYE while its re-INVITE waits, the 200 after the BYE's;
#  3. the callee's BYE while the caller's re-INVITE waits: a 487 before the
#     caller answers that BYE crosses; a 200 after the end;
#  4. the operator's BYE while the caller's INFO waits, its 200 after.
# The caller, whose request sipshard serves, gets 487 for it when the dialog
# ends (RFC 3261 15.1.2), a re-INVITE's again until the caller's ACK
# (17.2.1, Timer G); a 200 to the re-INVITE that comes after the end is
# ACKed by sipshard (13.2.2.4: its UAC ACKs every 2xx, even after its BYE),
# never relayed; the INFO's late 200 is a counted drop. sipshard dropped every
# late final as stale: the callee resent its 200 for 64*T1, the caller got
# no final.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=16494 # sipshardd; the caller is 16495, the callee 16496 (16497 unused)
B_PORT=16496
SOCK=$WORK/sipshardd.sock

cat >"$WORK/late.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "info",
  "management_socket": "$SOCK", "run_dir": "$WORK/run", "persist_dialogs": false,
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "timers": { "t1_ms": 50 },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
start_daemon late "$WORK/late.json"

python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" >"$WORK/late.out" 2>&1 <<'PY'
import json, re, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Callee, Caller, header, recv, status

dport, bport, ctl, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
D = ("127.0.0.1", dport)
callee = Callee(bport)


def drain(s, seconds, until=None):
    """What s gets within seconds; with until (a start of line and a CSeq
    method), up to the first such message or 3 s, on a loaded machine."""
    got, end = [], time.time() + (3.0 if until else seconds)
    while True:
        msg = recv(s, max(0.0, end - time.time()))
        if msg is None:
            return got
        got.append(msg)
        if until and first([msg], *until):
            return got


def first(msgs, start, cseq_method=None):
    for m in msgs:
        if m.startswith(start) and (not cseq_method or header(m, "CSeq").endswith(cseq_method)):
            return m
    return None


def respond(s, req, code, contact=True):
    """The answer to req, sent to sipshardd from socket s."""
    vias = "".join(l + "\r\n" for l in req.split("\r\n") if l.lower().startswith("via:"))
    s.sendto(("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n%s"
              "Content-Length: 0\r\n\r\n"
              % (code, vias, header(req, "From"), header(req, "To"), header(req, "Call-ID"),
                 header(req, "CSeq"),
                 "Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport if contact else "")
              ).encode(), D)


def b_bye(req):
    """The callee's BYE in the dialog of req, a request it got in it."""
    callee.sock.sendto(("BYE sip:caller@127.0.0.1:%d SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbbye%d\r\n"
                        "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\n"
                        "Call-ID: %s\r\nCSeq: 100 BYE\r\nContent-Length: 0\r\n\r\n"
                        % (dport, bport, int(time.time() * 1000) % 100000,
                           header(req, "To"), header(req, "From"),
                           header(req, "Call-ID"))).encode(), D)


def start_call():
    """A call up: (caller, final status, the callee's copy of its INVITE)."""
    a = Caller(dport + 1, dport)
    callee.got = []
    code = a.call(callee)
    return a, code, first(callee.got, "INVITE ")


def send_from_a(a, method):
    a.sock.sendto(a.request(method, a.next_cseq()).encode(), D)
    return first(drain(callee.sock, 0, (method + " ",)), method + " ")


def ctl_bye(a):
    return subprocess.run([ctl, "-s", sock, "bye", a.call_id], capture_output=True,
                          text=True).returncode


def ack_487(a, msgs):
    """The caller ACKs the 487 to its re-INVITE among msgs (RFC 3261
    17.1.1.3), which ends sipshard's retransmissions of it (Timer G): the
    next call's caller, on the same port, would take one for its final."""
    r = first(msgs, "SIP/2.0 487", "INVITE")
    if r:
        a.sock.sendto(a.request("ACK", int(header(r, "CSeq").split()[0])).encode(), D)


def count(msgs, start, cseq_method):
    return sum(1 for m in msgs if m.startswith(start) and header(m, "CSeq").endswith(cseq_method))


def acked(msgs, req):
    """The callee got an ACK for req's CSeq number."""
    n = header(req, "CSeq").split()[0]
    return any(m.startswith("ACK ") and header(m, "CSeq") == n + " ACK" for m in msgs)


res = {}

# 1. the operator's BYE while the caller's re-INVITE waits
a, res["call1"], inv = start_call()
reinv = send_from_a(a, "INVITE")
res["c1_ctl"] = ctl_bye(a)
at_a = drain(a.sock, 0, ("BYE ",))
at_a += drain(a.sock, 0.3)
res["c1_a_487"] = first(at_a, "SIP/2.0 487", "INVITE") is not None
# not ACKed, it comes again: Timer G, T1 and 2*T1 after it (50, 150 ms)
res["c1_a_487_resent"] = count(at_a, "SIP/2.0 487", "INVITE") >= 2
bye = first(at_a, "BYE ")
if bye:
    respond(a.sock, bye, "200 OK", False)
ack_487(a, at_a)
# one that crossed the ACK (the next is due 350 ms after the first, about
# when the ACK goes; a slow machine may deliver it later)
drain(a.sock, 0.3)
# without the ACK taken, the next would come 750 and 1550 ms after the first
res["c1_a_487_stopped"] = count(drain(a.sock, 1.0), "SIP/2.0 487", "INVITE") == 0
at_b = drain(callee.sock, 0, ("BYE ",))
bye_b = first(at_b, "BYE ")
if bye_b:
    respond(callee.sock, bye_b, "200 OK", False)
respond(callee.sock, reinv, "200 OK")
at_b = drain(callee.sock, 0, ("ACK ",))
res["c1_b_acked"] = acked(at_b, reinv)
respond(callee.sock, reinv, "200 OK")  # 13.3.1.4: again, as if that ACK were lost
res["c1_b_acked_again"] = acked(drain(callee.sock, 0, ("ACK ",)), reinv)
res["c1_a_no_200"] = first(drain(a.sock, 0.3), "SIP/2.0 200", "INVITE") is None
a.sock.close()

# 2. the caller's BYE while its re-INVITE waits
a, res["call2"], inv = start_call()
reinv = send_from_a(a, "INVITE")
a.sock.sendto(a.request("BYE", a.next_cseq()).encode(), D)
bye_b = first(drain(callee.sock, 0, ("BYE ",)), "BYE ")
if bye_b:
    respond(callee.sock, bye_b, "200 OK", False)
at_a = drain(a.sock, 0, ("SIP/2.0 487", "INVITE"))
res["c2_a_bye_200"] = first(at_a, "SIP/2.0 200", "BYE") is not None
res["c2_a_487"] = first(at_a, "SIP/2.0 487", "INVITE") is not None
ack_487(a, at_a)
respond(callee.sock, reinv, "200 OK")
res["c2_b_acked"] = acked(drain(callee.sock, 0, ("ACK ",)), reinv)
res["c2_a_no_200"] = first(drain(a.sock, 0.3), "SIP/2.0 200", "INVITE") is None
a.sock.close()

# 3a. the callee's BYE while the caller's re-INVITE waits; its 487 crosses
a, res["call3a"], inv = start_call()
reinv = send_from_a(a, "INVITE")
b_bye(reinv)
bye = first(drain(a.sock, 0, ("BYE ",)), "BYE ")
respond(callee.sock, reinv, "487 Request Terminated", False)
at_a = drain(a.sock, 0, ("SIP/2.0 487", "INVITE"))
res["c3a_a_487"] = first(at_a, "SIP/2.0 487", "INVITE") is not None
if bye:
    respond(a.sock, bye, "200 OK", False)
drain(callee.sock, 0.3)
a.sock.close()

# 3b. the same, the callee's 200 to the re-INVITE after the caller's to its BYE
a, res["call3b"], inv = start_call()
reinv = send_from_a(a, "INVITE")
b_bye(reinv)
bye = first(drain(a.sock, 0, ("BYE ",)), "BYE ")
if bye:
    respond(a.sock, bye, "200 OK", False)
res["c3b_b_bye_200"] = first(drain(callee.sock, 0, ("SIP/2.0 200", "BYE")), "SIP/2.0 200", "BYE") is not None
at_a = drain(a.sock, 0, ("SIP/2.0 487", "INVITE"))
res["c3b_a_487"] = first(at_a, "SIP/2.0 487", "INVITE") is not None
ack_487(a, at_a)
respond(callee.sock, reinv, "200 OK")
res["c3b_b_acked"] = acked(drain(callee.sock, 0, ("ACK ",)), reinv)
a.sock.close()

# 4. the operator's BYE while the caller's INFO waits
a, res["call4"], inv = start_call()
info = send_from_a(a, "INFO")
res["c4_ctl"] = ctl_bye(a)
at_a = drain(a.sock, 0, ("BYE ",))
at_a += drain(a.sock, 0.3)
res["c4_a_487"] = first(at_a, "SIP/2.0 487", "INFO") is not None
bye = first(at_a, "BYE ")
if bye:
    respond(a.sock, bye, "200 OK", False)
bye_b = first(drain(callee.sock, 0, ("BYE ",)), "BYE ")
if bye_b:
    respond(callee.sock, bye_b, "200 OK", False)
respond(callee.sock, info, "200 OK", False)
res["c4_a_no_200"] = first(drain(a.sock, 0.5), "SIP/2.0 200", "INFO") is None
a.sock.close()
print(json.dumps(res))
PY
rc=$?
take_result "$WORK/late.out"

check "the helper ran" test "$rc" = 0
check "five calls up through sipshardd" \
	test "$(get 'j["call1"], j["call2"], j["call3a"], j["call3b"], j["call4"]')" = "200 200 200 200 200"
check "1. operator's BYE during the caller's re-INVITE: the caller gets 487 for it" \
	test "$(get 'j["c1_ctl"], j["c1_a_487"]')" = "0 True"
check "1. the caller's 487 not ACKed comes again (Timer G), and no more after its ACK" \
	test "$(get 'j["c1_a_487_resent"], j["c1_a_487_stopped"]')" = "True True"
check "1. the callee's 200 after the end is ACKed by sipshard, again when resent, not relayed" \
	test "$(get 'j["c1_b_acked"], j["c1_b_acked_again"], j["c1_a_no_200"]')" = "True True True"
check "2. caller's BYE during its re-INVITE: BYE's 200 and 487 to the caller" \
	test "$(get 'j["c2_a_bye_200"], j["c2_a_487"]')" = "True True"
check "2. the callee's 200 after the BYE's is ACKed by sipshard, not relayed" \
	test "$(get 'j["c2_b_acked"], j["c2_a_no_200"]')" = "True True"
check "3. callee's BYE during the caller's re-INVITE: the callee's 487 before the end crosses" \
	test "$(get 'j["c3a_a_487"]')" = "True"
check "3. after the end: the caller gets 487, the callee's late 200 is ACKed by sipshard" \
	test "$(get 'j["c3b_b_bye_200"], j["c3b_a_487"], j["c3b_b_acked"]')" = "True True True"
check "4. operator's BYE during the caller's INFO: 487 to the caller, the late 200 not relayed" \
	test "$(get 'j["c4_ctl"], j["c4_a_487"], j["c4_a_no_200"]')" = "0 True True"
check "stats: late_finals_acked, pending_ended and drops.response_dialog_ended count them" \
	wait_json "$WORK/late.stats.json" 'sum(w["late_finals_acked"] for w in j["workers"]) >= 4 and sum(w["pending_ended"] for w in j["workers"]) >= 4 and sum(w["drops"]["response_dialog_ended"] for w in j["workers"]) >= 1' True
check "stats: the 487s resent (pending_487_resent), their ACKs ending in the worker" \
	wait_json "$WORK/late.stats.json" 'sum(w["pending_487_resent"] for w in j["workers"]) >= 2 and sum(w["drops"]["ack_of_local_answer"] for w in j["workers"]) >= 3 and sum(w["pending_487_unacknowledged"] + w["pending_487_overwritten"] for w in j["workers"]) == 0' True
stop_daemon
