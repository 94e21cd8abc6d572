#!/usr/bin/env bash
# SIGHUP reloads the policy of a running sipshardd: new calls follow the new
# routes and ACL at once, a call in progress still counts against the new
# max_calls, a file that fails to load changes nothing, and a key that shapes
# the process is logged and kept until the next start.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build of the daemon when there is one: a reload frees the
# policy in service while calls use it, which is where a use-after-free would be
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=15160 # sipshardd
B1_PORT=15180
B2_PORT=15190
CFG=$WORK/reload.json
LOG=$WORK/reload.log
STATS=$WORK/reload.stats.json

# wait_log N GREP_ARGS...: waits until the log has N lines that match.
wait_log() {
	local n=$1
	shift
	for _ in $(seq 1 50); do
		[ "$(grep -c "$@" "$LOG")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# hup N: sends SIGHUP and waits for the N-th reload outcome in the log.
hup() {
	kill -HUP "$DAEMON_PID"
	wait_log "$1" -e 'policy in service' -e 'reload refused'
}

B_PORT=$B1_PORT
write_config "$CFG"
start_daemon reload "$CFG"
run_flow reload "before any reload, calls go to the first callee" \
	uac_info_bye.xml uas_info_bye.xml 2

# Routes and ACL: a new target and a rule that denies 127.0.0.2.
B_PORT=$B2_PORT
write_config "$CFG" ', "acl": { "default": "allow", "rules": [ { "action": "deny", "cidr": "127.0.0.2/32" } ] }'
hup 1
check "reload logged with the file name" grep -q "reloaded $CFG" "$LOG"
run_flow reload "after a reload, calls follow the new route" uac_info_bye.xml uas_info_bye.xml 2
probe reload "after a reload, the new ACL rule answers 403" probe_invite_403.xml -i 127.0.0.2
check "stats count one applied reload" \
	wait_json "$STATS" 'j["reloads"]["applied"], j["reloads"]["failed"]' "1 0"

# A file that fails to load changes nothing, and the log names the key.
cp "$CFG" "$WORK/good.json"
write_config "$CFG" ', "limits": { "max_calls": "many" }'
hup 2
check "a bad file is refused and the log names the key" \
	grep -q "reload refused, keeping the running configuration: $CFG: limits.max_calls" "$LOG"
run_flow reload "after a refused reload, calls still follow the last good route" \
	uac_info_bye.xml uas_info_bye.xml 1
probe reload "after a refused reload, the ACL rule still answers 403" probe_invite_403.xml -i 127.0.0.2
check "stats count the failed reload" \
	wait_json "$STATS" 'j["reloads"]["applied"], j["reloads"]["failed"]' "1 1"

# A key that shapes the process is logged and keeps its running value.
sed "s/127.0.0.1:$D_PORT/127.0.0.1:$((D_PORT + 5))/" "$WORK/good.json" >"$CFG"
hup 3
check "a changed listen address is logged as needing a restart" \
	grep -q "reload: listen changed in $CFG; it takes effect at the next start" "$LOG"
probe reload "after that reload, the daemon still answers on the old port" probe_options.xml

# A call in progress counts against the max_calls of the new policy.
B_PORT=$B2_PORT
sipp_uas "$B_PORT" uas_no_bye.xml -m 1
uas_pid=${PIDS[-1]}
sleep 0.3
start_bg sipp "127.0.0.1:$D_PORT" -sf tests/sipp/uac_no_bye.xml -s callee -nostdin -m 1 \
	-i 127.0.0.1 -p "$((D_PORT + 3))" -trace_err -error_file "$WORK/held.err" \
	>"$WORK/held.out" 2>&1
held_pid=${PIDS[-1]}
for _ in $(seq 1 30); do
	[ "$(json_get "$STATS" 'j["controller"]["calls_active"]')" = 1 ] && break
	sleep 0.2
done
check "one call is up before the reload" \
	test "$(json_get "$STATS" 'j["controller"]["calls_active"]')" = 1
write_config "$CFG" ', "limits": { "max_calls": 1 }'
hup 4
check "the new policy carried the call in progress over" \
	grep -q "max_calls 1, 1 calls in progress carried over" "$LOG"
probe reload "the call in progress fills the new max_calls: 503" probe_invite_503.xml
kill "$held_pid" "$uas_pid" 2>/dev/null
wait "$held_pid" "$uas_pid" 2>/dev/null

stop_daemon
check "no sanitizer report (memory errors, leaks, undefined behaviour)" \
	bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$LOG"
