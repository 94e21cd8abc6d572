#!/usr/bin/env bash
# An operator's REFER whose final comes after another request of the operator
# (info, message) went into the same call: the REFER's 403 (or 202) must
# still end (or time) the transfer. Before the fix the transfer stays
# "active" for the whole call: the 403 never marks it done, the 202 never
# starts Timer N, and the caller's NOTIFYs without id keep being swallowed.
# Ports 32500-32503. Exit 0: right; 1: the defect.
set -u
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/a9-refer.XXXXXX)
D_PORT=32500
SOCK=$W/ctl.sock
cat >"$W/cfg.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "warn",
  "management_socket": "$SOCK", "run_dir": "$W/run", "persist_dialogs": false,
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "timers": { "t1_ms": 50 },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$((D_PORT + 2))" } ]
}
JSON
mkdir -p "$W/run"
build/sipshardd -c "$W/cfg.json" --discard-dialogs 2>"$W/d.log" &
DPID=$!
trap 'kill -INT $DPID 2>/dev/null; wait $DPID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
python3 - "$D_PORT" build/sipshardctl "$SOCK" <<'PY'
import json, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Callee, Caller, header, recv

dport, ctl, sock = int(sys.argv[1]), sys.argv[2], sys.argv[3]
callee = Callee(dport + 2)

def ctl_run(*args):
    return subprocess.run([ctl, "-s", sock] + list(args), capture_output=True, text=True).stdout

def answer(caller, req, code):
    vias = "".join(l + "\r\n" for l in req.split("\r\n") if l.lower().startswith("via:"))
    caller.sock.sendto(("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
                        "Content-Length: 0\r\n\r\n"
                        % (code, vias, header(req, "From"), header(req, "To"),
                           header(req, "Call-ID"), header(req, "CSeq"))).encode(),
                       ("127.0.0.1", dport))

def shown(caller):
    d = json.loads(ctl_run("--json", "dialogs", caller.call_id))["dialogs"]
    return d[0]["transfer"] if d else "no call"

ok = True
for final in ("403 Forbidden", "202 Accepted"):
    caller = Caller(dport + 1, dport)
    assert caller.call(callee) == 200
    ctl_run("refer", caller.call_id, "--to", "caller", "--target", "sip:desk@example.net",
            "--wait", "0")
    refer = None
    end = time.time() + 2
    while not refer and time.time() < end:
        m = recv(caller.sock, 0.1)
        if m and m.startswith("REFER "):
            refer = m
    # the operator sends an INFO to the callee while the REFER waits
    info = ctl_run("info", caller.call_id, "--to", "callee", "--type",
                   "application/dtmf-relay", "--body", "Signal=5", "--wait", "0")
    callee.pump(0.3)
    answer(caller, refer, final)  # the REFER's final comes after the INFO
    time.sleep(64 * 0.05 + 1.5 if final.startswith("202") else 0.3)
    t = shown(caller)
    want = "done"
    print("REFER answered %s after an INFO: transfer %s (want state %s)" % (final, t, want))
    ok = ok and isinstance(t, dict) and t["state"] == want
    caller.sock.close()
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
