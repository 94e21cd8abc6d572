#!/usr/bin/env bash
# Session timers (RFC 4028) in a running sipshardd, with SIPp on both sides: a
# call whose callee's 200 says Session-Expires: 6 and that nobody refreshes is
# ended by sipshard 4 s after the answer (min(32, 6/3) s before the interval
# ends), with a BYE to each side that says why, a CDR with end_reason
# session_expired and a counter; a caller that refreshes with a re-INVITE
# keeps its call past that time (the 200 to the refresh starts the timer
# again), and sipshardctl dialogs shows the time left; with
# timers.session_timer false the same unrefreshed call stays up. With
# timers.session_expires_s, the callee of a caller that asks for no timer is
# asked for one. The timer lives in the dialog record: a process started
# again after a SIGKILL ends the call when the first would have. A caller
# that asks for a timer (Supported: timer) from a callee that does not do
# them is told its own interval in each 200 (RFC 4028 section 8.2), and
# sipshard times it.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the timer lives in the worker's table
ASAN_DAEMON=1
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=16202
B_PORT=16207
SOCK=$WORK/sipshardd.sock
CDR=$WORK/cdr.jsonl

# one_call_with_time_left NAME: sipshardctl dialogs lists one call, whose
# session timer has 1-4 s left
one_call_with_time_left() {
	"$CTL" -s "$SOCK" --json dialogs >"$WORK/$1.dialogs.json" 2>&1
	python3 - "$WORK/$1.dialogs.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
left = [d["session_expires_in_ms"] for d in j["dialogs"]]
print("# session_expires_in_ms", left)
sys.exit(0 if len(left) == 1 and 1000 <= left[0] <= 4000 else 1)
PY
}

# the callee is asked for 90 s when the caller asks for nothing
write_config "$WORK/st.json" ", \"management_socket\": \"$SOCK\", \"cdr_file\": \"$CDR\",
  \"timers\": { \"session_expires_s\": 90 }"
start_daemon st "$WORK/st.json"

# ---- a call nobody refreshes -------------------------------------------------
sipp_uas "$B_PORT" uas_session_timer.xml -m 1 -key se 6
uas_pid=${PIDS[-1]}
if sipp_uac expired "$D_PORT" uac_await_sbc_bye.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 1))"; then
	ok "not refreshed: the caller gets sipshard's BYE with its Reason and answers it"
else
	not_ok "not refreshed: the caller gets sipshard's BYE with its Reason and answers it"
	tail -5 "$WORK/uac-expired.out" | sed 's/^/#   /'
fi
wait_exit 10 "$uas_pid"
check "not refreshed: so does the callee" test $? = 0
# from the caller's trace: the 200 OK's arrival to the BYE's; the timer counts
# whole seconds from the dialog record's creation, rounded up, so the BYE may
# come up to a second late (plus the wheel's 10 ms tick). It starts when the
# worker installs the dialog; the caller's 200 comes after the install in the
# worker's command ring and leaves at the end of the worker's pass (so that
# the caller's ACK finds the dialog): the caller stamps the 200 later than the
# timer's start by that, a few ms under ASan on a busy machine (3 ms seen in
# CI). EARLY_SLACK_MS allows for it; a timer counted from a wrong time is off
# by its unit, a whole second, or more
EARLY_SLACK_MS=250
answer_ms=$(msg_time_ms "$WORK/uac-expired.msg" '^SIP/2.0 200 ' 1)
bye_ms=$(msg_time_ms "$WORK/uac-expired.msg" '^BYE ' 1)
took_ms=$((${bye_ms:-0} - ${answer_ms:-0}))
check "not refreshed: the BYE comes 4 s after the answer, not before (took ${took_ms} ms)" \
	test -n "$answer_ms" -a -n "$bye_ms" -a "$took_ms" -ge "$((4000 - EARLY_SLACK_MS))" -a "$took_ms" -lt 5200
check "not refreshed: both BYEs say why" \
	test "$(grep -h -c '^Reason: Q.850;cause=102;text="session timer expired"' "$WORK/uac-expired.msg" "$WORK/uas-$B_PORT.msg" | tr '\n' ' ')" = "1 1 "
check "not refreshed: the callee was asked for timers.session_expires_s (the caller asked for none)" \
	grep -Eq '^Session-Expires: 90[[:space:]]*$' "$WORK/uas-$B_PORT.msg"
check "not refreshed: the caller was sent the callee's Session-Expires" \
	grep -q '^Session-Expires: 6;refresher=uac' "$WORK/uac-expired.msg"
check "not refreshed: end_reason session_expired" test "$(cdr_end 0)" = session_expired
check "not refreshed: counted as a session timer expiry" \
	wait_json "$WORK/st.stats.json" '[sum(w[k] for w in j["workers"]) for k in ("dialogs_expired", "dialogs_session_expired")]' "[1, 1]"

# refreshed_call NAME LABEL UAS_SCENARIO CALLER_PORT [UAS ARGS...]: a call
# whose caller asks for 6 s, refreshes it with a re-INVITE 3 s after the
# answer and sends its BYE 3 s after that: 6 s in, past the first timer's 4 s,
# within the refreshed one's
refreshed_call() {
	local name=$1 label=$2 uas=$3 port=$4
	shift 4
	rm -f "$WORK/uas-$B_PORT.msg"
	sipp_uas "$B_PORT" "$uas" -m 1 "$@"
	local uas_pid=${PIDS[-1]}
	sipp_uac "$name" "$D_PORT" uac_session_refresh.xml -m 1 -i 127.0.0.1 -p "$port" \
		-key se 6 -d 3000 &
	local uac_pid=$!
	sleep 1.5
	check "$label: sipshardctl dialogs shows the session timer's time left (1-4 s)" \
		one_call_with_time_left "$name"
	check "$label: ... and says so on the call's line" \
		bash -c '"$1" -s "$2" dialogs | grep -q " session timer [0-9.]* s "' _ "$CTL" "$SOCK"
	wait "$uac_pid"
	check "$label: the call lives past the first interval and the caller ends it" test $? = 0
	wait_exit 5 "$uas_pid"
	check "$label: the callee took the refresh and the caller's BYE" test $? = 0
}

# ---- a call refreshed by the caller ------------------------------------------
refreshed_call refreshed refreshed uas_session_timer.xml "$((D_PORT + 2))" -key se 6
check "refreshed: end_reason bye_caller" test "$(cdr_end 1)" = bye_caller
check "refreshed: the callee was asked for the caller's interval, not timers.session_expires_s" \
	bash -c 'grep -q "^Session-Expires: 6;refresher=uac" "$1" && ! grep -q "^Session-Expires: 90" "$1"' _ "$WORK/uas-$B_PORT.msg"
check "refreshed: no BYE from sipshard" \
	bash -c 'grep -q "^BYE" "$1" && ! grep -q "session timer expired" "$1"' _ "$WORK/uas-$B_PORT.msg"

# ---- a caller that asks for a timer, a callee that does not do them ---------
# RFC 4028 section 8.2: each 200 reaches the caller with the interval it
# asked for, refresher=uac and Require: timer, and sipshard times it
refreshed_call told "callee without timers" uas_no_timer.xml "$((D_PORT + 4))"
check "callee without timers: both 200s reach the caller with Require: timer" \
	test "$(grep -c '^Require: timer' "$WORK/uac-told.msg")" = 2
check "callee without timers: ... and the caller's interval, refresher=uac" \
	test "$(grep -c '^Session-Expires: 6;refresher=uac' "$WORK/uac-told.msg")" = 4 # 2 sent, 2 received
check "callee without timers: the callee is not told what it does not do" \
	bash -c 'grep -q "^INVITE" "$1" && ! grep -q "^Require: timer" "$1"' _ "$WORK/uas-$B_PORT.msg"
check "callee without timers: end_reason bye_caller" test "$(cdr_end 2)" = bye_caller

# ---- a callee whose Min-SE is above timers.session_expires_s -----------------
# its 422 is answered by sipshard (the INVITE again asking for 120 s, which
# the callee's scenario checks), the caller never sees it
rm -f "$WORK/uas-$B_PORT.msg"
run_flow st "callee with Min-SE 120: its 422 answered by sipshard, the call set up and ended by the callee" \
	uac_wait_bye.xml uas_422_then_bye.xml 1
check "callee with Min-SE 120: the caller never saw the 422" \
	bash -c 'grep -q "^SIP/2.0 200" "$1" && ! grep -q "^SIP/2.0 422" "$1"' _ "$WORK/uac-st-callee with Min-SE 120: its 422 answered by sipshard, the call set up and ended by the callee.msg"
check "callee with Min-SE 120: counted" \
	wait_json "$WORK/st.stats.json" 'j["controller"]["session_interval_raised"]' 1
stop_daemon

# ---- timers.session_timer false ----------------------------------------------
# an interval of 2 s runs out before the caller's refresh, 3 s in: left alone
rm -f "$CDR" "$WORK/uas-$B_PORT.msg"
write_config "$WORK/off.json" ", \"management_socket\": null, \"cdr_file\": \"$CDR\",
  \"timers\": { \"session_timer\": false }"
start_daemon off "$WORK/off.json"
sipp_uas "$B_PORT" uas_session_timer.xml -m 1 -key se 2
uas_pid=${PIDS[-1]}
if sipp_uac off "$D_PORT" uac_session_refresh.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 3))" \
	-key se 2 -d 3000; then
	ok "session_timer false: a call past its interval stays up until the caller ends it"
else
	not_ok "session_timer false: a call past its interval stays up until the caller ends it"
	tail -5 "$WORK/uac-off.out" | sed 's/^/#   /'
fi
wait_exit 5 "$uas_pid"
check "session_timer false: end_reason bye_caller" test "$(cdr_end 0)" = bye_caller
stop_daemon

# ---- the timer is in the dialog record: a restart keeps it -------------------
# SIGKILL 1.5 s after the answer, a new process on the same run_dir: it ends
# the call when the first one would have, 4 s after the answer
KEEP_DIALOGS=1
rm -f "$CDR" "$WORK/uas-$B_PORT.msg"
write_config "$WORK/kept.json" ", \"management_socket\": null, \"cdr_file\": \"$CDR\""
start_daemon kept1 "$WORK/kept.json"
sipp_uas "$B_PORT" uas_session_timer.xml -m 1 -key se 6
uas_pid=${PIDS[-1]}
sipp_uac kept "$D_PORT" uac_await_sbc_bye.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 1))" &
uac_pid=$!
sleep 1.5
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
start_daemon kept2 "$WORK/kept.json"
up_ms=$(date +%s%3N)
wait "$uac_pid"
check "restart: the new process ends the call with the BYE the caller checks" test $? = 0
# the BYE is due 4 s after the answer, as in the first process; a new process
# that came up after that (a starved machine) sends it at once. A timer started
# afresh at the restart would send it 4 s after the new process came up
# (about 5.7 s after the answer), past this bound
answer_ms=$(msg_time_ms "$WORK/uac-kept.msg" '^SIP/2.0 200 ' 1)
bye_ms=$(msg_time_ms "$WORK/uac-kept.msg" '^BYE ' 1)
took_ms=$((${bye_ms:-0} - ${answer_ms:-0}))
due_ms=$((up_ms - ${answer_ms:-0}))
[ "$due_ms" -ge 4000 ] || due_ms=4000
check "restart: at the time the first process would have, 4 s after the answer (took ${took_ms} ms; due at ${due_ms} ms)" \
	test -n "$answer_ms" -a -n "$bye_ms" -a "$took_ms" -ge "$((4000 - EARLY_SLACK_MS))" -a "$took_ms" -lt "$((due_ms + 1200))"
wait_exit 5 "$uas_pid"
check "restart: the callee gets its BYE too" test $? = 0
check "restart: both BYEs say why" \
	test "$(grep -h -c '^Reason: Q.850;cause=102;text="session timer expired"' "$WORK/uac-kept.msg" "$WORK/uas-$B_PORT.msg" | tr '\n' ' ')" = "1 1 "
check "restart: end_reason session_expired" test "$(cdr_end 0)" = session_expired
stop_daemon
KEEP_DIALOGS=

# ---- timers.min_se_s: a caller asking for less is refused 422 --------------
write_config "$WORK/min_se.json" ", \"timers\": {\"min_se_s\": 120}"
start_daemon min_se "$WORK/min_se.json"
probe min_se "an INVITE asking for 90 s, able to refresh, gets 422 with Min-SE: 120" \
	probe_invite_422.xml
# at least 1: a 422 that comes after the caller's T1 meets a retransmission
# of the INVITE, answered (and counted) again, as any stateless answer
check "min_se: counted, and no call set up" \
	wait_json "$WORK/min_se.stats.json" 'j["controller"]["rejected_session_too_brief"] >= 1, j["controller"]["invites"] - j["controller"]["rejected_session_too_brief"]' "True 0"
stop_daemon
for f in st off kept2 min_se; do
	check "no sanitizer report ($f)" \
		bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/$f.log"
done
