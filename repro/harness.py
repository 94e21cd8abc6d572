"""Shared helpers for the audit-4 reproducers: a sipshardd on 127.0.0.1:30000
with small capacities and its own run_dir, started and stopped by pid."""
import json, os, signal, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import rawua  # noqa: E402

D_PORT = 30000
B_PORT = 30010
WORK = "/dev/shm/audit4-" + str(os.getpid())
os.makedirs(WORK, exist_ok=True)
RUN = WORK + "/run"


def config(name, workers=2, extra=None):
    c = {"listen": "127.0.0.1:%d" % D_PORT, "workers": workers, "log_level": "info",
         "run_dir": RUN, "management_socket": None, "cdr_file": WORK + "/cdr.jsonl",
         "capacity": {"dialogs_per_shard": 1024, "transactions_per_shard": 1024,
                      "setups": 256},
         "routes": [{"name": "callee", "match": {"user_prefix": ""},
                     "target": "127.0.0.1:%d" % B_PORT}]}
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(c.get(k), dict):
            c[k].update(v)
        else:
            c[k] = v
    p = "%s/%s.json" % (WORK, name)
    with open(p, "w") as f:
        json.dump(c, f)
    return p


class Daemon:
    def __init__(self, name, cfg, *flags):
        self.name = name
        self.log = "%s/%s.log" % (WORK, name)
        self.stats = "%s/%s.stats.json" % (WORK, name)
        self.p = subprocess.Popen([ROOT + "/build/sipshardd", "-c", cfg, "--stats-file",
                                   self.stats] + list(flags),
                                  stderr=open(self.log, "w"))
        time.sleep(0.6)

    def alive(self):
        return self.p.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.p.send_signal(sig)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()

    def logtext(self):
        return open(self.log).read()

    def stat(self):
        try:
            return json.load(open(self.stats))
        except Exception:
            return None


def cdrs():
    p = WORK + "/cdr.jsonl"
    if not os.path.exists(p):
        return []
    return [json.loads(l) for l in open(p).read().splitlines() if l.strip()]


import atexit, shutil  # noqa: E402
if not os.environ.get("KEEP_WORK"):
    atexit.register(shutil.rmtree, WORK, True)
