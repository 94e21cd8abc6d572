#!/usr/bin/env bash
# The in-dialog keep-alive (timers.dialog_keepalive_s) in a running sipshardd,
# with SIPp on both sides and a round every second: a call whose two sides
# answer the OPTIONS lives past timers.dialog_idle_s (4 s) until its caller
# hangs up; a callee that answers 481 has its call ended at once, and one that
# answers nothing after timers.dialog_keepalive_misses (2) rounds, each with a
# BYE to both sides whose Reason says why and a CDR with end_reason
# keepalive_failed; sipshardctl dialogs shows the rounds a leg left
# unanswered. The 481 case again without BPF steering and io_uring, where the
# answer may reach another worker than the call's; the silent case across a
# SIGKILL and a new process. A caller's BYE toward a callee that is gone,
# waiting for its final: no round meanwhile, and the call ends at the BYE's
# transaction_timeout_ms as bye_caller.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the keep-alive lives in the worker
ASAN_DAEMON=1
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=16210
B_PORT=16215
SOCK=$WORK/sipshardd.sock
CDR=$WORK/cdr.jsonl

# options_in LOG: the OPTIONS requests a SIPp peer received (its message log)
options_in() {
	grep -c '^OPTIONS sip:' "$1"
}

# ms_since T0: milliseconds since a date +%s%N
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

write_config "$WORK/ka.json" ", \"management_socket\": \"$SOCK\", \"cdr_file\": \"$CDR\",
  \"timers\": { \"dialog_keepalive_s\": 1, \"dialog_keepalive_misses\": 2, \"dialog_idle_s\": 4 }"
start_daemon ka "$WORK/ka.json"

# wait_unanswered PREFIX CALLER CALLEE: until sipshardctl dialogs shows a
# call whose sides left CALLER and CALLEE keep-alive rounds unanswered, 10 s
# at most: a round's time is the daemon's, which a fixed sleep from the caller's
# start misses on a busy machine. The text form is asked (python's start, as
# json_get's, takes longer than a round on a busy machine) and kept in
# PREFIX.dialogs.txt; the JSON form, asked right after it, in
# PREFIX.dialogs.json. Fails when the call was not seen so in time.
wait_unanswered() {
	local until=$((SECONDS + 10)) seen=1
	while [ "$SECONDS" -lt "$until" ]; do
		"$CTL" -s "$SOCK" dialogs >"$1.dialogs.txt" 2>&1
		if grep -q "keep-alive unanswered: caller $2, callee $3\$" "$1.dialogs.txt"; then
			seen=0
			break
		fi
		sleep 0.02
	done
	"$CTL" -s "$SOCK" --json dialogs >"$1.dialogs.json" 2>&1
	return $seen
}

# keepalive_call NAME UAS_SCENARIO UAC_SCENARIO CALLER_PORT WHAT [DURING]: one call
# between SIPp peers, the caller's scenario checked as WHAT; DURING (a
# function, which waits for what it needs) runs as the caller starts, with t0
# its start (date +%s%N). Sets ELAPSED_MS, from the caller's start to its end.
keepalive_call() {
	local name=$1 uas=$2 uac=$3 port=$4 what=$5 during=${6:-} t0 uas_pid uac_pid
	rm -f "$WORK/uas-$B_PORT.msg"
	sipp_uas "$B_PORT" "$uas" -m 1
	uas_pid=${PIDS[-1]}
	sleep 0.3
	t0=$(date +%s%N)
	sipp_uac "$name" "$D_PORT" "$uac" -m 1 -i 127.0.0.1 -p "$port" &
	uac_pid=$!
	if [ -n "$during" ]; then
		"$during"
	fi
	if wait "$uac_pid"; then
		ok "$name: $what"
	else
		not_ok "$name: $what"
		tail -5 "$WORK/uac-$name.out" | sed 's/^/#   /'
	fi
	ELAPSED_MS=$(ms_since "$t0")
	wait_exit 10 "$uas_pid"
	check "$name: the callee's scenario ends well (it gets a BYE and answers it)" test $? = 0
}

# ---- both sides answer: the call outlives dialog_idle_s ----------------------
keepalive_call answered uas_keepalive.xml uac_keepalive_bye.xml "$((D_PORT + 1))" \
	"the caller answers six OPTIONS and hangs up itself"
# rounds come a second after the call's last activity: six take 6 s, past
# dialog_idle_s, which would have ended the call had the answers not counted
check "answered: the call lived 6 rounds, past dialog_idle_s (took ${ELAPSED_MS} ms)" \
	test "$ELAPSED_MS" -ge 5800 -a "$ELAPSED_MS" -lt 9000
check "answered: the callee was sent an OPTIONS each round (6)" \
	test "$(options_in "$WORK/uas-$B_PORT.msg")" = 6
check "answered: the OPTIONS are in the callee's dialog, with our branch" \
	grep -q '^Via: SIP/2.0/UDP 127.0.0.1:16210;branch=z9hG4bKsk' "$WORK/uas-$B_PORT.msg"
check "answered: the BYE the callee got is the caller's (no Reason of ours)" \
	bash -c 'grep -q "^BYE sip:" "$1" && ! grep -q "^Reason:" "$1"' _ "$WORK/uas-$B_PORT.msg"
check "answered: end_reason bye_caller" test "$(cdr_end 0)" = bye_caller

# ---- the callee answers 481: the call ends at once ---------------------------
keepalive_call 481 uas_keepalive_481.xml uac_keepalive_await_bye.xml "$((D_PORT + 2))" \
	"the caller gets sipshard's BYE with its Reason and answers it"
# the first round, 1 s after the answer; then the caller's scenario waits 500 ms
check "481: ended at the first round (took ${ELAPSED_MS} ms)" \
	test "$ELAPSED_MS" -ge 900 -a "$ELAPSED_MS" -lt 3000
check "481: the callee was sent one OPTIONS" test "$(options_in "$WORK/uas-$B_PORT.msg")" = 1
check "481: both BYEs say why" \
	test "$(grep -h -c '^Reason: Q.850;cause=41;text="keep-alive answered 481"' "$WORK/uac-481.msg" "$WORK/uas-$B_PORT.msg" | tr '\n' ' ')" = "1 1 "
check "481: end_reason keepalive_failed" test "$(cdr_end 1)" = keepalive_failed

# ---- the callee answers nothing: ended after 2 rounds missed -----------------
# rounds at 1 s and 2 s: after the second, until the third a second later, the
# callee has missed one and owes the next, and the caller answered both
silent_dialogs() {
	wait_unanswered "$WORK/silent" 0 2
	check "silent: sipshardctl dialogs shows 2 OPTIONS unanswered by the callee, 0 by the caller" \
		test "$(json_get "$WORK/silent.dialogs.json" '[(d["caller"]["keepalive_unanswered"], d["callee"]["keepalive_unanswered"]) for d in j["dialogs"]]')" = "[(0, 2)]"
	check "silent: and its text line says so" \
		grep -q 'keep-alive unanswered: caller 0, callee 2$' "$WORK/silent.dialogs.txt"
}
keepalive_call silent uas_keepalive_silent.xml uac_keepalive_await_bye.xml "$((D_PORT + 3))" \
	"the caller answers two OPTIONS, then gets sipshard's BYE with its Reason" silent_dialogs
# the third round finds the second missed; then the caller waits 500 ms
check "silent: ended at the third round (took ${ELAPSED_MS} ms)" \
	test "$ELAPSED_MS" -ge 2900 -a "$ELAPSED_MS" -lt 5000
check "silent: each side was sent two OPTIONS" \
	test "$(options_in "$WORK/uac-silent.msg") $(options_in "$WORK/uas-$B_PORT.msg")" = "2 2"
check "silent: both BYEs say why" \
	test "$(grep -h -c '^Reason: Q.850;cause=102;text="keep-alive not answered"' "$WORK/uac-silent.msg" "$WORK/uas-$B_PORT.msg" | tr '\n' ' ')" = "1 1 "
check "silent: end_reason keepalive_failed" test "$(cdr_end 2)" = keepalive_failed

# ka_stat NAME WANT: until the stats file (written every second) says
# keepalive.NAME, summed over the workers, is WANT. The first check waits for
# the write that has both calls ended; the zero after it reads that or a later one.
ka_stat() {
	wait_json "$WORK/ka.stats.json" "sum(w['keepalive']['$1'] for w in j['workers'])" "$2"
}
check "stats: two calls ended by the keep-alive" ka_stat calls_ended 2
check "stats: two rounds missed (the silent callee's)" ka_stat missed 2
check "stats: 18 OPTIONS sent (12 + 2 + 4)" ka_stat sent 18
check "stats: none counted as idle expiry" \
	wait_json "$WORK/ka.stats.json" 'sum(w["dialogs_expired"] for w in j["workers"])' 0
stop_daemon

# ---- without BPF steering and io_uring: answers handed to the owning worker --
start_daemon fallback "$WORK/ka.json" --no-bpf --no-uring
keepalive_call fallback uas_keepalive_481.xml uac_keepalive_await_bye.xml "$((D_PORT + 4))" \
	"the caller gets sipshard's BYE with its Reason and answers it"
check "fallback: ended at the first round (took ${ELAPSED_MS} ms)" \
	test "$ELAPSED_MS" -ge 900 -a "$ELAPSED_MS" -lt 3000
check "fallback: end_reason keepalive_failed" test "$(cdr_end 3)" = keepalive_failed
stop_daemon
# ---- a SIGKILL between rounds: the new process goes on counting ------------
# the rounds a side left unanswered live in the dialog record: a silent callee
# whose call is carried over is found dead when the first process would have
KEEP_DIALOGS=1
start_daemon kept1 "$WORK/ka.json"
# once round 2 went out (at 2 s; round 3 is due at 3 s), as silent_dialogs
# sees it: a kill after round 3 would leave nothing for the new process to
# do, and every check below but the last would pass without it. UP_MS: when
# the new process was up, from the caller's start
kill_and_start_again() {
	check "restart: killed with the call up, between rounds 2 and 3 (the callee owes 2)" \
		wait_unanswered "$WORK/restart" 0 2
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	start_daemon kept2 "$WORK/ka.json"
	UP_MS=$(ms_since "$t0")
}
keepalive_call restart uas_keepalive_silent.xml uac_keepalive_await_bye.xml "$((D_PORT + 1))" \
	"the caller gets the new process's BYE with its Reason" kill_and_start_again
# as the silent call's bounds, from round 3's time or, when the new process
# came up after it (1-3 s to start on a busy machine), from then: a process
# that counted the rounds afresh would end the call two rounds later
ka_due=$((UP_MS > 3000 ? UP_MS : 3000))
check "restart: ended at the third round, as without the restart (took ${ELAPSED_MS} ms, up again at ${UP_MS} ms)" \
	test "$ELAPSED_MS" -ge 2900 -a "$ELAPSED_MS" -lt $((ka_due + 2000))
check "restart: both BYEs say the callee did not answer" \
	test "$(grep -h -c '^Reason: Q.850;cause=102;text="keep-alive not answered"' "$WORK/uac-restart.msg" "$WORK/uas-$B_PORT.msg" | tr '\n' ' ')" = "1 1 "
check "restart: end_reason keepalive_failed" test "$(cdr_end 4)" = keepalive_failed
check "restart: the new process ended it (its keepalive.calls_ended)" \
	wait_json "$WORK/kept2.stats.json" 'sum(w["keepalive"]["calls_ended"] for w in j["workers"])' 1
stop_daemon
KEEP_DIALOGS=

# A caller hangs up toward a callee that is gone: its BYE waits for a final
# that never comes, until transaction_timeout_ms (3 s here) ends the call
# as the caller's BYE. Meanwhile no round: a round once went out in a gap
# between the BYE's retransmissions, to both sides of a dialog the caller
# had ended (its 481 then ended the call with sipshard's own BYEs and the
# CDR's end_reason keepalive_failed), as did a session timer's end.
rm -f "$CDR"
write_config "$WORK/kabye.json" ", \"management_socket\": null, \"cdr_file\": \"$CDR\",
  \"timers\": { \"dialog_keepalive_s\": 1, \"transaction_timeout_ms\": 3000 }"
start_daemon kabye "$WORK/kabye.json"
out=$(python3 - "$D_PORT" "$B_PORT" "$((D_PORT + 2))" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
from rawua import call_up, recv, respond

d, bport, aport = (int(a) for a in sys.argv[1:4])
callee, caller = call_up(d, bport, aport)
# the callee's phone is gone: it answers nothing from now on; the caller
# hangs up and resends its BYE by Timer E (0.5 s doubling to 4 s)
bye = caller.request("BYE", caller.next_cseq()).encode()
ours, gap, nxt, end = [], 0.5, time.time(), time.time() + 6
while time.time() < end:
    if time.time() >= nxt:
        caller.sock.sendto(bye, ("127.0.0.1", d))
        nxt, gap = time.time() + gap, min(gap * 2, 4)
    m = recv(caller.sock, 0.02)
    if m and not m.startswith("SIP/2.0"):
        ours.append("caller:" + m.split(" ")[0])
        respond(caller.sock, m, ("127.0.0.1", d), "481 Call/Transaction Does Not Exist")
    m = recv(callee.sock, 0)
    if m and not m.startswith("BYE "):
        ours.append("callee:" + m.split(" ")[0])
print("requests_of_sipshard=%d %s" % (len(ours), " ".join(ours)))
PY
)
echo "# $out"
check "a BYE waiting for its final: no keep-alive round, no BYE of sipshard's to either side ($out)" \
	test "$out" = "requests_of_sipshard=0 "
check "and the call ends at its transaction's timeout as the caller's BYE (end_reason bye_caller)" \
	test "$(cdr_end 0)" = bye_caller
stop_daemon
for f in ka fallback kept2 kabye; do
	check "no sanitizer report ($f)" \
		bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/$f.log"
done
