"""With tx_buffer_size 1500 (allowed: 1500-65535), an operator's MESSAGE with
a 1024-byte body is larger than a send buffer: send_copy drops it
(tx_no_buffer) at every (re)transmission, yet orig counts it sent and
retransmitted, and sipshardctl says 'sent MESSAGE to ... 1 call(s)'.
Expect: not sent (log 'does not fit'), nothing counted as sent, the command
answered 513 (as a relayed request that does not fit)."""
import sys, time
from harness import Daemon, call
import rawua

d = Daemon({"tx_buffer_size": 1500})
try:
    callee = rawua.Callee(33220)
    caller = rawua.Caller(33210, 33200)
    caller.call_id = "c" * 100 + "@127.0.0.1"
    # a proxy before the callee with a long Record-Route (its route set: 300 bytes)
    plain = caller.request
    rr = "Record-Route: <sip:%s@127.0.0.1:33299;lr>\r\n" % ("p" * 260)
    caller.request = lambda *a, **k: plain(*a, **k).replace("Max-Forwards", rr + "Max-Forwards", 1)
    assert caller.call(callee) == 200
    rc, out, err = d.ctl("message", caller.call_id, "--to", "caller", "--type", "text/plain",
                         "--body", "x" * 1024, "--wait", "300")
    caller_got = []
    end = time.time() + 2.0
    while time.time() < end:
        m = rawua.recv(caller.sock, 0.1)
        if m and m.startswith("MESSAGE"):
            caller_got.append(m)
            print(len(m))  # Timer E: 500 ms, 1 s: two retransmissions would be due
    got = len(caller_got)
    w = d.stats()["workers"][0]
    print("ctl rc=%d out=%r err=%r" % (rc, out.strip(), err.strip()))
    print("caller got %d MESSAGE; originated=%s tx_no_buffer=%s" %
          (got, w["originated"], w.get("tx_no_buffer")))
    # not sent: neither counted as sent nor answered as if it might be
    bad = got == 0 and (w["originated"]["sent"] > 0 or not out.strip().endswith(": 513"))
    print("FAIL: not sent, yet counted/reported as sent" if bad else "PASS")
    sys.exit(1 if bad else 0)
finally:
    d.stop()
