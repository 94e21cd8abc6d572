#!/usr/bin/env python3
"""Defect: a BYE relayed to a side that never answers it leaves the call up.

The caller hangs up (BYE); the callee has gone (power lost) and answers
nothing. RFC 3261 15.1.1: a BYE that gets no response (the client
transaction times out) ends the session and the dialog for the side that
sent it. sipshard relays the BYE, forgets the transaction after
timers.transaction_timeout_ms, and keeps the dialog until some other timer
(timers.dialog_idle_s, 2 h by default) ends it: the CDR then says
idle_timeout with the idle time added to duration_ms, and the call holds a
dialog slot and a limits.max_calls place meanwhile.

Here: transaction_timeout_ms 1000, dialog_idle_s 6. Passes when the CDR says
bye_caller and the call lasted less than 3 s."""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import rawua  # noqa: E402

D_PORT, A_PORT, B_PORT = 32000, 32001, 32002
work = tempfile.mkdtemp(prefix="repro-bye-")
cdr = os.path.join(work, "cdr.jsonl")
cfg = os.path.join(work, "cfg.json")
with open(cfg, "w") as f:
    json.dump({"listen": "127.0.0.1:%d" % D_PORT, "workers": 1, "log_level": "info",
               "run_dir": os.path.join(work, "run"), "cdr_file": cdr,
               "management_socket": os.path.join(work, "ctl.sock"),
               "timers": {"transaction_timeout_ms": 1000, "dialog_idle_s": 6},
               "routes": [{"name": "callee", "match": {"user_prefix": ""},
                           "target": "127.0.0.1:%d" % B_PORT}]}, f)
log = open(os.path.join(work, "daemon.log"), "w")
d = subprocess.Popen([os.path.join(ROOT, "build", "sipshardd"), "-c", cfg, "--discard-dialogs"],
                     stderr=log)
try:
    time.sleep(0.5)
    callee = rawua.Callee(B_PORT)
    caller = rawua.Caller(A_PORT, D_PORT)
    st = caller.call(callee)
    assert st == 200, "call not answered: %d" % st
    t0 = time.time()
    # the callee is gone: it reads nothing more. The caller hangs up and
    # retransmits its BYE (Timer E) until Timer F, as a UA does.
    bye = caller.request("BYE", caller.next_cseq()).encode()
    interval = 0.5
    while time.time() - t0 < 2.0:
        caller.sock.sendto(bye, ("127.0.0.1", D_PORT))
        time.sleep(interval)
    # the caller has given up on its BYE: the call is over for it
    deadline = time.time() + 9
    rec = None
    while time.time() < deadline and rec is None:
        time.sleep(0.2)
        if os.path.exists(cdr):
            lines = [l for l in open(cdr) if l.strip()]
            if lines:
                rec = json.loads(lines[-1])
    print("CDR:", json.dumps(rec))
    if rec is None:
        print("FAIL: no CDR within 11 s of the BYE")
        sys.exit(1)
    if rec.get("end_reason") != "bye_caller" or rec.get("duration_ms", 1e9) > 3000:
        print("FAIL: end_reason %s, duration_ms %s (expected bye_caller, < 3000: the caller's "
              "BYE ended the call)" % (rec.get("end_reason"), rec.get("duration_ms")))
        sys.exit(1)
    print("PASS")
finally:
    d.send_signal(2)
    d.wait(timeout=5)
