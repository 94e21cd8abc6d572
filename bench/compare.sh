#!/usr/bin/env bash
# The comparison suite: the same in-dialog load, side by side in one run,
# against
#   - sipshardd with 1 and 2 workers (BPF steering on, then off),
#   - Kamailio (bench/kamailio/kamailio.cfg) with and without the dialog module,
#   - a bare UDP echo over the same batched I/O (the ceiling),
# then the same against sipshardd from a single source IP:port (a trunk), and a
# scaling run over the number of established calls, each point twice, side by
# side: with the shard tables (files in run_dir) on a plain tmpfs, as /run is on
# most hosts, and on a tmpfs mounted huge=advise, which gives them huge pages
# (README, "Memory"; mounting it needs root: without, that series is left out
# and the run says so). Every figure comes from sipshard-load (uac) against
# sipshard-load (uas) as the callee.
#
#   bench/compare.sh [--quick] [--out DIR]
# Results: DIR/results.json, DIR/*.png and *.svg (gnuplot), DIR/table.md, from
# the per-run files DIR/NAME.json (and NAME.txt, NAME.progress). A run reports
# only what it measured: it first removes the per-run files an earlier run left
# in DIR (a --quick run after a full one reported the full run's 100k and 1M
# scaling points as its own). SUT_PORT and CALLEE_PORT (5060, 5080) name other
# ports when those are taken.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/results
QUICK=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown argument '$1' (expected --quick or --out DIR)" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$OUT"
# every per-run file this script writes, under any name a run of it (full or
# --quick) gives: report.py reads whichever are there
for name in echo sipshard-1w-bpf sipshard-2w-bpf sipshard-2w-nobpf sipshard-2w-bpf-trunk \
	kamailio-dialog kamailio-nodialog; do
	rm -f "$OUT/$name.json" "$OUT/$name.txt" "$OUT/$name.progress" "$OUT/$name.daemon.log"
done
rm -f "$OUT"/scale-*[0-9].json "$OUT"/scale-*[0-9].txt "$OUT"/scale-*[0-9].progress \
	"$OUT"/scale-*[0-9].daemon.log
. bench/lib.sh # bench_wait_listening, stat_ticks
LOAD=$BUILD/sipshard-load
DURATION=${DURATION:-$([ $QUICK = 1 ] && echo 3 || echo 10)}
CALLS=${CALLS:-$([ $QUICK = 1 ] && echo 200 || echo 1000)}
WINDOW=${WINDOW:-256}
SUT_PORT=${SUT_PORT:-5060}
CALLEE_PORT=${CALLEE_PORT:-5080}
PIDS=()
# sipshardd's shard table files, apart from any installed daemon's; every start
# below takes --discard-dialogs, as each run begins with no calls
RUN_DIR=$(mktemp -d /dev/shm/sipshard-bench.XXXXXX) # tmpfs, as /run is on most hosts
# the scaling runs' second run_dir: a tmpfs of its own that gives files huge
# pages, as examples/run-sipshard.mount mounts one (size: a share of RAM, room
# for the 1M point's 11 GiB of files on a 24 GiB machine)
HUGE_DIR=$(mktemp -d /tmp/sipshard-bench-huge.XXXXXX)
HUGE_OK=0
if mount -t tmpfs -o huge=advise,mode=0700,size=90% tmpfs "$HUGE_DIR" 2>/dev/null; then
	HUGE_OK=1
else
	echo "compare.sh: cannot mount a huge=advise tmpfs on $HUGE_DIR (needs root):" \
		"the scaling runs with the tables on huge pages are left out" >&2
fi

cleanup() {
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$RUN_DIR"
	[ $HUGE_OK = 1 ] && umount "$HUGE_DIR"
	rmdir "$HUGE_DIR"
}
trap cleanup EXIT
# a stop by signal runs cleanup too: the huge-page tmpfs must not stay mounted
trap 'exit 130' INT
trap 'exit 143' TERM

need() { command -v "$1" >/dev/null || { echo "compare.sh: $1 is missing (scripts/deps.sh --bench installs it)" >&2; exit 1; }; }
[ -x "$LOAD" ] || { echo "compare.sh: $LOAD is missing: run make first" >&2; exit 1; }
need kamailio
need gnuplot

# the port is bound before the BPF program is attached: settle a little after
wait_port() { for _ in $(seq 1 50); do ss -Hlun "sport = :$1" | grep -q . && sleep 0.3 && return 0; sleep 0.1; done; return 1; }

# start_sipshardd NAME ARGS...: starts sipshardd, its log in OUT/NAME.daemon.log,
# sets SUT_PID and waits until it says it listens (bench/lib.sh)
start_sipshardd() {
	local name=$1
	shift
	"$BUILD/sipshardd" "$@" >"$OUT/$name.daemon.log" 2>&1 &
	PIDS+=($!)
	SUT_PID=$!
	bench_wait_listening "$SUT_PID" "$OUT/$name.daemon.log" "sipshardd ($name)"
}

start() { "$@" >/dev/null 2>&1 & PIDS+=($!); }
# SIGINT: sipshardd stops at once (SIGTERM would drain the calls still up)
stop_all() { for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done; wait 2>/dev/null; PIDS=(); }

# cpu_seconds PID: user+system CPU seconds of a process, its threads and its
# children (Kamailio works in child processes)
cpu_seconds() {
	local ticks=0 p t
	for p in "$1" $(pgrep -P "$1"); do
		t=$(stat_ticks "/proc/$p/stat")
		ticks=$((ticks + ${t:-0}))
	done
	awk -v t="$ticks" 'BEGIN { print t / 100 }'
}
# pss_kb PID: proportional set size (sum of Pss: in /proc/PID/smaps_rollup) of a
# process and its children. PSS splits each shared page among the processes
# mapping it, so Kamailio's shared memory counts once over its processes, not
# once per process as with RSS.
pss_kb() {
	local total=0 p
	for p in "$1" $(pgrep -P "$1"); do
		total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
	done
	echo "$total"
}

# run NAME [uac extra args]: drives the system under test on SUT_PORT. The
# system's PSS is taken before the first call and again as soon as the uac
# reports its mix phase (every call established; its progress line comes once
# a second, so up to a second of in-dialog traffic has run by then).
run() {
	local name=$1
	shift
	local sut_pid=${SUT_PID:-}
	local cpu0=0 pss0=0 pss1=0
	[ -n "$sut_pid" ] && cpu0=$(cpu_seconds "$sut_pid") && pss0=$(pss_kb "$sut_pid")
	"$LOAD" --role uac --target "127.0.0.1:$SUT_PORT" --calls "$CALLS" --rate 2000 \
		--duration "$DURATION" --window "$WINDOW" --mix INFO:100 --max-errors 1000000 \
		--json "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>"$OUT/$name.progress" &
	local uac=$!
	while kill -0 "$uac" 2>/dev/null; do
		if [ -n "$sut_pid" ] && [ "$pss1" = 0 ] && grep -q '] mix ' "$OUT/$name.progress"; then
			pss1=$(pss_kb "$sut_pid")
		fi
		sleep 0.1
	done
	wait "$uac"
	if [ -n "$sut_pid" ]; then
		python3 - "$OUT/$name.json" "$(cpu_seconds "$sut_pid")" "$cpu0" "$pss1" "$pss0" <<'PY'
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["sut"] = {"cpu_s": float(sys.argv[2]) - float(sys.argv[3]),
            "pss_kb_calls_up": int(sys.argv[4]), "pss_kb_before_calls": int(sys.argv[5])}
json.dump(j, open(p, "w"), indent=1)
PY
	fi
	echo "   $name done"
}

with_callee() { start "$LOAD" --role uas --local "127.0.0.1:$CALLEE_PORT"; wait_port $CALLEE_PORT; }

echo "== ceiling: bare UDP echo"
start "$BUILD/udp_echo" --addr "127.0.0.1:$SUT_PORT" --threads 2
wait_port $SUT_PORT
SUT_PID=${PIDS[-1]} run echo --echo
stop_all

# the embedded default (listen 5060, every call to 5080) with this run's run_dir
cat >"$OUT/default.json" <<JSON
{ "listen": "127.0.0.1:$SUT_PORT", "run_dir": "$RUN_DIR",
  "routes": [ { "name": "local-callee", "target": "127.0.0.1:$CALLEE_PORT" } ] }
JSON
for w in 1 2; do
	for steer in bpf nobpf; do
		[ $w = 1 ] && [ $steer = nobpf ] && continue
		echo "== sipshardd, $w worker(s), $steer"
		with_callee
		flags=(--workers "$w")
		[ $steer = nobpf ] && flags+=(--no-bpf)
		start_sipshardd "sipshard-${w}w-$steer" -c "$OUT/default.json" --discard-dialogs \
			"${flags[@]}"
		run "sipshard-${w}w-$steer"
		stop_all
		[ $w = 2 ] && [ $steer = bpf ] || continue
		# the trunk on a daemon of its own, as every row: on the one just
		# used, its PSS before the first call held every page the previous
		# run had touched (62751 bytes per call against 869294 fresh, --quick)
		echo "== sipshardd, $w workers, $steer, every call from one source (a trunk)"
		with_callee
		start_sipshardd "sipshard-${w}w-$steer-trunk" -c "$OUT/default.json" --discard-dialogs \
			"${flags[@]}"
		run "sipshard-${w}w-$steer-trunk" --sources 1
		stop_all
	done
done

for dlg in dialog nodialog; do
	echo "== kamailio ($dlg)"
	with_callee
	# tm keeps finished transactions for its wait timer: at tens of thousands of
	# requests/s that needs gigabytes of shared memory (-m, MB), or it answers 500
	args=(-m 1024 -M 64 -f bench/kamailio/kamailio.cfg -DD -E -w "$OUT" -A "LISTEN=udp:127.0.0.1:$SUT_PORT"
	      -A "CALLEE=\"sip:127.0.0.1:$CALLEE_PORT\"" -A "CHILDREN=$(nproc)")
	[ $dlg = dialog ] && args+=(-A WITH_DIALOG)
	start kamailio "${args[@]}"
	SUT_PID=${PIDS[-1]}
	wait_port $SUT_PORT
	run "kamailio-$dlg"
	stop_all
done

# Setup rate of the scaling runs: at 5000 calls/s the controller's ring filled
# on 2 shared cores and 3-25% of the INVITEs got 503 (overload shedding), so the
# "established calls" were fewer than asked; 2000/s sets them all up (1M: 500 s).
SCALE_RATE=${SCALE_RATE:-2000}
echo "== scaling: in-dialog load against the number of established calls (sipshardd, 2 workers)," \
	"tables on small pages, then on huge pages"
# scale_config FILE DIR: room for the largest run: dialogs on two shards,
# setups lingering 8 s at the setup rate
scale_config() {
	cat >"$1" <<JSON
{ "listen": "127.0.0.1:$SUT_PORT", "run_dir": "$2",
  "capacity": { "dialogs_per_shard": 600000, "transactions_per_shard": 65536, "setups": 65536 },
  "limits": { "max_calls": 2000000 },
  "routes": [ { "target": "127.0.0.1:$CALLEE_PORT" } ] }
JSON
}
scale_config "$OUT/scale.json" "$RUN_DIR"
scale_config "$OUT/scale-huge.json" "$HUGE_DIR"
for n in 1000 10000 $([ $QUICK = 1 ] || echo 100000 1000000); do
	for pages in small huge; do
		[ $pages = huge ] && [ $HUGE_OK = 0 ] && continue
		name=scale-$n conf=$OUT/scale.json dir=$RUN_DIR
		[ $pages = huge ] && name=scale-huge-$n conf=$OUT/scale-huge.json dir=$HUGE_DIR
		with_callee
		start_sipshardd "$name" --workers 2 -c "$conf" --discard-dialogs
		CALLS=$n run "$name" --rate "$SCALE_RATE"
		stop_all
		# the tables stay in the tmpfs after a stop (for a restart): 10 GiB
		# at 1M calls, which the next run, on the other tmpfs, needs too
		rm -f "$dir"/*.tbl "$dir"/*.heads
	done
done

python3 bench/report.py "$OUT"
