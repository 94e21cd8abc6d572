"""Shared by the repro scripts: a sipshardd on 127.0.0.1 (ports 33200-33399 of
audit-6), one call set up with rawua's raw UDP caller and callee, and the
management socket."""
import json, os, socket, subprocess, sys, tempfile, time
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import rawua  # noqa: E402

D_PORT, A_PORT, B_PORT = 33200, 33210, 33220


class Daemon:
    def __init__(self, extra=None, workers=1):
        self.dir = tempfile.mkdtemp(prefix="audit6-")
        self.sock = os.path.join(self.dir, "mgmt.sock")
        cfg = {"listen": "127.0.0.1:%d" % D_PORT, "workers": workers, "log_level": "info",
               "management_socket": self.sock, "run_dir": os.path.join(self.dir, "run"),
               "routes": [{"name": "callee", "match": {"user_prefix": ""},
                           "target": "127.0.0.1:%d" % B_PORT}]}
        cfg.update(extra or {})
        path = os.path.join(self.dir, "cfg.json")
        json.dump(cfg, open(path, "w"))
        self.log = open(os.path.join(self.dir, "daemon.log"), "w")
        self.p = subprocess.Popen([os.path.join(ROOT, "build", "sipshardd"), "-c", path,
                                   "--no-bpf", "--discard-dialogs"],
                                  stderr=self.log, stdout=self.log)
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        time.sleep(0.2)

    def ctl(self, *args):
        r = subprocess.run([os.path.join(ROOT, "build", "sipshardctl"), "-s", self.sock] +
                           list(args), capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    def raw(self, obj_or_bytes, timeout=5):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(self.sock)
        data = obj_or_bytes if isinstance(obj_or_bytes, bytes) else \
            (json.dumps(obj_or_bytes) + "\n").encode()
        s.sendall(data)
        out = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
        s.close()
        return out

    def stats(self):
        return json.loads(self.raw({"command": "stats"}))["stats"]

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(3)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def call(d):
    callee = rawua.Callee(B_PORT)
    caller = rawua.Caller(A_PORT, D_PORT)
    st = caller.call(callee)
    assert st == 200, st
    return caller, callee
