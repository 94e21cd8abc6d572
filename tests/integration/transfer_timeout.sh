#!/usr/bin/env bash
# The operator's transfer (sipshardctl refer) whose REFER the side accepts
# (202) but about which no NOTIFY ever comes: Timer N (RFC 6665 4.1.2.4, 64*T1
# after the 2xx; the REFER's subscription is implicit, RFC 3515 2.4.4) ends it
# as failed, "done" with status 408, and a NOTIFY about it after that gets 481.
# It stayed "active" for ever. A transfer whose first NOTIFY comes in time
# stays active past that. Raw UDP caller and callee (rawua.py), T1 50 ms.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=16440 # sipshardd; the callers are 16441 and 16443, the callee 16442
B_PORT=16442
SOCK=$WORK/sipshardd.sock
T1_MS=50

cat >"$WORK/transfer.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "info",
  "management_socket": "$SOCK", "run_dir": "$WORK/run", "persist_dialogs": false,
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "timers": { "t1_ms": $T1_MS },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
start_daemon transfer "$WORK/transfer.json"

python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" "$T1_MS" >"$WORK/transfer.out" 2>&1 <<'PY'
import json, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Callee, Caller, header, recv, respond, status

dport, bport, ctl, sock, t1 = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
callee = Callee(bport)


def answer(caller, req, code):
    respond(caller.sock, req, ("127.0.0.1", dport), code)


def transfer(caller):
    """sipshardctl refer to the caller, which answers the REFER 202; the
    command's output and the REFER's CSeq number."""
    cmd = subprocess.Popen([ctl, "-s", sock, "refer", caller.call_id, "--to", "caller",
                            "--target", "sip:desk@example.net"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    refer_cseq = None
    while cmd.poll() is None:
        msg = recv(caller.sock, 0.05)
        if msg and msg.startswith("REFER "):
            refer_cseq = int(header(msg, "CSeq").split()[0])
            answer(caller, msg, "202 Accepted")
        callee.pump(0.01)
    return cmd.stdout.read().strip(), refer_cseq


def shown(caller):
    out = subprocess.run([ctl, "-s", sock, "--json", "dialogs", caller.call_id],
                         capture_output=True, text=True).stdout
    d = json.loads(out)["dialogs"]
    return d[0]["transfer"] if d else "no call"


def notify(caller, event, frag):
    """A NOTIFY from the caller in its dialog; the status it got."""
    caller.sock.sendto(caller.request("NOTIFY", caller.next_cseq()).replace(
        "Content-Length: 0\r\n\r\n",
        "Event: %s\r\nSubscription-State: active;expires=60\r\n"
        "Content-Type: message/sipfrag\r\nContent-Length: %d\r\n\r\n%s"
        % (event, len(frag), frag)).encode(), ("127.0.0.1", dport))
    end = time.time() + 2
    while time.time() < end:
        msg = recv(caller.sock, 0.1)
        if msg and msg.startswith("SIP/2.0") and "NOTIFY" in header(msg, "CSeq"):
            return status(msg)
    return 0


res = {}
timer_n = 64 * t1 / 1000.0
silent = Caller(dport + 1, dport)
res["call"] = silent.call(callee)
res["refer"], cseq = transfer(silent)
accepted = time.time()
res["at_once"] = shown(silent)
time.sleep(max(0.0, accepted + timer_n - 1.0 - time.time()))
res["before_timer_n"] = shown(silent)
time.sleep(max(0.0, accepted + timer_n + 1.5 - time.time()))
res["after_timer_n"] = shown(silent)
res["late_notify"] = notify(silent, "refer;id=%d" % cseq, "SIP/2.0 200 OK\r\n")
res["after_late_notify"] = shown(silent)

talking = Caller(dport + 3, dport)
res["call2"] = talking.call(callee)
res["refer2"], cseq2 = transfer(talking)
accepted = time.time()
time.sleep(0.3)
res["notify2"] = notify(talking, "refer;id=%d" % cseq2, "SIP/2.0 100 Trying\r\n")
time.sleep(max(0.0, accepted + timer_n + 1.5 - time.time()))
res["notified_after_timer_n"] = shown(talking)
res["callee_notifies"] = callee.count("NOTIFY")
print(json.dumps(res))
PY
rc=$?
take_result "$WORK/transfer.out"

check "the helper ran" test "$rc" = 0
check "two calls up through sipshardd" test "$(get 'j["call"], j["call2"]')" = "200 200"
check "refer: the caller accepted it, 202" \
	bash -c "grep -q ': 202$' <<<\"\$1\"" _ "$(get 'j["refer"]')"
check "dialogs: active, no status, until Timer N (64*T1 after the 202)" \
	test "$(get 'j["at_once"], j["before_timer_n"]')" = "{'to': 'caller', 'state': 'active', 'status': None} {'to': 'caller', 'state': 'active', 'status': None}"
check "dialogs: no NOTIFY within Timer N: done, 408" \
	test "$(get 'j["after_timer_n"]')" = "{'to': 'caller', 'state': 'done', 'status': 408}"
check "a NOTIFY about it after Timer N: 481, the transfer stays failed" \
	test "$(get 'j["late_notify"], j["after_late_notify"]["status"]')" = "481 408"
check "a transfer whose first NOTIFY came in time: active past Timer N, its status shown" \
	test "$(get 'j["notify2"], j["notified_after_timer_n"]')" = "200 {'to': 'caller', 'state': 'active', 'status': 100}"
check "no NOTIFY reached the callee" test "$(get 'j["callee_notifies"]')" = "0"
check "stats: transfers_timed_out 1" \
	wait_json "$WORK/transfer.stats.json" 'sum(w["transfers_timed_out"] for w in j["workers"])' "1"
# The REFER's final coming after another request the operator sent into the
# call (refer --wait 0, then info): a 403 still ends the transfer, a 202
# still starts Timer N. The outcome was taken only while the REFER was the
# last request sent, so the transfer stayed "active" for the whole call (and
# that side's NOTIFYs without id were still answered by sipshard).
python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" "$T1_MS" >"$WORK/after_info.out" 2>&1 <<'PY'
import json, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Callee, Caller, recv, respond

dport, bport, ctl, sock, t1 = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
callee = Callee(bport)

def ctl_run(*args):
    return subprocess.run([ctl, "-s", sock] + list(args), capture_output=True, text=True).stdout

def answer(caller, req, code):
    respond(caller.sock, req, ("127.0.0.1", dport), code)

out = {}
for final in ("403 Forbidden", "202 Accepted"):
    caller = Caller(dport + 3, dport)
    if caller.call(callee) != 200:
        out[final[:3]] = "no call"
        caller.sock.close()
        continue
    ctl_run("refer", caller.call_id, "--to", "caller", "--target", "sip:desk@example.net",
            "--wait", "0")
    refer, end = None, time.time() + 2
    while not refer and time.time() < end:
        m = recv(caller.sock, 0.1)
        if m and m.startswith("REFER "):
            refer = m
    ctl_run("info", caller.call_id, "--to", "callee", "--type", "application/dtmf-relay",
            "--body", "Signal=5", "--wait", "0")
    callee.pump(0.3)
    if refer:
        answer(caller, refer, final)
    time.sleep(64 * t1 / 1000 + 1.5 if final.startswith("202") else 0.3)
    d = json.loads(ctl_run("--json", "dialogs", caller.call_id))["dialogs"]
    out[final[:3]] = d[0]["transfer"] if d else "no call"
    caller.sock.close()
print(json.dumps(out))
PY
sed 's/^/# /' "$WORK/after_info.out"
A=$(tail -1 "$WORK/after_info.out")
check "a REFER refused 403 after the operator's INFO went into the call: the transfer is done (no NOTIFY, so no status)" \
	test "$(python3 -c 'import json,sys; t=json.loads(sys.argv[1])["403"]; print(t["state"], t["status"])' "$A" 2>/dev/null)" = "done None"
check "a REFER accepted 202 after the operator's INFO, no NOTIFY: Timer N ends it, done with 408" \
	test "$(python3 -c 'import json,sys; t=json.loads(sys.argv[1])["202"]; print(t["state"], t["status"])' "$A" 2>/dev/null)" = "done 408"
stop_daemon
