#!/usr/bin/env python3
"""sipshard-load uac against a raw callee that ends the call itself with a
BYE, then sends the same BYE again (as a UAS does whose 200 was lost, RFC 3261
17.1.2.2). The repeat must get the same 200 (17.2.2), and is no error of the
run: the uac must exit 0 with unexpected.requests 0.

    repro/uac_bye_retrans.py [BUILD]     (ports 34200-34201)
"""
import json, os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import rawua

build = sys.argv[1] if len(sys.argv) > 1 else "build"
sock = rawua.udp(34200)
js = "/tmp/audit3_bye_retrans.json"
uac = subprocess.Popen([os.path.join(build, "sipshard-load"), "--role", "uac", "--quiet",
                        "--local", "127.0.0.1:34201", "--sources", "1",
                        "--target", "127.0.0.1:34200", "--calls", "1", "--duration", "2",
                        "--req-rate", "0.001", "--json", js],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
inv = rawua.recv(sock, 3)
assert inv and inv.startswith("INVITE "), inv
peer = ("127.0.0.1", 34201)
rawua.respond(sock, inv, peer, "200 OK", totag="cal1",
              extra="Contact: <sip:callee@127.0.0.1:34200>\r\n")
ack = rawua.recv(sock, 2)
assert ack and ack.startswith("ACK "), ack
# the first INFO of the mix: answer it
info = rawua.recv(sock, 2)
if info and info.startswith("INFO "):
    rawua.respond(sock, info, peer, "200 OK")
frm, to = rawua.header(inv, "From"), rawua.header(inv, "To") + ";tag=cal1"
bye = ("BYE sip:load@127.0.0.1:34201 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:34200;branch=z9hG4bKbye1\r\n"
       "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n"
       % (to, frm, rawua.header(inv, "Call-ID"))).encode()
answers = []
for i in range(2):  # the BYE, then its retransmission (our 200 "lost")
    sock.sendto(bye, peer)
    r = rawua.recv(sock, 1)
    while r and not r.startswith("SIP/2.0"):
        r = rawua.recv(sock, 1)
    answers.append(rawua.status(r))
out = uac.communicate(timeout=40)[0].decode()
doc = json.load(open(js))
print("answers to the BYE and its repeat:", answers)
print("uac exit", uac.returncode, "unexpected.requests", doc["unexpected"]["requests"],
      "errors", doc["errors"]["total"], "peer.retransmissions", doc["peer"]["retransmissions"])
ok = answers == [200, 200] and uac.returncode == 0 and doc["unexpected"]["requests"] == 0
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
