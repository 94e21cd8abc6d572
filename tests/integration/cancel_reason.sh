#!/usr/bin/env bash
# The caller's CANCEL Reason reaches the callee (RFC 3326, RFC 3261 9.1),
# through a running sipshardd and raw UDP peers: a caller's CANCEL with a SIP
# and a Q.850 Reason (a hunt group answered on another phone) and a malformed
# one gives the callee a CANCEL with the two well-formed lines, counted
# (controller.cancel_reasons_dropped) for the other; the caller gets 200 and
# the callee's 487, whose own Reason crosses; a CANCEL without Reason gives
# one without. In a call that is up, the Reason of a CANCEL of a re-INVITE,
# of the callee's 487 to it and of the caller's BYE cross the fast path.
# Leg B's CANCEL was built from its INVITE alone: the callee's phone showed
# a missed call for a call answered elsewhere. With BPF steering and without.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=16506 # sipshardd; the caller is 16507, the callee 16508
B_PORT=16508

peers() {
	python3 - "$D_PORT" "$((D_PORT + 1))" "$B_PORT" <<'PY'
import random, re, sys, time
sys.path.insert(0, "tests/integration")
from rawua import header, recv, respond, status, udp

dport, aport, bport = (int(x) for x in sys.argv[1:4])
D = ("127.0.0.1", dport)
a, b = udp(aport), udp(bport)
REASONS = ('Reason: SIP;cause=200;text="Call completed elsewhere"\r\n'
           'Reason: Q.850;cause=26;text="non-selected user clearing"\r\n')
BAD = 'Reason: SIP;cause=2x0;text="not a cause"\r\n'
R487 = 'Reason: SIP;cause=487;text="callee saw the CANCEL"\r\n'
RBYE = 'Reason: Q.850;cause=16;text="Normal call clearing"\r\n'


def result(ok, name):
    print("R %d %s" % (1 if ok else 0, name), flush=True)


def wait_for(sock, pred, t=3.0):
    end = time.time() + t
    while time.time() < end:
        m = recv(sock, max(0.0, end - time.time()))
        if m is not None and pred(m):
            return m
    return None


def request(method, ruri, cseq, call_id, ftag, to, branch, extra=""):
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\nMax-Forwards: 70\r\n"
            "From: <sip:caller@127.0.0.1:%d>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\n"
            "CSeq: %d %s\r\nContact: <sip:caller@127.0.0.1:%d>\r\n%sContent-Length: 0\r\n\r\n"
            % (method, ruri, aport, branch, aport, ftag, to, call_id, cseq, method, aport,
               extra))


class Call:
    def __init__(self, n):
        self.n, self.ruri = n, "sip:callee@127.0.0.1:%d" % dport
        self.call_id = "cr%d-%d@127.0.0.1" % (n, random.randrange(1 << 30))
        self.ftag, self.to = "ct%d" % n, "<sip:callee@127.0.0.1:%d>" % dport
        self.branch = "z9hG4bKcr%d%d" % (n, random.randrange(1 << 30))

    def send(self, method, cseq, extra="", branch=None, ruri=None):
        a.sendto(request(method, ruri or self.ruri, cseq, self.call_id, self.ftag, self.to,
                         branch or self.branch, extra).encode(), D)

    def ring(self):
        """INVITE, the callee's 180 relayed; returns the callee's INVITE."""
        self.send("INVITE", 1)
        binv = wait_for(b, lambda m: m.startswith("INVITE "))
        respond(b, binv, D, "180 Ringing", "bt%d" % self.n,
                "Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport)
        wait_for(a, lambda m: status(m) == 180)
        return binv


def answer_cancel(bc, binv, extra, tag):
    """The callee answers its CANCEL 200 and its INVITE 487 (with extra), with
    the To tag of its 180."""
    respond(b, bc, D, "200 OK", tag)
    respond(b, binv, D, "487 Request Terminated", tag, extra)


def caller_gets(t=2.0):
    got, end = [], time.time() + t
    while time.time() < end:
        m = recv(a, max(0.0, end - time.time()))
        if m is not None:
            got.append(m)
    return got


def cseq_is(m, what):
    return re.match(r"\d+ %s$" % what, header(m, "CSeq") or "") is not None


# 1: a CANCEL with a SIP and a Q.850 Reason, and a malformed one
c = Call(1)
binv = c.ring()
c.send("CANCEL", 1, REASONS + BAD)
bc = wait_for(b, lambda m: m.startswith("CANCEL "))
result(bc is not None and REASONS in bc,
       "the callee's CANCEL carries the caller's SIP and Q.850 Reason lines, in order")
result(bc is not None and "not a cause" not in bc, "the malformed Reason line is not passed on")
if bc:
    print("# the callee's CANCEL:\n" + "".join("#   %s\n" % l for l in bc.split("\r\n") if l))
    answer_cancel(bc, binv, R487, "bt1")
got = caller_gets()
ok200 = [m for m in got if status(m) == 200 and cseq_is(m, "CANCEL")]
fin = [m for m in got if status(m) == 487 and cseq_is(m, "INVITE")]
result(len(ok200) == 1, "the caller gets 200 to its CANCEL")
result(len(fin) >= 1, "the caller gets the 487")
result(fin and R487 in fin[0], "the callee's 487 reaches the caller with its Reason")
if fin:
    c.to = header(fin[0], "To")
    c.send("ACK", 1)

# 2: a CANCEL without Reason
c = Call(2)
binv = c.ring()
c.send("CANCEL", 1)
bc = wait_for(b, lambda m: m.startswith("CANCEL "))
result(bc is not None and header(bc, "Reason") is None,
       "a CANCEL without Reason gives the callee a CANCEL without one")
if bc:
    answer_cancel(bc, binv, "", "bt2")
fin = [m for m in caller_gets(1.0) if status(m) == 487]
result(len(fin) >= 1, "... and the caller its 487")
if fin:
    c.to = header(fin[0], "To")
    c.send("ACK", 1)

# 3: a call that is up: a re-INVITE cancelled, then the BYE, each with a Reason
c = Call(3)
c.send("INVITE", 1)
binv = wait_for(b, lambda m: m.startswith("INVITE "))
respond(b, binv, D, "200 OK", "bt3", "Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport)
ok = wait_for(a, lambda m: status(m) == 200)
result(ok is not None, "the third call is answered")
if ok:
    c.to, c.ruri = header(ok, "To"), re.search(r"<([^>]+)>", header(ok, "Contact")).group(1)
    c.send("ACK", 1, branch="z9hG4bKack3")
    wait_for(b, lambda m: m.startswith("ACK "), 1.0)
    c.send("INVITE", 2, branch="z9hG4bKre3")
    bre = wait_for(b, lambda m: m.startswith("INVITE "))
    c.send("CANCEL", 2, REASONS, branch="z9hG4bKre3")
    bc = wait_for(b, lambda m: m.startswith("CANCEL "))
    result(bc is not None and REASONS in bc,
           "the CANCEL of a re-INVITE reaches the callee with its Reason lines")
    if bc and bre:
        answer_cancel(bc, bre, R487, "bt3")
    got = caller_gets(1.0)
    fin = [m for m in got if status(m) == 487]
    result(fin and R487 in fin[0], "the callee's 487 to the re-INVITE crosses with its Reason")
    c.send("ACK", 2, branch="z9hG4bKre3")
    c.send("BYE", 3, RBYE, branch="z9hG4bKbye3")
    bb = wait_for(b, lambda m: m.startswith("BYE "))
    result(bb is not None and RBYE in bb, "the caller's BYE reaches the callee with its Reason")
    if bb:
        respond(b, bb, D, "200 OK")
    result(wait_for(a, lambda m: status(m) == 200 and cseq_is(m, "BYE")) is not None,
           "the BYE's 200 reaches the caller")
PY
}

write_config "$WORK/cancel_reason.json"
for mode in bpf nobpf; do
	flags=()
	[ "$mode" = nobpf ] && flags+=(--no-bpf)
	start_daemon "$mode" "$WORK/cancel_reason.json" "${flags[@]}"
	peers >"$WORK/$mode.peers" 2>&1
	echo "# peers exited $?"
	grep -v '^R [01] ' "$WORK/$mode.peers"
	while read -r _ res name; do
		if [ "$res" = 1 ]; then ok "$mode: $name"; else not_ok "$mode: $name"; fi
	done < <(grep '^R [01] ' "$WORK/$mode.peers")
	check "$mode: every check ran" test "$(grep -c '^R [01] ' "$WORK/$mode.peers")" = 12
	check "$mode: the malformed Reason line is counted (controller.cancel_reasons_dropped)" \
		wait_json "$WORK/$mode.stats.json" 'j["controller"]["cancel_reasons_dropped"]' 1
	stop_daemon
done
