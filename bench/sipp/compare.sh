#!/usr/bin/env bash
# Headroom: sipshard-load against SIPp on the same call flow, back to back in one
# run, each tool against a callee of its own kind on loopback (no server between):
# INVITE, ACK, K INFOs, BYE per call, for each K in K_LIST (default "1 10").
#   1. SIPp's saturation for that flow: SIPp uac -> SIPp uas (uac_call_info.xml
#      with the INFO count set to K, uas_call_info.xml) at increasing call rates
#      (SIPP_RATES, each for RAMP_SECONDS), then BISECT bisection steps between
#      the last rate that held and the first that did not. A rate holds when no
#      call failed and the achieved rate is within 5% of the one asked (either
#      way); the
#      highest such rate is SIPp's saturation, and its run gives SIPp's figures.
#      When every rate asked holds, SIPp was not saturated: its row says
#      "not saturated (>= N)" and no ratio is given. A SIPp that did not run
#      (a port it could not bind, a scenario error: an exit status other than
#      0 or 1, no statistics) or that held no rate ends the script with its
#      error output, exit 1.
#   2. sipshard-load uac -> sipshard-load uas, the same flow: --calls CALLS
#      established at once, --requests-per-call K (BYE after K INFOs and a new
#      call in the slot), open loop with --window WINDOW for SECONDS.
# And once, the pure in-dialog rate: sipshard-load with CALLS calls up and INFO
# only for SECONDS (no calls coming or going). Each sipshard-load figure is the
# median of REPEAT runs (default 5): the machine is shared and noisy.
# For each tool: calls/s and transactions/s (final responses: INVITE, K INFO and
# BYE per call, ACK is none), and the ratios. A summary goes to OUT/summary.json.
#
#   [K_LIST="1 10"] [SIPP_RATES="..."] bench/sipp/compare.sh [SECONDS (5)] [CALLS (1000)] [WINDOW (256)]
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
LOAD=$BUILD/sipshard-load
SECS=${1:-5}
CALLS=${2:-1000}
WINDOW=${3:-256}
K_LIST=${K_LIST:-1 10}
SIPP_RATES=${SIPP_RATES:-500 1000 2000 4000 8000 16000}
RAMP_SECONDS=${RAMP_SECONDS:-$SECS}
BISECT=${BISECT:-2}
REPEAT=${REPEAT:-5}
SIPP_LIMIT=${SIPP_LIMIT:-10000} # calls SIPp may hold at once (healthy runs hold a few hundred)
OUT=${OUT:-$(mktemp -d /tmp/sipp-compare.XXXXXX)}
mkdir -p "$OUT"
BASE=$((21000 + ($$ % 400) * 10))
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT
command -v sipp >/dev/null || { echo "compare.sh: sipp is missing (package sip-tester)" >&2; exit 1; }
[ -x "$LOAD" ] || { echo "compare.sh: $LOAD is missing: run make first" >&2; exit 1; }

# children_cpu FILE: user and system CPU seconds of this shell's finished
# children into FILE (`times` run in this shell: a subshell would count its own)
children_cpu() {
	times >"$1.times"
	awk 'NR == 2 { gsub(/[ms]/, " "); print $1 * 60 + $2, $3 * 60 + $4 }' "$1.times" >"$1"
	rm -f "$1.times"
}

# load_run NAME [uac args]: sipshard-load uac -> uas; prints nothing, leaves
# OUT/NAME.json (uac), OUT/NAME-uas.json and OUT/NAME.cpu (user and system CPU
# seconds of the uac and the uas together)
load_run() {
	local name=$1
	shift
	children_cpu "$OUT/$name.cpu0"
	"$LOAD" --role uas --local "127.0.0.1:$BASE" --max-calls 4194304 --quiet \
		--json "$OUT/$name-uas.json" >"$OUT/$name-uas.out" 2>&1 &
	local uas=$!
	PIDS+=($uas)
	sleep 0.3
	"$LOAD" --role uac --target "127.0.0.1:$BASE" --calls "$CALLS" --rate 5000 \
		--duration "$SECS" --mix INFO:100 --window "$WINDOW" --sources 1 --quiet \
		--max-errors 1000000 --json "$OUT/$name.json" "$@" >"$OUT/$name.out" 2>&1
	kill "$uas"
	wait "$uas" 2>/dev/null
	children_cpu "$OUT/$name.cpu1"
	cat "$OUT/$name.cpu0" "$OUT/$name.cpu1" | awk 'NR == 1 { u = $1; s = $2 } NR == 2 { print $1 - u, $2 - s }' >"$OUT/$name.cpu"
}

# sipp_failed WHAT FILE...: ends the script saying WHAT, with what SIPp said
# in FILEs (its screen output, its error file): no figure comes from a SIPp
# that did not run
sipp_failed() {
	local f
	echo "compare.sh: $1; no SIPp figure. SIPp said:" >&2
	shift
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "--- $f" >&2
		# the screens it prints every second hide its one error line
		if grep -qiE 'error|unable|cannot|fail|abort' "$f"; then
			grep -iE 'error|unable|cannot|fail|abort' "$f" | head -n 10 >&2
		else
			tail -n 10 "$f" >&2
		fi
	done
	exit 1
}

# sipp_run K RATE SECONDS: SIPp uac -> SIPp uas; sets SIPP_CPS (calls per
# second achieved) and SIPP_FAILED (calls failed); ends the script when either
# SIPp did not run to the end (a port it could not bind, a scenario error)
sipp_run() {
	local k=$1 rate=$2 secs=$3 tag="sipp-k$1-r$2" rc
	sed "s/compare=\"less_than\" value=\"[0-9]*\"/compare=\"less_than\" value=\"$k\"/" \
		bench/sipp/uac_call_info.xml >"$OUT/uac-k$k.xml"
	sipp -sf bench/sipp/uas_call_info.xml -i 127.0.0.1 -p $((BASE + 1)) -nostdin \
		-trace_err -error_file "$OUT/$tag-uas.err" >"$OUT/$tag-uas.out" 2>&1 &
	local suas=$!
	PIDS+=($suas)
	sleep 0.5
	if ! kill -0 "$suas" 2>/dev/null; then
		wait "$suas"
		sipp_failed "SIPp's callee (uas) stopped at its start (exit $?)" "$OUT/$tag-uas.out" \
			"$OUT/$tag-uas.err"
	fi
	# statistics every second into a CSV; SIGINT ends the run after the
	# window (--preserve-status: SIPp's own exit status, not timeout's 124)
	timeout --preserve-status -s INT $((secs + 1)) sipp "127.0.0.1:$((BASE + 1))" \
		-sf "$OUT/uac-k$k.xml" -s svc -i 127.0.0.1 -p $((BASE + 2)) -nostdin -l "$SIPP_LIMIT" \
		-r "$rate" -trace_stat -stf "$OUT/$tag.csv" -fd 1 -trace_err -error_file "$OUT/$tag.err" \
		>"$OUT/$tag.out" 2>&1
	rc=$?
	kill -0 "$suas" 2>/dev/null ||
		sipp_failed "SIPp's callee (uas) stopped during the run at $rate calls/s" \
			"$OUT/$tag-uas.out" "$OUT/$tag-uas.err"
	kill "$suas"
	wait "$suas" 2>/dev/null
	# SIPp exits 0 when every call succeeded, 1 when some failed (a rate that
	# does not hold); 255 and 254 are fatal errors (a scenario, a socket it
	# could not bind), 99 no call processed
	case $rc in
	0 | 1) ;;
	*) sipp_failed "SIPp (uac, $rate calls/s) exited $rc" "$OUT/$tag.out" "$OUT/$tag.err" ;;
	esac
	read -r SIPP_CPS SIPP_FAILED < <(python3 - "$OUT/$tag.csv" <<'PY'
import csv, sys
try:
    rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
except OSError:
    print("0 -1"); sys.exit()
col = {k: i for i, k in enumerate(rows[0])}
def epoch(r):  # CurrentTime is "date<TAB>time<TAB>epoch"; ElapsedTime(P) is whole seconds
    return float(r[col["CurrentTime"]].split("\t")[-1])
# calls completed after the first period (ramp-up), over the time they took
ok = sum(int(r[col["SuccessfulCall(P)"]]) for r in rows[3:])
failed = sum(int(r[col["FailedCall(P)"]]) for r in rows[2:])
t = epoch(rows[-1]) - epoch(rows[2]) if len(rows) > 3 else 0
print("%.0f %d" % (ok / t if t > 0 else 0, failed))
PY
	)
	[ "$SIPP_FAILED" != -1 ] ||
		sipp_failed "SIPp (uac, $rate calls/s) wrote no statistics ($OUT/$tag.csv)" "$OUT/$tag.out" \
			"$OUT/$tag.err"
}

# holds ASKED ACHIEVED FAILED: no failed call, achieved within 5% of asked (above
# it too: an overshoot is a backlog being caught up, not a steady rate)
holds() { awk -v a="$2" -v r="$1" -v f="$3" 'BEGIN { exit !(f == 0 && a >= 0.95 * r && a <= 1.05 * r) }'; }

echo "== sipshard-load uac -> uas: $CALLS calls up, INFO only for ${SECS}s, window $WINDOW"
for i in $(seq 1 "$REPEAT"); do load_run "load-indialog-$i"; done
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
for k in $K_LIST; do
	echo "== SIPp saturation, INVITE + $k INFO + BYE per call (${RAMP_SECONDS}s per rate)"
	best=0 best_cps=0 best_failed=0 bad=0
	for r in $SIPP_RATES; do
		sipp_run "$k" "$r" "$RAMP_SECONDS"
		printf '   asked %6d calls/s: achieved %6d, failed %d\n' "$r" "$SIPP_CPS" "$SIPP_FAILED"
		if holds "$r" "$SIPP_CPS" "$SIPP_FAILED"; then
			best=$r best_cps=$SIPP_CPS best_failed=$SIPP_FAILED
		else
			bad=$r
			break
		fi
	done
	# not even the lowest rate: SIPp's calls failed (its errors say why)
	[ "$best" != 0 ] || sipp_failed "SIPp held no rate (asked $bad calls/s: achieved $SIPP_CPS," \
		"failed $SIPP_FAILED)" "$OUT/sipp-k$k-r$bad.err" "$OUT/sipp-k$k-r$bad-uas.err"
	for _ in $(seq 1 "$BISECT"); do
		[ "$bad" = 0 ] && break
		mid=$(((best + bad) / 2))
		[ "$mid" -le "$best" ] && break
		sipp_run "$k" "$mid" "$RAMP_SECONDS"
		printf '   asked %6d calls/s: achieved %6d, failed %d\n' "$mid" "$SIPP_CPS" "$SIPP_FAILED"
		if holds "$mid" "$SIPP_CPS" "$SIPP_FAILED"; then
			best=$mid best_cps=$SIPP_CPS best_failed=$SIPP_FAILED
		else
			bad=$mid
		fi
	done
	# every rate held: the highest asked is a floor, not SIPp's saturation
	saturated=1
	if [ "$bad" = 0 ]; then
		saturated=0
		echo "   SIPp not saturated (>= $best calls/s): every rate asked held (the highest achieved" \
			"$best_cps); add higher SIPP_RATES"
	else
		echo "   SIPp saturation: $best calls/s (achieved $best_cps)"
	fi
	echo "== sipshard-load uac -> uas, INVITE + $k INFO + BYE per call, $CALLS calls up, ${SECS}s"
	for i in $(seq 1 "$REPEAT"); do load_run "load-k$k-$i" --requests-per-call "$k"; done
	echo "$k $best $best_cps $best_failed $saturated" >>"$SUMMARY"
done

python3 - "$OUT" "$SUMMARY" "$CALLS" "$WINDOW" "$SECS" "$REPEAT" <<'PY'
import json, os, sys
out, summ, calls, window, secs, repeat = sys.argv[1], sys.argv[2], *sys.argv[3:]

def median_run(prefix, key):
    """The run whose figure is the median of the REPEAT runs, and all figures."""
    runs = []
    for i in range(1, int(repeat) + 1):
        r = json.load(open(os.path.join(out, "%s-%d.json" % (prefix, i))))
        r["_name"] = "%s-%d" % (prefix, i)
        runs.append(r)
    runs.sort(key=key)
    return runs[len(runs) // 2], [key(r) for r in runs]

ind, ind_all = median_run("load-indialog", lambda r: r["requests"]["per_second"])
pure = ind["requests"]["per_second"]
doc = {"seconds": float(secs), "calls_up": int(calls), "window": int(window),
       "repeat": int(repeat), "load_in_dialog_tps": pure, "load_in_dialog_tps_runs": ind_all, "load_in_dialog_errors": ind["errors"]["total"], "flows": []}
print()
print("flow: INVITE, ACK, K INFO, BYE per call; transactions = K + 2 per call")
print("%-3s %-14s %12s %14s %12s %12s" % ("K", "tool", "calls/s", "transactions/s", "x SIPp cps",
                                           "errors"))
for line in open(summ):
    k, sat, sat_cps, sat_failed, saturated = (int(x) for x in line.split())
    j, cps_all = median_run("load-k%d" % k, lambda r: r["calls"]["per_second"])
    cps, tps = j["calls"]["per_second"], j["requests"]["transactions_per_second"]
    sipp_cps = float(sat_cps)
    sipp_tps = sipp_cps * (k + 2)
    # a SIPp that held every rate asked was not saturated: its figures are a
    # floor, and a ratio against them would overstate sipshard-load's
    f = {"k": k, "sipp_saturated": bool(saturated), "sipp_saturation_cps": sat if saturated else None,
         "sipp_highest_held_cps": sat, "sipp_cps": sipp_cps, "sipp_tps": sipp_tps,
         "sipp_failed": sat_failed,
         "load_cps": cps, "load_tps": tps, "load_errors": j["errors"]["total"],
         "load_cps_runs": cps_all, "_json": j, "_name": j["_name"],
         "ratio_cps": cps / sipp_cps if sipp_cps and saturated else None,
         "ratio_in_dialog_vs_sipp_tps": pure / sipp_tps if sipp_tps and saturated else None}
    doc["flows"].append(f)
    if saturated:
        print("%-3d %-14s %12.0f %14.0f %12s %12d" % (k, "SIPp", sipp_cps, sipp_tps, "1.0", sat_failed))
    else:
        print("%-3d %-14s %12s %14s %12s %12d   not saturated (>= %d asked)" % (
            k, "SIPp", ">= %.0f" % sipp_cps, ">= %.0f" % sipp_tps, "-", sat_failed, sat))
    print("%-3d %-14s %12.0f %14.0f %12s %12d" % (k, "sipshard-load", cps, tps,
          "%.1f" % f["ratio_cps"] if f["ratio_cps"] else "-", f["load_errors"]))
print()
print("where sipshard-load's time goes (uac and uas together, the median runs):")
def cpu_line(label, prefix, j):
    name = os.path.basename(prefix)
    user, sys_ = (float(x) for x in open(os.path.join(out, name + ".cpu")).read().split())
    uas = json.load(open(os.path.join(out, name + "-uas.json")))
    dgrams = j["io"]["tx"] + uas["io"]["tx"]  # each sent once and received once
    el = j["elapsed_s"]
    print("  %-22s %5.2f s user %5.2f s system in %5.2f s (%.2f cores, %2.0f%% system); "
          "%d datagrams, %.0f/s, %.2f us CPU each (%.2f us system)"
          % (label, user, sys_, el, (user + sys_) / el, 100 * sys_ / max(user + sys_, 1e-9),
             dgrams, dgrams / el, 1e6 * (user + sys_) / max(dgrams, 1), 1e6 * sys_ / max(dgrams, 1)))
cpu_line("pure in-dialog", ind["_name"], ind)
for f in doc["flows"]:
    cpu_line("K=%d" % f["k"], f["_name"], f["_json"])
for f in doc["flows"]:
    del f["_json"], f["_name"]
print("sipshard-load pure in-dialog (INFO, %s calls up): %.0f transactions/s (runs: %s)"
      % (calls, pure, " ".join("%.0f" % x for x in ind_all)))
for f in doc["flows"]:
    print("sipshard-load K=%d calls/s over the runs: %s" % (f["k"], " ".join("%.0f" % x for x in f["load_cps_runs"])))
for f in doc["flows"]:
    if not f["sipp_saturated"]:
        print("K=%d: SIPp not saturated (>= %d calls/s held): no ratio" % (f["k"], f["sipp_highest_held_cps"]))
        continue
    print("K=%d: sipshard-load / SIPp = %.1fx calls/s (same flow), %.1fx transactions/s "
          "(pure in-dialog vs SIPp's flow)" % (f["k"], f["ratio_cps"], f["ratio_in_dialog_vs_sipp_tps"]))
json.dump(doc, open(os.path.join(out, "summary.json"), "w"), indent=1)
PY
echo "(files in $OUT)"
