#!/usr/bin/env python3
"""Datagrams that reach sipshardd's port while it starts (between binding its
worker sockets and attaching the BPF program) are dropped unanswered
(steering.dropped_before_attach), though with BPF a worker passes a datagram it
does not own to its owner (handle_sip). Sends in-dialog INFOs with a forged
To-tag (any worker answers 481) every 0.2 ms while the daemon starts; every
INFO the daemon's sockets received must be answered.
Usage: repro/restart_drop.py [build/sipshardd]; exit 1 on failure."""
import json, os, select, signal, socket, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
daemon = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "build", "sipshardd")
cfg, stats = os.path.join(here, "d.json"), os.path.join(here, "restart_drop.stats.json")
DPORT, APORT = 32000, 32001
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", APORT))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

def info(i):
    return ("INFO sip:bob@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-rd%d\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a%d\r\n"
            "To: <sip:bob@127.0.0.1>;tag=forged%d\r\nCall-ID: rd-%d@127.0.0.1\r\n"
            "CSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n" % (DPORT, APORT, i, i, i, i)).encode()

answered = set()
def drain(timeout=0):
    while select.select([s], [], [], timeout)[0]:
        m = s.recv(65535).decode("latin-1")
        for line in m.split("\r\n"):
            if line.startswith("Call-ID: rd-"):
                answered.add(int(line[12:line.index("@")]))

if os.path.exists(stats):
    os.unlink(stats)
p = None
t0 = time.time()
i = 0
while time.time() - t0 < 2.0:
    if p is None and time.time() - t0 > 0.2:
        p = subprocess.Popen([daemon, "-c", cfg, "--discard-dialogs", "--stats-file", stats],
                             stderr=open(os.path.join(here, "restart_drop.log"), "w"))
    s.sendto(info(i), ("127.0.0.1", DPORT))
    i += 1
    drain()
    time.sleep(0.0002)
drain(1.5)
time.sleep(1.2)  # a stats write
p.send_signal(signal.SIGINT)
p.wait()
j = json.load(open(stats))
rx = sum(w["rx"] for w in j["workers"])
dropped = j["steering"].get("dropped_before_attach", 0)
print("sent %d answered %d workers rx %d dropped_before_attach %d attached %s"
      % (i, len(answered), rx, dropped, j["steering"]["attached"]))
ok = j["steering"]["attached"] and dropped == 0 and len(answered) == rx
print("PASS" if ok else "FAIL: datagrams the daemon received went unanswered")
sys.exit(0 if ok else 1)
