# bench/lib.sh - shared by the benchmark scripts that run sipshardd builds
# against sipshard-load (setup_rate.sh, relay_rate.sh): sourced, not run.
#
# bench_begin NAME: makes WORK (a directory on /dev/shm, as run_dir is on a
# tmpfs in production), sets SUT_PORT and CALLEE_PORT, starts sipshard-load
# uas as the callee on CALLEE_PORT, and arranges that everything started and
# WORK go when the script exits. Needs BUILD and OUT.
bench_begin() {
	mkdir -p "$OUT"
	SUT_PORT=5060
	CALLEE_PORT=5080
	WORK=$(mktemp -d "/dev/shm/sipshard-$1.XXXXXX")
	PIDS=()
	trap bench_end EXIT
	"$BUILD/sipshard-load" --role uas --local "127.0.0.1:$CALLEE_PORT" --duration 0 \
		>"$WORK/uas.out" 2>&1 &
	PIDS+=($!)
}

bench_end() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}

# thread_ticks PID: a line per thread of the process, in the order they were
# started: its name and its CPU ticks so far (utime + stime). sipshardd names
# its threads sipshard-w0 ... and sipshard-ctl; the first is its main thread.
thread_ticks() {
	local t
	for t in $(ls "/proc/$1/task" | sort -n); do
		awk -v n="$(cat "/proc/$1/task/$t/comm")" '{ sub(/.*\) /, ""); print n, $12 + $13 }' \
			"/proc/$1/task/$t/stat"
	done
}
