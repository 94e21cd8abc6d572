#!/usr/bin/env bash
# SIGTERM drains a running sipshardd: new INVITEs and OPTIONS get 503 while the
# calls that are up keep being relayed, and the daemon exits when the last one
# ends; or when timers.drain_s passes; or at once on a second signal, on SIGINT,
# or with drain_s 0. sipshardctl drain does what SIGTERM does.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=15460
B_PORT=15480

# hold_call NAME: a call nobody ends, answered by a callee that then exits.
hold_call() {
	sipp_uas "$B_PORT" uas_no_bye.xml -m 1
	sipp_uac "$1" "$D_PORT" uac_no_bye.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 3))"
	wait_calls 1 "$1"
}

# wait_calls N NAME: waits until the stats of daemon NAME show N calls up.
wait_calls() {
	for _ in $(seq 1 40); do
		[ "$(json_get "$WORK/$2.stats.json" 'j["controller"]["calls_active"]' 2>/dev/null)" = "$1" ] &&
			return 0
		sleep 0.25
	done
	return 1
}

# exited_within SECONDS: the daemon exits within that time; its status is 0.
exited_within() {
	for _ in $(seq 1 $(($1 * 10))); do
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			wait "$DAEMON_PID"
			return $?
		fi
		sleep 0.1
	done
	return 1
}

# A call the callee ends 3 s after answering, up when SIGTERM comes.
write_config "$WORK/drain.json" ', "management_socket": null, "timers": { "drain_s": 20 }'
start_daemon drain "$WORK/drain.json"
sipp_uas "$B_PORT" uas_bye_after.xml -m 1 -d 3000
start_bg sipp_uac held "$D_PORT" uac_wait_bye.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 3))"
held_pid=${PIDS[-1]}
check "a call is up" wait_calls 1 drain
kill -TERM "$DAEMON_PID"
sleep 0.3
check "after SIGTERM the daemon keeps running while a call is up" kill -0 "$DAEMON_PID"
check "it says it is draining, with the call count" \
	grep -q "draining: new calls get 503; 1 call(s) up" "$WORK/drain.log"
probe drain "a new INVITE while draining gets 503" probe_invite_503.xml
probe drain "OPTIONS while draining gets 503 (load balancers move on)" probe_options_503.xml
check "the call that was up ends normally (BYE relayed while draining)" wait "$held_pid"
check "the daemon exits (status 0) once the last call ended" exited_within 5
check "and says so" grep -q "drained: every call ended" "$WORK/drain.log"
check "the refusals were counted" \
	test "$(json_get "$WORK/drain.stats.json" 'j["controller"]["rejected_draining"], j["draining"]')" = "1 True"

# drain_s passes with a call up
write_config "$WORK/short.json" ', "management_socket": null, "timers": { "drain_s": 1 }'
start_daemon short "$WORK/short.json"
check "a call nobody ends is up" hold_call short
kill -TERM "$DAEMON_PID"
check "with drain_s 1 the daemon exits within 2 s anyway" exited_within 3
check "and names the calls it left" grep -q "drain_s (1 s) passed with 1 call(s) up" "$WORK/short.log"

# a second signal cuts the drain short; SIGINT never drains
for how in "TERM TERM" "INT"; do
	start_daemon "cut-${how// /-}" "$WORK/drain.json"
	hold_call "cut-${how// /-}"
	for s in $how; do
		kill -"$s" "$DAEMON_PID"
		sleep 0.2
	done
	check "SIG${how// / then SIG} with a call up and drain_s 20: exits at once" exited_within 2
done

# drain_s 0: SIGTERM stops at once
write_config "$WORK/zero.json" ', "management_socket": null, "timers": { "drain_s": 0 }'
start_daemon zero "$WORK/zero.json"
hold_call zero
kill -TERM "$DAEMON_PID"
check "drain_s 0: SIGTERM with a call up exits at once" exited_within 2

# sipshardctl drain
SOCK=$WORK/drain.sock
write_config "$WORK/ctl.json" ", \"management_socket\": \"$SOCK\", \"timers\": { \"drain_s\": 20 }"
start_daemon ctl "$WORK/ctl.json"
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
out=$("$BUILD/sipshardctl" -s "$SOCK" drain)
check "sipshardctl drain answers with the calls up" \
	test "$out" = "draining: 0 call(s) up; sipshardd stops when they end, or in 20 s"
check "with no call up the daemon exits at once" exited_within 2
check "the drain went through the SIGTERM path" grep -q "drained: every call ended" "$WORK/ctl.log"

# a second sipshardctl drain (a script run twice, an operator checking) is
# only told the drain is under way: a second SIGTERM would stop at once
start_daemon ctl2 "$WORK/ctl.json"
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
hold_call ctl2
"$BUILD/sipshardctl" -s "$SOCK" drain >/dev/null
out=$("$BUILD/sipshardctl" -s "$SOCK" drain)
check "a second sipshardctl drain says it is already draining, with the call up" \
	test "$out" = "already draining: 1 call(s) up; sipshardd stops when they end, or in 20 s"
sleep 0.5
check "and the daemon still drains, the call up" kill -0 "$DAEMON_PID"
check "no second signal cut it short" bash -c '! grep -q "cut short" "$1"' _ "$WORK/ctl2.log"
stop_daemon
for f in drain short ctl; do
	check "no sanitizer report ($f)" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/$f.log"
done
