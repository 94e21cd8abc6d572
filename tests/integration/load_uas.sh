#!/usr/bin/env bash
# sipshard-load's uas (the callee emulator) against a raw UDP caller: what it
# answers in a call that has no dialog any more (RFC 3261 12.2.2: a request
# that matches no dialog gets 481).
#   1. a BYE in the early dialog while the call rings ends that dialog (15.1.2:
#      the BYE gets 200, the INVITE 487); a new request in it with a higher
#      CSeq, while the 487 still waits for its ACK, got 200 and is 481; a
#      repeat of the BYE still gets 200; after the ACK the same;
#   2. a CANCEL while the call rings: a BYE to the 180's To tag gets 481;
#   3. a rejected call (486): a request with the 486's To tag gets 481;
#   4. INVITEs whose responses do not fit a send buffer (2.5 KB of Via) keep
#      no slot in the table: a call after them is answered 200, not 503;
#   5. a CANCEL sent again gets 200 again and counts as a retransmission, the
#      call cancelled once; an INVITE in the early dialog of one that rings
#      gets 500 with Retry-After (RFC 3261 14.2), and the ringing INVITE its
#      200 when its time comes.
# Ports: the uas on 16498, the caller on 16499 (LOAD_UAS_PORT and
# LOAD_UAS_PEER_PORT name others). Prints "ok NAME" / "not ok NAME".
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

UAS_PORT=${LOAD_UAS_PORT:-16498}
PEER_PORT=${LOAD_UAS_PEER_PORT:-16499}

. tests/integration/load.bash

# caller CASE: plays CASE against the uas and prints what each request got,
# as "WHAT STATUS" pairs (None: no final response within 1.5 s).
caller() {
	python3 - "$UAS_PORT" "$PEER_PORT" "$1" <<'PY'
import re, sys, time
sys.path.insert(0, "tests/integration")
from rawua import header, recv, status, udp

uas, me, case = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = udp(me)
callid = "load-uas-%s-%d@127.0.0.1" % (case, int(time.time() * 1000))
sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 10000 RTP/AVP 0\r\n")
got = []  # (status, CSeq number, CSeq method, To tag) of every response
retry_after = {}  # (status, CSeq number, CSeq method): its Retry-After


def send(method, cseq, to_tag="", branch=None, body=""):
    branch = branch or "z9hG4bK%s%d" % (method.lower(), cseq)
    s.sendto(("%s sip:service@127.0.0.1:%d SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\nMax-Forwards: 70\r\n"
              "From: <sip:load@127.0.0.1:%d>;tag=caller1\r\n"
              "To: <sip:service@127.0.0.1:%d>%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
              "Contact: <sip:load@127.0.0.1:%d>\r\n%sContent-Length: %d\r\n\r\n%s"
              % (method, uas, me, branch, me, uas, ";tag=" + to_tag if to_tag else "",
                 callid, cseq, method, me,
                 "Content-Type: application/sdp\r\n" if body else "", len(body),
                 body)).encode(), ("127.0.0.1", uas))


def wait(pred, timeout=1.5):
    end = time.time() + timeout
    while True:
        hit = [g for g in got if pred(g)]
        if hit or time.time() >= end:
            return hit[0] if hit else None
        m = recv(s, end - time.time())
        if m is None or not m.startswith("SIP/2.0"):
            continue
        cseq = header(m, "CSeq").split()
        tag = re.search(r";tag=([^;\s>]+)", header(m, "To") or "")
        got.append((status(m), int(cseq[0]), cseq[1], tag.group(1) if tag else ""))
        retry_after[got[-1][:3]] = header(m, "Retry-After")


def final(method, cseq):
    g = wait(lambda g: g[2] == method and g[1] == cseq and g[0] >= 200)
    return g[0] if g else None


def ask(method, cseq, to_tag, branch=None):
    """Sends a request and returns its final status; an earlier answer to
    the same CSeq (the request repeated) does not count."""
    got[:] = [g for g in got if not (g[2] == method and g[1] == cseq)]
    send(method, cseq, to_tag, branch)
    return final(method, cseq)


out = []
send("INVITE", 1, body=sdp)
first = wait(lambda g: g[2] == "INVITE" and g[0] >= 180)
tag = first[3] if first else "none"
if case == "early_bye":
    out.append("bye %s" % ask("BYE", 2, tag))
    out.append("invite %s" % final("INVITE", 1))
    out.append("new_bye %s" % ask("BYE", 3, tag))
    out.append("info %s" % ask("INFO", 4, tag))
    out.append("bye_again %s" % ask("BYE", 2, tag))
    send("ACK", 1, tag, branch="z9hG4bKinvite1")
    time.sleep(0.2)
    out.append("acked_new_bye %s" % ask("BYE", 5, tag))
    out.append("acked_bye_again %s" % ask("BYE", 2, tag))
elif case == "cancel":
    out.append("cancel %s" % ask("CANCEL", 1, "", branch="z9hG4bKinvite1"))
    out.append("invite %s" % final("INVITE", 1))
    out.append("bye %s" % ask("BYE", 2, tag))
    send("ACK", 1, tag, branch="z9hG4bKinvite1")
elif case == "cancel_again":
    out.append("cancel %s" % ask("CANCEL", 1, "", branch="z9hG4bKinvite1"))
    out.append("again %s" % ask("CANCEL", 1, "", branch="z9hG4bKinvite1"))
    out.append("invite %s" % final("INVITE", 1))
    send("ACK", 1, tag, branch="z9hG4bKinvite1")
elif case == "early_reinvite":
    r = ask("INVITE", 2, tag, branch="z9hG4bKreinvite2")
    out.append("reinvite %s retry_after %s" % (r, retry_after.get((r, 2, "INVITE"))))
    g = wait(lambda g: g[2] == "INVITE" and g[1] == 1 and g[0] >= 200, 3)
    out.append("invite %s" % (g[0] if g else None))
    send("ACK", 1, tag, branch="z9hG4bKack1")
    out.append("bye %s" % ask("BYE", 3, tag))
else:  # rejected
    out.append("invite %s" % (first[0] if first else None))
    out.append("info %s" % ask("INFO", 2, tag))
    out.append("bye %s" % ask("BYE", 3, tag))
    send("ACK", 1, tag, branch="z9hG4bKinvite1")
print(" ".join(out))
PY
}

# ---- 1. a BYE in the early dialog, then more requests in it ---------------------
start_uas early --answer-delay-ms 3000
out=$(caller early_bye)
check "early BYE: 200, and the INVITE 487 ($out)" \
	bash -c '[[ "$1" == "bye 200 invite 487 "* ]]' _ "$out"
check "early BYE: a new BYE in the dialog it ended gets 481, before the ACK and after ($out)" \
	bash -c '[[ "$1" == *" new_bye 481 "* && "$1" == *" acked_new_bye 481 "* ]]' _ "$out"
check "early BYE: a new INFO in that dialog gets 481 ($out)" \
	bash -c '[[ "$1" == *" info 481 "* ]]' _ "$out"
check "early BYE: a repeat of the BYE gets 200 again, before the ACK and after ($out)" \
	bash -c '[[ "$1" == *" bye_again 200 "* && "$1" == *" acked_bye_again 200" ]]' _ "$out"
# ---- 2. a CANCEL, then a BYE in the early dialog it ended ------------------------
out=$(caller cancel)
check "CANCEL: 200 and 487, then a BYE to the 180's tag gets 481 ($out)" \
	test "$out" = "cancel 200 invite 487 bye 481"
stop "$UAS_PID"
check "the uas counts each 481 as a request for no dialog, each repeated BYE apart" \
	python3 - "$WORK/early.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
e, bye = j["errors"], j["by_method"]["BYE"]
ok = e["unknown_dialog"] == 4 and bye["retransmissions_received"] == 2
if not ok:
    print("# errors %r, BYE %r" % (e, bye))
sys.exit(0 if ok else 1)
PY

# ---- 3. a rejected call ---------------------------------------------------------
start_uas rejected --reject-share 1
out=$(caller rejected)
check "rejected: the 486's To tag names no dialog: INFO and BYE get 481 ($out)" \
	test "$out" = "invite 486 info 481 bye 481"
stop "$UAS_PID"

# ---- 5. a CANCEL again; an INVITE in an early dialog ------------------------------
start_uas again --answer-delay-ms 1000
out=$(caller cancel_again)
check "CANCEL again: 200 and 200, the INVITE 487 ($out)" \
	test "$out" = "cancel 200 again 200 invite 487"
out=$(caller early_reinvite)
check "INVITE in the early dialog: 500 with a Retry-After, the ringing INVITE still 200 ($out)" \
	bash -c '[[ "$1" =~ ^"reinvite 500 retry_after "[0-9]+" invite 200 bye 200"$ ]]' _ "$out"
stop "$UAS_PID"
check "the uas counts the CANCEL sent again apart, one call cancelled, no store lost" \
	python3 - "$WORK/again.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
c, cancel = j["calls"], j["by_method"]["CANCEL"]
ok = (c["cancelled"] == 1 and cancel["received"] == 1 and
      cancel["retransmissions_received"] == 1 and j["errors"]["total"] == 0)
if not ok:
    print("# calls %r, CANCEL %r, errors %r" % (c, cancel, j["errors"]))
sys.exit(0 if ok else 1)
PY

# ---- 4. INVITEs no response fits ------------------------------------------------
# The leg each created was left in the table for the run, in a state no timer
# frees: 20 of them filled a table of 16 and every later call got 503.
start_uas big --max-calls 16
out=$(python3 - "$UAS_PORT" "$PEER_PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
import rawua
uas, me = int(sys.argv[1]), int(sys.argv[2])
s = rawua.udp(me)
sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 10000 RTP/AVP 0\r\n")
def invite(i, vias):
    more = "".join("Via: SIP/2.0/UDP 10.0.0.%d:5060;branch=z9hG4bK%s\r\n" % (k, "x" * 120)
                   for k in range(vias))
    s.sendto(("INVITE sip:service@127.0.0.1:%d SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbig%d\r\n%sMax-Forwards: 70\r\n"
              "From: <sip:a@127.0.0.1>;tag=f%d\r\nTo: <sip:service@127.0.0.1>\r\n"
              "Call-ID: big-%d@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:%d>\r\n"
              "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
              % (uas, me, i, more, i, i, me, len(sdp), sdp)).encode(), ("127.0.0.1", uas))
for i in range(20):
    invite(i, 14)  # 2.5 KB of Via: no response to it fits a 2 KB send buffer
rawua.recv_all(s, 0.5)
invite(100, 0)
m, _ = rawua.recv_first(s, lambda m: rawua.status(m) >= 200, 1.5)
print("next_call %s" % rawua.status(m))
PY
)
stop "$UAS_PID"
check "big: INVITEs whose responses cannot be written keep no slot: the next call gets 200 ($out)" \
	test "$out" = "next_call 200"
check "big: they are not counted answered, each is a send error" \
	python3 - "$WORK/big.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
inv = j["by_method"]["INVITE"]
ok = inv["received"] == 21 and inv["answered"] == 1 and j["send"]["errors"] >= 20
if not ok:
    print("# INVITE %r, send %r" % (inv, j["send"]))
sys.exit(0 if ok else 1)
PY

[ "$NOT_OK" -eq 0 ]
