"""A caller and a callee on raw UDP sockets, for the checks SIPp cannot make:
requests from many source ports, header lines written in unusual but valid
ways (a folded Call-ID). Loopback only. Used by workers.sh and the scripts
of other integration tests."""
import random
import re
import select
import socket
import sys
import time


def header(msg, name):
    m = re.search(r"^%s\s*:\s*(.*?)\r\n" % re.escape(name), msg, re.M | re.I)
    return m.group(1) if m else None


def status(msg):
    m = re.match(r"SIP/2.0 (\d+)", msg or "")
    return int(m.group(1)) if m else 0


def recv(sock, timeout):
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        return None
    return sock.recvfrom(65535)[0].decode("latin-1")


def recv_first(sock, want, t):
    """The first message within t seconds for which want(msg) holds, with its
    sender, skipping the others; (None, None) when none came."""
    end = time.time() + t
    while True:
        left = end - time.time()
        r, _, _ = select.select([sock], [], [], max(left, 0))
        if not r:
            return None, None
        data, peer = sock.recvfrom(65535)
        msg = data.decode("latin-1")
        if want(msg):
            return msg, peer


def branch(msg):
    """The branch of msg's top Via."""
    return header(msg, "Via").split("branch=")[1].split(";")[0]


def ruri(msg):
    """A request's Request-URI."""
    return msg.split(" ")[1]


def recv_request(sock, method, t):
    """The first request of method within t seconds, the rest skipped; None
    when none came."""
    return recv_first(sock, lambda m: m.startswith(method + " "), t)[0]


def drain(sock, t):
    """Every datagram sock gets until none comes for t seconds."""
    return [m for m in iter(lambda: recv(sock, t), None)]


def vias_of(msg):
    """Every Via line of msg, in order, with its CRLF."""
    return "".join(l + "\r\n" for l in msg.split("\r\n") if l.lower().startswith("via:"))


def recv_all(sock, t):
    """Every datagram sock gets within t seconds, as (text, peer) pairs."""
    got, end = [], time.time() + t
    while True:
        r, _, _ = select.select([sock], [], [], max(0, end - time.time()))
        if not r:
            return got
        data, peer = sock.recvfrom(65535)
        got.append((data.decode("latin-1"), peer))


def respond(sock, req, peer, code, totag=None, extra=""):
    """The response code (e.g. "200 OK") to request req, sent to peer: its Vias,
    From, To (with ;tag=totag when it has none), Call-ID and CSeq, then extra."""
    to = header(req, "To")
    if totag and ";tag=" not in to:
        to += ";tag=" + totag
    sock.sendto(("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n%s"
                 "Content-Length: 0\r\n\r\n" % (code, vias_of(req), header(req, "From"), to,
                                                header(req, "Call-ID"), header(req, "CSeq"),
                                                extra)).encode(), peer)


def tag_of(value):
    """The tag parameter of a From or To value, or None."""
    return value.split(";tag=")[1].split(";")[0] if value and ";tag=" in value else None


def fork_response(req, code, totag, port, extra="", body=""):
    """A callee's response code (e.g. "180 Ringing") to request req as the
    fork totag: its Vias, From, To (with ;tag=totag when it has none),
    Call-ID and CSeq, a Contact on 127.0.0.1:port, then extra lines and an
    SDP body, or none."""
    to = header(req, "To")
    if ";tag=" not in to:
        to += ";tag=" + totag
    return ("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
            "Contact: <sip:%s@127.0.0.1:%d>\r\n%s%sContent-Length: %d\r\n\r\n%s"
            % (code, vias_of(req), header(req, "From"), to, header(req, "Call-ID"),
               header(req, "CSeq"), totag, port, extra,
               "Content-Type: application/sdp\r\n" if body else "", len(body), body)).encode()


def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    return s


class Callee:
    """Answers every request but ACK 200, and notes what it got."""

    def __init__(self, port):
        self.sock, self.port, self.got = udp(port), port, []

    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            r, _, _ = select.select([self.sock], [], [], max(0.0, end - time.time()))
            if not r:
                break
            data, addr = self.sock.recvfrom(65535)
            msg = data.decode("latin-1")
            if msg.startswith("SIP/2.0"):
                continue
            self.got.append(msg)
            if msg.startswith("ACK "):
                continue
            to = header(msg, "To")
            if ";tag=" not in to:
                to += ";tag=callee%d" % random.randrange(1 << 30)
            vias = "".join(re.findall(r"^Via\s*:.*?\r\n", msg, re.M | re.I))
            self.sock.sendto(("SIP/2.0 200 OK\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\n"
                              "CSeq: %s\r\nContact: <sip:callee@127.0.0.1:%d>\r\n"
                              "Content-Length: 0\r\n\r\n"
                              % (vias, header(msg, "From"), to, header(msg, "Call-ID"),
                                 header(msg, "CSeq"), self.port)).encode(), addr)

    def count(self, method):
        return sum(1 for m in self.got if m.startswith(method + " "))

    def pump_until(self, method, n, seconds=3.0):
        """Answers what comes until n requests of method came (or seconds
        passed): on a busy machine the daemon may take longer than any fixed
        pump to pass one on."""
        end = time.time() + seconds
        while self.count(method) < n and time.time() < end:
            self.pump(min(0.05, max(0.0, end - time.time())))
        return self.count(method) >= n


class Caller:
    """One call to the daemon at dport: INVITE, ACK, then requests in it."""

    def __init__(self, port, dport):
        self.sock, self.port, self.dport, self.cseq = udp(port), port, dport, 1
        self.call_id = "raw-%d@127.0.0.1" % random.randrange(1 << 30)
        self.from_tag = "caller%d" % random.randrange(1 << 30)
        self.to = None

    def request(self, method, cseq, call_id_line=None, via_port=None, sdp=""):
        return ("%s sip:callee@127.0.0.1:%d SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s%d\r\n"
                "From: <sip:caller@127.0.0.1:%d>;tag=%s\r\nTo: %s\r\n%sCSeq: %d %s\r\n"
                "Contact: <sip:caller@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n"
                "%sContent-Length: %d\r\n\r\n%s"
                % (method, self.dport, via_port or self.port, method.lower(),
                   random.randrange(1 << 30), self.port, self.from_tag,
                   self.to or "<sip:callee@127.0.0.1:%d>" % self.dport,
                   call_id_line or "Call-ID: %s\r\n" % self.call_id, cseq, method, self.port,
                   "Content-Type: application/sdp\r\n" if sdp else "", len(sdp), sdp))

    def call(self, callee, sdp=""):
        """INVITE (with sdp as its body) until a final, ACK a 2xx; returns the
        final status (0: none in 4 s)."""
        self.sock.sendto(self.request("INVITE", 1, sdp=sdp).encode(), ("127.0.0.1", self.dport))
        end = time.time() + 4
        while time.time() < end:
            callee.pump(0.05)
            msg = recv(self.sock, 0.05)
            if status(msg) >= 200:
                self.to = header(msg, "To")
                if status(msg) < 300:
                    self.sock.sendto(self.request("ACK", 1).encode(), ("127.0.0.1", self.dport))
                    callee.pump(0.1)
                return status(msg)
        return 0

    def next_cseq(self):
        self.cseq += 1
        return self.cseq



def answered_not_acked(dport, bport, aport):
    """A call from a Caller at aport through the daemon at dport, answered 200
    by a raw callee socket at bport, and not ACKed (yet): (callee socket,
    caller, leg B's INVITE), the caller's To tagged as the 200 said."""
    cs, caller = udp(bport), Caller(aport, dport)
    caller.sock.sendto(caller.request("INVITE", 1).encode(), ("127.0.0.1", dport))
    inv = recv_request(cs, "INVITE", 3.0)
    respond(cs, inv, ("127.0.0.1", dport), 200, "answer1")
    ok = recv_first(caller.sock, lambda m: status(m) == 200, 3.0)[0]
    caller.to = header(ok, "To") if ok else None
    return cs, caller, inv


def request_from_callee(inv, method, cseq, bport, totag="answer1"):
    """A request of the callee's (at bport) in the dialog leg B's INVITE inv
    made, its To tag totag: to the INVITE's Contact, here the daemon."""
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKcallee%d\r\n"
            "From: %s;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            % (method, re.search(r"<([^>]*)>", header(inv, "Contact")).group(1), bport,
               random.randrange(1 << 30), header(inv, "To"), totag, header(inv, "From"),
               header(inv, "Call-ID"), cseq, method))


def call_up(dport, bport, aport):
    """A call from a Caller at aport through the daemon at dport to a Callee
    at bport, answered and ACKed: (callee, caller). Prints "no call" and
    exits when it is not: the script's output then says so."""
    callee, caller = Callee(bport), Caller(aport, dport)
    if caller.call(callee) != 200:
        print("no call")
        sys.exit(0)
    return callee, caller


def hangup_callee(port, crossing, seconds):
    """A callee that answers a call and hangs up at the caller's first INFO:
    after answering it 200 (crossing False), or with its BYE sent first and
    the INFO then answered 481, as if it crossed that BYE (crossing True).
    Once its BYE is answered, answers 481 to anything and returns the methods
    of those requests (a correct caller sends none)."""
    s = udp(port)

    def answer(msg, code, peer):
        vias = "".join(l + "\r\n" for l in msg.split("\r\n") if l.startswith("Via:"))
        s.sendto(("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s;tag=callee1\r\nCall-ID: %s\r\n"
                  "CSeq: %s\r\nContact: <sip:callee@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n"
                  % (code, vias, header(msg, "From"), header(msg, "To").split(";tag=")[0],
                     header(msg, "Call-ID"), header(msg, "CSeq"), port)).encode(), peer)

    invite, bye_answered, after = None, False, []
    end = time.time() + seconds
    while time.time() < end:
        if not select.select([s], [], [], 0.05)[0]:
            continue
        data, peer = s.recvfrom(65535)
        msg = data.decode("latin-1")
        method = msg.split(" ", 1)[0]
        if msg.startswith("SIP/2.0 200") and "BYE" in header(msg, "CSeq"):
            bye_answered = True
        elif msg.startswith("SIP/2.0") or method == "ACK":
            continue
        elif bye_answered:
            after.append(method)
            answer(msg, "481 Call/Transaction Does Not Exist", peer)
        elif method != "INFO" or not invite:
            if method == "INVITE":
                invite = msg
            answer(msg, "200 OK", peer)
        else:
            if not crossing:
                answer(msg, "200 OK", peer)
            s.sendto(("BYE sip:load@%s:%d SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKhangup1\r\n"
                      "Max-Forwards: 70\r\nFrom: %s;tag=callee1\r\nTo: %s\r\nCall-ID: %s\r\n"
                      "CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
                      % (peer[0], peer[1], port, header(invite, "To"), header(invite, "From"),
                         header(invite, "Call-ID"))).encode(), peer)
            if crossing:
                time.sleep(0.02)  # the INFO crossed that BYE
                answer(msg, "481 Call/Transaction Does Not Exist", peer)
            invite = None
    return after
