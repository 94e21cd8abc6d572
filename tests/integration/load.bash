# load.bash - what the scripts that run sipshard-load share (load.sh,
# load_uas.sh, load_edges.sh, load_late.sh, load_pacing.sh): the program
# (LOAD, by default the build's), the check that it is built, starting its uas
# and stopping a run so that its JSON is written. Sourced after common.bash,
# with UAS_PORT and WORK set.

LOAD=${LOAD:-$BUILD/sipshard-load}
if [ ! -x "$LOAD" ]; then
	not_ok "sipshard-load is built ($LOAD)"
	exit 1
fi
echo "# sipshard-load: $LOAD"

# start_uas NAME [ARGS...]: a uas on UAS_PORT writing $WORK/NAME.json at exit
start_uas() {
	local name=$1
	shift
	start_bg "$LOAD" --role uas --local "127.0.0.1:$UAS_PORT" --quiet \
		--json "$WORK/$name.json" "$@" >"$WORK/$name.out" 2>&1
	UAS_PID=${PIDS[-1]}
	wait_udp_port "$UAS_PORT"
}

# stop PID: SIGTERM, then wait (up to 5 s) so that its JSON is written. Fails
# when the process had to be killed.
stop() {
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
		sleep 0.1
	done
	echo "# pid $1 ignored SIGTERM"
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 1
}
