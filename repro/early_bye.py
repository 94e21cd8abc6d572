"""An operator's bye (or info, message, refer) on a call that is ringing: the
worker skips early dialogs for these commands (the controller cancels calls
in set-up), and the daemon answers 'no call in progress has Call-ID X',
though `dialogs X` lists that very call as early. Expect an answer that says
the call is still being set up."""
import re, select, sys, time
from harness import Daemon
import rawua

d = Daemon()
try:
    cs = rawua.udp(33220)
    caller = rawua.Caller(33210, 33200)
    caller.sock.sendto(caller.request("INVITE", 1).encode(), ("127.0.0.1", 33200))
    # the callee rings (180 with a To tag: an early dialog) and never answers
    inv = None
    end = time.time() + 3
    while time.time() < end and not inv:
        m = rawua.recv(cs, 0.1)
        if m and m.startswith("INVITE"):
            inv, _ = m, None
    assert inv, "no INVITE reached the callee"
    vias = "".join(re.findall(r"^Via\s*:.*?\r\n", inv, re.M | re.I))
    cs.sendto(("SIP/2.0 180 Ringing\r\n%sFrom: %s\r\nTo: %s;tag=ring1\r\nCall-ID: %s\r\n"
               "CSeq: %s\r\nContact: <sip:callee@127.0.0.1:33220>\r\nContent-Length: 0\r\n\r\n"
               % (vias, rawua.header(inv, "From"), rawua.header(inv, "To"),
                  rawua.header(inv, "Call-ID"), rawua.header(inv, "CSeq"))).encode(),
              ("127.0.0.1", 33200))
    time.sleep(0.3)
    rc, out, err = d.ctl("dialogs", caller.call_id)
    print("dialogs:", rc, out.strip())
    rc2, out2, err2 = d.ctl("bye", caller.call_id)
    print("bye:", rc2, out2.strip(), err2.strip())
    listed = " early " in out
    bad = listed and "still being set up" not in err2
    print("FAIL: listed as early, yet bye does not say it is being set up" if bad else "PASS")
    sys.exit(1 if bad or not listed else 0)
finally:
    d.stop()
