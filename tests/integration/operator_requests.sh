#!/usr/bin/env bash
# The operator's requests into a call (sipshardctl refer, info, message)
# against a running sipshardd, raw UDP caller and callee (rawua.py):
#  1. refer: the caller accepts the REFER with a 202 whose Contact names a new
#     address; a REFER is a target refresh (it makes a subscription as a
#     SUBSCRIBE does, RFC 3515 2.4.4, and a SUBSCRIBE is one, RFC 6665 3.1),
#     so that Contact becomes the caller leg's remote target (RFC 3261 12.2.1.2)
#     and dialogs shows it; the next request sent to the caller, the
#     operator's INFO, carries it as its Request-URI. It stayed the old one.
#  2. info (--json) and message (text) to a callee that does not answer them,
#     the call ended by the caller's BYE meanwhile: the command says the call
#     ended ("status": "call_ended", "ended": 1; "the call ended before a
#     final status came"), as soon as it did. It said "none within 1500 ms",
#     as for a peer that never answered, once the wait was over. And the
#     request is resent no more once the call ended (Timer E would resend it
#     at 0.5 and 1.5 s): it was, until Timer F, to a callee whose dialog is
#     gone.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the commands run on the controller
# thread, the requests on the workers
ASAN_DAEMON=1
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=16600 # sipshardd; the callee 16602, the callers 16601, 16604, 16605;
B_PORT=16602 # the caller's new address (its 202's Contact) 16603
SOCK=$WORK/sipshardd.sock

cat >"$WORK/operator.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 2, "log_level": "info",
  "management_socket": "$SOCK", "run_dir": "$WORK/run", "persist_dialogs": false,
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
start_daemon operator "$WORK/operator.json" --no-bpf

python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" >"$WORK/operator.out" 2>&1 <<'PY'
import json, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Callee, Caller, header, recv, respond

dport, bport, ctl, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
D = ("127.0.0.1", dport)
callee = Callee(bport)
res = {}


def command(*args):
    return subprocess.Popen([ctl, "-s", sock] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def leg(caller, side):
    out = subprocess.run([ctl, "-s", sock, "--json", "dialogs", caller.call_id],
                         capture_output=True, text=True).stdout
    d = json.loads(out)["dialogs"]
    return d[0][side] if d else None


# 1. the caller's 202 to the REFER names a new Contact
moved = "sip:moved@127.0.0.1:%d" % (dport + 3)
caller = Caller(dport + 1, dport)
res["call"] = caller.call(callee)
res["target_before"] = leg(caller, "caller")["remote_target"]
cmd = command("refer", caller.call_id, "--to", "caller", "--target", "sip:desk@example.net")
while cmd.poll() is None:
    msg = recv(caller.sock, 0.05)
    if msg and msg.startswith("REFER "):
        respond(caller.sock, msg, D, "202 Accepted", extra="Contact: <%s>\r\n" % moved)
    callee.pump(0.01)
res["refer"] = cmd.stdout.read().strip().rsplit(": ", 1)[-1]
res["target_after"] = leg(caller, "caller")["remote_target"]
cmd = command("info", caller.call_id, "--to", "caller", "--type", "application/dtmf-relay",
              "--body", "Signal=5")
info_uri = None
while cmd.poll() is None:
    msg = recv(caller.sock, 0.05)
    if msg and msg.startswith("INFO "):
        info_uri = msg.split(" ")[1]
        respond(caller.sock, msg, D, "200 OK")
res["info_ruri"] = info_uri
res["info"] = cmd.stdout.read().strip().rsplit(": ", 1)[-1]


# 2. the call ends while the operator's request waits for its final
def ended_while_waiting(port, args):
    """A call; the operator's request (args) to its callee, which does not
    answer it; the caller hangs up. The command's output, how long it took
    (ms), and how many times the callee got the request again in the 2 s
    after the answer."""
    c = Caller(port, dport)
    if c.call(callee) != 200:
        return "no call", 0
    t0 = time.time()
    cmd = command(*[a if a != "CALL" else c.call_id for a in args])
    bye_sent = False
    while cmd.poll() is None:
        msg = recv(callee.sock, 0.05)
        if msg and msg.startswith("BYE "):
            respond(callee.sock, msg, D, "200 OK")
        elif msg and msg.split(" ")[0] in ("INFO", "MESSAGE") and not bye_sent:
            # not answered: the caller hangs up instead
            c.sock.sendto(c.request("BYE", c.next_cseq()).encode(), D)
            bye_sent = True
    took = int((time.time() - t0) * 1000)
    again, end = 0, time.time() + 2
    while time.time() < end:
        msg = recv(callee.sock, 0.1)
        if msg and msg.startswith("BYE "):
            respond(callee.sock, msg, D, "200 OK")
        elif msg and msg.split(" ")[0] in ("INFO", "MESSAGE"):
            again += 1
    c.sock.close()
    return cmd.stdout.read().strip(), took, again


out, res["info_took_ms"], res["info_resent"] = ended_while_waiting(
    dport + 4, ["--json", "info", "CALL", "--to", "callee", "--wait", "1500"])
try:
    j = json.loads(out)
    res["info_ended"] = [j["sent"], j["status"], j["answered"], j.get("ended")]
except ValueError:
    res["info_ended"] = out
out, res["message_took_ms"], res["message_resent"] = ended_while_waiting(
    dport + 5, ["message", "CALL", "--to", "callee", "--type", "text/plain", "--body", "hi",
                "--wait", "1500"])
res["message_ended"] = out.rsplit(": ", 1)[-1]
print(json.dumps(res))
PY
rc=$?
take_result "$WORK/operator.out"

check "the helper ran" test "$rc" = 0
check "a call up through sipshardd" test "$(get 'j["call"]')" = "200"
check "refer: the caller accepted it, 202" test "$(get 'j["refer"]')" = "202"
check "the 202's Contact is the caller leg's remote target (RFC 3261 12.2.1.2: a REFER is a target refresh)" \
	test "$(get 'j["target_before"] != j["target_after"], j["target_after"]')" = "True sip:moved@127.0.0.1:$((D_PORT + 3))"
check "the operator's next request to the caller goes to it (its Request-URI), answered 200" \
	test "$(get 'j["info_ruri"], j["info"]')" = "sip:moved@127.0.0.1:$((D_PORT + 3)) 200"
check "info --json whose call ends while it waits: status call_ended, ended 1, answered 0" \
	test "$(get 'j["info_ended"]')" = "[1, 'call_ended', 0, 1]"
check "it answers when the call ends, not when the wait of 1500 ms is over" \
	test "$(get 'j["info_took_ms"] < 1300')" = "True"
check "message (text) whose call ends while it waits: the call ended before a final status came" \
	test "$(get 'j["message_ended"]')" = "none, the call ended before a final status came"
check "the INFO and the MESSAGE are not resent once their call ended (no Timer E after the end)" \
	test "$(get 'j["info_resent"], j["message_resent"]')" = "0 0"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/operator.log"
