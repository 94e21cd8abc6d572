#!/usr/bin/env python3
"""sipshard-load uas with --answer-delay-ms: a CANCEL that comes while the call
rings (before the delayed 200) gets its 200, but the INVITE is then answered
200 with SDP anyway, instead of 487 (RFC 3261 9.2: the UAS SHOULD answer the
INVITE 487 at once). A daemon's timers.no_answer_s CANCEL, load-tested with
this callee, thus meets a call answered after its CANCEL.

    repro/uas_cancel_ringing.py   (uses 127.0.0.1:33180 and 33181)
Exit 1 when the INVITE is not answered 487 within 1 s of the CANCEL."""
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LOAD = os.path.join(HERE, "..", "build", "sipshard-load")
UAS, ME = 33180, 33181

uas = subprocess.Popen([LOAD, "--role", "uas", "--local", "127.0.0.1:%d" % UAS,
                        "--answer-delay-ms", "2000", "--quiet"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
try:
    time.sleep(0.3)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", ME))
    s.settimeout(0.2)

    def req(method, cseq_method, body=""):
        return ("%s sip:service@127.0.0.1:%d SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKcancel1\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:load@127.0.0.1:%d>;tag=f1\r\n"
                "To: <sip:service@127.0.0.1:%d>\r\n"
                "Call-ID: cancel-ringing-1@127.0.0.1\r\n"
                "CSeq: 1 %s\r\n"
                "Contact: <sip:load@127.0.0.1:%d>\r\n"
                "%s"
                "Content-Length: %d\r\n\r\n%s" % (
                    method, UAS, ME, ME, UAS, cseq_method, ME,
                    "Content-Type: application/sdp\r\n" if body else "", len(body), body)
                ).encode()

    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n"
    s.sendto(req("INVITE", "INVITE", sdp), ("127.0.0.1", UAS))
    got = []

    def pump(seconds):
        end = time.time() + seconds
        while time.time() < end:
            try:
                d = s.recv(65535).decode("latin-1")
            except socket.timeout:
                continue
            st = re.match(r"SIP/2.0 (\d+)", d).group(1)
            meth = re.search(r"^CSeq:\s*\d+\s+(\w+)", d, re.M).group(1)
            got.append((time.time(), st, meth))
            print("  got %s to %s" % (st, meth))

    pump(0.3)  # 100, 180
    t_cancel = time.time()
    s.sendto(req("CANCEL", "CANCEL"), ("127.0.0.1", UAS))
    pump(2.5)
    finals = [(t, st) for t, st, m in got if m == "INVITE" and int(st) >= 200]
    cancel_ok = any(m == "CANCEL" and st == "200" for _, st, m in got)
    ok = cancel_ok and finals and finals[0][1] == "487" and finals[0][0] - t_cancel < 1.0
    if finals and finals[0][1] == "487":
        # the ACK of the 487 (same branch, 17.1.1.3) ends the retransmissions
        ack = req("ACK", "ACK").replace(b"To: <sip:service@127.0.0.1:%d>" % UAS,
                                         b"To: <sip:service@127.0.0.1:%d>;tag=x" % UAS)
        s.sendto(ack, ("127.0.0.1", UAS))
    if not ok:
        print("FAIL: after the CANCEL the INVITE was answered %s" %
              (", ".join("%s after %.1f s" % (st, t - t_cancel) for t, st in finals) or "nothing"))
        sys.exit(1)
    print("ok: CANCEL answered 200, the INVITE 487 %.3f s after it" % (finals[0][0] - t_cancel))
finally:
    uas.terminate()
    out = uas.communicate(timeout=5)[0].decode()
    print("".join("  uas: " + l + "\n" for l in out.splitlines()[:6]))
