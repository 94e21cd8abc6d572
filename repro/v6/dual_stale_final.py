#!/usr/bin/env python3
"""Dual-stack listen "[::]" with an IPv4 target: the callee's 486, resent after
the caller ACKed (our ACK to it was lost), must be ACKed again (RFC 3261
17.1.1.2, README/CONFIG "stale_finals_acked"), as it is with listen
127.0.0.1. Exit status 1 when it is not.
Usage: repro/v6/dual_stale_final.py [LISTEN]  (run from the clone's top)"""
import json, os, socket, subprocess, sys, tempfile, time
sys.path.insert(0, "tests/integration")
import rawua

LISTEN = sys.argv[1] if len(sys.argv) > 1 else "[::]:31040"
DPORT, APORT, BPORT = 31040, 31041, 31042
work = tempfile.mkdtemp(prefix="a5-", dir="/tmp")
os.chmod(work, 0o700)
cfg = {"listen": LISTEN, "advertise": "127.0.0.1", "workers": 2, "run_dir": work,
       "persist_dialogs": False,
       "capacity": {"dialogs_per_shard": 64, "transactions_per_shard": 64, "setups": 16},
       "routes": [{"name": "b", "target": "127.0.0.1:%d" % BPORT}]}
open(work + "/c.json", "w").write(json.dumps(cfg))
d = subprocess.Popen(["build/sipshardd", "-c", work + "/c.json", "--stats-file",
                      work + "/stats.json"], stderr=open(work + "/d.log", "w"))
try:
    time.sleep(0.8)
    a, b = rawua.udp(APORT), rawua.udp(BPORT)
    inv = ("INVITE sip:bob@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKa5inv\r\nMax-Forwards: 70\r\n"
           "From: <sip:alice@127.0.0.1>;tag=at\r\nTo: <sip:bob@127.0.0.1>\r\n"
           "Call-ID: a5-stale@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
           "Contact: <sip:alice@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n" % (DPORT, APORT, APORT))
    a.sendto(inv.encode(), ("127.0.0.1", DPORT))
    binv, bpeer = None, None
    for msg, peer in rawua.recv_all(b, 1.0):
        if msg.startswith("INVITE "):
            binv, bpeer = msg, peer
    assert binv, "no INVITE reached the callee"
    rawua.respond(b, binv, bpeer, "486 Busy Here", totag="bt")
    acks = [m for m, _ in rawua.recv_all(b, 0.5) if m.startswith("ACK ")]
    fin = [m for m, _ in rawua.recv_all(a, 0.5) if rawua.status(m) == 486]
    assert acks and fin, "486 not ACKed or not relayed"
    ack = ("ACK sip:bob@127.0.0.1:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKa5inv\r\nMax-Forwards: 70\r\n"
           "From: <sip:alice@127.0.0.1>;tag=at\r\nTo: %s\r\n"
           "Call-ID: a5-stale@127.0.0.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
           % (DPORT, APORT, rawua.header(fin[0], "To")))
    a.sendto(ack.encode(), ("127.0.0.1", DPORT))
    time.sleep(0.3)
    # the callee did not get our ACK: it resends its 486
    rawua.respond(b, binv, bpeer, "486 Busy Here", totag="bt")
    again = [m for m, _ in rawua.recv_all(b, 0.7) if m.startswith("ACK ")]
    time.sleep(1.2)
    st = json.load(open(work + "/stats.json"))["controller"]
    print("listen %s: resent 486 ACKed: %s (stale_finals_acked %s, dropped_unknown_response %s)"
          % (LISTEN, bool(again), st.get("stale_finals_acked"), st.get("dropped_unknown_response")))
    sys.exit(0 if again else 1)
finally:
    d.terminate()
    d.wait()
