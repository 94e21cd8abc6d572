#!/usr/bin/env bash
# The management commands on calls in progress, against a running sipshardd
# with SIPp on both sides: sipshardctl dialogs lists the calls up (both legs)
# and finds one by either leg's Call-ID; info and message send an INFO to the
# caller and a MESSAGE to the callee, which SIPp checks (type, body) and
# answers, and the commands print the final status; refer transfers the caller
# (REFER with Refer-To, 202, two NOTIFYs that sipshard answers itself and the
# callee never sees); bye ends the call with a BYE to each side that both SIPp sides
# check and answer, and a CDR with end_reason operator; the other call stays
# up; a Call-ID of no call, and bad arguments, are refused.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the commands run on the controller
# thread and the scans on the workers
ASAN_DAEMON=1
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=15560
B_PORT=15580
SOCK=$WORK/sipshardd.sock
CDR=$WORK/cdr.jsonl

# wait_cdr COND WANT: the end_reasons of the CDRs r for which COND holds are
# WANT (a Python list), within 5 s
wait_cdr() {
	local got
	for _ in $(seq 1 50); do
		got=$(python3 -c 'import json, sys
print([r["end_reason"] for r in map(json.loads, open(sys.argv[1])) if eval(sys.argv[2])])' "$CDR" "$1" 2>&1)
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	echo "# CDRs where $1: $got, not $2"
	return 1
}

# two callees: the call to user "keep..." goes to the second
cat >"$WORK/dialogs.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 2, "log_level": "info",
  "management_socket": "$SOCK", "cdr_file": "$CDR", "run_dir": "$WORK/run",
  "routes": [ { "name": "kept", "match": { "user_prefix": "keep" }, "target": "127.0.0.1:$((B_PORT + 1))" },
              { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
start_daemon dialogs "$WORK/dialogs.json" --no-bpf

# two calls held up: one for the operator to end, one that must stay up
sipp_uas "$B_PORT" uas_await_message_bye.xml -m 1
uas_pid=${PIDS[-1]}
sipp_uas "$((B_PORT + 1))" uas_no_bye.xml -m 1
kept_uas=${PIDS[-1]}
sleep 0.3
start_bg sipp_uac ended "$D_PORT" uac_await_operator.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 1))"
uac_pid=${PIDS[-1]}
sipp_uac kept "$D_PORT" uac_no_bye.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 2))" -s keep
sleep 0.3

"$CTL" -s "$SOCK" --json dialogs >"$WORK/list.json"
check "dialogs: two calls up, both listed" \
	test "$(json_get "$WORK/list.json" 'j["ok"], j["dialogs_up"], j["matched"], len(j["dialogs"])')" = "True 2 2 2"
check "dialogs: each with both legs, confirmed, the caller's Call-ID on leg A" \
	test "$(json_get "$WORK/list.json" 'sorted((d["state"], d["caller"]["session_state"], d["callee"]["peer"], d["caller"]["call_id"].startswith("1-")) for d in j["dialogs"])')" = "[('confirmed', 'Confirmed', '127.0.0.1:$B_PORT', True), ('confirmed', 'Confirmed', '127.0.0.1:$((B_PORT + 1))', True)]"
# the session model's offer and answer were never filled: null for every call
check "dialogs: the caller's SDP as each leg's offer, the callee's as its answer, both stable" \
	test "$(json_get "$WORK/list.json" '[(d[s]["signaling_state"], d[s]["offer"]["type"], "o=caller " in d[s]["offer"]["body"], "o=callee " in d[s]["answer"]["body"], d[s]["answer"]["bytes"] == len(d[s]["answer"]["body"])) for d in j["dialogs"] if d["callee"]["peer"].endswith(":'$B_PORT'") for s in ("caller", "callee")]')" = "[('Stable', 'application/sdp', True, True, True), ('Stable', 'application/sdp', True, True, True)]"
ended_id=$(json_get "$WORK/list.json" '[d["caller"]["call_id"] for d in j["dialogs"] if d["callee"]["peer"].endswith(":'$B_PORT'")][0]')
ended_b=$(json_get "$WORK/list.json" '[d["callee"]["call_id"] for d in j["dialogs"] if d["callee"]["peer"].endswith(":'$B_PORT'")][0]')
"$CTL" -s "$SOCK" --json dialogs "$ended_b" >"$WORK/one.json"
check "dialogs CALL-ID: leg B's Call-ID finds the call, leg A's shown with it" \
	test "$(json_get "$WORK/one.json" 'j["matched"], [d["caller"]["call_id"] for d in j["dialogs"]]')" = "1 ['$ended_id']"
"$CTL" -s "$SOCK" dialogs >"$WORK/list.txt"
check "dialogs: a line per call for the operator" \
	bash -c "head -1 \"\$1\" | grep -q '^2 dialog(s) up, 2 matched, 2 shown' && grep -c '^worker [01] confirmed' \"\$1\" | grep -qx 2" _ "$WORK/list.txt"

"$CTL" -s "$SOCK" info "$ended_id" --to caller --type application/dtmf-relay \
	--body "$(printf 'Signal=5\r\nDuration=160\r\n')" >"$WORK/info.txt"
check "info: exit 0, sent to the caller, its final status 200 in the answer" \
	bash -c "[ $? = 0 ] && grep -qx 'sent INFO to the caller of 1 call(s) with Call-ID $ended_id: 200' \"\$1\"" _ "$WORK/info.txt"
sleep 0.3
"$CTL" -s "$SOCK" --json dialogs "$ended_id" >"$WORK/sent-info.json"
check "dialogs: the INFO as the last request sent, to the caller, answered 200" \
	test "$(json_get "$WORK/sent-info.json" 'j["dialogs"][0]["last_sent"]')" = "{'method': 'INFO', 'to': 'caller', 'status': 200}"
"$CTL" -s "$SOCK" message "$ended_b" --to callee --type text/plain \
	--body "hello from the operator" >"$WORK/message.txt"
check "message: exit 0, sent to the callee (found by leg B's Call-ID), final status 200" \
	bash -c "[ $? = 0 ] && grep -qx 'sent MESSAGE to the callee of 1 call(s) with Call-ID $ended_b: 200' \"\$1\"" _ "$WORK/message.txt"
sleep 0.3
"$CTL" -s "$SOCK" --json stats >"$WORK/sent.json"
check "info and message: both answered, none retransmitted" \
	test "$(json_get "$WORK/sent.json" '[sum(w["originated"][k] for w in j["stats"]["workers"]) for k in ("sent", "answered", "retransmitted")]')" = "[2, 2, 0]"
"$CTL" -s "$SOCK" --json dialogs >"$WORK/sent-all.json"
check "dialogs: then the MESSAGE to the callee, answered 200; nothing sent into the other call" \
	test "$(json_get "$WORK/sent-all.json" '" | ".join(sorted(str(d["last_sent"]) for d in j["dialogs"]))')" = "None | {'method': 'MESSAGE', 'to': 'callee', 'status': 200}"
"$CTL" -s "$SOCK" dialogs "$ended_id" >"$WORK/sent-one.txt"
check "dialogs: the call's line says so" grep -q "  sent MESSAGE to callee: 200$" "$WORK/sent-one.txt"
"$CTL" -s "$SOCK" refer "$ended_id" --to caller --target sip:transfer-target@example.net >"$WORK/refer.txt"
check "refer: exit 0, the caller accepted the transfer: 202" \
	bash -c "[ $? = 0 ] && grep -qx 'sent REFER to the caller of 1 call(s) with Call-ID $ended_id: 202' \"\$1\"" _ "$WORK/refer.txt"
sleep 0.5
"$CTL" -s "$SOCK" --json dialogs "$ended_id" >"$WORK/refer.json"
check "dialogs: the transfer done, the target's 200 from the last NOTIFY" \
	test "$(json_get "$WORK/refer.json" 'j["dialogs"][0]["transfer"]')" = "{'to': 'caller', 'state': 'done', 'status': 200}"
"$CTL" -s "$SOCK" --json stats >"$WORK/refer-stats.json"
check "refer: both NOTIFYs answered by sipshard, none relayed to the callee" \
	test "$(json_get "$WORK/refer-stats.json" 'sum(w["refer_notifies_answered"] for w in j["stats"]["workers"]), sum(w["relayed_requests"].get("NOTIFY", 0) for w in j["stats"]["workers"])')" = "2 0"
"$CTL" -s "$SOCK" dialogs "$ended_id" >"$WORK/refer.txt"
check "dialogs: the call's line shows the transfer" grep -q "  transfer of caller: 200 (done)$" "$WORK/refer.txt"
"$CTL" -s "$SOCK" refer "$ended_id" --to caller --target "sip:a b" 2>"$WORK/badtarget.err"
check "refer to a target that is no URI: exit 1, the key named" \
	bash -c "[ $? = 1 ] && grep -q 'target: expected the URI to transfer to' \"\$1\"" _ "$WORK/badtarget.err"
"$CTL" -s "$SOCK" message "$ended_id" --to callee --type text/plain 2>"$WORK/nobody.err"
check "message without a body: sipshardctl says it is bad usage (exit 2), naming --body" \
	bash -c "[ $? = 2 ] && grep -q -- '--body' \"\$1\"" _ "$WORK/nobody.err"
# a body of control bytes, within --body's 1024 bytes, is six bytes each as
# JSON: over the daemon's 4096, which it would refuse naming no argument
"$CTL" -s "$SOCK" info "$ended_id" --to caller --type application/octet-stream \
	--body "$(python3 -c 'print("\x01" * 700, end="")')" 2>"$WORK/ctlbody.err"
check "a body too long once written as JSON: exit 2, --body and the sizes named" \
	bash -c "[ $? = 2 ] && grep -q -- '--body: expected a request of at most 4096 bytes, got 4' \"\$1\"" _ "$WORK/ctlbody.err"
# a Call-ID that long with a short body: the body is not what is too long
"$CTL" -s "$SOCK" info "$(python3 -c 'print("c" * 4090, end="")')" --to caller \
	--type text/plain --body x 2>"$WORK/ctlcallid.err"
check "a Call-ID too long for the request: exit 2, the command named, not --body" \
	bash -c "[ $? = 2 ] && grep -q -- '^sipshardctl: info: expected a request of at most 4096 bytes' \"\$1\"" _ "$WORK/ctlcallid.err"
# the daemon refuses it too, from a client that sends it
python3 - "$SOCK" "$ended_id" >"$WORK/nobody.json" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((json.dumps({"command": "message", "call_id": sys.argv[2], "to": "callee",
                       "type": "text/plain"}) + "\n").encode())
print(s.makefile().readline().strip())
PY
check "message without a body on the socket: the daemon says why" \
	python3 -c 'import json, sys; j = json.loads(open(sys.argv[1]).read()); sys.exit(not (j["ok"] is False and "expected a \"body\"" in j["error"]))' "$WORK/nobody.json"
"$CTL" -s "$SOCK" info "$ended_id" --to caller --type "bad
type" --body x 2>"$WORK/badtype.err"
check "a Content-Type with a line break: exit 1, the key named" \
	bash -c "[ $? = 1 ] && grep -q 'content_type: expected type/subtype' \"\$1\"" _ "$WORK/badtype.err"
"$CTL" -s "$SOCK" info "$ended_id" 2>/dev/null
check "info without --to is a usage error (exit 2)" test $? = 2
"$CTL" -s "$SOCK" info "$ended_id" --to caller --wait 2000 2>"$WORK/wait.err"
check "info --wait 2000 is a usage error (exit 2) that says the range" \
	bash -c "[ $? = 2 ] && grep -q 'expected milliseconds from 0 to 1500' \"\$1\"" _ "$WORK/wait.err"
check "the daemon refuses a wait_ms out of range, naming the key" \
	bash -c "python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b\"{\\\"command\\\": \\\"info\\\", \\\"call_id\\\": \\\"x\\\", \\\"to\\\": \\\"caller\\\", \\\"wait_ms\\\": 5000}\\n\"); print(s.recv(4096).decode())' \"\$1\" | grep -q '\"wait_ms: expected 0 to 1500'" _ "$SOCK"

"$CTL" -s "$SOCK" bye "$ended_id" >"$WORK/bye.txt"
check "bye: exit 0, one call ended" \
	bash -c "[ $? = 0 ] && grep -qx 'ended 1 call(s) with Call-ID $ended_id' \"\$1\"" _ "$WORK/bye.txt"
wait_exit 10 "$uac_pid"
check "bye: the caller got the INFO and sipshard's BYE, checked and answered them" test $? = 0
wait_exit 10 "$uas_pid"
check "bye: the callee got the MESSAGE and the BYE, checked and answered them" test $? = 0
check "bye: both BYEs say the operator ended the call" \
	test "$(grep -h -c '^Reason: Q.850;cause=16;text="ended by the operator"' "$WORK/uac-ended.msg" "$WORK/uas-$B_PORT.msg" | tr '\n' ' ')" = "1 1 "
sleep 0.3
check "bye: the CDR says end_reason operator" \
	test "$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print([(x["call_id"], x["end_reason"]) for x in r])' "$CDR")" = "[('$ended_id', 'operator')]"
"$CTL" -s "$SOCK" --json dialogs >"$WORK/after.json"
check "bye: the other call is still up" \
	test "$(json_get "$WORK/after.json" 'j["dialogs_up"], len(j["dialogs"])')" = "1 1"

# a side that no longer answers: the answer comes after --wait, without a status
kept_id=$(json_get "$WORK/after.json" 'j["dialogs"][0]["caller"]["call_id"]')
kill "$kept_uas" 2>/dev/null
wait "$kept_uas" 2>/dev/null
"$CTL" -s "$SOCK" --json stats >"$WORK/q0.json"
t0=$(date +%s%N)
"$CTL" -s "$SOCK" info "$kept_id" --to callee --wait 300 >"$WORK/unanswered.txt"
rc=$?
t1=$(date +%s%N)
"$CTL" -s "$SOCK" --json stats >"$WORK/q1.json"
queries() { json_get "$1" 'sum(w["dialog_queries"] for w in j["stats"]["workers"])'; }
check "the wait scans no table: one scan per worker to send, one to list the answer" \
	test "$(($(queries "$WORK/q1.json") - $(queries "$WORK/q0.json")))" = 4
check "info to a side that does not answer: exit 0, 'none within 300 ms', after 300 ms and within 1.5 s" \
	bash -c "[ $rc = 0 ] && grep -qx 'sent INFO to the callee of 1 call(s) with Call-ID $kept_id: none within 300 ms' \"\$1\" && [ $(((t1 - t0) / 1000000)) -ge 300 ] && [ $(((t1 - t0) / 1000000)) -lt 1500 ]" _ "$WORK/unanswered.txt"
"$CTL" -s "$SOCK" --json info "$kept_id" --to callee --wait 0 >"$WORK/nowait.json"
check "info --wait 0: answered once sent, status null" \
	test "$(json_get "$WORK/nowait.json" 'j["sent"], j["status"], j["answered"]')" = "1 None 0"
# -t 1 with --wait 1500: sipshardctl gave up on the daemon after 1 s, while
# the daemon still waited as told, and said "no answer in time", exit 3 (no
# daemon reached) for an INFO that had gone out. -t is the time the daemon
# may take on top of the wait the operator asks for.
t0=$(date +%s%N)
"$CTL" -s "$SOCK" -t 1 info "$kept_id" --to callee --wait 1500 >"$WORK/t1.txt" 2>"$WORK/t1.err"
rc=$?
t1=$(date +%s%N)
check "-t 1 with --wait 1500: exit 0 and 'none within 1500 ms' after the 1.5 s wait" \
	bash -c "[ $rc = 0 ] && grep -qx 'sent INFO to the callee of 1 call(s) with Call-ID $kept_id: none within 1500 ms' \"\$1\" && [ $(((t1 - t0) / 1000000)) -ge 1500 ]" _ "$WORK/t1.txt"

# in its place a UA that knows no such dialog: the refusal is the status shown
cat >"$WORK/ua481.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(65535)
    lines = data.decode(errors="replace").split("\r\n")
    if not lines[0].endswith("SIP/2.0"):
        continue
    keep = [l for l in lines[1:] if l.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq")]
    s.sendto(("SIP/2.0 481 Call/Transaction Does Not Exist\r\n" + "\r\n".join(keep) +
              "\r\nContent-Length: 0\r\n\r\n").encode(), peer)
PY
python3 "$WORK/ua481.py" "$((B_PORT + 1))" &
ua481=$!
wait_udp_port "$((B_PORT + 1))"
"$CTL" -s "$SOCK" info "$kept_id" --to callee --type text/plain --body x >"$WORK/refused.txt"
check "info refused by the peer: exit 0, its final status 481 printed" \
	bash -c "[ $? = 0 ] && grep -qx 'sent INFO to the callee of 1 call(s) with Call-ID $kept_id: 481' \"\$1\"" _ "$WORK/refused.txt"
# that 481 says the callee's dialog is gone (RFC 3261 12.2.1.2), as for a
# relayed request so answered: the call ends (it stayed up until
# dialog_idle_s)
check "info answered 481: the call ends, its CDR says dialog_gone" \
	wait_cdr "r['call_id'] == '$kept_id'" "['dialog_gone']"
kill "$ua481" 2>/dev/null

"$CTL" -s "$SOCK" info "no-such-call@nowhere" --to caller --wait 0 2>"$WORK/nosuch-info.err"
rc=$?
check "info --wait 0 to an unknown Call-ID: exit 1 and the reason" \
	bash -c "[ $rc = 1 ] && grep -q 'no call in progress has Call-ID \"no-such-call@nowhere\"' \"\$1\"" _ "$WORK/nosuch-info.err"
"$CTL" -s "$SOCK" bye "no-such-call@nowhere" 2>"$WORK/nosuch.err"
rc=$?
check "bye of an unknown Call-ID: exit 1 and the reason" \
	bash -c "[ $rc = 1 ] && grep -q 'no call in progress has Call-ID \"no-such-call@nowhere\"' \"\$1\"" _ "$WORK/nosuch.err"
# a call that rings (the callee's 180 has a To tag: an early dialog) and is
# never answered: dialogs lists it early, and bye says the call is being set
# up (it answered 'no call in progress', as for a Call-ID of no call)
python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" >"$WORK/early.out" 2>&1 <<'PY'
import re, subprocess, sys, time
sys.path.insert(0, "tests/integration")
import rawua
d_port, b_port, ctl, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
cs = rawua.udp(b_port)
caller = rawua.Caller(d_port + 3, d_port)
caller.sock.sendto(caller.request("INVITE", 1).encode(), ("127.0.0.1", d_port))
inv, end = None, time.time() + 3
while time.time() < end and not inv:
    m = rawua.recv(cs, 0.1)
    inv = m if m and m.startswith("INVITE") else None
vias = "".join(re.findall(r"^Via\s*:.*?\r\n", inv, re.M | re.I))
cs.sendto(("SIP/2.0 180 Ringing\r\n%sFrom: %s\r\nTo: %s;tag=ring1\r\nCall-ID: %s\r\n"
           "CSeq: %s\r\nContact: <sip:callee@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n"
           % (vias, rawua.header(inv, "From"), rawua.header(inv, "To"),
              rawua.header(inv, "Call-ID"), rawua.header(inv, "CSeq"), b_port)).encode(),
          ("127.0.0.1", d_port))
time.sleep(0.3)
listed = subprocess.run([ctl, "-s", sock, "dialogs", caller.call_id], capture_output=True, text=True)
bye = subprocess.run([ctl, "-s", sock, "bye", caller.call_id], capture_output=True, text=True)
print("listed early %s; bye exit %d: %s" % (" early " in listed.stdout, bye.returncode, bye.stderr.strip()))
PY
check "bye of a call that rings: exit 1, saying it is still being set up" \
	grep -q '^listed early True; bye exit 1: .*still being set up' "$WORK/early.out"
# an answered call whose 2xx waits for its ACK: bye would send the caller a
# BYE before the ACK (RFC 3261 15) and leave the callee's 2xx never ACKed;
# it is refused until the ACK came. A call whose caller hung up, its BYE
# waiting for the callee's final: bye and info would send into a call being
# torn down, and the CDR took the operator's reason; refused too.
python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" >"$WORK/busy.out" 2>&1 <<'PY'
import subprocess, sys, time
sys.path.insert(0, "tests/integration")
import rawua
d_port, b_port, ctl, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def ctl_run(*args):
    r = subprocess.run([ctl, "-s", sock] + list(args), capture_output=True, text=True)
    return "%d %s" % (r.returncode, (r.stdout + r.stderr).strip().splitlines()[0])
cs, caller, _ = rawua.answered_not_acked(d_port, b_port, d_port + 4)
print("ackwait bye:", ctl_run("bye", caller.call_id))
caller.sock.sendto(caller.request("ACK", 1).encode(), ("127.0.0.1", d_port))
rawua.recv_request(cs, "ACK", 3.0)
# the operator's INFO to the callee, whose 481 comes once the caller's BYE
# waits for its final: the call is ending already, and that BYE's final
# ends it (a 481 made sipshard send BYEs of its own into it)
ctl_run("info", caller.call_id, "--to", "callee", "--wait", "0", "--type", "text/plain",
        "--body", "x")
held_info = rawua.recv_request(cs, "INFO", 3.0)
caller.sock.sendto(caller.request("BYE", 2).encode(), ("127.0.0.1", d_port))
bye = rawua.recv_request(cs, "BYE", 3.0)  # held: its final waits
print("ending bye:", ctl_run("bye", caller.call_id))
print("ending info:", ctl_run("info", caller.call_id, "--to", "caller", "--wait", "0",
                              "--type", "text/plain", "--body", "x"))
rawua.respond(cs, held_info, ("127.0.0.1", d_port), "481 Call/Transaction Does Not Exist")
print("ending other bye:", rawua.recv_request(caller.sock, "BYE", 0.3) is not None)
rawua.respond(cs, bye, ("127.0.0.1", d_port), 200, "answer1")
print("caller got the 200:", rawua.status(rawua.recv(caller.sock, 3.0)))
PY
cat "$WORK/busy.out" | sed 's/^/# /'
check "bye of an answered call whose 2xx waits for its ACK: exit 1, saying so" \
	grep -q '^ackwait bye: 1 .*waits for its ACK' "$WORK/busy.out"
check "bye of a call whose BYE waits for its final: exit 1, the call is ending" \
	grep -q '^ending bye: 1 .*is ending' "$WORK/busy.out"
check "info into a call whose BYE waits for its final: exit 1, the call is ending" \
	grep -q '^ending info: 1 .*is ending' "$WORK/busy.out"
check "no BYE of sipshard's to the caller who hung up; its BYE's 200 reaches it" \
	grep -qx 'caller got the 200: 200' "$WORK/busy.out"
check "ending: no BYE of sipshard's to the caller" grep -qx 'ending other bye: False' "$WORK/busy.out"
check "the CDR of that call says the caller hung up, not the operator" \
	wait_cdr "r['call_id'].startswith('raw-') and r['disposition'] == 'answered'" "['bye_caller']"
"$CTL" -s "$SOCK" bye 2>/dev/null
check "bye without a Call-ID is a usage error (exit 2)" test $? = 2
"$CTL" -s "$SOCK" --limit 0 dialogs 2>/dev/null
check "dialogs --limit 0 is a usage error (exit 2)" test $? = 2
check "the daemon refuses a limit out of range, naming the key" \
	bash -c "python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b\"{\\\"command\\\": \\\"dialogs\\\", \\\"limit\\\": 1000}\\n\"); print(s.recv(4096).decode())' \"\$1\" | grep -q '\"limit: expected a number 1 to 100\"'" _ "$SOCK"
stop_daemon
kill "$kept_uas" 2>/dev/null
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/dialogs.log"

# A 2xx never ACKed: bye waits for its ACK only until the 2xx's transaction
# would time out (RFC 3261 15: 64*T1, here 64 * 20 ms without activity in
# the dialog), not for good: a caller that never ACKs would leave a call the
# operator could not end.
sed -e "s/\"log_level\": \"info\",/\"log_level\": \"info\", \"timers\": { \"t1_ms\": 20, \"t2_ms\": 40 },/" \
	-e "s#\"cdr_file\": \"$CDR\",##" "$WORK/dialogs.json" >"$WORK/noack.json"
start_daemon noack "$WORK/noack.json" --no-bpf
python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" >"$WORK/noack.out" 2>&1 <<'PY'
import subprocess, sys, time
sys.path.insert(0, "tests/integration")
import rawua
d_port, b_port, ctl, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def bye(call_id):
    r = subprocess.run([ctl, "-s", sock, "bye", call_id], capture_output=True, text=True)
    return "%d %s" % (r.returncode, (r.stdout + r.stderr).strip().splitlines()[0])
cs, caller, inv = rawua.answered_not_acked(d_port, b_port, d_port + 4)
start = time.time()
print("at once:", bye(caller.call_id))
# the callee's INFO meanwhile: activity in the call does not move the
# 2xx's timeout (a keep-alive answered every round kept bye refused for good)
time.sleep(0.6)
cs.sendto(rawua.request_from_callee(inv, "INFO", 1, b_port).encode(), ("127.0.0.1", d_port))
time.sleep(max(0.0, start + 64 * 0.02 + 0.3 - time.time()))
print("after 64*T1:", bye(caller.call_id))
print("callee got a BYE:", rawua.recv_request(cs, "BYE", 1.0) is not None)
PY
sed 's/^/# /' "$WORK/noack.out"
check "bye of a call whose 2xx waits for its ACK: refused at once" \
	grep -q '^at once: 1 .*waits for its ACK' "$WORK/noack.out"
check "bye once 64*T1 passed without the ACK: the call ends, a BYE to the callee" \
	bash -c "grep -q '^after 64\*T1: 0 ended 1 call' \"\$1\" && grep -qx 'callee got a BYE: True' \"\$1\"" _ "$WORK/noack.out"
stop_daemon

# An operator's MESSAGE larger than a send buffer (tx_buffer_size 1500; a
# long route set and Call-ID, a 1024-byte body): it is not sent, and the
# command says 513 at once. It was counted sent and retransmitted, each copy
# dropped, and the command waited for a final that could not come.
sed -e "s/\"log_level\": \"info\",/\"log_level\": \"info\", \"tx_buffer_size\": 1500,/" \
	-e "s#\"cdr_file\": \"$CDR\",##" "$WORK/dialogs.json" >"$WORK/txbuf.json"
start_daemon txbuf "$WORK/txbuf.json" --no-bpf
python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" >"$WORK/txbuf.out" 2>&1 <<'PY'
import json, subprocess, sys
sys.path.insert(0, "tests/integration")
import rawua
d_port, b_port, ctl, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
callee, caller = rawua.Callee(b_port), rawua.Caller(d_port + 4, d_port)
caller.call_id = "c" * 100 + "@127.0.0.1"
plain = caller.request
rr = "Record-Route: <sip:%s@127.0.0.1:%d;lr>\r\n" % ("p" * 260, b_port + 9)
caller.request = lambda *a, **k: plain(*a, **k).replace("Max-Forwards", rr + "Max-Forwards", 1)
assert caller.call(callee) == 200
r = subprocess.run([ctl, "-s", sock, "message", caller.call_id, "--to", "caller", "--type",
                    "text/plain", "--body", "x" * 1024, "--wait", "1500"], capture_output=True, text=True)
got = rawua.recv(caller.sock, 0.5)
st = json.loads(subprocess.run([ctl, "-s", sock, "--json", "stats"], capture_output=True,
                               text=True).stdout)["stats"]
sent = sum(w["originated"]["sent"] for w in st["workers"])
print("answer %s; caller got a MESSAGE %s; originated sent %d" %
      (r.stdout.strip().rsplit(": ", 1)[-1], bool(got and got.startswith("MESSAGE")), sent))
PY
check "a MESSAGE larger than tx_buffer_size: not sent, the command answered 513" \
	grep -q '^answer 513; caller got a MESSAGE False; originated sent 0' "$WORK/txbuf.out"
check "the log says it does not fit" grep -q 'does not fit' "$WORK/txbuf.log"
stop_daemon
check "no sanitizer report (tx_buffer_size)" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/txbuf.log"
