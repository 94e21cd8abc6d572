#!/usr/bin/env bash
# Three RFC 3261 rules through a running sipshardd, with raw UDP peers:
# a target that answers 503 with Retry-After is skipped by the next call
# (21.5.4, RFC 3263 4.3) and sipshardctl targets shows it down with the
# seconds left; the 100 Trying to an INVITE carries its Timestamp (8.2.6.1);
# a request with Max-Forwards 1 is relayed with 0, one with 0 gets 483 (16.3
# item 3), for an INVITE and for an in-dialog INFO.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=16420      # sipshardd
BUSY_PORT=16421   # the first target: 503 with Retry-After to every INVITE
B_PORT=16422      # the second target: answers
CALLER_PORT=16423 # the caller
CTL_SOCK=$WORK/rules.sock

cat >"$WORK/rules.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "management_socket": "$CTL_SOCK",
  "routes": [ { "name": "trunk", "targets": [ "127.0.0.1:$BUSY_PORT", "127.0.0.1:$B_PORT" ] } ]
}
JSON
start_daemon rules "$WORK/rules.json"

python3 - "$D_PORT" "$BUSY_PORT" "$B_PORT" "$CALLER_PORT" "$BUILD/sipshardctl" "$CTL_SOCK" \
	>"$WORK/rules.out" 2>&1 <<'PY'
import json, select, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import header, status, udp

dport, busy_port, callee_port, caller_port = (int(a) for a in sys.argv[1:5])
ctl, sock_path = sys.argv[5], sys.argv[6]
caller, busy, callee = udp(caller_port), udp(busy_port), udp(callee_port)
got = {"busy": [], "callee": [], "caller": []}


def reply(sock, port, msg, code, peer, extra=""):
    vias = "".join(l + "\r\n" for l in msg.split("\r\n") if l.lower().startswith("via:"))
    to = header(msg, "To")
    if ";tag=" not in to:
        to += ";tag=t%d" % port
    sock.sendto(("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                 "Contact: <sip:peer@127.0.0.1:%d>\r\n%sContent-Length: 0\r\n\r\n"
                 % (code, vias, header(msg, "From"), to, header(msg, "Call-ID"),
                    header(msg, "CSeq"), port, extra)).encode(), peer)


def pump(seconds, until=None):
    """Moves every datagram for up to seconds (until until() is true): the
    busy target answers INVITEs 503 with Retry-After, the callee answers
    every request but ACK 200; the caller's are kept."""
    end = time.time() + seconds
    while time.time() < end and not (until and until()):
        r, _, _ = select.select([caller, busy, callee], [], [], 0.05)
        for s in r:
            data, peer = s.recvfrom(65535)
            msg = data.decode("latin-1")
            if s is caller:
                got["caller"].append(msg)
                continue
            name, port = ("busy", busy_port) if s is busy else ("callee", callee_port)
            got[name].append(msg)
            if msg.startswith("SIP/2.0") or msg.startswith("ACK "):
                continue
            if s is busy and msg.startswith("INVITE "):
                reply(s, port, msg, "503 Service Unavailable", peer, "Retry-After: 30\r\n")
            else:
                reply(s, port, msg, "200 OK", peer)


def request(method, call_id, cseq, mf, to="<sip:callee@127.0.0.1>", extra=""):
    caller.sendto(("%s sip:callee@127.0.0.1:%d SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s%d%s\r\n"
                   "From: <sip:caller@127.0.0.1>;tag=f%s\r\nTo: %s\r\nCall-ID: %s\r\n"
                   "CSeq: %d %s\r\nContact: <sip:caller@127.0.0.1:%d>\r\nMax-Forwards: %d\r\n"
                   "%sContent-Length: 0\r\n\r\n"
                   % (method, dport, caller_port, method.lower(), cseq, call_id, call_id, to,
                      call_id, cseq, method, caller_port, mf, extra)).encode(),
                  ("127.0.0.1", dport))


def answers(call_id, cseq_method):
    return [m for m in got["caller"] if header(m, "Call-ID") == call_id
            and header(m, "CSeq") == cseq_method]


def final(call_id, cseq_method, seconds=4):
    pump(seconds, lambda: any(status(m) >= 200 for m in answers(call_id, cseq_method)))
    finals = [m for m in answers(call_id, cseq_method) if status(m) >= 200]
    return finals[0] if finals else None


def received(name, method):
    return [m for m in got[name] if m.startswith(method + " ")]


failed = 0


def result(ok, what):
    global failed
    print("%s %s" % ("PASS" if ok else "FAIL", what))
    failed += not ok


# A: Max-Forwards 1 and a Timestamp; the busy target's 503 passes it on
request("INVITE", "a1", 1, 1, extra="Timestamp: 12.5 0.1\r\n")
fin = final("a1", "1 INVITE")
trying = [m for m in answers("a1", "1 INVITE") if status(m) == 100]
result(fin is not None and status(fin) == 200, "an INVITE with Max-Forwards 1 is answered 200 "
       "(got %s)" % (fin and status(fin)))
result(len(trying) == 1 and header(trying[0], "Timestamp") == "12.5 0.1",
       "its 100 Trying carries its Timestamp (%s)" % [header(m, "Timestamp") for m in trying])
inv = received("callee", "INVITE")
result(len(inv) == 1 and header(inv[0], "Max-Forwards") == "0",
       "leg B's INVITE has Max-Forwards 0 (%s)" % [header(m, "Max-Forwards") for m in inv])
result(len(received("busy", "INVITE")) == 1, "the busy target got the first INVITE")
to_a = header(fin, "To") if fin else "<sip:callee@127.0.0.1>"
request("ACK", "a1", 1, 70, to=to_a)
pump(0.2)

# an INFO in the call: 1 is relayed with 0, 0 gets 483
request("INFO", "a1", 2, 1, to=to_a)
fin = final("a1", "2 INFO")
info = received("callee", "INFO")
result(fin is not None and status(fin) == 200 and len(info) == 1
       and header(info[0], "Max-Forwards") == "0",
       "an INFO with Max-Forwards 1 is relayed with 0 (%s)" % (fin and status(fin)))
request("INFO", "a1", 3, 0, to=to_a)
fin = final("a1", "3 INFO")
result(fin is not None and status(fin) == 483 and len(received("callee", "INFO")) == 1,
       "an INFO with Max-Forwards 0 gets 483 (%s)" % (fin and status(fin)))

# B: the busy target is skipped for its Retry-After
request("INVITE", "b1", 1, 70)
fin = final("b1", "1 INVITE")
result(fin is not None and status(fin) == 200 and len(received("busy", "INVITE")) == 1,
       "the next call skips the target that answered 503 with Retry-After "
       "(busy got %d INVITEs)" % len(received("busy", "INVITE")))
targets = json.loads(subprocess.run([ctl, "-s", sock_path, "targets"], capture_output=True,
                                    text=True, timeout=10).stdout)
targets = targets["targets"] if isinstance(targets, dict) else targets
t = {x["address"]: x for x in targets}
b = t.get("127.0.0.1:%d" % busy_port, {})
result(b.get("down") is True and 0 < b.get("retry_after_s", 0) <= 30
       and t.get("127.0.0.1:%d" % callee_port, {}).get("retry_after_s") == 0,
       "sipshardctl targets: down, retry_after_s %s" % b.get("retry_after_s"))
stats = json.loads(subprocess.run([ctl, "-s", sock_path, "stats"], capture_output=True,
                                  text=True, timeout=10).stdout)
result(stats["controller"]["targets_retry_after"] == 1
       and stats["controller"]["targets_marked_down"] == 0,
       "controller.targets_retry_after counts the 503")

# C: an INVITE with Max-Forwards 0 gets 483, and no INVITE leaves
request("INVITE", "c1", 1, 0)
fin = final("c1", "1 INVITE")
result(fin is not None and status(fin) == 483 and len(received("callee", "INVITE")) == 2,
       "an INVITE with Max-Forwards 0 gets 483 (%s)" % (fin and status(fin)))
sys.exit(1 if failed else 0)
PY
rc=$?
while read -r verdict what; do
	case $verdict in
	PASS) ok "rfc3261_rules: $what" ;;
	FAIL) not_ok "rfc3261_rules: $what" ;;
	*) echo "# $verdict $what" ;;
	esac
done <"$WORK/rules.out"
check "rfc3261_rules: the peers' script ran to its end" test "$rc" = 0
stop_daemon
