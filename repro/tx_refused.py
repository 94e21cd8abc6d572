"""A callee whose Contact is 255.255.255.255: the caller's INFOs are relayed
there, and the kernel refuses each send (EACCES, no SO_BROADCAST). The
statistics must count those datagrams somewhere; exit 1 when no counter moved
beyond 'sent'. Needs the daemon of repro/d.json on 31500."""
import json, re, subprocess, sys, time
sys.path.insert(0, "/work/audit-6/tests/integration")
import rawua
def stats():
    return json.loads(subprocess.run(["/work/audit-6/build/sipshardctl", "-s",
        "/work/audit-6/repro/run/ctl.sock", "stats"], capture_output=True, text=True).stdout)
def flat(o, pre=""):
    out = {}
    if isinstance(o, dict):
        for k, v in o.items(): out.update(flat(v, pre + "." + k))
    elif isinstance(o, list):
        for i, v in enumerate(o): out.update(flat(v, pre + "[%d]" % i))
    elif isinstance(o, (int, bool)):
        out[pre] = int(o)
    return out
class BcastCallee(rawua.Callee):
    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            msg = rawua.recv(self.sock, max(0.0, end - time.time()))
            if msg is None: break
            if msg.startswith("SIP/2.0") or msg.startswith("ACK"): continue
            to = rawua.header(msg, "To") + ";tag=bc1"
            vias = "".join(re.findall(r"^Via\s*:.*?\r\n", msg, re.M | re.I))
            self.sock.sendto(("SIP/2.0 200 OK\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\n"
                "CSeq: %s\r\nContact: <sip:callee@255.255.255.255:31520>\r\nContent-Length: 0\r\n\r\n"
                % (vias, rawua.header(msg, "From"), to, rawua.header(msg, "Call-ID"),
                   rawua.header(msg, "CSeq"))).encode(), ("127.0.0.1", 31500))
callee = BcastCallee(31520)
caller = rawua.Caller(31501, 31500)
assert caller.call(callee) == 200
time.sleep(1.1)
a = flat(stats())
for i in range(5):
    caller.sock.sendto(caller.request("INFO", caller.next_cseq()).encode(), ("127.0.0.1", 31500))
    time.sleep(0.05)
time.sleep(1.2)
b = flat(stats())
moved = {k: b[k] - a.get(k, 0) for k in b if b[k] != a.get(k, 0)}
print(moved)
errs = [k for k in moved if "error" in k or "refused" in k]
print("counted as refused:", errs or "nowhere")
sys.exit(0 if errs else 1)
