#!/usr/bin/env bash
# sipshard-load at the edges of a run, against itself and raw UDP peers
# (rawua.py), with T1 = 10 ms so that every 64*T1 is 0.64 s:
#   1. uac: the callee ends the call with a BYE and sends it again (its 200
#      "lost"): the repeat gets 200 again (RFC 3261 17.2.2), no error;
#   2. uac: the callee goes away with the calls up: the BYEs left time out at
#      once, not --window of them per 64*T1;
#   3. uas: one malformed request is one error (not also a 400 sent);
#   4. uac: no call could be set up: the run ends, no mix phase;
#   5. uas: a caller that never ACKs the 2xx gets a BYE once 64*T1 passed
#      (13.3.1.4), retransmitted until answered or timed out, and the call's
#      slot in the table is free again.
# Ports: 16518 (the uas or the raw callee), 16519 (the uac or the raw peer);
# LOAD_EDGES_PORT names another first port. BUILD (or LOAD) names the build.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

A=${LOAD_EDGES_PORT:-16518}
B=$((A + 1))
UAS_PORT=$A
T=(--t1-ms 10 --t2-ms 40)

. tests/integration/load.bash

# secs_since T0: seconds since T0 (date +%s.%N), one decimal
secs_since() {
	python3 -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 1))" "$1"
}

# ---- 1. uac: a repeat of the callee's BYE -----------------------------------------
cat >"$WORK/bye_twice.py" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
import rawua

me, uac, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sock = rawua.udp(me)
answers = []
inv = rawua.recv(sock, 5)
if inv and inv.startswith("INVITE "):
    peer = ("127.0.0.1", uac)
    rawua.respond(sock, inv, peer, "200 OK", totag="cal1",
                  extra="Contact: <sip:callee@127.0.0.1:%d>\r\n" % me)
    rawua.recv(sock, 2)  # the ACK
    info = rawua.recv(sock, 2)  # the first request of the mix
    if info and info.startswith("INFO "):
        rawua.respond(sock, info, peer, "200 OK")
    bye = ("BYE sip:load@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbye1\r\nMax-Forwards: 70\r\n"
           "From: %s;tag=cal1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 7 BYE\r\n"
           "Content-Length: 0\r\n\r\n"
           % (uac, me, rawua.header(inv, "To"), rawua.header(inv, "From"),
              rawua.header(inv, "Call-ID"))).encode()
    for _ in range(2):  # the BYE, then its retransmission
        sock.sendto(bye, peer)
        r = rawua.recv(sock, 1)
        while r and not r.startswith("SIP/2.0"):
            r = rawua.recv(sock, 1)
        answers.append(str(rawua.status(r)))
open(out, "w").write(" ".join(answers) + "\n")
PY
start_bg python3 "$WORK/bye_twice.py" "$A" "$B" "$WORK/bye_twice.out"
peer=${PIDS[-1]}
wait_udp_port "$A"
timeout -k 1 10 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 --target "127.0.0.1:$A" \
	--calls 1 --duration 1.5 --req-rate 0.001 --json "$WORK/bye_twice.json" \
	>"$WORK/bye_twice.uac" 2>&1
rc=$?
wait_exit 3 "$peer"
answers=$(cat "$WORK/bye_twice.out" 2>/dev/null)
unexpected=$(json_get "$WORK/bye_twice.json" 'j["unexpected"]["requests"]' 2>/dev/null)
check "uac: the callee's BYE and its repeat both get 200 ($answers), no error (exit $rc, unexpected requests ${unexpected:-?})" \
	test "$answers/$rc/$unexpected" = "200 200/0/0"

# ---- 2. uac: the callee goes away with the calls up -------------------------------
start_uas gone --duration 0.7 "${T[@]}"
t0=$(date +%s.%N)
timeout -k 1 6 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 --target "127.0.0.1:$A" \
	--calls 40 --rate 1000 --duration 1 --req-rate 10 --window 4 "${T[@]}" \
	--json "$WORK/gone.uac.json" >"$WORK/gone.uac" 2>&1
rc=$?
secs=$(secs_since "$t0")
stop "$UAS_PID"
# the uac's own JSON: the uas writes gone.json as it stops, which on a slow
# machine came after the uac's, in the same file, and had no BYE in it
bye_to=$(json_get "$WORK/gone.uac.json" 'j["by_method"]["BYE"]["timeouts"]' 2>/dev/null)
# a call whose INFO timed out in the mix is lost (RFC 3261 12.2.1.2: as
# after a 408), and sends no BYE: the others' BYEs time out
lost=$(json_get "$WORK/gone.uac.json" 'j["calls"]["lost"]' 2>/dev/null)
# --window 4 timed out 4 BYEs per 64*T1: 10 rounds, 6.4 s after the mix;
# together they take 2 x 64*T1 after it: about 2.5 s in all
check "uac: a callee gone, its BYEs time out together: the run ends ${secs}s after its start (under 5), BYE timeouts ${bye_to:-?} and calls lost ${lost:-?} of 40 (exit $rc)" \
	python3 -c "import sys; sys.exit(0 if $secs < 5 and ${bye_to:-0} + ${lost:-0} == 40 and ${bye_to:-0} > 0 else 1)"

# ---- 3. uas: one malformed request, one error -------------------------------------
# long enough for the raw sender (a python start on a busy machine) to reach it
start_uas malformed --duration 3 --max-errors 1
status=$(python3 - "$A" "$B" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
import rawua
uas, me = int(sys.argv[1]), int(sys.argv[2])
s = rawua.udp(me)
# a Content-Length beyond the datagram: sip_parse refuses it, a 400 can be formed
s.sendto(("OPTIONS sip:x@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKm1\r\n"
          "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: m1\r\n"
          "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 500\r\n\r\nshort"
          % (uas, me)).encode(), ("127.0.0.1", uas))
print(rawua.status(rawua.recv(s, 1)))
PY
)
wait_exit 5 "$UAS_PID"
rc=$?
errs=$(json_get "$WORK/malformed.json" 'j["errors"]["total"]' 2>/dev/null)
check "uas: a malformed request gets 400 ($status) and is one error (${errs:-?}): --max-errors 1 passes (exit $rc)" \
	test "$status/$errs/$rc" = "400/1/0"

# ---- 4. uac: no call set up, no mix phase -----------------------------------------
# nothing listens on A: every INVITE times out after 64*T1
t0=$(date +%s.%N)
timeout -k 1 8 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 --target "127.0.0.1:$A" \
	--calls 5 --rate 100 --duration 4 "${T[@]}" --json "$WORK/nomix.json" >"$WORK/nomix.uac" 2>&1
rc=$?
secs=$(secs_since "$t0")
failed=$(json_get "$WORK/nomix.json" 'j["calls"]["failed"]' 2>/dev/null)
mix=$(json_get "$WORK/nomix.json" 'j["requests"]["mix_seconds"]' 2>/dev/null)
check "uac: no call set up (${failed:-?} of 5 failed, exit $rc): no mix phase (mix_seconds ${mix:-?}), the run ends ${secs}s after its start, not after --duration 4" \
	python3 -c "import sys; sys.exit(0 if '${failed:-}' == '5' and $rc == 1 and ${mix:-9} < 0.5 and $secs < 3.5 else 1)"

# ---- 5. uas: a 2xx never ACKed ends its call with a BYE ---------------------------
# 16 calls fill the table (--max-calls 16); none is ACKed. The BYE of each of
# the first 8 is answered at its second copy; those of the other 8 never are.
# Then a 17th call must find a free slot (200, not 503).
cat >"$WORK/no_ack.py" <<'PY'
import re, sys, time
sys.path.insert(0, "tests/integration")
import rawua

uas, me = int(sys.argv[1]), int(sys.argv[2])
s = rawua.udp(me)
dst = ("127.0.0.1", uas)
contact = "sip:caller@127.0.0.1:%d;transport=udp" % me
sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n"


def invite(i):
    rr = "Record-Route: <sip:127.0.0.1:%d;lr>\r\n" % me if i == 0 else ""
    s.sendto(("INVITE sip:service@127.0.0.1:%d SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKinv%d\r\nMax-Forwards: 70\r\n"
              "From: <sip:load@127.0.0.1:%d>;tag=c%d\r\nTo: <sip:service@127.0.0.1:%d>\r\n"
              "Call-ID: noack-%d-%d\r\nCSeq: 1 INVITE\r\nContact: <%s>\r\n%s"
              "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
              % (uas, me, i, me, i, uas, i, int(time.time()), contact, rr, len(sdp), sdp)).encode(),
             dst)


def tag(h):
    m = re.search(r";tag=([^;\s>]+)", h or "")
    return m.group(1) if m else None


ok_tag = {}  # Call-ID -> the uas's tag in its 200
byes = {}  # Call-ID -> copies of its BYE
problems = []
for i in range(16):
    invite(i)
end = time.time() + 2.2  # 64*T1 to the BYEs, 64*T1 more to their timeouts
while time.time() < end:
    m = rawua.recv(s, end - time.time())
    if m is None:
        break
    cid = rawua.header(m, "Call-ID")
    if m.startswith("SIP/2.0 200") and "INVITE" in rawua.header(m, "CSeq"):
        ok_tag[cid] = tag(rawua.header(m, "To"))
    elif m.startswith("BYE "):
        copies = byes.setdefault(cid, [])
        copies.append(m)
        i = int(cid.split("-")[1])
        if len(copies) == 1:
            ruri = m.split(" ")[1]
            if ruri != contact:
                problems.append("%s: Request-URI %s" % (cid, ruri))
            if tag(rawua.header(m, "To")) != "c%d" % i:
                problems.append("%s: To %s" % (cid, rawua.header(m, "To")))
            if tag(rawua.header(m, "From")) != ok_tag.get(cid):
                problems.append("%s: From %s, the 200's tag %s" % (cid, rawua.header(m, "From"), ok_tag.get(cid)))
            if not (rawua.header(m, "CSeq") or "").endswith(" BYE"):
                problems.append("%s: CSeq %s" % (cid, rawua.header(m, "CSeq")))
            route = rawua.header(m, "Route")
            if (route == "<sip:127.0.0.1:%d;lr>" % me) != (i == 0):
                problems.append("%s: Route %s" % (cid, route))
        elif m != copies[0]:
            problems.append("%s: a retransmission differs from the first BYE" % cid)
        elif i < 8 and len(copies) == 2:
            rawua.respond(s, m, dst, "200 OK")
invite(16)
last = None
end = time.time() + 1
while time.time() < end and last is None:
    m = rawua.recv(s, end - time.time())
    if m and m.startswith("SIP/2.0") and "noack-16-" in (rawua.header(m, "Call-ID") or "") \
            and rawua.status(m) >= 200:
        last = rawua.status(m)
for p in problems[:5]:
    print("#", p, file=sys.stderr)
resent = sum(1 for c in byes.values() if len(c) >= 2)
print("byes %d resent %d wrong %d next_call %s" % (len(byes), resent, len(problems), last))
PY
start_uas no_ack --max-calls 16 "${T[@]}"
out=$(python3 "$WORK/no_ack.py" "$A" "$B")
stop "$UAS_PID"
check "uas: 16 calls whose 2xx is never ACKed each get a BYE, retransmitted, as the dialog has it (Request-URI the Contact, tags, route) ($out)" \
	test "${out% next_call*}" = "byes 16 resent 16 wrong 0"
check "uas: those calls' slots are free again: a 17th call in a table of 16 is answered 200 ($out)" \
	test "${out##* next_call }" = 200
check "uas: own_byes counts them: 16 sent, 8 answered, 8 timed out, each retransmitted; 16 ACK timeouts" \
	python3 - "$WORK/no_ack.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
b = j.get("own_byes", {})
ok = (b.get("sent"), b.get("answered"), b.get("timeouts"), b.get("failed")) == (16, 8, 8, 0) \
    and b.get("retransmissions", 0) >= 16 and j["acks"]["timeouts"] == 16
if not ok:
    print("# own_byes %r, acks %r" % (b, j["acks"]))
sys.exit(0 if ok else 1)
PY

[ "$NOT_OK" -eq 0 ]
