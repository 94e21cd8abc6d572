# bench/lib.sh - shared by the benchmark scripts that run sipshardd builds
# against sipshard-load (setup_rate.sh, relay_rate.sh, relay_profile.sh,
# keepalive.sh, setup_burst.sh, restart.sh): sourced, not run.
#
# bench_need NAME FILE...: exits naming the first FILE that is not an
# executable (NAME: the script, for the message).
bench_need() {
	local name=$1 f
	shift
	for f in "$@"; do
		[ -x "$f" ] || { echo "$name: $f is missing: run make first" >&2; exit 1; }
	done
}
#
# bench_count NAME OPTION VALUE...: exits 2 naming OPTION unless every VALUE
# is a whole number, 1 or more. A --reps 0 ran nothing and the table's median
# of no run ended in a Python error with exit 0; --workers 0 gave a daemon
# with a worker per CPU in a row labelled 0.
bench_count() {
	local name=$1 opt=$2 v
	shift 2
	[ $# -gt 0 ] || set -- ""
	for v in "$@"; do
		[[ $v =~ ^[0-9]+$ ]] && [ "$((10#$v))" -ge 1 ] && continue
		echo "$name: $opt needs whole numbers, 1 or more (not '$v')" >&2
		exit 2
	done
}
#
# bench_begin NAME: makes WORK (a directory on /dev/shm, as run_dir is on a
# tmpfs in production), sets SUT_PORT and CALLEE_PORT (5060 and 5080 unless
# the environment names others: on a shared machine they may be taken),
# starts sipshard-load uas as the callee on CALLEE_PORT (CALLEE_ARGS: more of
# its options) and waits until it listens there, and arranges that everything
# started and WORK go when the script exits. Needs BUILD and OUT.
bench_begin() {
	mkdir -p "$OUT"
	SUT_PORT=${SUT_PORT:-5060}
	CALLEE_PORT=${CALLEE_PORT:-5080}
	WORK=$(mktemp -d "/dev/shm/sipshard-$1.XXXXXX")
	PIDS=()
	trap bench_end EXIT
	"$BUILD/sipshard-load" --role uas --local "127.0.0.1:$CALLEE_PORT" --duration 0 \
		${CALLEE_ARGS:-} >"$WORK/uas.out" 2>&1 &
	CALLEE=$!
	PIDS+=($CALLEE)
	# a callee that cannot bind (the port held by another process) exits 2 at
	# once: without it every run would time out, or measure that process
	local i
	for i in $(seq 1 100); do
		ss -Hlunp "sport = :$CALLEE_PORT" 2>/dev/null | grep -q "pid=$CALLEE," && return 0
		kill -0 "$CALLEE" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench: the callee (sipshard-load uas) is not listening on 127.0.0.1:$CALLEE_PORT" \
		"(CALLEE_PORT= picks another port):" >&2
	tail -n 5 "$WORK/uas.out" >&2
	exit 1
}

# bench_daemon BUILD WORKERS [EXTRA]: starts sipshardd BUILD fresh (a new
# run_dir, WORK/run or BENCH_RUN_DIR, --discard-dialogs) with WORKERS workers
# routing every call to the callee, EXTRA (JSON members, each followed by a
# comma) added to its config (DAEMON_ARGS: more of its options); sets DAEMON
# to its pid and waits until it listens (its records are put in memory first:
# a second or more for a large capacity.setups).
bench_daemon() {
	local run_dir=${BENCH_RUN_DIR:-$WORK/run}
	rm -rf "$run_dir"
	cat >"$WORK/c.json" <<JSON
{ "listen": "127.0.0.1:$SUT_PORT", "workers": $2, "run_dir": "$run_dir", ${3:-}
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$CALLEE_PORT" } ] }
JSON
	"$1" -c "$WORK/c.json" --discard-dialogs ${DAEMON_ARGS:-} >"$WORK/d.log" 2>&1 &
	DAEMON=$!
	bench_wait_listening "$DAEMON" "$WORK/d.log" "$1"
}

# bench_wait_listening PID LOG NAME: waits (30 s at most) until the sipshardd
# of PID says in LOG (its stderr, at log level info) that it listens, looking
# every 20 ms (restart.sh times a restart by it). It binds
# its port before its pools are in memory, a second or more for a large
# capacity.setups and longer on huge pages, and INVITEs sent meanwhile wait
# and then come in as one burst (with their retransmissions) that fills its
# ring to the controller: 503s. Exits naming NAME when it never says so.
bench_wait_listening() {
	local i
	for i in $(seq 1 1500); do
		# (the log is made by the shell that starts the daemon: maybe not yet)
		grep -q 'listening on' "$2" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.02
	done
	echo "bench: $3 did not start listening:" >&2
	tail -5 "$2" >&2
	exit 1
}

# bench_info_load SECONDS: starts sipshard-load uac against the daemon on
# SUT_PORT (1000 calls set up at 2000/s, then INFO with 256 outstanding until
# SECONDS have passed; figures in WORK/uac.json) and sets UAC to its pid. The
# in-dialog phase begins once the calls are up, about 0.5 s in.
bench_info_load() {
	rm -f "$WORK/uac.json"
	"$BUILD/sipshard-load" --role uac --target "127.0.0.1:$SUT_PORT" --calls 1000 --rate 2000 \
		--duration "$1" --window 256 --json "$WORK/uac.json" >"$WORK/uac.out" 2>&1 &
	UAC=$!
}

# bench_uac_done RC: after a sipshard-load uac run (its exit status RC, its
# figures in WORK/uac.json, removed before it started, its output in
# WORK/uac.out), exits the script saying why when the run has no figures of
# its own: exit 2 (a usage or setup error, such as a port in use), a signal,
# or no JSON written; or when the callee stopped. Without this the next step
# read the JSON an earlier run left in WORK and reported it as this run's.
# Exit 1 (errors above --max-errors: timeouts, 503s) is a run with figures,
# the very ones a rate the daemon cannot hold gives.
bench_uac_done() {
	if ! kill -0 "$CALLEE" 2>/dev/null; then
		echo "bench: the callee (sipshard-load uas) stopped during the run; it said:" >&2
		tail -n 5 "$WORK/uas.out" >&2
		exit 1
	fi
	[ "$1" -le 1 ] && [ -s "$WORK/uac.json" ] && return 0
	echo "bench: sipshard-load uac failed (exit $1): this run has no figures; it said:" >&2
	tail -n 20 "$WORK/uac.out" >&2
	exit 1
}

bench_end() {
	# every process started in the background and still running: the callee,
	# and the daemon and the uac when the script is stopped during a run (a
	# `wait` for a daemon still up would never return)
	local p
	for p in "${PIDS[@]}" $(jobs -p); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}

# stat_ticks FILE: the CPU ticks (utime + stime, in 1/100 s) of a process or
# thread, from its /proc stat FILE, read after the name in parentheses (which
# may hold spaces); nothing when FILE is gone.
stat_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "$1" 2>/dev/null
}

# thread_ticks PID: a line per thread of the process, in the order they were
# started: its name and its CPU ticks so far (utime + stime). sipshardd names
# its threads sipshard-w0 ... and sipshard-ctl; the first is its main thread.
thread_ticks() {
	local t
	for t in $(ls "/proc/$1/task" | sort -n); do
		echo "$(cat "/proc/$1/task/$t/comm") $(stat_ticks "/proc/$1/task/$t/stat")"
	done
}
