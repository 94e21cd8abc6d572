"""Calls carried over by a restart with MORE workers than the run that set
them up: bucket_owner becomes bucket % new_workers, so the datagrams of a call
land on a worker whose table does not hold it, and every in-dialog request of
those calls is answered 481. The start should be refused (as fewer workers
is) instead of losing them without a word.
Exit 1 when the defect shows."""
import signal, sys
from harness import *

N = 8
callee = rawua.Callee(B_PORT)
callers = [rawua.Caller(30020 + i, D_PORT) for i in range(N)]
d1 = Daemon("grow-1", config("w2", workers=2), "--discard-dialogs")
up = sum(1 for c in callers if c.call(callee) == 200)
print("calls up:", up)
d1.kill(signal.SIGKILL)
d2 = Daemon("grow-2", config("w3", workers=3))
if not d2.alive():
    print("start with 3 workers refused:", d2.logtext().strip().splitlines()[-1])
    sys.exit(0)
lost = 0
for c in callers:
    c.sock.sendto(c.request("INFO", c.next_cseq()).encode(), ("127.0.0.1", D_PORT))
    callee.pump(0.2)
    msg = rawua.recv(c.sock, 1)
    if rawua.status(msg) != 200:
        lost += 1
print("carried calls whose INFO was not relayed (status != 200): %d of %d" % (lost, up))
d2.kill(signal.SIGINT)
sys.exit(1 if lost else 0)
