#!/usr/bin/env bash
# In-dialog requests at the highest rate a bounded window allows, for one or
# more sipshardd builds side by side in one run: requests per second relayed,
# their latency, and the daemon's CPU per 100k requests, with the share of it
# on threads other than the workers (which should do none of it).
#
#   bench/relay_rate.sh [--builds "A B ..."] [--workers "1 2"] [--seconds S]
#                       [--reps N] [--out DIR]
#
# --builds: sipshardd binaries to compare (default build/sipshardd), named by
# their path in the results. For every rep and worker count the builds take
# turns, so that a slow moment of a shared machine falls on all alike. Each
# run: a fresh daemon (run_dir on /dev/shm), sipshard-load uas as the callee,
# uac sets up 1000 calls, then sends INFO with 256 outstanding for S seconds
# (a whole number, 3 or more: the daemon's CPU is read from 1.5 s into the run
# to 0.5 s before its end, S - 2 seconds; default 8).
# Results: DIR/relay_rate.json (a line per run), DIR/relay_rate.txt (medians).
# A request that failed (an error response such as a 503, or a timeout)
# was answered, not relayed: a run with any gives no rate. Its line counts
# them by code, its row in the table has "-" for every figure and the count,
# and the script says so and exits 1 after the table.
# Environment (bench/lib.sh): DAEMON_ARGS, more options for every daemon
# (DAEMON_ARGS=--no-bpf measures the handoff between workers over rings: the
# kernel spreads the datagrams and a worker passes on those of the others'
# calls); SUT_PORT and CALLEE_PORT, the daemon's and the callee's UDP ports
# (5060, 5080).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/results
BUILDS=$BUILD/sipshardd
WORKERS="1 2"
SECONDS_=8
REPS=3
while [ $# -gt 0 ]; do
	case $1 in
	--builds) BUILDS=$2; shift ;;
	--workers) WORKERS=$2; shift ;;
	--seconds) SECONDS_=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h | --help) sed -n '2,26p' "$0"; exit 0 ;;
	*) echo "relay_rate.sh: unknown argument '$1' (expected --builds, --workers, --seconds, --reps or --out)" >&2; exit 2 ;;
	esac
	shift
done
# a shorter run leaves no time between the two CPU readings: its figure was a
# division by zero that ended the script with no line written
[ "$SECONDS_" -ge 3 ] 2>/dev/null ||
	{ echo "relay_rate.sh: --seconds needs a whole number, 3 or more (not '$SECONDS_')" >&2; exit 2; }
. bench/lib.sh
bench_count relay_rate.sh --reps "$REPS"
# shellcheck disable=SC2086 # a list of worker counts
bench_count relay_rate.sh --workers $WORKERS
bench_need relay_rate.sh $BUILDS "$BUILD/sipshard-load"
bench_begin relay

# CPU ticks of the daemon: the sum over its threads, and over those that are
# not workers (in a build that names no thread: its main thread only)
cpu_ticks() {
	thread_ticks "$1" | awk '{ all += $2 } $1 !~ /^sipshard-w/ && ($1 == "sipshard-ctl" || NR == 1) { other += $2 }
		END { print all, other + 0 }'
}

run() {
	local build=$1 workers=$2 rep=$3 d c0 c1
	bench_daemon "$build" "$workers"
	d=$DAEMON
	bench_info_load "$SECONDS_"
	# the daemon's CPU over the in-dialog phase only, which begins once the
	# calls are up (0.5 s): from 1 s into it to 1 s before its end
	sleep 1.5
	c0=$(cpu_ticks "$d")
	sleep $((SECONDS_ - 2))
	c1=$(cpu_ticks "$d")
	wait "$UAC"
	bench_uac_done $?
	kill -9 "$d"
	wait "$d" 2>/dev/null
	python3 - "$WORK/uac.json" "$build" "$workers" "$rep" "$c0" "$c1" "$((SECONDS_ - 2))" \
		"$(getconf CLK_TCK)" >>"$OUT/relay_rate.json" <<'PY' || exit 1
import json, sys
u = json.load(open(sys.argv[1]))
r = u["requests"]
lat = u["latency_us_by_method"].get("INFO", {})
a0, o0 = map(int, sys.argv[5].split())
a1, o1 = map(int, sys.argv[6].split())
secs, hz = float(sys.argv[7]), int(sys.argv[8])
rate = r["per_second"]
# sipshard-load counts a request answered with an error (a 503 from a daemon
# that sheds load, a 481) among those completed, in its rate: the errors
# and the codes other than 1xx and 2xx say how many of them failed
e = u["errors"]
codes = {c: n for c, n in u["responses"]["by_code"].items() if int(c) >= 300 and n}
print(json.dumps({"build": sys.argv[2], "workers": int(sys.argv[3]), "rep": int(sys.argv[4]),
                  "requests_per_s": rate, "timeouts": r["timeouts"],
                  "failed": e["total"], "failed_responses": e["failed_responses"], "codes": codes,
                  "p50_us": lat.get("p50", 0), "p99_us": lat.get("p99", 0),
                  "cpu_s_per_100k": (a1 - a0) / hz / (rate * secs) * 1e5 if rate else None,
                  "cpu_share_not_workers": (o1 - o0) / (a1 - a0) if a1 > a0 else None}))
PY
}

: >"$OUT/relay_rate.json"
for rep in $(seq 1 "$REPS"); do
	for workers in $WORKERS; do
		for build in $BUILDS; do
			run "$build" "$workers" "$rep"
			tail -1 "$OUT/relay_rate.json"
		done
	done
done

python3 - "$OUT/relay_rate.json" "$SECONDS_" >"$OUT/relay_rate.txt" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
builds = list(dict.fromkeys(r["build"] for r in runs))
print("1000 calls, then INFO with 256 outstanding for %s s; median of %d runs" %
      (sys.argv[2], max(r["rep"] for r in runs)))
print("CPU: the daemon's, per 100k requests relayed, and the share of it on threads that are"
      " not workers")
print()
print("%-8s %-40s %10s %9s %9s %10s %10s %9s %9s" % ("workers", "build", "req/s", "p50 us",
      "p99 us", "CPU s/100k", "not worker", "timeouts", "failed"))
refused = []
for w in sorted({r["workers"] for r in runs}):
    for b in builds:
        rs = [r for r in runs if r["build"] == b and r["workers"] == w]
        failed = sum(r["failed"] for r in rs)
        if failed:
            # answered, not relayed: its rate, latency and CPU are the
            # daemon's for refusing them
            print("%-8d %-40s %10s %9s %9s %10s %10s %9d %9d" % (
                w, b, "-", "-", "-", "-", "-", sum(r["timeouts"] for r in rs), failed))
            codes = {}
            for r in rs:
                for c, n in r["codes"].items():
                    codes[c] = codes.get(c, 0) + n
            why = ["%s: %d" % (c, n) for c, n in sorted(codes.items())]
            timeouts = sum(r["timeouts"] for r in rs)
            if timeouts:
                why.append("timeouts: %d" % timeouts)
            refused.append("%s with %d worker%s: %d of the requests failed (%s)" % (
                b, w, "s" * (w != 1), failed, ", ".join(why) or "sipshard-load's errors"))
            continue
        med = lambda k: statistics.median(r[k] for r in rs if r[k] is not None)
        print("%-8d %-40s %10.0f %9.0f %9.0f %10.2f %9.1f%% %9d %9d" % (
            w, b, med("requests_per_s"), med("p50_us"), med("p99_us"), med("cpu_s_per_100k"),
            100 * med("cpu_share_not_workers"), sum(r["timeouts"] for r in rs), 0))
for line in refused:
    print()
    print("relay_rate.sh: %s; they were answered, not relayed: no rate for them" % line)
PY
cat "$OUT/relay_rate.txt"
# a build whose requests failed has no figure: not a run to compare
! grep -q '^relay_rate.sh: ' "$OUT/relay_rate.txt" || exit 1
