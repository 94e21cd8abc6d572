#!/usr/bin/env bash
# New calls at a sustained rate, for one or more sipshardd builds side by side
# in one run: what share is set up, the INVITE's latency, and what each call
# costs the controller thread and the workers (CPU ms per 1000 calls attempted).
#
#   bench/setup_rate.sh [--builds "A B ..."] [--rates "5000 10000 15000"]
#                       [--seconds S] [--reps N] [--ring MS] [--setups N] [--cdr]
#                       [--out DIR]
#
# --builds: sipshardd binaries to compare (default build/sipshardd); each is
# named by its path in the results. For every rep, every rate, the builds
# take turns (a slow moment of a shared machine falls on all alike). Each run:
# a fresh daemon (2 workers, run_dir on /dev/shm), sipshard-load uas as the
# callee, uac sets up RATE*S calls at RATE per second, holds them 1 s and ends
# them (held: --req-rate 1, one or two INFO in that second; sipshard-load's
# default mix would send INFO at its peak rate, whose relaying the workers'
# CPU per call would then count). --ring MS: the callee answers MS after its 180 (default 0), so that up
# to RATE*MS/1000 calls (at most all RATE*S) ring at once; --setups N: the
# daemon's capacity.setups (default its own, 16384), which bounds them.
# --cdr: the daemon writes call detail records (to a file on /dev/shm), and
# the results count the records written.
# Results: DIR/setup_rate.json (a line per run), DIR/setup_rate.txt (the
# table: median of the runs).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/results
BUILDS=$BUILD/sipshardd
RATES="5000 10000 15000"
SECONDS_=5
REPS=3
RING_MS=0
SETUPS=
CDR=0
while [ $# -gt 0 ]; do
	case $1 in
	--builds) BUILDS=$2; shift ;;
	--rates) RATES=$2; shift ;;
	--seconds) SECONDS_=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--ring) RING_MS=$2; shift ;;
	--setups) SETUPS=$2; shift ;;
	--cdr) CDR=1 ;;
	--out) OUT=$2; shift ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "setup_rate.sh: unknown argument '$1' (expected --builds, --rates, --seconds, --reps, --ring, --setups, --cdr or --out)" >&2; exit 2 ;;
	esac
	shift
done
. bench/lib.sh
bench_count setup_rate.sh --reps "$REPS"
CALLEE_ARGS="--answer-delay-ms $RING_MS"
bench_need setup_rate.sh $BUILDS "$BUILD/sipshard-load" "$BUILD/sipshardctl"
bench_begin rate

# CPU ticks of the daemon's controller thread: the one named sipshard-ctl, or
# in a build that names no thread the last one it started
ctl_ticks() {
	thread_ticks "$1" | awk '{ t = $2 } $1 == "sipshard-ctl" { print $2; found = 1; exit }
		END { if (!found) print t }'
}

# CPU ticks of the daemon's workers together (threads named sipshard-wN)
worker_ticks() {
	thread_ticks "$1" | awk '$1 ~ /^sipshard-w[0-9]/ { t += $2 } END { print t + 0 }'
}

run() {
	local build=$1 rate=$2 rep=$3 d calls t0 t1 w0 w1
	calls=$((rate * SECONDS_))
	local extra="\"management_socket\": \"$WORK/ctl.sock\","
	[ -n "$SETUPS" ] && extra="$extra \"capacity\": { \"setups\": $SETUPS },"
	rm -f "$WORK/cdr.jsonl"
	[ "$CDR" = 1 ] && extra="$extra \"cdr_file\": \"$WORK/cdr.jsonl\","
	bench_daemon "$build" 2 "$extra"
	d=$DAEMON
	t0=$(ctl_ticks "$d")
	w0=$(worker_ticks "$d")
	rm -f "$WORK/uac.json"
	"$BUILD/sipshard-load" --role uac --target "127.0.0.1:$SUT_PORT" --calls "$calls" \
		--rate "$rate" --duration 1 --req-rate 1 --json "$WORK/uac.json" >"$WORK/uac.out" 2>&1
	bench_uac_done $?
	t1=$(ctl_ticks "$d")
	w1=$(worker_ticks "$d")
	"$BUILD/sipshardctl" -s "$WORK/ctl.sock" stats >"$WORK/stats.json" 2>&1 || {
		# the daemon is gone (a crash) or does not answer: no figures
		echo "setup_rate.sh: sipshardctl stats failed against $build:" >&2
		cat "$WORK/stats.json" >&2
		tail -n 5 "$WORK/d.log" >&2
		exit 1
	}
	local cdrs=0
	[ -f "$WORK/cdr.jsonl" ] && cdrs=$(wc -l <"$WORK/cdr.jsonl")
	kill -9 "$d"
	wait "$d" 2>/dev/null
	python3 - "$WORK/uac.json" "$WORK/stats.json" "$((t1 - t0))" "$build" "$rate" "$rep" \
		"$(getconf CLK_TCK)" "$cdrs" "$((w1 - w0))" >>"$OUT/setup_rate.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
st = json.load(open(sys.argv[2]))
ring_full = sum(w["drops"]["controller_ring_full"] for w in st["workers"])
ctl = int(sys.argv[3]) / int(sys.argv[7])
est = u["calls"]["established"]
inv = u["latency_us_by_method"].get("INVITE", {})
# the rate the INVITEs went out at: below RATE, the uac could not offer it and
# the figures are those of a lower rate (an older sipshard-load: no figure)
offered = u.get("pacing", {}).get("setup", {}).get("offered_per_second")
print(json.dumps({"build": sys.argv[4], "rate": int(sys.argv[5]), "rep": int(sys.argv[6]),
                  "attempted": u["calls"]["attempted"], "established": est,
                  "offered_per_s": offered,
                  "invite_p50_ms": inv.get("p50", 0) / 1000, "invite_p99_ms": inv.get("p99", 0) / 1000,
                  "controller_cpu_ms": 1000.0 * ctl, "controller_ring_full": ring_full,
                  "cdrs": int(sys.argv[8]),
                  "workers_cpu_ms": 1000.0 * int(sys.argv[9]) / int(sys.argv[7])}))
PY
}

: >"$OUT/setup_rate.json"
for rep in $(seq 1 "$REPS"); do
	for rate in $RATES; do
		for build in $BUILDS; do
			run "$build" "$rate" "$rep"
			tail -1 "$OUT/setup_rate.json"
		done
	done
done

python3 - "$OUT/setup_rate.json" "$SECONDS_" "$RING_MS" >"$OUT/setup_rate.txt" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
builds = list(dict.fromkeys(r["build"] for r in runs))
rates = sorted({r["rate"] for r in runs})
print("fresh sipshardd, 2 workers: RATE new calls per second for %s s, answered %s ms after"
      " the 180, held 1 s, then BYE" % (sys.argv[2], sys.argv[3]))
print("median of %d runs; the rate the INVITEs went out at, share set up, INVITE p50 / p99 ms,"
      " controller thread CPU ms per 1000 calls"
      " attempted, the workers' together, set-ups refused on a full controller ring, CDR lines"
      " written (--cdr)"
      % max(r["rep"] for r in runs))
print()
print("%-8s %-40s %9s %8s %9s %9s %10s %10s %10s %8s" % (
    "rate/s", "build", "offered/s", "set up", "p50 ms", "p99 ms", "ctl ms/1k", "wrk ms/1k", "ring full",
    "CDRs"))
for rate in rates:
    for b in builds:
        rs = [r for r in runs if r["build"] == b and r["rate"] == rate]
        med = lambda f: statistics.median(f(r) for r in rs)
        off = [r["offered_per_s"] for r in rs if r.get("offered_per_s") is not None]
        print("%-8d %-40s %9s %7.1f%% %9.1f %9.1f %10.1f %10.1f %10s %8d" % (
            rate, b, "%.0f" % statistics.median(off) if off else "-",
            med(lambda r: 100.0 * r["established"] / r["attempted"]),
            med(lambda r: r["invite_p50_ms"]), med(lambda r: r["invite_p99_ms"]),
            med(lambda r: 1000.0 * r["controller_cpu_ms"] / r["attempted"]),
            med(lambda r: 1000.0 * r.get("workers_cpu_ms", 0) / r["attempted"]),
            "%d" % med(lambda r: r["controller_ring_full"]), med(lambda r: r.get("cdrs", 0))))
PY
cat "$OUT/setup_rate.txt"
