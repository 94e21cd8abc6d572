#!/usr/bin/env python3
"""How long a refused call holds its set-up record when its caller never
ACKs the final (a spoofed source): the callee answers every INVITE 486 at
once; 64 INVITEs (capacity.setups 64) from addresses that never ACK, then a
legitimate caller's INVITE every few seconds: what it gets, and the stats.

usage: completed_hold.py [SIPSHARDD]
"""
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DAEMON = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "sipshardd")
D_PORT, B_PORT = 32060, 32080
STATS = os.path.join(HERE, "stats.json")


def callee(stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", B_PORT))
    while not stop.is_set():
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        d, a = s.recvfrom(65535)
        m = d.decode("latin-1")
        if not m.startswith("INVITE "):
            continue
        h = lambda n: re.search(r"^%s: (.*)\r\n" % n, m, re.M).group(1)
        vias = "".join(re.findall(r"^Via:.*\r\n", m, re.M))
        s.sendto(("SIP/2.0 486 Busy Here\r\n%sFrom: %s\r\nTo: %s;tag=b\r\nCall-ID: %s\r\n"
                  "CSeq: %s\r\nContent-Length: 0\r\n\r\n" % (vias, h("From"), h("To"), h("Call-ID"),
                                                            h("CSeq"))).encode(), a)


def invite(s, cid):
    port = s.getsockname()[1]
    ip = s.getsockname()[0]
    s.sendto(("INVITE sip:bob@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s\r\n"
              "From: <sip:a@%s>;tag=t%s\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
              "Contact: <sip:a@%s:%d>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
              % (D_PORT, ip, port, cid, ip, cid, cid, ip, port)).encode(), ("127.0.0.1", D_PORT))


def final_of(s, timeout=1.0):
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([s], [], [], end - time.time())
        if not r:
            break
        st = int(s.recvfrom(65535)[0].split()[1])
        if st >= 200:
            return st
    return None


def main():
    os.makedirs(os.path.join(HERE, "run"), mode=0o700, exist_ok=True)
    d = subprocess.Popen([DAEMON, "-c", os.path.join(HERE, "cfg.json"), "--stats-file", STATS],
                         stderr=open(os.path.join(HERE, "d2.log"), "w"))
    stop = threading.Event()
    t = threading.Thread(target=callee, args=(stop,))
    t.start()
    try:
        time.sleep(1)
        # the "victims" whose addresses were spoofed: they never ACK
        for i in range(64):
            v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            v.bind(("127.0.0.%d" % (10 + i), 32200))
            invite(v, "spoof%d" % i)
            v.close()
        time.sleep(0.5)
        legit = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        legit.bind(("127.0.0.1", 32101))
        t0 = time.time()
        first_ok = None
        for n in range(20):
            invite(legit, "legit%d" % n)
            st = final_of(legit)
            el = time.time() - t0
            print("%5.1f s after the flood: legitimate INVITE got %s" % (el, st))
            if st == 486:
                first_ok = el
                break
            # its own 486 would hold a record too: ACK what we get
            time.sleep(3)
        with open(STATS) as f:
            ctl = json.load(f)["controller"]
        print("controller: rejected_capacity %s, linger_evicted %s" %
              (ctl.get("rejected_capacity"), ctl.get("linger_evicted")))
        if first_ok is None or first_ok > 5:
            print("FAIL: 64 un-ACKed INVITEs kept every set-up record for %s s" %
                  ("> %.0f" % (time.time() - t0) if first_ok is None else "%.0f" % first_ok))
            return 1
        return 0
    finally:
        stop.set()
        t.join()
        d.send_signal(2)  # SIGINT: stop now, not a drain
        d.wait(10)


if __name__ == "__main__":
    sys.exit(main())
