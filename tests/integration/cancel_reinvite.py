#!/usr/bin/env python3
"""A CANCEL of a re-INVITE (RFC 3261 9.1, 9.2) sent by the caller, then one
by the callee. The other side must get a CANCEL for the INVITE it was sent
(same branch, its own CSeq) and the canceller a 200 for its CANCEL, then the
487. Usage: cancel_reinvite.py SIPSHARDD_PORT (the daemon routes every call
to 127.0.0.1:PORT+2; the caller is PORT+1). Used by cancel.sh; prints what
each side got and PASS or FAIL, and exits 0 when all is right."""
import re
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from rawua import header as hdr, recv_all, recv_first, respond, udp  # noqa: E402

D = int(sys.argv[1])
A_PORT, B_PORT = D + 1, D + 2


a, b = udp(A_PORT), udp(B_PORT)
dest = ("127.0.0.1", D)
# a message a side waits for is taken as it comes (recv_first), 1 s at most;
# what a side gets in a while is read for that whole while (recv_all)
cid, ftag = "cr-%d@127.0.0.1" % int(time.time()), "atag1"


def a_req(method, cseq, branch, to, cseq_method=None):
    return ("%s sip:callee@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
            "From: <sip:caller@127.0.0.1:%d>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\n"
            "CSeq: %d %s\r\nContact: <sip:caller@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n" % (method, D, A_PORT, branch, A_PORT, ftag, to, cid,
                                           cseq, cseq_method or method, A_PORT)).encode()


# the call
a.sendto(a_req("INVITE", 1, "z9hG4bKinv1", "<sip:callee@127.0.0.1>"), dest)
inv, bpeer = recv_first(b, lambda m: m.startswith("INVITE"), 1.0)
respond(b, inv, bpeer, "200 OK", "btag1", "Contact: <sip:callee@127.0.0.1:%d>\r\n" % B_PORT)
final = recv_first(a, lambda m: m.startswith("SIP/2.0 200"), 1.0)[0]
a_to = hdr(final, "To")
a.sendto(a_req("ACK", 1, "z9hG4bKack1", a_to), dest)
recv_all(b, 0.3)

ok = True
# 1. the caller's re-INVITE, left ringing by the callee, then its CANCEL
a.sendto(a_req("INVITE", 2, "z9hG4bKre2", a_to), dest)
reinv, bpeer = recv_first(b, lambda m: m.startswith("INVITE"), 1.0)
respond(b, reinv, bpeer, "180 Ringing")
recv_all(a, 0.3)
a.sendto(a_req("CANCEL", 2, "z9hG4bKre2", a_to), dest)
at_b = [mp for mp in [recv_first(b, lambda m: m.startswith("CANCEL"), 1.0)] if mp[0]]
at_a = [m for m, _ in recv_all(a, 0.3)]
print("caller's CANCEL: caller got %s; callee got %d CANCEL" %
      ([m.split("\r\n")[0] + " / " + hdr(m, "CSeq") for m in at_a], len(at_b)))
if not at_b:
    ok = False
    # the re-INVITE still needs its final, or the callee's would meet glare
    respond(b, reinv, bpeer, "486 Busy Here")
    recv_all(a, 0.3)
    a.sendto(a_req("ACK", 2, "z9hG4bKre2", a_to), dest)
    recv_all(b, 0.3)
else:
    cancel, p = at_b[0]
    same_branch = re.search(r"branch=([^;\r]+)", hdr(cancel, "Via")).group(1) == \
        re.search(r"branch=([^;\r]+)", hdr(reinv, "Via")).group(1)
    same_cseq = hdr(cancel, "CSeq").split()[0] == hdr(reinv, "CSeq").split()[0]
    print("  CANCEL to callee: same branch as the re-INVITE %s, same CSeq %s" %
          (same_branch, same_cseq))
    ok = ok and same_branch and same_cseq
    respond(b, cancel, p, "200 OK")
    respond(b, reinv, p, "487 Request Terminated")
    got = [m for m, _ in recv_all(a, 0.5)]
    print("  then the caller got %s" % [m.split("\r\n")[0] + " / " + hdr(m, "CSeq") for m in got])
    ok = ok and any(m.startswith("SIP/2.0 487") for m in got)
    ok = ok and not any(m.startswith("SIP/2.0 200") and "INVITE" in hdr(m, "CSeq") for m in got)
    a.sendto(a_req("ACK", 2, "z9hG4bKre2", a_to), dest)
    acks = [m for m, _ in recv_all(b, 0.5) if m.startswith("ACK")]
    ok = ok and len(acks) == 1
ok = ok and any(m.startswith("SIP/2.0 200") and "CANCEL" in hdr(m, "CSeq") for m in at_a)

# 2. the callee's re-INVITE, then its CANCEL
b_from = "<sip:callee@127.0.0.1>;tag=btag1"
b_to = hdr(inv, "From")
def b_req(method, cseq, branch):
    return ("%s sip:caller@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
            "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
            "Contact: <sip:callee@127.0.0.1:%d>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (method, D, B_PORT, branch, b_from, b_to, hdr(inv, "Call-ID"), cseq, method,
               B_PORT)).encode()
b.sendto(b_req("INVITE", 10, "z9hG4bKbre10"), dest)
breinv, apeer = recv_first(a, lambda m: m.startswith("INVITE"), 1.0)
if breinv:
    respond(a, breinv, apeer, "180 Ringing")
    recv_all(b, 0.3)
    b.sendto(b_req("CANCEL", 10, "z9hG4bKbre10"), dest)
    at_a = [m for m, _ in recv_all(a, 1.0) if m.startswith("CANCEL")]
    at_b = [m for m, _ in recv_all(b, 0.3)]
    print("callee's CANCEL: callee got %s; caller got %d CANCEL" %
          ([m.split("\r\n")[0] for m in at_b], len(at_a)))
    ok = ok and len(at_a) == 1 and any(m.startswith("SIP/2.0 200") for m in at_b)
else:
    print("callee's re-INVITE not relayed")
    ok = False
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
