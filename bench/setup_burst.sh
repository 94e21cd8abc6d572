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
# calls at RATE per second one second after the daemon started, holds them 1 s
# (--req-rate 1: one or two INFO, not the default mix at its peak rate, whose
# relaying would add its page faults to the burst's), ends them. Results: DIR/setup_burst.json (every run), DIR/setup_burst.txt
# (the table: median of the runs).
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
	-h | --help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "setup_burst.sh: unknown argument '$1' (expected --out DIR, --rates LIST or --reps N)" >&2; exit 2 ;;
	esac
	shift
done
for b in sipshardd sipshard-load; do
	[ -x "$BUILD/$b" ] || { echo "setup_burst.sh: $BUILD/$b is missing: run make first" >&2; exit 1; }
done
THP=/sys/kernel/mm/transparent_hugepage/enabled
MODE=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$THP" 2>/dev/null)
if [ -z "$MODE" ] || ! [ -w "$THP" ]; then
	echo "setup_burst.sh: needs root and a kernel with transparent huge pages ($THP)" >&2
	exit 1
fi
mkdir -p "$OUT"
SUT_PORT=5060
CALLEE_PORT=5080
WORK=$(mktemp -d /tmp/sipshard-burst.XXXXXX)
PLAIN=$(mktemp -d /dev/shm/sipshard-burst.XXXXXX)
HUGEFS=$WORK/hugefs
mkdir -p "$HUGEFS"
mount -t tmpfs -o huge=advise,mode=0700 tmpfs "$HUGEFS" ||
	{ echo "setup_burst.sh: cannot mount a tmpfs with huge=advise" >&2; exit 1; }
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	echo "$MODE" >"$THP"
	umount "$HUGEFS"
	rm -rf "$WORK" "$PLAIN"
}
trap cleanup EXIT

"$BUILD/sipshard-load" --role uas --local "127.0.0.1:$CALLEE_PORT" --duration 0 >"$WORK/uas.out" 2>&1 &
PIDS+=($!)

# burst SETUP RATE REP: one fresh daemon, one burst; appends a JSON line
burst() {
	local setup=$1 rate=$2 rep=$3 run_dir thp d f0 f1
	case $setup in
	small) thp=never run_dir=$PLAIN/run ;;
	huge) thp=madvise run_dir=$PLAIN/run ;;
	huge+tbl) thp=madvise run_dir=$HUGEFS/run ;;
	esac
	echo "$thp" >"$THP"
	rm -rf "$run_dir"
	cat >"$WORK/c.json" <<JSON
{ "listen": "127.0.0.1:$SUT_PORT", "workers": 2, "run_dir": "$run_dir",
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$CALLEE_PORT" } ] }
JSON
	"$BUILD/sipshardd" -c "$WORK/c.json" --discard-dialogs >"$WORK/d.log" 2>&1 &
	d=$!
	sleep 1
	f0=$(awk '{print $10}' "/proc/$d/stat")
	rm -f "$WORK/uac.json"
	"$BUILD/sipshard-load" --role uac --target "127.0.0.1:$SUT_PORT" --calls $((rate * 2)) \
		--rate "$rate" --duration 1 --req-rate 1 --json "$WORK/uac.json" >"$WORK/uac.out" 2>&1
	local rc=$?
	# exit 2 or no JSON: no figures of this burst (an earlier one's would be read)
	if [ "$rc" -gt 1 ] || ! [ -s "$WORK/uac.json" ]; then
		echo "setup_burst.sh: sipshard-load uac failed (exit $rc); it said:" >&2
		tail -n 20 "$WORK/uac.out" >&2
		exit 1
	fi
	f1=$(awk '{print $10}' "/proc/$d/stat")
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
print("fresh sipshardd, 2 workers: a burst of 2*RATE new calls at RATE/s one second after start")
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
