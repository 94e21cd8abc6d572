"""persist_dialogs false after a run with it on (a SIGKILL left calls in
run_dir): the files stay, holding their tmpfs memory (setups.tbl is wholly
in memory), and a later start with persist_dialogs on again takes up calls
that ended long ago, which the daemon in between answered 481. Exit 1 when
the defect shows."""
import os, signal, sys
from harness import *

callee = rawua.Callee(B_PORT)
caller = rawua.Caller(30020, D_PORT)
d1 = Daemon("off-1", config("on"), "--discard-dialogs")
print("call:", caller.call(callee))
d1.kill(signal.SIGKILL)
d2 = Daemon("off-2", config("off", extra={"persist_dialogs": False}))
c = caller.next_cseq()
caller.sock.sendto(caller.request("BYE", c).encode(), ("127.0.0.1", D_PORT))
print("BYE through the persist_dialogs false daemon:",
      [rawua.status(m) for m, _ in rawua.recv_all(caller.sock, 0.5)])
d2.kill(signal.SIGINT)
left = sorted(f for f in os.listdir(RUN) if f.endswith((".tbl", ".heads")))
held = sum(os.stat(os.path.join(RUN, f)).st_blocks * 512 for f in left)
print("left in run_dir after the persist_dialogs false run:", left, "%d KiB held" % (held >> 10))
d3 = Daemon("off-3", config("on"))
log = d3.logtext()
d3.kill(signal.SIGINT)
stale = [l for l in log.splitlines() if "carried over 1 calls" in l]
print("the next start with persist_dialogs on:", stale)
sys.exit(1 if stale or held else 0)
