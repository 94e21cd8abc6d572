#!/usr/bin/env bash
# Dialogs survive the process (README.md's invariant 7): a sipshardd killed with
# SIGKILL, or stopped with SIGINT, and started again on the same run_dir keeps
# relaying the calls that were up, both ways, and their CDRs account for the
# time each process carried them, with the members an ordinary CDR has
# (Request-URI, route, attempts). New calls after the restart take fresh
# slots. Calls still ringing are taken up too, from the set-up records. An
# operator's INFO still waiting for its final at a kill shows "lost" after
# it, not waiting for ever. A
# start that cannot take the files over says why and stops; one with
# --discard-dialogs starts empty; persist_dialogs false leaves no file.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: re-attaching reads a file as it was left
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=15660
B_PORT=15680
CDR=$WORK/cdr.jsonl
RUN=$WORK/run
CALLS=3
KEEP_DIALOGS=1 # start_daemon: carry calls over, do not discard them

write_config "$WORK/r.json" ", \"cdr_file\": \"$CDR\", \"management_socket\": null"
# the same with a metrics port another process holds (HELD_PORT, TCP): a
# start that fails after it took the calls over
HELD_PORT=15690
write_config "$WORK/r-fails.json" ", \"cdr_file\": \"$CDR\", \"management_socket\": null,
  \"metrics_listen\": \"127.0.0.1:$HELD_PORT\""

# jstat FILE EXPR: EXPR over the stats document as j
jstat() { json_get "$1" "$2"; }

# wait_stat FILE EXPR WANT: waits until EXPR over the stats document prints WANT
wait_stat() {
	for _ in $(seq 1 60); do
		[ -f "$1" ] && [ "$(jstat "$1" "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# cdr_count EXPR: records for which EXPR (over r) holds
cdr_count() {
	python3 - "$CDR" "$1" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()] if __import__('os').path.exists(sys.argv[1]) else []
print(sum(1 for r in rs if eval(sys.argv[2])))
PY
}

# relays_as_received STATS FIRST INFOS BYES: the process whose stats file is
# STATS relayed every INFO and BYE that the callee (its SIPp trace) got with a
# CSeq number from FIRST up, INFOS INFO and BYES BYE transactions of them, and
# counted no relay the callee did not get, with nothing left up. A count of
# exactly one relay a request fails on a starved host with no request lost:
# relayed_requests counts retransmissions too, and while the new process
# starts (seconds there) the caller's retransmissions wait on its socket and
# each is relayed; the callee answers each, SIPp takes the second 200 for a
# retransmission and sends its next request again, so every later figure
# doubled (12 INFOs and 6 BYEs for 3 calls, all of them completed). A copy of
# an INFO below FIRST (the caller's INFO again, its 200 lost with the killed
# process) may be among the INFOs too. Prints the figures when they disagree.
relays_as_received() {
	python3 - "$1" "$WORK/uas-$B_PORT.msg" "$2" "$3" "$4" <<'PY'
import json, re, sys
stats, trace = sys.argv[1], sys.argv[2]
first, infos, byes = (int(a) for a in sys.argv[3:6])
j = json.load(open(stats))
rel = j["totals"]["relayed_requests"]
got = []  # (method, Call-ID, CSeq number) of each request the callee got
for block in re.split(r"(?m)^-{20,} .*\n", open(trace, errors="replace").read()):
    head, _, msg = block.partition("\n\n")
    cseq = re.search(r"(?mi)^CSeq: *(\d+) +(\w+)", msg)
    cid = re.search(r"(?mi)^Call-ID: *(\S+)", msg)
    if "message received" in head and cseq and cid and not msg.startswith("SIP/2.0"):
        got.append((cseq.group(2), cid.group(1), int(cseq.group(1))))
def copies(m, up):
    return [g for g in got if g[0] == m and (g[2] >= first) == up]
info_up, bye_up, info_below = copies("INFO", True), copies("BYE", True), copies("INFO", False)
spare = len(info_below) - len(set(info_below))
want = (len(set(info_up)) == infos and len(set(bye_up)) == byes
        and len(info_up) <= rel.get("INFO", 0) <= len(info_up) + spare
        and rel.get("BYE", 0) == len(bye_up) and j["controller"]["calls_active"] == 0)
print("ok" if want else "relayed %s, active %d; the callee got INFO %d copies of %d (and %d more copies of those below CSeq %d), BYE %d of %d"
      % (rel, j["controller"]["calls_active"], len(info_up), len(set(info_up)), spare, first, len(bye_up), len(set(bye_up))))
PY
}

# wait_relays STATS FIRST INFOS BYES: relays_as_received, once the stats file
# caught up (written each second), 6 s at most; the figures when it did not.
wait_relays() {
	local out
	for _ in $(seq 1 60); do
		out=$(relays_as_received "$@" 2>&1)
		[ "$out" = ok ] && return 0
		sleep 0.1
	done
	echo "# $out"
	return 1
}

# across_restart HOW NAME [FAILS]: CALLS calls set up, one INFO each, then
# (during the caller's 4 s pause) the daemon stopped by HOW and started
# again; the callers' two more INFOs and their BYEs must reach the callee
# through the new process. With FAILS, a start that fails after taking the
# calls over (its metrics port held) comes first, twice.
across_restart() {
	local how=$1 name=$2 fails=${3:-}
	start_daemon "$name-1" "$WORK/r.json"
	sipp_uas "$B_PORT" uas_info_bye.xml -m "$CALLS"
	local uas=${PIDS[-1]}
	sipp_uac "$name" "$D_PORT" uac_pause_info_bye.xml -m "$CALLS" -l "$CALLS" -r 100 -d 4000 \
		-i 127.0.0.1 -p "$((D_PORT + 1))" &
	local uac=$!
	check "$name: $CALLS calls up and one INFO relayed in each" \
		wait_stat "$WORK/$name-1.stats.json" 'j["totals"]["relayed_requests"].get("INFO",0)' "$CALLS"
	sleep 0.3 # the 200 OKs to the INFOs on their way back
	kill "$how" "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	check "$name: the shard files stay in run_dir" test -s "$RUN/shard-0.tbl" -a -s "$RUN/shard-1.tbl"
	if [ -n "$fails" ]; then
		local lines_before rc i holder
		lines_before=$(cdr_count True)
		python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' "$HELD_PORT" &
		holder=$!
		sleep 0.2
		for i in 1 2; do
			timeout 20 "$SIPSHARDD" -c "$WORK/r-fails.json" 2>"$WORK/$name-fails-$i.log"
			rc=$?
		done
		kill "$holder" 2>/dev/null
		wait "$holder" 2>/dev/null
		check "$name: a start whose metrics port is held stops (exit $rc), after taking the calls over" \
			bash -c '[ "$1" = 1 ] && grep -q "carried over" "$2"' _ "$rc" "$WORK/$name-fails-2.log"
		# each such start wrote every call a record (daemon_stopped), at
		# every attempt, though it never served
		check "$name: and writes no CDR for them" test "$(cdr_count True)" = "$lines_before"
	fi
	start_daemon "$name-2" "$WORK/r.json"
	local s=$WORK/$name-2.stats.json
	# active, or ended since (the callers' BYEs may come before a stats
	# write on a busy machine): every call carried is counted either way
	check "$name: the new process took the $CALLS calls over" \
		wait_stat "$s" 'sum(w["dialogs_reattached"] for w in j["workers"]), j["controller"]["calls_active"] + j["controller"]["dialogs_ended"]' "$CALLS $CALLS"
	check "$name: it logged how many" grep -q "carried over" "$WORK/$name-2.log"
	if wait "$uac"; then
		ok "$name: every call's INFOs and BYE after the restart completed"
	else
		not_ok "$name: every call's INFOs and BYE after the restart completed"
		tail -5 "$WORK/uac-$name.out" | sed 's/^/#   /'
	fi
	wait_exit 10 "$uas"
	check "$name: the callee saw all $CALLS calls through" \
		grep -q "Successful call *| *[0-9]* *| *$CALLS" "$WORK/uas-$B_PORT.out"
	check "$name: the new process relayed two INFOs and a BYE per call, each copy the callee got" \
		wait_relays "$s" 3 "$((2 * CALLS))" "$CALLS"
}

across_restart -KILL killed fails
check "killed: $CALLS CDRs of the carried calls, ended by the caller's BYE" \
	test "$(cdr_count 'r.get("carried_over") and r["end_reason"] == "bye_caller" and r["disposition"] == "answered"')" = "$CALLS"
check "killed: they name both Call-IDs, the caller's From and where the call began" \
	test "$(cdr_count 'r.get("carried_over") and r["call_id"] != r["leg_b_call_id"] and r["from"].startswith("sip:caller@") and r["call_start"] < r["start"] <= r["end"]')" = "$CALLS"
check "killed: and the caller's Request-URI, the route and the attempts, as an ordinary CDR" \
	test "$(cdr_count "r.get('carried_over') and r.get('request_uri') == 'sip:callee@127.0.0.1:$D_PORT' and r.get('route') == 'callee' and r.get('attempts') == 1")" = "$CALLS"

# new calls after the restart: fresh slots, generations above the old ones
run_flow restart "new calls after the restart" uac_info_bye.xml uas_info_bye.xml 4
stop_daemon
check "killed: 4 ordinary CDRs for the new calls" \
	test "$(cdr_count 'not r.get("carried_over") and r["end_reason"] == "bye_caller"')" = 4

: >"$CDR"
across_restart -INT stopped
check "stopped: the first process wrote each call's part up to its stop" \
	test "$(cdr_count 'r["end_reason"] == "daemon_stopped" and not r.get("carried_over")')" = "$CALLS"
check "stopped: the second wrote the rest" \
	test "$(cdr_count 'r.get("carried_over") and r["end_reason"] == "bye_caller"')" = "$CALLS"
# what billing joins on: each carried record names what the first one did
check "stopped: each carried CDR has the members of the call's first, the same" \
	test "$(cdr_count 'r.get("carried_over") and (lambda r: sum(1 for o in rs if not o.get("carried_over") and all(k in r and o[k] == r[k] for k in ("call_id", "leg_b_call_id", "from", "to", "request_uri", "source", "route", "target", "attempts")))) (r) == 1')" = "$CALLS"
stop_daemon

# ---- the operator's request waiting at a restart -----------------------------
# An INFO the callee never answers: its transaction lived in the killed
# process's memory, so the next one shows it "lost" (SHARD_SENT_LOST) rather
# than waiting for ever, and the call goes on.
LOST_SOCK=$WORK/ctl.sock
write_config "$WORK/lost.json" ", \"management_socket\": \"$LOST_SOCK\""
# ctl ARGS...: sipshardctl on the lost runs' socket, once it answers (a
# killed process leaves its socket file behind)
ctl() {
	for _ in $(seq 1 30); do
		"$BUILD/sipshardctl" -s "$LOST_SOCK" "$@" && return 0
		sleep 0.1
	done
	return 1
}
start_daemon lost-1 "$WORK/lost.json"
# a caller and a callee that answers all but INFO; the caller's BYE goes
# once told to (the file $4 is there), and the exit status says it got 200
python3 - "$D_PORT" "$B_PORT" "$WORK/lost.id" "$WORK/lost.go" >"$WORK/lost-ua.out" 2>&1 <<'PY' &
import os, sys, time
sys.path.insert(0, "tests/integration")
import rawua
dport, bport, idfile, gofile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

class Callee:
    def __init__(self):
        self.sock, self.infos = rawua.udp(bport), 0

    def pump(self, seconds):
        for msg, peer in rawua.recv_all(self.sock, seconds):
            if msg.startswith("SIP/2.0") or msg.startswith("ACK "):
                continue
            if msg.startswith("INFO "):
                self.infos += 1  # never answered
                continue
            rawua.respond(self.sock, msg, peer, "200 OK", "callee1",
                          "Contact: <sip:callee@127.0.0.1:%d>\r\n" % bport)

callee = Callee()
c = rawua.Caller(dport + 3, dport)
if c.call(callee) != 200:
    sys.exit("the call was not answered")
open(idfile, "w").write(c.call_id)
end = time.time() + 30
while not os.path.exists(gofile) and time.time() < end:
    callee.pump(0.1)
c.sock.sendto(c.request("BYE", c.next_cseq()).encode(), ("127.0.0.1", dport))
end = time.time() + 3
while time.time() < end:
    callee.pump(0.05)
    msg = rawua.recv(c.sock, 0.05)
    if msg and "BYE" in (rawua.header(msg, "CSeq") or "") and rawua.status(msg) >= 200:
        print("BYE", rawua.status(msg), "INFOs", callee.infos)
        sys.exit(0 if rawua.status(msg) == 200 and callee.infos else 1)
sys.exit("no final to the BYE")
PY
LOST_UA=$!
PIDS+=("$LOST_UA")
for _ in $(seq 1 50); do
	[ -s "$WORK/lost.id" ] && break
	sleep 0.1
done
LOST_ID=$(cat "$WORK/lost.id" 2>/dev/null)
ctl info "$LOST_ID" --to callee --type text/plain --body "hello" --wait 0 >"$WORK/lost-info.txt"
sleep 0.3
ctl --json dialogs "$LOST_ID" >"$WORK/lost-1.json"
check "lost: the operator's INFO to a callee that never answers it waits (status null)" \
	test "$(json_get "$WORK/lost-1.json" 'j["dialogs"][0]["last_sent"]')" = "{'method': 'INFO', 'to': 'callee', 'status': None}"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
start_daemon lost-2 "$WORK/lost.json"
ctl --json dialogs "$LOST_ID" >"$WORK/lost-2.json"
check "lost: after the restart it is lost, not waiting for ever" \
	test "$(json_get "$WORK/lost-2.json" 'j["dialogs"][0]["last_sent"]')" = "{'method': 'INFO', 'to': 'callee', 'status': 'lost'}"
ctl dialogs "$LOST_ID" >"$WORK/lost-2.txt"
check "lost: and the call's line says so" grep -q "sent INFO to callee: lost" "$WORK/lost-2.txt"
touch "$WORK/lost.go"
if wait "$LOST_UA"; then
	ok "lost: the call went on: the caller's BYE through the new process answered 200"
else
	not_ok "lost: the call went on: the caller's BYE through the new process answered 200"
	sed 's/^/#   /' "$WORK/lost-ua.out"
fi
stop_daemon

# ---- calls still setting up --------------------------------------------------
# The controller's set-up records live in RUN_DIR/setups.tbl: a call still
# ringing when the daemon dies is taken up by the next process, which relays
# the callee's answer (or the caller's CANCEL) as the first one would have.

# ringing_killed NAME UAS_SCENARIO UAC_SCENARIO [UAC ARGS...]: one call that is
# ringing (early dialog installed) when the daemon gets SIGKILL; the caller's
# or the callee's -d pause runs out after the next process started.
ringing_killed() {
	local name=$1 uas_sf=$2 uac_sf=$3
	shift 3
	start_daemon "$name-1" "$WORK/r.json"
	sipp_uas "$B_PORT" "$uas_sf" -m 1 -d 5000
	RING_UAS=${PIDS[-1]}
	sipp_uac "$name" "$D_PORT" "$uac_sf" -m 1 -i 127.0.0.1 -p "$((D_PORT + 1))" "$@" &
	RING_UAC=$!
	check "$name: the call rings (early dialog installed)" \
		wait_stat "$WORK/$name-1.stats.json" 'sum(w["dialogs_installed"] for w in j["workers"])' 1
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	start_daemon "$name-2" "$WORK/r.json"
	check "$name: the new process took the ringing call up, and kept its early dialog" \
		wait_stat "$WORK/$name-2.stats.json" 'j["controller"]["setups_restored"], sum(w["setups_dropped_at_reattach"] for w in j["workers"]), j["controller"]["calls_active"]' "1 0 1"
	check "$name: it logged it" grep -q "took up 1 calls that were setting up" "$WORK/$name-2.log"
}

# the callee answers after the restart: the call completes through the new process
: >"$CDR"
ringing_killed ringing uas_ring_info_bye.xml uac_info_bye.xml
if wait "$RING_UAC"; then
	ok "ringing: the caller got the answer, and its INFOs and BYE completed"
else
	not_ok "ringing: the caller got the answer, and its INFOs and BYE completed"
	tail -5 "$WORK/uac-ringing.out" | sed 's/^/#   /'
fi
wait_exit 10 "$RING_UAS"
check "ringing: the callee saw the call through" \
	grep -q "Successful call *| *[0-9]* *| *1" "$WORK/uas-$B_PORT.out"
check "ringing: the new process answered it" \
	wait_stat "$WORK/ringing-2.stats.json" 'j["controller"]["calls_answered"]' 1
check "ringing: it relayed 3 INFOs and the BYE, each copy the callee got, and ended the call" \
	wait_relays "$WORK/ringing-2.stats.json" 0 3 1
stop_daemon
check "ringing: one CDR, answered, ended by the caller's BYE" \
	test "$(cdr_count 'r["disposition"] == "answered" and r["end_reason"] == "bye_caller" and not r.get("carried_over")')" = 1

# the caller cancels after the restart: CANCEL and 487 go through the new process
ringing_killed cancel uas_cancel.xml uac_ring_cancel.xml -d 5000
if wait "$RING_UAC"; then
	ok "cancel: the caller's CANCEL got 200 and its INVITE 487"
else
	not_ok "cancel: the caller's CANCEL got 200 and its INVITE 487"
	tail -5 "$WORK/uac-cancel.out" | sed 's/^/#   /'
fi
wait_exit 10 "$RING_UAS"
check "cancel: the callee got the CANCEL and the ACK of its 487" \
	grep -q "Successful call *| *[0-9]* *| *1" "$WORK/uas-$B_PORT.out"
check "cancel: the new process counted it cancelled, with nothing left up" \
	wait_stat "$WORK/cancel-2.stats.json" 'j["controller"]["calls_cancelled"], j["controller"]["calls_active"]' "1 0"
stop_daemon

# a start with another capacity.setups cannot read the records: it says so,
# drops the ringing call and frees its early dialog
write_config "$WORK/setups.json" ", \"cdr_file\": \"$CDR\", \"management_socket\": null, \"capacity\": { \"setups\": 2048 }"
start_daemon other-1 "$WORK/r.json"
sipp_uas "$B_PORT" uas_ring_pause.xml -m 1 -d 20000
RING_UAS=${PIDS[-1]}
sipp_uac other "$D_PORT" uac_info_bye.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 1))" &
RING_UAC=$!
check "other capacity.setups: the call rings" \
	wait_stat "$WORK/other-1.stats.json" 'sum(w["dialogs_installed"] for w in j["workers"])' 1
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
start_daemon other-2 "$WORK/setups.json"
check "other capacity.setups: the ringing call is dropped, its early dialog freed" \
	wait_stat "$WORK/other-2.stats.json" 'j["controller"]["setups_restored"], sum(w["setups_dropped_at_reattach"] for w in j["workers"]), j["controller"]["calls_active"]' "0 1 0"
check "other capacity.setups: and the log says why" \
	grep -q "setups.tbl was written for another capacity.setups or by another build of sipshardd: the calls it held in set-up are dropped" "$WORK/other-2.log"
# the caller is a subshell running timeout and sipp: stop them all
pkill -f "uac-other.msg" 2>/dev/null
kill "$RING_UAS" 2>/dev/null
wait "$RING_UAC" "$RING_UAS" 2>/dev/null
stop_daemon

# ---- a start while datagrams pour in ------------------------------------------
# After a crash the callers keep retransmitting: datagrams reach the port from
# the moment the sockets are bound, before the steering program is attached,
# and the kernel spreads those by its own hash. With steering there is no
# handoff, so one on the worker that does not own its Call-ID was relayed or
# answered there (481 for a carried call). The daemon then dropped what came
# before the attach; now a worker passes a datagram whose Call-ID another owns
# to that worker (handle_sip, with steering too), so nothing is dropped and
# each is handled by its owner. How many come before the attach depends on
# when the sender runs in the few ms between bind and attach (on a busy host,
# none at times), so every tenth datagram's Call-ID is folded onto a
# continuation line: the program cannot read it and the kernel's hash places
# it, before the attach or after, so some always reach a worker that does not
# own them.
python3 - "$D_PORT" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = ("127.0.0.1", int(sys.argv[1]))
end = time.time() + 3
n = 0
while time.time() < end:
    # back to back: the moment between bind and attach can be well under a
    # millisecond, and bursts of 5 a millisecond missed it at times
    for _ in range(100):
        n += 1
        fold = "\r\n " if n % 10 == 0 else " "
        s.sendto(("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKb%d\r\n"
                  "Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=%d\r\nTo: <sip:b@y>\r\n"
                  "Call-ID:%sblast-%d@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                  % (n, n, fold, n)).encode(), dst)
PY
BLASTER=$!
sleep 0.5
start_daemon blasted "$WORK/r.json"
wait "$BLASTER"
# The sleep is for a stats write after the last datagram: no counter tells
# one from a write during the burst, where the sums can agree too. A busy
# machine can write later, or still be handing datagrams over at that write:
# the checks then wait for the sums (wait_json, 5 s at most).
sleep 1.2
# A burst larger than the owner's ring (1024 slots) is cut there: the rest is
# a counted drop (handoff_drop), as for any full ring.
check "start under traffic: steering attached, and every datagram on another worker than its owner handed to the owner or, its ring full, counted" \
	wait_json "$WORK/blasted.stats.json" 'j["steering"]["attached"] and sum(w["rx"] for w in j["workers"]) > 100 and sum(w["rx_foreign"] for w in j["workers"]) == sum(w["handoff_in"] + w["handoff_drop"] for w in j["workers"])' True
check "start under traffic: what the program did not place (before the attach, or a folded Call-ID: steering.no_callid > 0) reached other workers than its owner and was handed over (rx_foreign > 0), not dropped" \
	wait_json "$WORK/blasted.stats.json" 'j["steering"]["no_callid"] > 0 and sum(w["rx_foreign"] for w in j["workers"]) > 0' True
stop_daemon

# ---- starts that cannot take the files over ---------------------------------
refused() { # NAME PATTERN ARGS...: the start fails with status 1 and PATTERN in its log
	local name=$1 pat=$2
	shift 2
	timeout 10 "$SIPSHARDD" "$@" 2>"$WORK/$name.log" >/dev/null
	local rc=$?
	if [ $rc = 1 ] && grep -q "$pat" "$WORK/$name.log"; then
		ok "refused: $name"
	else
		not_ok "refused: $name (status $rc)"
		sed 's/^/#   /' "$WORK/$name.log" | tail -3
	fi
}
write_config "$WORK/small.json" ", \"management_socket\": null, \"capacity\": { \"dialogs_per_shard\": 1024 }"
refused "other capacities" "shard-0.tbl was written with other capacities.*--discard-dialogs" \
	-c "$WORK/small.json"
refused "fewer workers than the files" "shard-1.tbl holds the calls of shard 1, but this run has 1 workers" \
	-c "$WORK/r.json" --workers 1
refused "more workers than the files" "holds the tables of 2 workers, but this run has 3" \
	-c "$WORK/r.json" --workers 3

start_daemon holder "$WORK/r.json"
HOLDER=$DAEMON_PID
sed "s/127.0.0.1:$D_PORT/127.0.0.1:$((D_PORT + 5))/" "$WORK/r.json" >"$WORK/second.json"
refused "a run_dir in use" "shard-0.tbl is in use by another sipshardd" -c "$WORK/second.json"
refused "--discard-dialogs on a run_dir in use" "in use by another sipshardd" \
	-c "$WORK/second.json" --discard-dialogs
DAEMON_PID=$HOLDER stop_daemon

mkdir -p "$WORK/theirs"
chown nobody "$WORK/theirs"
write_config "$WORK/theirs.json" ', "management_socket": null'
sed -i "s|\"run_dir\": \"$RUN\"|\"run_dir\": \"$WORK/theirs\"|" "$WORK/theirs.json"
refused "a run_dir another user owns" "run_dir $WORK/theirs: owned by uid" -c "$WORK/theirs.json"
mkdir -p "$WORK/open"
chmod 777 "$WORK/open"
sed "s|$WORK/theirs|$WORK/open|" "$WORK/theirs.json" >"$WORK/open.json"
refused "a run_dir others may write to" "run_dir $WORK/open: writable by others (mode 777)" \
	-c "$WORK/open.json"
# the same without persist_dialogs: run_dir still holds the management socket
# (by default) and the shard files a start removes, so another user's, or one
# anyone may write to, stops the start as well (they could replace the socket
# sipshardctl talks to, or plant files for the start to remove)
write_config "$WORK/theirs-anon.json" ', "persist_dialogs": false'
sed -i "s|\"run_dir\": \"$RUN\"|\"run_dir\": \"$WORK/theirs\"|" "$WORK/theirs-anon.json"
refused "persist_dialogs false: a run_dir another user owns" "run_dir $WORK/theirs: owned by uid" \
	-c "$WORK/theirs-anon.json"
sed "s|$WORK/theirs|$WORK/open|" "$WORK/theirs-anon.json" >"$WORK/open-anon.json"
refused "persist_dialogs false: a run_dir others may write to" \
	"run_dir $WORK/open: writable by others (mode 777)" -c "$WORK/open-anon.json"
sed 's|"management_socket": null|"management_socket": null, "persist_dialogs": false|' "$WORK/open.json" \
	>"$WORK/open-nosock.json"
refused "persist_dialogs false, no management socket: a run_dir others may write to" \
	"run_dir $WORK/open: writable by others (mode 777)" -c "$WORK/open-nosock.json"
check "persist_dialogs false: no management socket made in a run_dir refused" \
	test ! -e "$WORK/open/sipshardd.sock" -a ! -e "$WORK/theirs/sipshardd.sock"

# --discard-dialogs: starts empty with other capacities, on files it removes
start_daemon discard "$WORK/small.json" --discard-dialogs
check "--discard-dialogs: started with other capacities and no calls" \
	wait_stat "$WORK/discard.stats.json" 'sum(w["dialogs_reattached"] for w in j["workers"]), j["controller"]["calls_active"]' "0 0"
check "--discard-dialogs: logged each file it removed" \
	test "$(grep -c 'removed .*shard-[01].tbl (--discard-dialogs)' "$WORK/discard.log")" = 2
check "--discard-dialogs: the set-up records too" \
	grep -q "removed .*setups.tbl (--discard-dialogs)" "$WORK/discard.log"
stop_daemon

# persist_dialogs false on a run_dir that a run with it on left files in:
# they are removed, each named in the log (they held tmpfs memory, and a
# later start with it on would have taken up calls long over)
write_config "$WORK/leftover.json" ', "management_socket": null, "persist_dialogs": false'
check "persist_dialogs false: the files of the run before are there to remove" \
	test -s "$RUN/shard-0.tbl" -a -s "$RUN/setups.tbl"
start_daemon leftover "$WORK/leftover.json"
stop_daemon
check "persist_dialogs false: removed the files a run with it on left, naming each" \
	test "$(grep -c 'persist_dialogs is false: removed .*\(shard-[01].tbl\|setups.tbl\)' "$WORK/leftover.log")" = 3
check "persist_dialogs false: no shard file or set-up records file left" \
	test ! -e "$RUN/shard-0.tbl" -a ! -e "$RUN/shard-1.tbl" -a ! -e "$RUN/setups.tbl"

# persist_dialogs false: anonymous tables, nothing in run_dir
write_config "$WORK/anon.json" ', "management_socket": null, "persist_dialogs": false'
sed -i "s|\"run_dir\": \"$RUN\"|\"run_dir\": \"$WORK/anon-run\"|" "$WORK/anon.json"
start_daemon anon "$WORK/anon.json"
run_flow anon "calls with persist_dialogs false" uac_info_bye.xml uas_info_bye.xml 2
stop_daemon
check "persist_dialogs false: no shard file, no set-up records file" \
	test ! -e "$WORK/anon-run/shard-0.tbl" -a ! -e "$WORK/anon-run/setups.tbl"

# the port still held for a moment, as a killed process's io_uring keeps its
# sockets a few ms after the process is gone: the start waits for it
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(1.5)' "$D_PORT" &
HOLDER=$!
wait_udp_port "$D_PORT"
start_daemon late "$WORK/anon.json"
wait "$HOLDER"
check "a start finding the port held waits for it, saying so" \
	grep -q "127.0.0.1:$D_PORT is in use: waiting up to 2000 ms" "$WORK/late.log"
run_flow late "calls once the port came free" uac_info_bye.xml uas_info_bye.xml 2
stop_daemon

for f in killed-1 killed-2 stopped-1 stopped-2 lost-1 lost-2 ringing-2 cancel-2 other-2 holder discard leftover anon late; do
	check "no sanitizer report ($f)" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/$f.log"
done
