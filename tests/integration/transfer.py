#!/usr/bin/env python3
"""An attended transfer through sipshard (RFC 3891 Replaces, RFC 5589 4):
phone P1 has call 1 with X and call 2 with Y, both through sipshard; X sends
sipshard the INVITE with Replaces naming call 2 as P1 knows it (what P1's
REFER told it). Y must get, from sipshard, an INVITE whose Replaces names
call 2 as Y knows it (its Call-ID, to-tag Y's own tag, from-tag sipshard's),
and once Y accepts and ends call 2 with a BYE, P1 gets that BYE. Y first
challenges the transfer's INVITE (407): sipshard answers with the
credentials of the route call 2 took to Y, naming call 2 the same way. Before
that, Y naming its own call (its address and Contact) gets 403 and two
Replaces lines 400, and one of nearly 8 KiB 513 (too large to go to the
controller with call 2's leg: not 503, which says the controller is
overloaded); a Replaces naming call 2 with a second to-tag without a value
is malformed (RFC 3891 6.1) and reaches Y unchanged, by the route; after
the transfer, a Replaces naming no dialog of ours must reach Y unchanged,
by the route.
With "refer" (a daemon with rewrite_refer_to), P1 first sends X, in call 1,
the REFER of that transfer, its Refer-To naming Y behind P1's PBX
(pbx.internal:5070, maddr 10.1.1.1) with call 2's Replaces in its headers:
X must get it naming sipshard (127.0.0.1:PORT) instead, maddr gone,
transport and the Replaces as P1 wrote them, and its Referred-By (P1 at
the PBX, RFC 3892) naming sipshard too, display name and parameter kept;
X sends its INVITE where that Refer-To says, with that Replaces (RFC 3515
2.4.2, RFC 5589 7.2).
Usage: transfer.py SIPSHARDD_PORT NWORKERS [refer] (P1 is PORT+1, Y PORT+2,
X PORT+3; the daemon routes user "x..." to X and any other to Y). Prints what
each side got and PASS or FAIL; exits 0 when all is right."""
import sys
import time
import urllib.parse

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from rawua import header, recv, status, udp  # noqa: E402

D, NW = int(sys.argv[1]), int(sys.argv[2])
WITH_REFER = sys.argv[3:] == ["refer"]
P1_PORT, Y_PORT, X_PORT = D + 1, D + 2, D + 3
dest = ("127.0.0.1", D)
p1, y, x = udp(P1_PORT), udp(Y_PORT), udp(X_PORT)
run = "%d" % (int(time.time() * 1000) % 1000000)
ok = True


def worker_of(call_id):
    """The worker that owns a Call-ID (include/sipshard/hash.h, daemon.c)."""
    h = 2166136261
    for c in call_id.encode()[:128]:
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return (h % 256) % NW


def call_id_on(worker, stem):
    for i in range(10000):
        cid = "%s-%s-%d@127.0.0.1" % (stem, run, i)
        if worker_of(cid) == worker:
            return cid
    raise SystemExit("no Call-ID for worker %d" % worker)


def wait(sock, pred, t=2.0):
    """The first message on sock within t seconds that pred accepts."""
    end = time.time() + t
    while time.time() < end:
        m = recv(sock, max(0.0, end - time.time()))
        if m is None:
            break
        if pred(m):
            return m
    return None


def request(method, ruri, port, cid, ftag, to, cseq, extra=""):
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s%d%s\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:ua@127.0.0.1:%d>;tag=%s\r\nTo: %s\r\n"
            "Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:ua@127.0.0.1:%d>\r\n%s"
            "Content-Length: 0\r\n\r\n" % (method, ruri, port, method.lower(), cseq, ftag,
                                           port, ftag, to, cid, cseq, method, port,
                                           extra)).encode()


def answer(sock, req, code, totag, port, extra=""):
    vias = "".join(l + "\r\n" for l in req.split("\r\n") if l.lower().startswith("via:"))
    to = header(req, "To")
    if ";tag=" not in to:
        to += ";tag=" + totag
    sock.sendto(("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                 "Contact: <sip:ua@127.0.0.1:%d>\r\n%sContent-Length: 0\r\n\r\n"
                 % (code, vias, header(req, "From"), to, header(req, "Call-ID"),
                    header(req, "CSeq"), port, extra)).encode(), dest)


def tag_of(value):
    return value.split(";tag=", 1)[1].split(";")[0] if value and ";tag=" in value else None


def call(caller, cport, cid, ftag, user, callee, bport, btag):
    """A call from caller to user through sipshard, answered by callee:
    (the INVITE the callee got, the 200 the caller got)."""
    caller.sendto(request("INVITE", "sip:%s@127.0.0.1:%d" % (user, D), cport, cid, ftag,
                          "<sip:%s@127.0.0.1>" % user, 1), dest)
    inv = wait(callee, lambda m: m.startswith("INVITE "))
    if not inv:
        return None, None
    answer(callee, inv, "200 OK", btag, bport)
    ok200 = wait(caller, lambda m: status(m) == 200)
    if ok200:
        caller.sendto(request("ACK", "sip:ua@127.0.0.1:%d" % D, cport, cid, ftag,
                              header(ok200, "To"), 1), dest)
        wait(callee, lambda m: m.startswith("ACK "), 0.5)
    return inv, ok200


# call 2's Call-ID on worker 0, the transfer's INVITE on the other one (with
# two workers): the lookup is a handoff between workers
c1, c2 = call_id_on(0, "call1"), call_id_on(0, "call2")
c3 = call_id_on(NW - 1, "xfer")
inv1, ok1 = call(p1, P1_PORT, c1, "p1tag1", "xuser", x, X_PORT, "xtag1")
inv2, ok2 = call(p1, P1_PORT, c2, "p1tag2", "yuser", y, Y_PORT, "ytag2")
if not inv1 or not inv2 or not ok2:
    print("the two calls did not come up: call 1 %s, call 2 %s" % (bool(inv1), bool(ok2)))
    print("FAIL")
    sys.exit(1)
# call 2 as P1 knows it, and as Y knows it
p1_remote = tag_of(header(ok2, "To"))
y_cid, y_remote = header(inv2, "Call-ID"), tag_of(header(inv2, "From"))
print("call 2 as P1 knows it: %s, sipshard's tag %s; as Y knows it: %s, sipshard's tag %s"
      % (c2, p1_remote, y_cid, y_remote))

replaces = "%s;to-tag=%s;from-tag=p1tag2" % (c2, p1_remote)


def refused(sock, port, cid, hdrs):
    """The status sipshard answers an INVITE from sock with header lines hdrs."""
    sock.sendto(request("INVITE", "sip:sipshard@127.0.0.1:%d" % D, port, cid, "t" + cid[:4],
                        "<sip:sipshard@127.0.0.1>", 1, hdrs), dest)
    r = wait(sock, lambda m: m.startswith("SIP/2.0") and header(m, "Call-ID") == cid)
    return status(r)


# Y itself (its address and Contact) names call 2 as P1 knows it: the new
# call would come back to Y, to replace its call with itself: 403
got = refused(y, Y_PORT, call_id_on(NW - 1, "self"), "Replaces: %s\r\n" % replaces)
print("Y naming its own call got %d" % got)
ok = ok and got == 403
# two Replaces lines: 400 (RFC 3891 3)
got = refused(x, X_PORT, call_id_on(NW - 1, "two"),
              "Replaces: %s\r\nReplaces: %s\r\n" % (replaces, replaces))
print("two Replaces got %d" % got)
ok = ok and got == 400
# nearly 8 KiB (every datagram up to 8192 bytes is taken): it cannot reach
# the controller with call 2's leg beside it, which is its size, not load
pad = "X-Pad: %s\r\n"
big_cid = call_id_on(NW - 1, "big")
size = len(request("INVITE", "sip:sipshard@127.0.0.1:%d" % D, X_PORT, big_cid,
                   "t" + big_cid[:4], "<sip:sipshard@127.0.0.1>", 1,
                   "Replaces: %s\r\n%s" % (replaces, pad % "")))
got = refused(x, X_PORT, big_cid,
              "Replaces: %s\r\n%s" % (replaces, pad % ("p" * (8180 - size))))
print("an INVITE of 8180 bytes with Replaces naming call 2 got %d" % got)
ok = ok and got == 513
# a second to-tag without a value (to-tag EQUAL token): malformed, so not
# matched, and it crosses by the route with the header as it came
bad = replaces + ";to-tag"
bad_cid = call_id_on(NW - 1, "bad")
x.sendto(request("INVITE", "sip:yuser@127.0.0.1:%d" % D, X_PORT, bad_cid, "xtagb",
                 "<sip:yuser@127.0.0.1>", 1, "Replaces: %s\r\n" % bad), dest)
binv = wait(y, lambda m: m.startswith("INVITE ") and header(m, "Call-ID") != y_cid
            and ";tag=" not in header(m, "To"))
print("a Replaces with a valueless to-tag reached Y as %s"
      % (header(binv, "Replaces") if binv else None))
ok = ok and binv is not None and header(binv, "Replaces") == bad
if binv:
    answer(y, binv, "486 Busy Here", "ytagb", Y_PORT)
    fin = wait(x, lambda m: status(m) == 486 and header(m, "Call-ID") == bad_cid)
    ok = ok and fin is not None
    if fin:
        x.sendto(request("ACK", "sip:yuser@127.0.0.1:%d" % D, X_PORT, bad_cid, "xtagb",
                         header(fin, "To"), 1), dest)

# X's INVITE (the REFER from P1 named sipshard's Contact with this Replaces)
xfer_ruri, xfer_dest, xfer_replaces = "sip:sipshard@127.0.0.1:%d" % D, dest, replaces
if WITH_REFER:
    # P1's REFER in call 1 names Y behind its PBX; X gets it naming sipshard
    esc = urllib.parse.quote(replaces, safe="")
    rt = "<sip:yuser@pbx.internal:5070;transport=udp;maddr=10.1.1.1?Replaces=%s>" % esc
    rb = "\"P1\" <sip:p1user@pbx.internal:5070;maddr=10.1.1.1>;x=1"
    # first a sips: one, which cannot name sipshard (no TLS): P1 gets 403,
    # X nothing (the REFER X gets below must be the next one)
    p1.sendto(request("REFER", "sip:xuser@127.0.0.1:%d" % D, P1_PORT, c1, "p1tag1",
                      header(ok1, "To"), 2,
                      "Refer-To: <sips:yuser@pbx.internal:5071>\r\n"), dest)
    no = wait(p1, lambda m: status(m) > 0 and header(m, "CSeq") == "2 REFER")
    print("a REFER with a sips: Refer-To got %s" % (status(no) if no else None))
    ok = ok and no is not None and status(no) == 403
    p1.sendto(request("REFER", "sip:xuser@127.0.0.1:%d" % D, P1_PORT, c1, "p1tag1",
                      header(ok1, "To"), 3,
                      "Refer-To: %s\r\nReferred-By: %s\r\n" % (rt, rb)), dest)
    ref = wait(x, lambda m: m.startswith("REFER "))
    got = header(ref, "Refer-To") if ref else None
    want = "<sip:yuser@127.0.0.1:%d;transport=udp?Replaces=%s>" % (D, esc)
    print("X got Refer-To: %s (wanted %s)" % (got, want))
    ok = ok and got == want
    by = header(ref, "Referred-By") if ref else None
    want_by = "\"P1\" <sip:p1user@127.0.0.1:%d>;x=1" % D
    print("X got Referred-By: %s (wanted %s)" % (by, want_by))
    ok = ok and by == want_by
    if ref:
        answer(x, ref, "202 Accepted", "", X_PORT)
        ok = ok and wait(p1, lambda m: status(m) == 202) is not None
        # where the Refer-To says, with the Replaces from its headers
        uri, hdrs = got.strip("<>").split("?", 1)
        host, port = uri.split("@", 1)[1].split(";", 1)[0].rsplit(":", 1)
        xfer_ruri, xfer_dest = uri, (host, int(port))
        xfer_replaces = urllib.parse.unquote(hdrs.split("=", 1)[1])
x.sendto(request("INVITE", xfer_ruri, X_PORT, c3, "xtag3",
                 "<sip:sipshard@127.0.0.1>", 1, "Replaces: %s\r\n" % xfer_replaces), xfer_dest)
newinv = wait(y, lambda m: m.startswith("INVITE ") and ";tag=" not in header(m, "To"))
if not newinv:
    print("Y got no INVITE for the transfer")
    ok = False
else:
    got = header(newinv, "Replaces")
    want = "%s;to-tag=ytag2;from-tag=%s" % (y_cid, y_remote)
    print("Y got Replaces: %s (wanted %s), Request-URI %s" % (got, want,
                                                             newinv.split(" ")[1]))
    ok = ok and got == want and newinv.split(" ")[1] == "sip:ua@127.0.0.1:%d" % Y_PORT
    ok = ok and c2 not in newinv and c3 not in newinv
    # Y, behind route "y" which has credentials, challenges it: sipshard
    # answers with them, as for call 2 itself, and the INVITE again goes to
    # Y naming call 2 the same way
    answer(y, newinv, "407 Proxy Authentication Required", "ytag7", Y_PORT,
           'Proxy-Authenticate: Digest realm="y.example", nonce="n7", qop="auth"\r\n')
    again = wait(y, lambda m: m.startswith("INVITE ") and
                 (header(m, "Proxy-Authorization") or "") != "")
    auth = header(again, "Proxy-Authorization") if again else None
    print("Y got the INVITE again with %s" % auth)
    ok = ok and again is not None and 'username="trunk-y"' in auth
    ok = ok and header(again, "Replaces") == want and again.split(" ")[1] == newinv.split(" ")[1]
    if again:
        newinv = again
    answer(y, newinv, "200 OK", "ytag3", Y_PORT)
    ok3 = wait(x, lambda m: status(m) == 200)
    print("X got %s" % (ok3.split("\r\n")[0] if ok3 else "no 200"))
    ok = ok and ok3 is not None
    if ok3:
        x.sendto(request("ACK", "sip:ua@127.0.0.1:%d" % D, X_PORT, c3, "xtag3",
                         header(ok3, "To"), 1), dest)
        ok = ok and wait(y, lambda m: m.startswith("ACK ")) is not None
    # Y ends the call it replaced; P1 gets the BYE of call 2
    y.sendto(request("BYE", "sip:ua@127.0.0.1:%d" % D, Y_PORT, y_cid, "ytag2",
                     header(inv2, "From"), 2), dest)
    bye = wait(p1, lambda m: m.startswith("BYE "))
    print("P1 got %s" % ("a BYE of call %s" % header(bye, "Call-ID") if bye else "no BYE"))
    ok = ok and bye is not None and header(bye, "Call-ID") == c2
    if bye:
        answer(p1, bye, "200 OK", "", P1_PORT)
        ok = ok and wait(y, lambda m: status(m) == 200) is not None
    if ok3:
        # the transferred call ends: its CDR is written
        x.sendto(request("BYE", "sip:ua@127.0.0.1:%d" % D, X_PORT, c3, "xtag3",
                         header(ok3, "To"), 2), dest)
        xbye = wait(y, lambda m: m.startswith("BYE "))
        if xbye:
            answer(y, xbye, "200 OK", "", Y_PORT)
        ok = ok and xbye is not None and wait(x, lambda m: status(m) == 200) is not None

# a Replaces naming no dialog of ours: by the route, unchanged
stray = "nosuch@127.0.0.1;to-tag=k0;from-tag=f0"
x.sendto(request("INVITE", "sip:yuser@127.0.0.1:%d" % D, X_PORT, c3 + "s", "xtag4",
                 "<sip:yuser@127.0.0.1>", 1, "Replaces: %s\r\n" % stray), dest)
sinv = wait(y, lambda m: m.startswith("INVITE ") and ";tag=" not in header(m, "To"))
print("a Replaces naming no dialog reached Y as %s" % (header(sinv, "Replaces") if sinv else None))
ok = ok and sinv is not None and header(sinv, "Replaces") == stray
if sinv:
    answer(y, sinv, "486 Busy Here", "ytag4", Y_PORT)
    fin = wait(x, lambda m: status(m) == 486)
    if fin:
        x.sendto(request("ACK", "sip:yuser@127.0.0.1:%d" % D, X_PORT, c3 + "s", "xtag4",
                         header(fin, "To"), 1), dest)
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
