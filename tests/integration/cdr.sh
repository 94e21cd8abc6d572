#!/usr/bin/env bash
# Call detail records from a running sipshardd: one JSON line per call that
# reached the callee, with how it ended (BYE from either side, CANCEL, idle
# expiry, the maximum duration with a BYE from sipshard on each leg, the daemon
# stopping), none for requests policy refused, a new file
# after a rotation and a reload, and a refused start when the file cannot be
# opened.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: records are built from network bytes
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=15360
B_PORT=15380
CDR=$WORK/logs/cdr.jsonl # the daemon makes the missing directory

# cdr_field N EXPR [FILE]: EXPR over the N-th record (0-based) of FILE (default
# $CDR) as `r`; a tuple prints space-separated.
cdr_field() {
	python3 - "$1" "$2" "${3:-$CDR}" <<'PY'
import json, sys
lines = open(sys.argv[3]).read().splitlines()
r = json.loads(lines[int(sys.argv[1])])
v = eval(sys.argv[2])
print(*v) if isinstance(v, tuple) else print(v)
PY
}

lines() { if [ -f "${1:-$CDR}" ]; then wc -l <"${1:-$CDR}"; else echo 0; fi; }

# wait_lines N [FILE]: waits until FILE holds N records.
wait_lines() {
	for _ in $(seq 1 50); do
		[ "$(lines "${2:-$CDR}")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

write_config "$WORK/cdr.json" ", \"cdr_file\": \"$CDR\", \"management_socket\": null,
  \"acl\": { \"default\": \"allow\", \"rules\": [ { \"action\": \"deny\", \"cidr\": \"127.0.0.2/32\" } ] }"
start_daemon cdr "$WORK/cdr.json"

run_flow cdr "two calls the caller ends" uac_info_bye.xml uas_info_bye.xml 2
wait_lines 2
check "two records, one line each" test "$(lines)" = 2
check "the file and its missing directory were made, 0640 and 0750" \
	test "$(stat -c %a "$CDR") $(stat -c %a "$(dirname "$CDR")")" = "640 750"
check "the first is an answered call the caller ended" \
	test "$(cdr_field 0 'r["disposition"], r["status"], r["end_reason"]')" = "answered 200 bye_caller"
check "it names the caller's Call-ID, From, To, source, route and target" \
	test "$(cdr_field 0 'r["call_id"].endswith("@127.0.0.1"), r["from"].startswith("sip:caller@127.0.0.1"), r["to"].startswith("sip:callee@127.0.0.1"), r["source"] == "127.0.0.1:'$((D_PORT + 1))'", r["route"], r["target"]')" \
	= "True True True True callee 127.0.0.1:$B_PORT"
check "leg B's Call-ID is not the caller's" \
	test "$(cdr_field 0 'r["leg_b_call_id"] != r["call_id"]')" = True
check "start <= answer <= end, and durations add up" \
	test "$(cdr_field 0 'r["start"] <= r["answer"] <= r["end"] and r["setup_ms"] >= 0 and r["duration_ms"] >= 0')" = True

run_flow cdr "a call the callee ends" uac_wait_bye.xml uas_bye.xml 1
wait_lines 3
check "a BYE from the callee: end_reason bye_callee" \
	test "$(cdr_field 2 'r["end_reason"]')" = bye_callee
run_flow cdr "a call cancelled while ringing" uac_cancel.xml uas_cancel.xml 1
wait_lines 4
check "CANCEL: disposition cancelled, status 487, no answer time" \
	test "$(cdr_field 3 'r["disposition"], r["status"], "answer" in r')" = "cancelled 487 False"
probe cdr "an ACL-denied INVITE" probe_invite_403.xml -i 127.0.0.2
probe cdr "OPTIONS" probe_options.xml
sleep 0.3
check "policy refusals and out-of-dialog requests write no record" test "$(lines)" = 4

# rotation: move the file away, reload, the next record goes to a new file
mv "$CDR" "$CDR.1"
kill -HUP "$DAEMON_PID"
sleep 0.3
run_flow cdr "a call after the rotation" uac_info_bye.xml uas_info_bye.xml 1
wait_lines 1
check "after mv and SIGHUP, the next record is in a new file" \
	test "$(lines "$CDR.1") $(lines)" = "4 1"
check "the log says the file was opened again" grep -q "cdr_file $CDR opened again" "$WORK/cdr.log"

# a reload that is refused (a half-edited file) opens the file again too: a
# rotation's SIGHUP then left every later record in the rotated file
cp "$WORK/cdr.json" "$WORK/cdr.json.good"
echo '{ "listen": ' >"$WORK/cdr.json"
mv "$CDR" "$CDR.2"
kill -HUP "$DAEMON_PID"
sleep 0.3
cp "$WORK/cdr.json.good" "$WORK/cdr.json"
run_flow cdr "a call after a refused reload" uac_info_bye.xml uas_info_bye.xml 1
wait_lines 1
check "after mv and a SIGHUP whose file is refused, the next record is in a new file" \
	test "$(lines "$CDR.2") $(lines)" = "1 1"
check "the log says the reload was refused, and the file opened again" \
	bash -c 'grep -q "reload refused" "$1" && test "$(grep -c "cdr_file $2 opened again" "$1")" = 2' \
	_ "$WORK/cdr.log" "$CDR"

# a call still up when the daemon stops
sipp_uas "$B_PORT" uas_no_bye.xml -m 1
uas_pid=${PIDS[-1]}
sleep 0.3
sipp_uac cdr-held "$D_PORT" uac_no_bye.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 3))"
check "stats count the records written" \
	wait_json "$WORK/cdr.stats.json" 'j["controller"]["cdrs"], j["cdr_file"]["written"], j["cdr_file"]["lost"]' "6 6 0"
stop_daemon
kill "$uas_pid" 2>/dev/null
wait "$uas_pid" 2>/dev/null
check "a call up when the daemon stops: end_reason daemon_stopped" \
	test "$(cdr_field 1 'r["disposition"], r["end_reason"]')" = "answered daemon_stopped"
# the final statistics were written before that record, which they left out
check "the final stats count the record of the call up at the stop" \
	test "$(json_get "$WORK/cdr.stats.json" 'j["controller"]["cdrs"], j["cdr_file"]["written"]')" = "7 7"

# idle expiry
rm -f "$CDR"
write_config "$WORK/idle.json" ", \"cdr_file\": \"$CDR\", \"management_socket\": null,
  \"timers\": { \"dialog_idle_s\": 1 }"
start_daemon idle "$WORK/idle.json"
run_flow idle "a call nobody ends" uac_await_sbc_bye.xml uas_await_sbc_bye.xml 1
check "idle: sipshard sent both sides a BYE that says why" \
	test "$(grep -h -c '^Reason: Q.850;cause=102;text="no requests in the dialog"' "$WORK/uac-idle-a call nobody ends.msg" "$WORK/uas-$B_PORT.msg" | tr '\n' ' ')" = "1 1 "
wait_lines 1 && sleep 0.2
check "an idle dialog: end_reason idle_timeout" \
	test "$(cdr_field 0 'r["end_reason"]')" = idle_timeout
stop_daemon

# a BYE the callee never answers (it is gone): the caller's BYE transaction
# times out, which ends the call for it (RFC 3261 15.1.1), and so it does for
# sipshard when that BYE's transaction expires (transaction_timeout_ms), not
# at dialog_idle_s as an idle call with the idle time in its duration
rm -f "$CDR"
write_config "$WORK/byelost.json" ", \"cdr_file\": \"$CDR\", \"management_socket\": null,
  \"timers\": { \"transaction_timeout_ms\": 1000, \"dialog_idle_s\": 6 }"
start_daemon byelost "$WORK/byelost.json"
python3 - "$D_PORT" "$B_PORT" <<'PY' >"$WORK/byelost.out" 2>&1
import sys, time
sys.path.insert(0, "tests/integration")
import rawua
d_port, b_port = int(sys.argv[1]), int(sys.argv[2])
callee = rawua.Callee(b_port)
caller = rawua.Caller(d_port + 4, d_port)
assert caller.call(callee) == 200
# the callee reads nothing more; the caller sends its BYE and resends it
bye = caller.request("BYE", caller.next_cseq()).encode()
for _ in range(4):
    caller.sock.sendto(bye, ("127.0.0.1", d_port))
    time.sleep(0.5)
PY
check "the call with an unanswered BYE was set up" test $? = 0
wait_lines 1
check "an unanswered BYE: end_reason bye_caller, within 3 s (not idle_timeout at 6 s)" \
	test "$(cdr_field 0 'r["end_reason"], r["duration_ms"] < 3000')" = "bye_caller True"
stop_daemon

# maximum duration: sipshard ends the call itself, with a BYE on each leg that
# gives the reason; each side checks the Reason header and answers 200
rm -f "$CDR"
write_config "$WORK/maxdur.json" ", \"cdr_file\": \"$CDR\", \"management_socket\": null,
  \"timers\": { \"dialog_max_s\": 1 }"
start_daemon maxdur "$WORK/maxdur.json"
sipp_uas "$B_PORT" uas_await_sbc_bye.xml -m 1
uas_pid=${PIDS[-1]}
sleep 0.3
if sipp_uac maxdur "$D_PORT" uac_await_sbc_bye.xml -m 1 -i 127.0.0.1 -p "$((D_PORT + 3))"; then
	ok "maximum duration: the caller gets sipshard's BYE with its Reason and answers it"
else
	not_ok "maximum duration: the caller gets sipshard's BYE with its Reason and answers it"
	tail -5 "$WORK/uac-maxdur.out" | sed 's/^/#   /'
fi
wait_exit 10 "$uas_pid"
check "maximum duration: so does the callee" test $? = 0
wait_lines 1
check "maximum duration: both BYEs say why" \
	test "$(grep -h -c '^Reason: Q.850;cause=102;text="maximum call duration"' "$WORK/uac-maxdur.msg" "$WORK/uas-$B_PORT.msg" | tr '\n' ' ')" = "1 1 "
check "maximum duration: end_reason max_duration" \
	test "$(cdr_field 0 'r["end_reason"]')" = max_duration
check "maximum duration: two BYEs sent and both answered, none retransmitted" \
	wait_json "$WORK/maxdur.stats.json" '[sum(w["originated"][k] for w in j["workers"]) for k in ("sent", "answered", "retransmitted", "unanswered", "stray_responses")]' "[2, 2, 0, 0, 0]"
stop_daemon

# a file that cannot be opened stops the start, naming the key
write_config "$WORK/bad.json" ", \"cdr_file\": \"$WORK/missing/dir/cdr.jsonl\", \"management_socket\": null"
"$SIPSHARDD" -c "$WORK/bad.json" 2>"$WORK/bad.log"
rc=$?
check "an unopenable cdr_file: exit 1, the key and path in the log" \
	bash -c "[ $rc = 1 ] && grep -q 'cdr_file $WORK/missing/dir/cdr.jsonl: cannot create $WORK/missing/dir: No such file or directory' \"\$1\"" _ "$WORK/bad.log"
for f in cdr idle byelost maxdur; do
	check "no sanitizer report ($f)" \
		bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/$f.log"
done
