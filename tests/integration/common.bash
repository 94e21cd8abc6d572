# common.bash - helpers for the integration tests (sourced, not run).
#
# Every test prints "ok NAME" or "not ok NAME" lines (tests/run.sh counts them),
# starts its processes through start_bg so that cleanup stops them all, and
# sends traffic only to 127.0.0.0/8.

BUILD=${BUILD:-build}
# A script that sets ASAN_DAEMON=1 before sourcing this runs the sanitizer build
# of the daemon when there is one: an out-of-bounds read or a leak in what it
# exercises then fails the test instead of passing silently.
if [ -n "${ASAN_DAEMON:-}" ] && [ -x "$BUILD/asan/sipshardd" ]; then
	SIPSHARDD=${SIPSHARDD:-$BUILD/asan/sipshardd}
fi
# A script that sets TSAN_DAEMON=1 runs the daemon built with ThreadSanitizer
# (make tsan): its workers and its controller run side by side as in
# production, and a data race between them fails the check that cleanup adds
# (tsan_verdict), where it would pass unseen in the plain build. A daemon
# named by the caller (SIPSHARDD) is run instead.
TSAN_PICKED=
if [ -n "${TSAN_DAEMON:-}" ] && [ -z "${SIPSHARDD:-}" ]; then
	SIPSHARDD=$BUILD/tsan/sipshardd
	TSAN_PICKED=1
fi
SIPSHARDD=${SIPSHARDD:-$BUILD/sipshardd}
echo "# daemon: $SIPSHARDD"
# on tmpfs when there is one, as run_dir should be: each start puts the set-up
# records (setups.tbl, 335 MiB by default) in memory, which on a disk the
# kernel would write back
WORK=$(mktemp -d /dev/shm/sipshard-it.XXXXXX 2>/dev/null || mktemp -d /tmp/sipshard-it.XXXXXX)
# Debian's python3 (scripts/deps.sh installs it) for every python3 the
# scripts start, and the programs they start, through a link ahead on PATH
# (a shell function would stand between a script and the python3 it starts
# in the background, and `kill $!` would miss the python3): a version
# manager's shim ahead of it on PATH (pyenv's runs bash and pyenv for each
# call) took 0.45 s a start against 0.05 s, busy on both CPUs, and the scripts
# start python3 hundreds of times (json_get, wait_json's polls, the raw UAs):
# orig_auth.sh, run alone, took 35.7 s with the shim and 20.3 s without it.
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
	mkdir -p "$WORK/bin" && ln -sf /usr/bin/python3 "$WORK/bin/python3" && PATH=$WORK/bin:$PATH
fi
# each report of the ThreadSanitizer build goes to a file of its own,
# tsan.PID; halt_on_error=0 lets the script's own checks run to the end.
# After the caller's options: the last of a name wins, and a log_path of the
# caller's would put the reports where tsan_verdict never looks (it passed so).
if [ -n "${TSAN_DAEMON:-}" ]; then
	export TSAN_OPTIONS="${TSAN_OPTIONS:-} log_path=$WORK/tsan halt_on_error=0"
fi
PIDS=()

NOT_OK=0 # checks failed so far (not_ok counts them)

# keep_failure_logs: after a failed check, the daemon's and the peers' logs
# outlive the work dir (BUILD/test-logs/SCRIPT-work/, the large run_dir files
# left out), and the end of each daemon log is printed: a failure that comes
# once in many runs can then be read from the run that had it.
keep_failure_logs() {
	local keep f
	keep=$BUILD/test-logs/$(basename "$0" .sh)-work
	rm -rf "$keep"
	mkdir -p "$keep" || return
	find "$WORK" -maxdepth 1 -type f -size -20M -exec cp {} "$keep/" \;
	echo "# logs of this run kept in $keep"
	for f in "$WORK"/*.log; do
		[ -s "$f" ] || continue
		echo "# ---- last lines of $(basename "$f") ----"
		tail -25 "$f" | sed 's/^/#   /'
	done
}

# tsan_verdict: the last checks of a TSAN_DAEMON=1 script, once its processes
# stopped: the daemon it picked was the ThreadSanitizer build (a plain one
# finds no race, so a missing build must fail, not pass), and no report came
# from it. Each report's summary and the first one in full go to the log. A
# daemon the caller named gets the second check only if it is such a build.
tsan_verdict() {
	local reports is_tsan=
	ldd "$SIPSHARDD" 2>/dev/null | grep -q libtsan && is_tsan=1
	[ -z "$TSAN_PICKED" ] || check "the daemon run is the ThreadSanitizer build" test -n "$is_tsan"
	if [ -z "$is_tsan" ]; then
		[ -n "$TSAN_PICKED" ] || echo "# $SIPSHARDD is no ThreadSanitizer build: no data race checked"
		return
	fi
	reports=$(find "$WORK" -maxdepth 1 -name 'tsan.*' -type f | sort)
	if [ -z "$reports" ]; then
		ok "no data race between the daemon's threads (ThreadSanitizer)"
		return
	fi
	not_ok "no data race between the daemon's threads (ThreadSanitizer: $(echo "$reports" |
		xargs cat | grep -c '^WARNING: ThreadSanitizer') reports)"
	echo "$reports" | xargs cat | grep '^SUMMARY' | sort | uniq -c | sed 's/^/#   /'
	sed -n '1,/^SUMMARY/p' "$(echo "$reports" | head -1)" | sed 's/^/#   /'
}

cleanup() {
	local p=''
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	# 0.2 s at most for them to stop, no longer than they take: every
	# script ends here
	for _ in $(seq 1 20); do
		for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && break; done
		kill -0 "$p" 2>/dev/null || break
		sleep 0.01
	done
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -z "${TSAN_DAEMON:-}" ] || tsan_verdict
	[ "$NOT_OK" -eq 0 ] || keep_failure_logs
	if [ -n "${KEEP_WORK:-}" ]; then echo "# work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

start_bg() {
	"$@" &
	PIDS+=($!)
}

ok() { echo "ok $*"; }
not_ok() {
	echo "not ok $*"
	NOT_OK=$((NOT_OK + 1))
}

# check NAME COMMAND...: ok when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# wait_udp_port PORT [ADDR]: waits until something is bound to PORT/udp (on
# ADDR when given), 5 s at most. Each daemon and SIPp callee start waits
# here: it looks every 20 ms, not 100.
wait_udp_port() {
	local filter="sport = :$1"
	[ -n "${2:-}" ] && filter="src $2 and $filter"
	for _ in $(seq 1 200); do
		ss -Hlun "$filter" 2>/dev/null | grep -q . && return 0
		sleep 0.02
	done
	return 1
}

# daemon_in_namespace HOSTS RESOLV: from now on SIPSHARDD runs in a mount
# namespace of its own, where the file HOSTS is /etc/hosts and RESOLV is
# /etc/resolv.conf ("" leaves that one as it is), so that a test gives it its
# own names and DNS server; the exec chain keeps its PID. Without a mount
# namespace (needs root): not ok, and the script ends.
daemon_in_namespace() {
	if ! unshare --mount true 2>/dev/null; then
		not_ok "a mount namespace for the daemon's /etc/hosts and /etc/resolv.conf (needs root)"
		exit 1
	fi
	local hosts=${1:-/etc/hosts} resolv=${2:-/etc/resolv.conf}
	cat >"$WORK/sipshardd-ns" <<SH
#!/bin/sh
exec unshare --mount sh -c 'mount --bind "\$0" /etc/hosts && mount --bind "\$1" /etc/resolv.conf && shift && exec "\$@"' "$hosts" "$resolv" "$PWD/$SIPSHARDD" "\$@"
SH
	chmod +x "$WORK/sipshardd-ns"
	SIPSHARDD=$WORK/sipshardd-ns
}

# need_dnsmasq: dnsmasq is there to serve a test's records, or not ok, and
# the script ends.
need_dnsmasq() {
	command -v dnsmasq >/dev/null && return 0
	not_ok "dnsmasq serves the SRV records (package dnsmasq-base: scripts/deps.sh installs it)"
	exit 1
}

# wait_text FILE TEXT: until FILE holds TEXT (a fixed string), 5 s at most.
wait_text() {
	for _ in $(seq 1 50); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# json_get FILE EXPR: evaluates a Python expression over the JSON in FILE as `j`.
json_get() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

# take_result OUT: a raw-UA scenario's output file OUT, shown as comments,
# whose last line is its JSON result; get EXPR then reads that result (as j).
take_result() {
	sed 's/^/# /' "$1"
	tail -1 "$1" >"$WORK/res.json"
}
get() { json_get "$WORK/res.json" "$1" 2>/dev/null; }

# wait_json FILE EXPR WANT: until json_get FILE EXPR prints WANT, 50 polls at
# most: for the stats file, written every second, where a fixed sleep is
# outrun by a busy machine. The polls take about 5 s on an idle machine and
# longer on a starved one (each starts python3), which then also gives the
# daemon's late writes their time: a failing check can take minutes there.
wait_json() {
	for _ in $(seq 1 50); do
		[ "$(json_get "$1" "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.1
	done
	echo "# $1: $2 is $(json_get "$1" "$2" 2>&1 | tail -1), not $3"
	return 1
}

# cdr_end N: the end_reason (CDR: the daemon's cdr_file) of the N-th record (0-based),
# once it is written
cdr_end() {
	for _ in $(seq 1 30); do
		[ -f "$CDR" ] && [ "$(wc -l <"$CDR")" -gt "$1" ] && break
		sleep 0.1
	done
	python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])])["end_reason"])' "$CDR" "$1"
}

# SIPP_BUFF_SIZE: when a script sets it, the size of each SIPp's socket
# buffers (-buff_size, bytes; the kernel caps it at net.core.rmem_max and
# wmem_max). SIPp's own 64 KiB holds about a hundred datagrams on loopback:
# a SIPp kept from a CPU for a tenth of a second at 200 calls a second has
# the rest dropped by its kernel, and a lost ACK to a 2xx fails its call
# (callpath.sh: the callee aborts on the INFO that follows it).

# sipp_uas PORT SCENARIO [ARGS...]: a SIPp callee in the background, back
# once its port is bound (a busy machine can take longer than any fixed
# sleep to start it, and a request sent before is lost).
sipp_uas() {
	local port=$1 sf=$2
	shift 2
	start_bg sipp -sf "tests/sipp/$sf" -i 127.0.0.1 -p "$port" -nostdin ${SIPP_BUFF_SIZE:+-buff_size "$SIPP_BUFF_SIZE"} \
		-trace_err -trace_msg -message_file "$WORK/uas-$port.msg" \
		-error_file "$WORK/uas-$port.err" "$@" >"$WORK/uas-$port.out" 2>&1
	wait_udp_port "$port"
}

# sipp_uac NAME TARGET_PORT SCENARIO [ARGS...]: runs a SIPp caller to completion;
# succeeds when every call succeeded.
sipp_uac() {
	local name=$1 port=$2 sf=$3
	shift 3
	timeout 60 sipp "127.0.0.1:$port" -sf "tests/sipp/$sf" -s callee -nostdin ${SIPP_BUFF_SIZE:+-buff_size "$SIPP_BUFF_SIZE"} \
		-timeout 40 -timeout_error -trace_err -trace_msg \
		-message_file "$WORK/uac-$name.msg" -error_file "$WORK/uac-$name.err" \
		"$@" >"$WORK/uac-$name.out" 2>&1
}

# msg_time_ms FILE REGEX [N]: when SIPp's -trace_msg FILE stamped the Nth
# message (default 1) whose first line matches REGEX, in ms since the epoch:
# the time the datagram went or came, not when a scenario got round to it.
msg_time_ms() {
	local stamp
	stamp=$(awk -v re="$2" -v n="${3:-1}" '
		/^-+ [0-9][0-9][0-9][0-9]-/ { s = $2 " " $3; want = 1; next }
		want && /^UDP message|^[[:space:]]*$/ { next }
		want { want = 0; if ($0 ~ re && ++k == n) { print s; exit } }' "$1")
	[ -n "$stamp" ] && date -d "$stamp" +%s%3N
}

# sip_target IP PORT CALLIDS UP [OPTIONS_LOG [REGISTER_LOG]]: a target that
# answers no INVITE (it notes each one's Call-ID in CALLIDS) and answers
# OPTIONS and REGISTER 200 while the file UP exists (noting each one in
# OPTIONS_LOG or REGISTER_LOG), for 40 s.
sip_target() {
	python3 - "$@" <<'PY' &
import os, re, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.2)
end = time.monotonic() + 40
opts = open(sys.argv[5], "w") if len(sys.argv) > 5 else None
regs = open(sys.argv[6], "w") if len(sys.argv) > 6 else None
with open(sys.argv[3], "w") as f:
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        m = re.search(rb"\r\nCall-ID: *([^\r]+)", data)
        if data.startswith(b"INVITE ") and m:
            f.write(m.group(1).decode() + "\n")
            f.flush()
        answered = data.startswith(b"OPTIONS ") or data.startswith(b"REGISTER ")
        if answered and os.path.exists(sys.argv[4]):
            log = opts if data.startswith(b"OPTIONS ") else regs
            if log:
                log.write(data.split(b" ", 1)[0].decode() + "\n")
                log.flush()
            lines = data.split(b"\r\n")
            keep = [l for l in lines if re.match(rb"(?i)(via|from|call-id|cseq):", l)]
            to = [l + b";tag=up" for l in lines if re.match(rb"(?i)to:", l)]
            s.sendto(b"\r\n".join([b"SIP/2.0 200 OK"] + keep + to + [b"Content-Length: 0", b"", b""]), peer)
PY
	PIDS+=($!)
	wait_udp_port "$2"
}

# ---- a sipshardd between SIPp caller and callee ------------------------------
# The script sets D_PORT (sipshardd) and B_PORT (the callee); callers use
# D_PORT+1 (flows) and D_PORT+2 (probes).

# write_config FILE [EXTRA_JSON_MEMBERS]: listen on D_PORT, every call to B_PORT;
# the shard table files in this test's own run_dir.
write_config() {
	cat >"$1" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
  ${2:-}
}
JSON
}

# start_daemon NAME CONFIG [FLAGS...]: with --discard-dialogs, so that each start
# begins with no calls, unless the script sets KEEP_DIALOGS=1 (restart.sh).
start_daemon() {
	local name=$1 cfg=$2
	shift 2
	[ -n "${KEEP_DIALOGS:-}" ] || set -- --discard-dialogs "$@"
	# DAEMON_WRAP: a program the daemon runs under (build/tools/deny_uring)
	start_bg ${DAEMON_WRAP:-} "$SIPSHARDD" -c "$cfg" --stats-file "$WORK/$name.stats.json" "$@" \
		2>"$WORK/$name.log"
	DAEMON_PID=${PIDS[-1]}
	wait_udp_port "$D_PORT" || return 1
	# the port is bound before the BPF program is attached and the threads
	# run: "listening on" comes after both, so a script's first datagram is
	# steered as every later one (5 s at most)
	for _ in $(seq 1 250); do
		grep -q "listening on" "$WORK/$name.log" 2>/dev/null && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# stop_daemon: SIGINT, which stops at once (SIGTERM would wait for calls up).
stop_daemon() {
	kill -INT "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
}

# wait_exit SECONDS PID: waits for a background process, killing it at the
# deadline (SIGTERM, then SIGKILL: one that hangs while stopping must fail the
# check, not hang the suite); returns its exit status.
wait_exit() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	kill "$2" 2>/dev/null
	for i in $(seq 1 10); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$2" 2>/dev/null
	wait "$2"
}

# run_flow MODE NAME UAC_SCENARIO UAS_SCENARIO CALLS [UAC ARGS...]
run_flow() {
	local mode=$1 name=$2 uac=$3 uas=$4 calls=$5
	shift 5
	# (sipp_uas is back once the callee's port is bound: no sleep after it)
	sipp_uas "$B_PORT" "$uas" -m "$calls"
	local uas_pid=${PIDS[-1]}
	if sipp_uac "$mode-$name" "$D_PORT" "$uac" -m "$calls" -l "$calls" -r 100 -i 127.0.0.1 \
		-p "$((D_PORT + 1))" "$@"; then
		ok "$mode: $name"
	else
		not_ok "$mode: $name"
		echo "# uac output:"; tail -5 "$WORK/uac-$mode-$name.out" | sed 's/^/#   /'
		head -5 "$WORK/uac-$mode-$name.err" 2>/dev/null | sed 's/^/#   /'
	fi
	kill "$uas_pid" 2>/dev/null
	wait "$uas_pid" 2>/dev/null
}

probe() { # MODE NAME SCENARIO [ARGS]
	local mode=$1 name=$2 sf=$3
	shift 3
	if sipp_uac "$mode-$name" "$D_PORT" "$sf" -m 1 -i 127.0.0.1 -p "$((D_PORT + 2))" "$@"; then
		ok "$mode: $name"
	else
		not_ok "$mode: $name"
		tail -3 "$WORK/uac-$mode-$name.out" | sed 's/^/#   /'
	fi
}
