#!/usr/bin/env python3
"""One malformed request to sipshard-load uas (a Content-Length beyond the
datagram: sip_parse refuses it, a 400 can still be formed). It is one error:
errors.total must be 1, not 2 (it was counted as malformed and again as a
400 sent, so --max-errors 1 failed a run with one bad datagram).

    repro/uas_malformed_once.py [BUILD]     (ports 34300-34301)
"""
import json, os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import rawua

build = sys.argv[1] if len(sys.argv) > 1 else "build"
js = "/tmp/audit3_uas_malformed.json"
uas = subprocess.Popen([os.path.join(build, "sipshard-load"), "--role", "uas", "--quiet",
                        "--local", "127.0.0.1:34300", "--duration", "1.5", "--max-errors", "1",
                        "--json", js], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
for _ in range(100):  # until the uas listens on its port
    if subprocess.run(["ss", "-Hlun", "sport = :34300"], capture_output=True).stdout.strip():
        break
    time.sleep(0.05)
s = rawua.udp(34301)
s.sendto(b"OPTIONS sip:x@127.0.0.1:34300 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:34301;branch=z9hG4bKm1\r\n"
         b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: m1\r\nCSeq: 1 OPTIONS\r\n"
         b"Max-Forwards: 70\r\nContent-Length: 500\r\n\r\nshort", ("127.0.0.1", 34300))
print("answer:", rawua.status(rawua.recv(s, 1)))
uas.communicate(timeout=10)
e = json.load(open(js))["errors"]
print("uas exit", uas.returncode, "errors", e)
ok = e["total"] == 1 and uas.returncode == 0
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
