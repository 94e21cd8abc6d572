#!/usr/bin/env python3
"""Call pickup of a forked call through sipshard (RFC 3891 3: an early
dialog replaced at the UA that initiated it). A caller calls through
sipshard, and the callee side rings on two forks (180 under To tag f1, then
under f2), so the caller holds two early dialogs. A third UA then sends an
INVITE whose Replaces names a ringing fork's dialog as that phone knows it
(leg B's Call-ID, to-tag sipshard's From tag, from-tag the fork's).

CASE f1 or f2: the caller must get, from sipshard, an INVITE whose Replaces
names the same fork's early dialog as the caller knows it (its Call-ID,
to-tag its own tag, from-tag that fork's tag toward it); the second fork's
was once not found (only the first fork's slot was looked at), and the
INVITE went to the callee side as a new call with the header unchanged.
CASE a2: a Replaces naming the caller's side of the second fork's early
dialog gets 481 (only leg B of an early call is sipshard's to replace), as
the first fork's does; it once went to the callee side with the caller's
Call-ID and tags in it.

Usage: pickup.py SIPSHARDD_PORT CASE (the caller is PORT+1, the callee side
PORT+2, the pickup UA PORT+3; the daemon routes every call to PORT+2).
Prints what each side got and PASS or FAIL; exits 0 when all is right."""
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from rawua import fork_response, header, recv_first, status, udp  # noqa: E402

D, CASE = int(sys.argv[1]), sys.argv[2]
dest = ("127.0.0.1", D)
c, y, p = udp(D + 1), udp(D + 2), udp(D + 3)
run = "%d" % (int(time.time() * 1000) % 1000000)


def wait(sock, pred, t=2.0):
    return recv_first(sock, pred, t)[0]


def tag_of(value):
    return value.split(";tag=")[1].split(";")[0]


cid = "pickup-caller-%s-%s@127.0.0.1" % (CASE, run)
c.sendto(("INVITE sip:yuser@127.0.0.1:%d SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKinv%s\r\nMax-Forwards: 70\r\n"
          "From: <sip:caller@127.0.0.1:%d>;tag=ctag\r\nTo: <sip:yuser@127.0.0.1>\r\n"
          "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:%d>\r\n"
          "Content-Length: 0\r\n\r\n" % (D, D + 1, run, D + 1, cid, D + 1)).encode(), dest)
inv = wait(y, lambda m: m.startswith("INVITE "))
if not inv:
    print("the callee side got no INVITE")
    print("FAIL")
    sys.exit(1)
bcid, bfrom = header(inv, "Call-ID"), tag_of(header(inv, "From"))
y.sendto(fork_response(inv, "180 Ringing", "f1", D + 2), dest)
r1 = wait(c, lambda m: status(m) == 180)
time.sleep(0.2)
y.sendto(fork_response(inv, "180 Ringing", "f2", D + 2), dest)
r2 = wait(c, lambda m: status(m) == 180)
if not r1 or not r2:
    print("the caller got 180s: %s %s" % (bool(r1), bool(r2)))
    print("FAIL")
    sys.exit(1)
a1, a2 = tag_of(header(r1, "To")), tag_of(header(r2, "To"))
print("the caller rings in two early dialogs, tags %s and %s" % (a1, a2))
time.sleep(0.2)
if CASE in ("f1", "f2"):
    rep = "%s;to-tag=%s;from-tag=%s" % (bcid, bfrom, CASE)
else:  # the caller's side, as the caller knows it
    rep = "%s;to-tag=%s;from-tag=ctag" % (cid, a1 if CASE == "a1" else a2)
p.sendto(("INVITE sip:pickup@127.0.0.1:%d SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKpick%s\r\nMax-Forwards: 70\r\n"
          "From: <sip:pickup@127.0.0.1:%d>;tag=ptag\r\nTo: <sip:pickup@127.0.0.1>\r\n"
          "Call-ID: pick-%s-%s@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
          "Contact: <sip:pickup@127.0.0.1:%d>\r\nRequire: replaces\r\nReplaces: %s\r\n"
          "Content-Length: 0\r\n\r\n" % (D, D + 3, run, D + 3, CASE, run, D + 3, rep)).encode(),
         dest)
print("the pickup UA sent Replaces: %s" % rep)
ok = True
if CASE in ("f1", "f2"):
    at_c = wait(c, lambda m: m.startswith("INVITE "), 2.0)
    want = "%s;to-tag=ctag;from-tag=%s" % (cid, a1 if CASE == "f1" else a2)
    got = header(at_c, "Replaces") if at_c else None
    print("the caller got Replaces: %s (wanted %s)" % (got, want))
    ok = got == want
else:
    fin = wait(p, lambda m: status(m) >= 200, 2.0)
    print("the pickup UA got %s" % (status(fin) if fin else None))
    ok = fin is not None and status(fin) == 481
at_y = wait(y, lambda m: m.startswith("INVITE ") and "pick-" in header(m, "Call-ID"), 0.5)
print("the callee side got the pickup's INVITE: %s" % bool(at_y))
ok = ok and at_y is None
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
