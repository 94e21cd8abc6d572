#!/usr/bin/env bash
# sipshard-load against SIPp on the same call-plus-INFO flow, back to back in
# one run, each tool against a callee of its own kind on loopback:
#   1. sipshard-load uac -> sipshard-load uas: --calls CALLS, then INFO only
#      (--mix INFO:100) open loop with --window WINDOW for SECONDS;
#   2. SIPp uac -> SIPp uas (uac_call_info.xml / uas_call_info.xml): calls of
#      INVITE, ACK, 10 INFOs, BYE, at SIPP_CPS calls per second (set it to the
#      highest rate SIPp sustains without failed calls), CALLS at once, for SECONDS.
# Prints both rates in transactions (final responses) per second and the ratio.
#
#   [SIPP_CPS=N] bench/sipp/compare.sh [SECONDS (10)] [CALLS (1000)] [WINDOW (256)]
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
LOAD=$BUILD/sipshard-load
SECS=${1:-10}
CALLS=${2:-1000}
WINDOW=${3:-256}
SIPP_CPS=${SIPP_CPS:-2000} # SIPp call rate: about where it saturates on a 2-core machine
OUT=$(mktemp -d /tmp/sipp-compare.XXXXXX)
BASE=$((21000 + ($$ % 400) * 10))
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT
command -v sipp >/dev/null || { echo "compare.sh: sipp is missing (package sip-tester)" >&2; exit 1; }
[ -x "$LOAD" ] || { echo "compare.sh: $LOAD is missing: run make first" >&2; exit 1; }

echo "== sipshard-load uac -> sipshard-load uas, $CALLS calls, INFO for ${SECS}s, window $WINDOW"
"$LOAD" --role uas --local "127.0.0.1:$BASE" --quiet --json "$OUT/uas.json" >"$OUT/uas.out" 2>&1 &
UAS=$!
PIDS+=($UAS)
sleep 0.3
"$LOAD" --role uac --target "127.0.0.1:$BASE" --calls "$CALLS" --rate 5000 --duration "$SECS" \
	--mix INFO:100 --window "$WINDOW" --sources 1 --quiet --json "$OUT/uac.json" | tee "$OUT/uac.out"
kill "$UAS"
wait "$UAS" 2>/dev/null
LOAD_RATE=$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["requests"]["per_second"])' "$OUT/uac.json")

echo "== SIPp uac -> SIPp uas, call rate $SIPP_CPS/s, up to $CALLS calls at once, ${SECS}s"
sipp -sf bench/sipp/uas_call_info.xml -i 127.0.0.1 -p $((BASE + 1)) -nostdin \
	-trace_err -error_file "$OUT/sipp-uas.err" >"$OUT/sipp-uas.out" 2>&1 &
SUAS=$!
PIDS+=($SUAS)
sleep 0.5
# Statistics every second into a CSV; SIGINT ends the run after the window.
timeout -s INT $((SECS + 1)) sipp "127.0.0.1:$((BASE + 1))" -sf bench/sipp/uac_call_info.xml \
	-s svc -i 127.0.0.1 -p $((BASE + 2)) -nostdin -l "$CALLS" -r "$SIPP_CPS" \
	-trace_stat -stf "$OUT/sipp-uac.csv" -fd 1 -trace_err -error_file "$OUT/sipp-uac.err" \
	>"$OUT/sipp-uac.out" 2>&1
kill "$SUAS"
wait "$SUAS" 2>/dev/null
read -r SIPP_RATE SIPP_FAILED < <(python3 - "$OUT/sipp-uac.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
col = {k: i for i, k in enumerate(rows[0])}
def epoch(r):  # CurrentTime is "date<TAB>time<TAB>epoch"; ElapsedTime(P) is whole seconds
    return float(r[col["CurrentTime"]].split("\t")[-1])
# the rows after the first period (ramp-up); each call is 12 transactions
ok = sum(int(r[col["SuccessfulCall(P)"]]) for r in rows[3:])
failed = sum(int(r[col["FailedCall(P)"]]) for r in rows[2:])
t = epoch(rows[-1]) - epoch(rows[2]) if len(rows) > 3 else 0
print("%.0f %d" % (ok * 12 / t if t > 0 else 0, failed))
PY
)
echo
echo "sipshard-load: $LOAD_RATE transactions/s (in-dialog INFO, window $WINDOW)"
echo "SIPp:          $SIPP_RATE transactions/s (INVITE + 10 INFO + BYE per call; $SIPP_FAILED failed calls)"
python3 -c "import sys; print('ratio:         %.1fx' % (float(sys.argv[1]) / max(float(sys.argv[2]), 1)))" \
	"$LOAD_RATE" "$SIPP_RATE"
echo "(files in $OUT)"
