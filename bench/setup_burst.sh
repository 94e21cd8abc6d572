#!/usr/bin/env bash
# A burst of new calls on a freshly started daemon: what share is set up, and
# how many page faults the daemon takes while it is. Three memory setups side
# by side, in one run, each started fresh for every burst:
#   small     transparent_hugepage never: every pool on 4 KiB pages
#   huge      transparent_hugepage madvise: the daemon's own pools (set-up
#             records, rings, buffers) on 2 MiB pages; dialog tables in a run_dir
#             on a tmpfs without huge= (as /run is), so on 4 KiB pages
#   huge+tbl  the same, with run_dir on a tmpfs mounted huge=advise
# (README, "Memory"). Needs root: it sets the host's transparent_hugepage mode
# for each setup and puts the old one back, and it mounts the tmpfs.
#
#   bench/setup_burst.sh [--out DIR] [--rates "5000 10000 15000"] [--reps N]
#
# Each burst: 2 workers, sipshard-load uas as the callee, uac sets up 2*RATE
# calls at RATE per second as soon as the daemon says it listens (its pools
# are in memory then), holds them 1 s (--req-rate 1: one or two INFO, not the
# default mix at its peak rate, whose relaying would add its page faults to
# the burst's), ends them. Results: DIR/setup_burst.json (every run),
# DIR/setup_burst.txt (the table: median of the runs). SUT_PORT and
# CALLEE_PORT (5060, 5080) name other ports when those are taken; a callee
# that cannot bind, or a daemon that does not start or stops, ends the script
# with its message (bench/lib.sh).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/results
RATES="5000 10000 15000"
REPS=3
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift ;;
	--rates) RATES=$2; shift ;;
	--reps) REPS=$2; shift ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "setup_burst.sh: unknown argument '$1' (expected --out DIR, --rates LIST or --reps N)" >&2; exit 2 ;;
	esac
	shift
done
. bench/lib.sh
bench_count setup_burst.sh --reps "$REPS"
THP=/sys/kernel/mm/transparent_hugepage/enabled
MODE=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$THP" 2>/dev/null)
if [ -z "$MODE" ] || ! [ -w "$THP" ]; then
	echo "setup_burst.sh: needs root and a kernel with transparent huge pages ($THP)" >&2
	exit 1
fi
bench_need setup_burst.sh "$BUILD/sipshardd" "$BUILD/sipshard-load"
# WORK on /dev/shm (the "small" and "huge" run_dir), SUT_PORT, CALLEE_PORT,
# the callee started and listening
bench_begin burst
HUGEFS=$WORK/hugefs
mkdir -p "$HUGEFS"
mount -t tmpfs -o huge=advise,mode=0700 tmpfs "$HUGEFS" ||
	{ echo "setup_burst.sh: cannot mount a tmpfs with huge=advise" >&2; exit 1; }
cleanup() {
	echo "$MODE" >"$THP"
	umount "$HUGEFS"
	bench_end
}
trap cleanup EXIT

# burst SETUP RATE REP: one fresh daemon, one burst; appends a JSON line
burst() {
	local setup=$1 rate=$2 rep=$3 run_dir thp d f0 f1
	case $setup in
	small) thp=never run_dir=$WORK/run ;;
	huge) thp=madvise run_dir=$WORK/run ;;
	huge+tbl) thp=madvise run_dir=$HUGEFS/run ;;
	esac
	echo "$thp" >"$THP"
	# the burst starts once the daemon says it listens: it binds its port
	# before its pools are in memory, and INVITEs sent meanwhile would wait
	# and come in as one burst with their retransmissions
	BENCH_RUN_DIR=$run_dir bench_daemon "$BUILD/sipshardd" 2
	d=$DAEMON
	f0=$(awk '{print $10}' "/proc/$d/stat")
	rm -f "$WORK/uac.json"
	"$BUILD/sipshard-load" --role uac --target "127.0.0.1:$SUT_PORT" --calls $((rate * 2)) \
		--rate "$rate" --duration 1 --req-rate 1 --json "$WORK/uac.json" >"$WORK/uac.out" 2>&1
	# exit 2 or no JSON: no figures of this burst (an earlier one's would be
	# read); the callee gone: none either
	bench_uac_done $?
	f1=$(awk '{print $10}' "/proc/$d/stat" 2>/dev/null)
	if [ -z "$f1" ]; then
		echo "setup_burst.sh: sipshardd ($setup) stopped during the burst; its log ends:" >&2
		tail -n 5 "$WORK/d.log" >&2
		exit 1
	fi
	kill -9 "$d"
	wait "$d" 2>/dev/null
	python3 - "$WORK/uac.json" "$setup" "$rate" "$rep" $((f1 - f0)) >>"$OUT/setup_burst.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
inv = u["latency_us_by_method"].get("INVITE", {})
print(json.dumps({"setup": sys.argv[2], "rate": int(sys.argv[3]), "rep": int(sys.argv[4]),
                  "attempted": u["calls"]["attempted"], "established": u["calls"]["established"],
                  "faults": int(sys.argv[5]), "invite_p50_ms": inv.get("p50", 0) / 1000,
                  "invite_p99_ms": inv.get("p99", 0) / 1000}))
PY
}

: >"$OUT/setup_burst.json"
for rep in $(seq 1 "$REPS"); do
	for rate in $RATES; do
		# the setups alternate within each rate, so that a slow moment of the
		# machine falls on all of them alike
		for setup in small huge huge+tbl; do
			burst "$setup" "$rate" "$rep"
			tail -1 "$OUT/setup_burst.json"
		done
	done
done

python3 - "$OUT/setup_burst.json" >"$OUT/setup_burst.txt" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
setups = ["small", "huge", "huge+tbl"]
rates = sorted({r["rate"] for r in runs})
print("fresh sipshardd, 2 workers: a burst of 2*RATE new calls at RATE/s once it listens")
print("median of %d runs each; share set up / daemon page faults during the burst / INVITE p50, p99 ms"
      % max(r["rep"] for r in runs))
print()
print("%-8s" % "rate/s" + "".join("%-34s" % s for s in setups))
for rate in rates:
    row = "%-8d" % rate
    for s in setups:
        rs = [r for r in runs if r["setup"] == s and r["rate"] == rate]
        share = statistics.median(100.0 * r["established"] / r["attempted"] for r in rs)
        faults = statistics.median(r["faults"] for r in rs)
        p50 = statistics.median(r["invite_p50_ms"] for r in rs)
        p99 = statistics.median(r["invite_p99_ms"] for r in rs)
        row += "%-34s" % ("%5.1f%% %7d %6.1f %6.1f" % (share, faults, p50, p99))
    print(row)
PY
cat "$OUT/setup_burst.txt"
