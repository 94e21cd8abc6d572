"""README: 'at most 8 clients wait at once (a ninth is answered "busy")'.
With 8 clients connected and silent, sipshardctl gets 'Connection reset by
peer' (exit 3, as if no daemon were reached), not the busy answer (exit 1):
the daemon writes it and closes the socket with sipshardctl's request
unread, which resets the connection and discards the answer."""
import socket, sys, time
from harness import Daemon

d = Daemon()
try:
    idle = []
    for _ in range(8):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        idle.append(s)
    time.sleep(0.1)
    results = [d.ctl("stats") for _ in range(5)]
    for s in idle:
        s.close()
    for rc, _, err in results:
        print(rc, err.strip())
    bad = [r for r in results if r[0] != 1 or "busy" not in r[2]]
    print("FAIL: %d of 5 did not get the busy answer" % len(bad) if bad else "PASS")
    sys.exit(1 if bad else 0)
finally:
    d.stop()
