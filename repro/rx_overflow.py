"""Datagrams the kernel drops at a worker's full socket queue (the worker was
busy: here it is paused with SIGSTOP) leave no trace in the statistics: every
one sent must show up as received (rx) or in a drop counter.
Usage: rx_overflow.py DAEMON_PID STATS_FILE [PORT]"""
import json, os, signal, socket, sys, time

pid, stats = int(sys.argv[1]), sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 32800
N = 20000

def totals():
    d = json.load(open(stats))
    rx = sum(w["rx"] for w in d["workers"])
    drops = sum(sum(w["drops"].values()) for w in d["workers"])
    io = sum(sum(w["io"].values()) for w in d["workers"])
    sock = sum(w["drops"].get("socket_queue_full", 0) for w in d["workers"])
    return rx, drops, io, sock

time.sleep(1.2)
rx0, drops0, io0, sock0 = totals()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port + 50))
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
os.kill(pid, signal.SIGSTOP)
try:
    payload = b"not sip " * 125  # 1000 bytes: counted as unparsable when read
    for i in range(N):
        s.sendto(payload, ("127.0.0.1", port))
finally:
    os.kill(pid, signal.SIGCONT)
time.sleep(2.5)  # the stats file is written once a second
rx, drops, io, sock = totals()
got = rx - rx0
print("sent %d; workers rx %d; drop counters +%d; io counters +%d (socket_queue_full +%d)"
      % (N, got, drops - drops0, io - io0, sock - sock0))
lost = N - got
if lost > 0 and sock - sock0 < lost:
    print("FAIL: %d datagrams dropped in the kernel's socket queue, counted nowhere" % lost)
    sys.exit(1)
print("PASS")
