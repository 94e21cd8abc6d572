#!/usr/bin/env bash
# The top Via of a response sipshard answers or relays back (RFC 3261 18.2.1,
# RFC 3581 4): a raw UA on 127.0.0.1 whose Via says 10.0.0.5:5060;rport
# (a UA behind NAT) gets received=127.0.0.1 and rport=<its port> in it, for
# an OPTIONS, the responses to a call's INVITE (100 and 200, the controller's
# kept head), an INFO in the call (the callee's 200 relayed, the worker's
# kept head), a 481 to an INFO naming no call, and the BYE's 200. Before,
# the Via went back as it came. With BPF steering and without.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=16500 # sipshardd; the UA is the caller and the callee, both on 16501
B_PORT=16501

write_config "$WORK/via.json"
for mode in bpf nobpf; do
	flags=()
	[ "$mode" = nobpf ] && flags+=(--no-bpf)
	start_daemon "$mode" "$WORK/via.json" "${flags[@]}"
	python3 - "$D_PORT" "$B_PORT" >"$WORK/$mode.out" 2>&1 <<'PY'
import random, re, select, socket, sys, time

dport, port = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
D = ("127.0.0.1", dport)
call_id = "via-%d@10.0.0.5" % random.randrange(1 << 30)
fails = []


def header(msg, name):
    m = re.search(r"^%s\s*:\s*(.*?)\r\n" % re.escape(name), msg, re.M | re.I)
    return m.group(1) if m else ""


def callee_answer(msg, peer):
    """The callee's side: 200 to every request but ACK, Vias as they came."""
    if msg.startswith("ACK "):
        return
    to = header(msg, "To")
    if ";tag=" not in to:
        to += ";tag=callee1"
    vias = "".join(re.findall(r"^Via\s*:.*?\r\n", msg, re.M | re.I))
    s.sendto(("SIP/2.0 200 OK\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
              "Contact: <sip:callee@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n"
              % (vias, header(msg, "From"), to, header(msg, "Call-ID"), header(msg, "CSeq"),
                 port)).encode(), peer)


def request(method, cseq, to, branch):
    return ("%s sip:callee@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=%s\r\n"
            "From: <sip:caller@10.0.0.5>;tag=caller1\r\nTo: %s\r\nCall-ID: %s\r\n"
            "CSeq: %d %s\r\nContact: <sip:caller@10.0.0.5:5060>\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n" % (method, dport, branch, to, call_id, cseq, method))


def send(what, method, cseq, to, want_final=200):
    """Sends the request, answers what reaches the callee, and checks the top
    Via of every response to it; returns the final's To."""
    branch = "z9hG4bKua%d" % random.randrange(1 << 30)
    s.sendto(request(method, cseq, to, branch).encode(), D)
    end = time.time() + 4
    while time.time() < end:
        if not select.select([s], [], [], 0.1)[0]:
            continue
        data, peer = s.recvfrom(65535)
        msg = data.decode("latin-1")
        if not msg.startswith("SIP/2.0"):
            callee_answer(msg, peer)
            continue
        top = header(msg, "Via")
        if branch not in top:
            continue  # the callee's side: a response to sipshard's request
        code = int(msg.split(" ", 2)[1])
        want = "SIP/2.0/UDP 10.0.0.5:5060;rport=%d;branch=%s;received=127.0.0.1" % (port, branch)
        print("%s: %d, top Via: %s" % (what, code, top))
        if top != want:
            fails.append("%s %d: top Via %r, want %r" % (what, code, top, want))
        if code >= 200:
            if code != want_final:
                fails.append("%s: final %d, want %d" % (what, code, want_final))
            return header(msg, "To")
    fails.append("%s: no final in 4 s" % what)
    return None


send("OPTIONS", "OPTIONS", 1, "<sip:callee@127.0.0.1>")
to = send("INVITE", "INVITE", 2, "<sip:callee@127.0.0.1>")
if to:
    s.sendto(request("ACK", 2, to, "z9hG4bKuaack").encode(), D)
    send("INFO in the call", "INFO", 3, to)
    send("INFO of no call", "INFO", 4, "<sip:callee@127.0.0.1>;tag=nosuchcall", 481)
    send("BYE", "BYE", 5, to)
for f in fails:
    print("FAIL " + f)
sys.exit(1 if fails else 0)
PY
	rc=$?
	sed 's/^/# /' "$WORK/$mode.out"
	check "$mode: responses to a UA behind NAT carry received=127.0.0.1 and rport=16501 in the top Via" \
		test "$rc" = 0
	stop_daemon
done
