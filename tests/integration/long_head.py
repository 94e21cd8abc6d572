#!/usr/bin/env python3
"""In-dialog requests through a chain of proxies: eight long Via lines (over
1500 bytes of Via, From, To, Call-ID and CSeq, more than a transaction record
holds) must cross to the other side, and its answers come back with every
Via byte for byte, in order, but for the received and rport sipshard puts in
the sender's (vias_back). They were answered 513, and a session refresh
answered so dropped the call at its Session-Expires.

Usage: long_head.py SIPSHARDD_PORT PHASE STATE_FILE. The daemon routes every
call to 127.0.0.1:PORT+2; the caller is PORT+1. Its long-head pool has 4
slots and transactions last 4 s (long_head.sh). Phases:
  calls   a call; a re-INVITE, an INFO and an INFO from the callee, each
          with long Vias, crossing both ways; with every slot taken, the
          answered ones give theirs way; a long request while four slots are
          held unanswered: 513; after the slots expire, a BYE with long
          Vias relayed and answered.
  hold    a call, and an INFO with long Vias that reaches the callee, which
          does not answer yet; what the callee got goes to STATE_FILE.
  resume  (a new daemon took the tables and the pool over) the callee
          answers that INFO: the answer reaches the caller with every Via.
Prints what each side got and PASS or FAIL; exits 0 when all is right."""
import json
import re
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from rawua import header, recv_all, respond, status, udp, vias_of  # noqa: E402

D, PHASE, STATE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
A_PORT, B_PORT = D + 1, D + 2
DEST = ("127.0.0.1", D)
ok = True


def check(what, cond):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and bool(cond)


def wait_for(sock, pred, t=2.0):
    """The first message pred accepts within t seconds, or (None, None)."""
    end = time.time() + t
    while time.time() < end:
        for m, p in recv_all(sock, min(0.2, max(0, end - time.time()))):
            if pred(m):
                return m, p
    return None, None


def long_vias(port, tag):
    """Eight Via lines of an IMS chain, the sender's first: over 1.5 KB."""
    lines = ["Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-sender-%d;rport\r\n"
             % (port, tag, int(time.time() * 1000) % 100000)]
    for i in range(1, 8):
        lines.append("Via: SIP/2.0/UDP scscf%d.ims.mnc001.mcc001.3gppnetwork.org:5060;"
                     "branch=z9hG4bK%s%02d.%040x.0;received=10.20.30.%d;rport=5060;"
                     "i=%s-%d;x-orig-ioi=ims.mnc001.mcc001.3gppnetwork.org\r\n"
                     % (i, tag, i, (i * 0x9E3779B97F4A7C15) % (1 << 160), i, tag, i))
    return "".join(lines)


def vias_back(vias, port):
    """What an answer to a request with long_vias(port, ...) carries back: the
    sender's Via with received and its rport filled (RFC 3261 18.2.1, RFC
    3581 4), the seven others byte for byte."""
    return vias.replace(";rport\r\n", ";rport=%d;received=127.0.0.1\r\n" % port, 1)


class Side:
    """One side of the call, as its UA knows it."""

    def __init__(self, sock, port, call_id, from_hdr, to_hdr, target):
        self.sock, self.port, self.call_id = sock, port, call_id
        self.from_hdr, self.to_hdr, self.target = from_hdr, to_hdr, target

    def request(self, method, cseq, vias, cseq_method=None):
        return ("%s %s SIP/2.0\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
                "Contact: <sip:ua@127.0.0.1:%d>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                % (method, self.target, vias, self.from_hdr, self.to_hdr, self.call_id, cseq,
                   cseq_method or method, self.port)).encode()


def set_up(a, b, n):
    """A call from a to b; returns (caller side, callee side, callee's peer)."""
    cid = "lh-%d-%d@127.0.0.1" % (n, int(time.time() * 1000))
    caller = Side(a, A_PORT, cid, "<sip:caller@127.0.0.1:%d>;tag=a%d" % (A_PORT, n),
                  "<sip:callee@127.0.0.1>", "sip:callee@127.0.0.1:%d" % D)
    a.sendto(caller.request("INVITE", 1, "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKi%d\r\n"
                            % (A_PORT, n)), DEST)
    inv, bpeer = wait_for(b, lambda m: m.startswith("INVITE"))
    if not inv:
        return None, None, None
    respond(b, inv, bpeer, "200 OK", "b%d" % n, "Contact: <sip:callee@127.0.0.1:%d>\r\n" % B_PORT)
    final, _ = wait_for(a, lambda m: m.startswith("SIP/2.0 200"))
    if not final:
        return None, None, None
    caller.to_hdr = header(final, "To")
    a.sendto(caller.request("ACK", 1, "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKk%d\r\n"
                            % (A_PORT, n)), DEST)
    wait_for(b, lambda m: m.startswith("ACK"), 1.0)
    callee = Side(b, B_PORT, header(inv, "Call-ID"), header(inv, "To") + ";tag=b%d" % n,
                  header(inv, "From"), "sip:caller@127.0.0.1:%d" % D)
    return caller, callee, bpeer


def cross(frm, to_sock, method, cseq, tag, answer="200 OK"):
    """frm sends method with long Vias; the other side must get it (with one
    Via, ours) and answer; frm must get the answer with its Vias unchanged.
    Returns the status frm got (0: none)."""
    vias = long_vias(frm.port, tag)
    frm.sock.sendto(frm.request(method, cseq, vias), DEST)
    got, peer = wait_for(to_sock, lambda m: m.startswith(method + " "))
    check("%s %d (%d bytes of Via) reaches the other side with one Via" %
          (method, cseq, len(vias)),
          len(vias) > 1500 and got and len(re.findall(r"(?im)^via:", got)) == 1)
    if not got:
        instead, _ = wait_for(frm.sock, lambda m: m.startswith("SIP/2.0"), 0.5)
        print("     the sender got instead: %s" % (instead or "nothing").split("\r\n")[0])
        return 0
    # a header of the callee's own: the answer is its, relayed, not one
    # sipshard gave itself
    respond(to_sock, got, peer, answer, extra="Server: lh-%s\r\n" % tag)
    back, _ = wait_for(frm.sock, lambda m: m.startswith("SIP/2.0") and
                       (" %s" % method) in header(m, "CSeq") and status(m) >= 200)
    check("  its %s comes back with all 8 Vias, byte for byte" % answer,
          back and vias_of(back) == vias_back(vias, frm.port) and header(back, "Server") == "lh-" + tag)
    return status(back)


a, b = udp(A_PORT), udp(B_PORT)
if PHASE == "calls":
    caller, callee, bpeer = set_up(a, b, 1)
    check("call set up", caller)
    if caller:
        # a session refresh, an INFO, an INFO the other way: three slots
        if cross(caller, b, "INVITE", 2, "reinv") == 200:
            a.sendto(caller.request("ACK", 2, "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKa2\r\n"
                                    % A_PORT), DEST)
            check("  the re-INVITE's ACK reaches the callee",
                  wait_for(b, lambda m: m.startswith("ACK"))[0])
        cross(caller, b, "INFO", 3, "info")
        cross(callee, a, "INFO", 2, "binfo")
        # the fourth slot held by an INFO the callee leaves unanswered
        held_vias = long_vias(A_PORT, "held")
        a.sendto(caller.request("INFO", 4, held_vias), DEST)
        held, hpeer = wait_for(b, lambda m: m.startswith("INFO "))
        check("INFO 4 (long) reaches the callee, which holds it", held)
        # every slot taken: the three answered give theirs way, one each,
        # to three more the callee holds
        for cseq in (5, 6, 7):
            a.sendto(caller.request("INFO", cseq, long_vias(A_PORT, "more%d" % cseq)), DEST)
            more, _ = wait_for(b, lambda m: m.startswith("INFO "))
            check("INFO %d (long), the pool full of answered ones: it reaches the callee"
                  % cseq, more and header(more, "CSeq"))
        # all four held unanswered: 513
        a.sendto(caller.request("INFO", 8, long_vias(A_PORT, "full")), DEST)
        full, _ = wait_for(a, lambda m: m.startswith("SIP/2.0"))
        check("INFO 8 (long) while every slot is held unanswered: 513 (%s)" %
              (full or "nothing").split("\r\n")[0], full and status(full) == 513)
        check("  and the callee never sees it",
              not [m for m, _ in recv_all(b, 0.3) if m.startswith("INFO ")])
        if held:
            respond(b, held, hpeer, "200 OK")
            back, _ = wait_for(a, lambda m: m.startswith("SIP/2.0 200") and "INFO" in header(m, "CSeq"))
            check("  the held INFO's 200 still comes back with all 8 Vias",
                  back and vias_of(back) == vias_back(held_vias, A_PORT))
        # the records and their slots go at the transaction timeout (4 s)
        time.sleep(4.5)
        cross(caller, b, "BYE", 9, "bye")
elif PHASE == "hold":
    caller, callee, bpeer = set_up(a, b, 2)
    check("call set up", caller)
    if caller:
        vias = long_vias(A_PORT, "restart")
        a.sendto(caller.request("INFO", 2, vias), DEST)
        got, peer = wait_for(b, lambda m: m.startswith("INFO "))
        check("INFO (long) reaches the callee, which holds it", got)
        if got:
            json.dump({"info": got, "peer": list(peer), "vias": vias,
                       "caller": caller.__dict__ | {"sock": None}}, open(STATE, "w"))
else:
    st = json.load(open(STATE))
    respond(b, st["info"], tuple(st["peer"]), "200 OK")
    back, _ = wait_for(a, lambda m: m.startswith("SIP/2.0 200") and "INFO" in header(m, "CSeq"))
    check("after the restart, the held INFO's 200 reaches the caller with all 8 Vias",
          back and vias_of(back) == vias_back(st["vias"], A_PORT))
    c = st["caller"]
    caller = Side(a, A_PORT, c["call_id"], c["from_hdr"], c["to_hdr"], c["target"])
    cross(caller, b, "BYE", 3, "bye2")
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
