#!/usr/bin/env bash
# The SIPp callees the other scripts run take a retransmitted INVITE in their
# stride, as a UAS must (RFC 3261 13.3.1.4, 17.2.1): on a loaded host
# sipshardd's Timer A may resend leg B's INVITE before the callee's 180 has
# reached it, and the retransmission then reaches the callee after its 200,
# before the ACK. uas_bye.xml (failover.sh, callpath.sh ...) aborted such a
# call as an unexpected message, and the script's checks after it failed
# (failover.sh: 7 at once, under a load of 3). A raw caller (rawua.py) sends
# the INVITE, its retransmission after the 200 or at once after the INVITE,
# then the ACK, and answers the callee's BYE: the call must succeed.
# Every other SIPp callee that answers an INVITE (or re-INVITE) 200 and then
# waits for the ACK had the same abort: each one (but uas_auth.xml and
# uas_422_then_bye.xml, whose first INVITE is challenged; their second
# INVITE's 200 has the same optional recv) takes the INVITE, its
# retransmission 0.1 s after the 200 and the ACK, the caller answers 200 to
# what comes after for 1 s, and SIPp must not have aborted the call.
# uas_auth.xml and uas_422_then_bye.xml, given a repeat of their first
# INVITE after its 401/422 was ACKed (the caller's Timer A fired before the
# final reached it), answered it with the final again, as SIPp does for a
# repeat of the last request it answered, but built anew from the ACK (CSeq
# "1 ACK", the To tag twice), and aborted the call at the ACK a caller's
# transaction sends for it (RFC 3261 17.1.1.2). A raw caller sends the INVITE,
# ACKs its 401/422, sends the same INVITE again, ACKs (or not) the repeated
# final, which must be the first one's CSeq and To, then the INVITE with the
# digest credentials (or asking for 120 s), ACKs its 200 and answers the
# callee's BYE: SIPp must exit 0.
# Ports: 16803 (the SIPp callee), 16804 (the raw caller); SIPP_RETRANS_PORT
# names another first port.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

UAS=${SIPP_RETRANS_PORT:-16803}
ME=$((UAS + 1))

cat >"$WORK/caller.py" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua

uas, me, when = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
mode = sys.argv[4] if len(sys.argv) > 4 else "bye"
s = rawua.udp(me)
dst = ("127.0.0.1", uas)
inv = ("INVITE sip:callee@127.0.0.1:%d SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKretrans%s\r\nMax-Forwards: 70\r\n"
       "From: <sip:caller@127.0.0.1:%d>;tag=c1\r\nTo: <sip:callee@127.0.0.1:%d>\r\n"
       "Call-ID: retrans-%s-%d\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:%d>\r\n"
       "Content-Length: 0\r\n\r\n" % (uas, me, when, me, uas, when, int(time.time()), me))
s.sendto(inv.encode(), dst)
if when == "at_once":
    s.sendto(inv.encode(), dst)
got = []
ok = None
end = time.time() + 2
while ok is None and time.time() < end:
    m = rawua.recv(s, end - time.time())
    if m and m.startswith("SIP/2.0"):
        got.append(str(rawua.status(m)))
        if rawua.status(m) == 200:
            ok = m
if ok is None:
    print("no 200 (%s)" % " ".join(got))
    sys.exit(0)
if when == "after_200":
    time.sleep(0.1)
    s.sendto(inv.encode(), dst)
    time.sleep(0.1)
to = rawua.header(ok, "To")
s.sendto(inv.replace("INVITE sip:", "ACK sip:", 1).replace("1 INVITE", "1 ACK")
         .replace("To: <sip:callee@127.0.0.1:%d>" % uas, "To: " + to).encode(), dst)
if mode == "absorb":
    end = time.time() + 1
    while time.time() < end:
        m = rawua.recv(s, end - time.time())
        if m and not m.startswith("SIP/2.0"):
            rawua.respond(s, m, dst, "200 OK")
    print("acked")
    sys.exit(0)
bye = rawua.recv_request(s, "BYE", 3)
if bye:
    rawua.respond(s, bye, dst, "200 OK")
print("bye %s" % ("yes" if bye else "no"))
PY

for when in after_200 at_once; do
	start_bg sipp -sf tests/sipp/uas_bye.xml -i 127.0.0.1 -p "$UAS" -nostdin -m 1 \
		-trace_err -error_file "$WORK/uas-$when.err" >"$WORK/uas-$when.out" 2>&1
	pid=${PIDS[-1]}
	wait_udp_port "$UAS"
	out=$(python3 "$WORK/caller.py" "$UAS" "$ME" "$when")
	wait_exit 5 "$pid"
	rc=$?
	aborted=$(grep -c "Aborting call" "$WORK/uas-$when.err" 2>/dev/null)
	check "uas_bye.xml: an INVITE retransmitted ($when) does not abort the call: SIPp exits 0 (exit $rc, $out, aborted ${aborted:-0})" \
		test "$rc" = 0 -a "$out" = "bye yes"
done

for name in uas_await_message_bye uas_await_sbc_bye uas_bye_after uas_info_bye uas_keepalive \
	uas_keepalive_481 uas_keepalive_silent uas_message uas_no_bye uas_no_timer \
	uas_ring_info_bye uas_session_timer ../../bench/sipp/uas_call_info; do
	sf=tests/sipp/$name.xml
	name=$(basename "$name")
	start_bg sipp -sf "$sf" -i 127.0.0.1 -p "$UAS" -nostdin -m 1 -key se 90 \
		-trace_err -error_file "$WORK/$name.err" >"$WORK/$name.out" 2>&1
	pid=${PIDS[-1]}
	wait_udp_port "$UAS"
	out=$(python3 "$WORK/caller.py" "$UAS" "$ME" "after_200" absorb)
	wait_exit 0 "$pid"
	aborted=$(grep -c "Aborting call\|unexpected" "$WORK/$name.err" 2>/dev/null)
	check "$name.xml: an INVITE retransmitted after its 200, before the ACK, does not abort the call ($out, aborted ${aborted:-0})" \
		test "$out" = "acked" -a "${aborted:-0}" = 0
done

cat >"$WORK/challenged.py" <<'PY'
import hashlib, re, sys, time
sys.path.insert(0, "tests/integration")
import rawua

uas, me, kind, ack_repeat = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "ack"
s = rawua.udp(me)
dst = ("127.0.0.1", uas)
uri = "sip:callee@127.0.0.1:%d" % uas
callid = "challenged-%s-%s-%d" % (kind, sys.argv[4], int(time.time()))


def request(method, cseq, branch, to="<%s>" % uri, extra=""):
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1:%d>;tag=c1\r\nTo: %s\r\n"
            "Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:caller@127.0.0.1:%d>\r\n%s"
            "Content-Length: 0\r\n\r\n" % (method, uri, me, branch, me, to, callid, cseq,
                                               method, me, extra)).encode()


def final(t):
    end = time.time() + t
    while time.time() < end:
        m = rawua.recv(s, end - time.time())
        if m and m.startswith("SIP/2.0") and rawua.status(m) >= 200:
            return m
    return None


se = "Session-Expires: 90\r\nSupported: timer\r\n" if kind == "422" else ""
inv1 = request("INVITE", 1, "z9hG4bKchal1", extra=se)
s.sendto(inv1, dst)
got = []
r = final(2)
got.append(str(rawua.status(r)))
if r is None:
    print("no final: " + " ".join(got))
    sys.exit(0)
s.sendto(request("ACK", 1, "z9hG4bKchal1", rawua.header(r, "To")), dst)
time.sleep(0.1)
s.sendto(inv1, dst)  # the first INVITE again, after its final was ACKed
r2 = final(2)
got.append(str(rawua.status(r2)))
if r2 is not None and (rawua.header(r2, "CSeq") != rawua.header(r, "CSeq") or
                       rawua.header(r2, "To") != rawua.header(r, "To")):
    got[-1] += "(CSeq %s, To %s)" % (rawua.header(r2, "CSeq"), rawua.header(r2, "To"))
if r2 is not None and ack_repeat:
    s.sendto(request("ACK", 1, "z9hG4bKchal1", rawua.header(r2, "To")), dst)
time.sleep(0.1)
if kind == "401":
    ch = rawua.header(r, "WWW-Authenticate") or ""
    realm = re.search(r'realm="([^"]*)"', ch).group(1)
    nonce = re.search(r'nonce="([^"]*)"', ch).group(1)
    md5 = lambda x: hashlib.md5(x.encode()).hexdigest()
    resp = md5("%s:%s:%s" % (md5("trunk7:%s:s3cret" % realm), nonce, md5("INVITE:" + uri)))
    extra = ('Authorization: Digest username="trunk7", realm="%s", nonce="%s", uri="%s", '
             'response="%s", algorithm=MD5\r\n' % (realm, nonce, uri, resp))
else:
    extra = "Session-Expires: 120\r\nMin-SE: 120\r\nSupported: timer\r\n"
s.sendto(request("INVITE", 2, "z9hG4bKchal2", extra=extra), dst)
ok = final(3)
got.append(str(rawua.status(ok)))
if rawua.status(ok) != 200:
    print("no 200: " + " ".join(got))
    sys.exit(0)
s.sendto(request("ACK", 2, "z9hG4bKchal3", rawua.header(ok, "To")), dst)
bye = rawua.recv_request(s, "BYE", 3)
if bye:
    rawua.respond(s, bye, dst, "200 OK")
print("%s bye %s" % (" ".join(got), "yes" if bye else "no"))
PY

for sc in uas_auth:401 uas_422_then_bye:422; do
	name=${sc%%:*}
	code=${sc#*:}
	for ack in ack noack; do
		start_bg sipp -sf "tests/sipp/$name.xml" -i 127.0.0.1 -p "$UAS" -nostdin -m 1 \
			-trace_err -error_file "$WORK/$name-$ack.err" >"$WORK/$name-$ack.out" 2>&1
		pid=${PIDS[-1]}
		wait_udp_port "$UAS"
		out=$(python3 "$WORK/challenged.py" "$UAS" "$ME" "$code" "$ack")
		wait_exit 5 "$pid"
		rc=$?
		check "$name.xml: the first INVITE again after its $code was ACKed gets the same $code again (repeat $ack'ed), the next INVITE the 200, and SIPp exits 0 (exit $rc, $out)" \
			test "$rc" = 0 -a "$out" = "$code $code 200 bye yes"
	done
done

[ "$NOT_OK" -eq 0 ]
