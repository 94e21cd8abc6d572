#!/usr/bin/env python3
"""hostile.py - sends hostile datagrams at a SIP port on loopback.

Used by tests/integration/hostile.sh (a burst, then checks) and bench/soak.sh
(a steady trickle beside real calls for as long as the run lasts). Owns only the
datagrams: random bytes, an in-dialog INFO and a 200 OK with a few bytes
changed, truncated copies, a Content-Length past the datagram, empty lines and
a head of 900 extension lines. The tags name no dialog a daemon gave out (its
tags carry a salt), so a hostile datagram meets a 4xx or a counted drop, never a
real call.

usage: hostile.py PORT [--count N] [--seconds S] [--rate R] [--seed N]
  --count N    stop after N datagrams (default 6000)
  --seconds S  stop after S seconds instead (0: use --count)
  --rate R     datagrams a second at most (default 0: as fast as the socket takes)
  --seed N     seed of the choices (default 7): the same seed sends the same bytes
Prints "# sent N hostile datagrams" at the end, or on SIGTERM.
"""
import argparse
import random
import signal
import socket
import sys
import time

BASE = (b"INFO sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=k01000000000000000000000001\r\n"
        b"Call-ID: x@y\r\nCSeq: 2 INFO\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
RESP = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKw0000000001000000020000000300\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\nCall-ID: x@y\r\nCSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n")


def datagram(rnd, i):
    kind = i % 6
    if kind == 0:
        return bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 1400)))
    if kind in (1, 2):
        d = bytearray(BASE if kind == 1 else RESP)
        for _ in range(rnd.randint(1, 8)):
            d[rnd.randrange(len(d))] = rnd.getrandbits(8)
        return bytes(d)
    if kind == 3:
        return BASE[: rnd.randint(0, len(BASE))]
    if kind == 4:
        return BASE.replace(b"Content-Length: 0", b"Content-Length: 99999")
    if i % 2:
        return b"\r\n\r\n"
    return BASE.replace(b"\r\n\r\n", b"\r\n" + b"X-A: b\r\n" * 900 + b"\r\n")


def main():
    ap = argparse.ArgumentParser(description="hostile datagrams at a SIP port on loopback")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=6000)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    rnd = random.Random(a.seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = 0
    start = time.monotonic()
    i = 0
    while not stop:
        if a.seconds > 0:
            if time.monotonic() - start >= a.seconds:
                break
        elif i >= a.count:
            break
        if a.rate > 0:
            due = start + i / a.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        d = datagram(rnd, i)
        i += 1
        try:
            s.sendto(d[:65000], ("127.0.0.1", a.port))
            sent += 1
        except BlockingIOError:
            pass
    print("# sent %d hostile datagrams" % sent)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
