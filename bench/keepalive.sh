#!/usr/bin/env bash
# What the in-dialog keep-alive (timers.dialog_keepalive_s) costs, side by side
# in one run: established calls held quiet with it off ("quiet"), the same
# calls with a round every S seconds ("keepalive": each call's two sides get an
# OPTIONS and answer it, 2 datagrams out and 2 in per call and round), and the
# same calls with it off carrying INFO at the rate that moves as many
# datagrams through sipshard ("info": calls/S requests per second, each
# relayed one way and its 200 the other: 4 datagrams).
#
#   bench/keepalive.sh [--builds "A B ..."] [--calls "5000 20000"] [--every S]
#                      [--seconds D] [--reps N] [--out DIR]
#   bench/keepalive.sh --report FILE [--every S] [--seconds D]
#
# Each run: a fresh daemon (1 worker, run_dir on /dev/shm), sipshard-load uas
# as the callee, uac sets up the calls at 5000/s and holds them D seconds
# (sending 100 INFO a second in "quiet" and "keepalive": the latency a call's
# own requests see while the keep-alive runs), then ends them. The
# three modes (and the builds, default build/sipshardd) take turns within each
# rep, so that a slow moment of a shared machine falls on all alike. Figures over the hold phase (from 1 s into it
# to 1 s before its end): the daemon's CPU in ms per second, the keep-alive's
# OPTIONS per second (the daemon's statistics) and how many went unanswered,
# the INFO rate and its latency. Results: DIR/keepalive.json (a line per run),
# DIR/keepalive.txt (medians and the ratios). The CPU per datagram is the
# CPU above quiet's over the datagrams the mode adds to quiet's: 2 per OPTIONS
# (keepalive), 4 per INFO beyond quiet's 100 a second (info: its INFO replace
# those). --report FILE prints the table of a keepalive.json again (with the
# --every and --seconds it was run with) and runs nothing.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/results
BUILDS=$BUILD/sipshardd
CALLS="5000 20000"
EVERY=2
SECONDS_=10
REPS=3
REPORT=
while [ $# -gt 0 ]; do
	case $1 in
	--builds) BUILDS=$2; shift ;;
	--calls) CALLS=$2; shift ;;
	--every) EVERY=$2; shift ;;
	--seconds) SECONDS_=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--report) REPORT=$2; shift ;;
	-h | --help) sed -n '2,28p' "$0"; exit 0 ;;
	*) echo "keepalive.sh: unknown argument '$1' (expected --builds, --calls, --every, --seconds, --reps, --out or --report)" >&2; exit 2 ;;
	esac
	shift
done
[ "$SECONDS_" -ge 4 ] || { echo "keepalive.sh: --seconds must be at least 4" >&2; exit 2; }

# summary FILE: the table (medians per build, calls and mode) and the ratios
summary() {
	python3 - "$1" "$EVERY" "$SECONDS_" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
every, secs = sys.argv[2], sys.argv[3]
print("established calls held %s s, 1 worker; keepalive: a round every %s s; info: keep-alive"
      " off, calls/%s INFO a second (as many datagrams); median of %d runs" %
      (secs, every, every, max(r["rep"] for r in runs)))
print()
builds = list(dict.fromkeys(r["build"] for r in runs))
for b, c in ((b, c) for b in builds for c in sorted({r["calls"] for r in runs})):
    if c == min(r["calls"] for r in runs):
        print("\n%s" % b)
        print("%-7s %-10s %9s %12s %8s %9s %8s %8s %12s" % ("calls", "mode", "CPU ms/s",
              "OPTIONS/s", "missed", "INFO/s", "p50 us", "p99 us", "us/datagram"))
    med = {}
    for mode in ("quiet", "keepalive", "info"):
        rs = [r for r in runs if r["build"] == b and r["calls"] == c and r["mode"] == mode]
        m = lambda k: statistics.median(r[k] for r in rs)
        med[mode] = {k: m(k) for k in rs[0] if isinstance(rs[0][k], (int, float))}
    q = med["quiet"]
    # the datagrams a mode adds to quiet's, which carries 100 INFO a second:
    # the keep-alive's 2 per OPTIONS on top of those; in info, calls/EVERY
    # INFO a second in all, replacing them, so only those beyond quiet's add
    # (4 each: the request and its 200, each received and sent)
    def added(mode, f):
        if mode == "keepalive":
            return 2 * f["keepalives_per_s"]
        return 4 * (f["info_per_s"] - q["info_per_s"])
    def per(mode, f):
        dg = added(mode, f)
        return (f["cpu_ms_per_s"] - q["cpu_ms_per_s"]) * 1000 / dg if dg > 0 else float("nan")
    for mode, f in med.items():
        print("%-7d %-10s %9.1f %12.0f %8d %9.0f %8.0f %8.0f %12.2f" % (
            c, mode, f["cpu_ms_per_s"], f["keepalives_per_s"], f["keepalives_missed"],
            f["info_per_s"], f["info_p50_us"], f["info_p99_us"],
            per(mode, f) if mode != "quiet" else float("nan")))
    k, i = med["keepalive"], med["info"]
    if added("keepalive", k) > 0 and added("info", i) > 0:
        print("%-7d keep-alive CPU per datagram / relayed INFO CPU per datagram: %.2f"
              % (c, per("keepalive", k) / per("info", i)))
PY
}
if [ -n "$REPORT" ]; then
	summary "$REPORT"
	exit
fi
. bench/lib.sh
bench_count keepalive.sh --reps "$REPS"
bench_need keepalive.sh $BUILDS "$BUILD/sipshard-load"
bench_begin keepalive

# the daemon's CPU ticks, all threads
cpu_ticks() {
	thread_ticks "$1" | awk '{ all += $2 } END { print all }'
}

# run BUILD MODE CALLS REP: one run, its line appended to keepalive.json
run() {
	local build=$1 mode=$2 calls=$3 rep=$4 extra="" req_rate=100 c0 c1
	[ "$mode" = keepalive ] && extra="\"timers\": { \"dialog_keepalive_s\": $EVERY },"
	[ "$mode" = info ] && req_rate=$((calls / EVERY))
	rm -f "$WORK/stats.json" "$WORK/uac.json"
	DAEMON_ARGS="--stats-file $WORK/stats.json" bench_daemon "$build" 1 "$extra"
	local d=$DAEMON setup_s=$(((calls + 4999) / 5000))
	"$BUILD/sipshard-load" --role uac --target "127.0.0.1:$SUT_PORT" --calls "$calls" \
		--rate 5000 --duration "$SECONDS_" --req-rate "$req_rate" --window 4096 \
		--json "$WORK/uac.json" >"$WORK/uac.out" 2>&1 &
	local uac=$!
	sleep $((setup_s + 1))
	c0=$(cpu_ticks "$d")
	cp "$WORK/stats.json" "$WORK/s0.json"
	sleep $((SECONDS_ - 2))
	c1=$(cpu_ticks "$d")
	cp "$WORK/stats.json" "$WORK/s1.json"
	wait "$uac"
	bench_uac_done $?
	kill -9 "$d"
	wait "$d" 2>/dev/null
	python3 - "$WORK/uac.json" "$WORK/s0.json" "$WORK/s1.json" "$mode" "$calls" "$rep" \
		"$c0" "$c1" "$((SECONDS_ - 2))" "$(getconf CLK_TCK)" "$build" >>"$OUT/keepalive.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
s0, s1 = (json.load(open(f)) for f in sys.argv[2:4])
ka = lambda s, k: sum(w["keepalive"][k] for w in s["workers"])
secs, hz = float(sys.argv[9]), int(sys.argv[10])
lat = u["latency_us_by_method"].get("INFO", {})
print(json.dumps({
    "build": sys.argv[11], "mode": sys.argv[4], "calls": int(sys.argv[5]), "rep": int(sys.argv[6]),
    "cpu_ms_per_s": (int(sys.argv[8]) - int(sys.argv[7])) / hz / secs * 1000,
    "keepalives_per_s": (ka(s1, "sent") - ka(s0, "sent")) / secs,
    "keepalives_missed": ka(s1, "missed"), "calls_ended_by_keepalive": ka(s1, "calls_ended"),
    "info_per_s": u["requests"]["per_second"], "info_p50_us": lat.get("p50", 0),
    "info_p99_us": lat.get("p99", 0), "timeouts": u["requests"]["timeouts"]}))
PY
}

: >"$OUT/keepalive.json"
for rep in $(seq 1 "$REPS"); do
	for calls in $CALLS; do
		for mode in quiet keepalive info; do
			for build in $BUILDS; do
				run "$build" "$mode" "$calls" "$rep"
				tail -1 "$OUT/keepalive.json"
			done
		done
	done
done

summary "$OUT/keepalive.json" >"$OUT/keepalive.txt"
cat "$OUT/keepalive.txt"
