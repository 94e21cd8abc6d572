#!/usr/bin/env bash
# sipshard-load against SIPp on the same call-plus-INFO flow, back to back in
# one run, each tool against a callee of its own kind on loopback:
#   1. sipshard-load uac -> sipshard-load uas: --calls CALLS, then INFO only
#      (--mix INFO:100) open loop with --window WINDOW for SECONDS;
#   2. SIPp uac -> SIPp uas (uac_call_info.xml / uas_call_info.xml): calls of
#      INVITE, ACK, 10 INFOs, BYE, at the highest call rate SIPp sustains,
#      CALLS at once, for SECONDS.
# Prints both rates in transactions (final responses) per second and the ratio.
#
#   bench/sipp/compare.sh [SECONDS (10)] [CALLS (1000)] [WINDOW (256)]
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
LOAD=$BUILD/sipshard-load
SECS=${1:-10}
CALLS=${2:-1000}
WINDOW=${3:-256}
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

echo "== SIPp uac -> SIPp uas, up to $CALLS calls at once, ${SECS}s"
sipp -sf bench/sipp/uas_call_info.xml -i 127.0.0.1 -p $((BASE + 1)) -nostdin \
	-trace_err -error_file "$OUT/sipp-uas.err" >"$OUT/sipp-uas.out" 2>&1 &
SUAS=$!
PIDS+=($SUAS)
sleep 0.5
# -r: the call rate asked for; SIPp holds what it can. 10 INFOs + INVITE + BYE
# = 12 transactions per call.
timeout $((SECS + 30)) sipp "127.0.0.1:$((BASE + 1))" -sf bench/sipp/uac_call_info.xml -s svc \
	-i 127.0.0.1 -p $((BASE + 2)) -nostdin -l "$CALLS" -r 100000 -rate_max 100000 \
	-timeout "$SECS" -trace_stat -stf "$OUT/sipp-uac.csv" -fd 1 -trace_err \
	-error_file "$OUT/sipp-uac.err" >"$OUT/sipp-uac.out" 2>&1
kill "$SUAS"
wait "$SUAS" 2>/dev/null
SIPP_RATE=$(python3 - "$OUT/sipp-uac.csv" "$SECS" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
head, last = rows[0], rows[-1]
col = {k: i for i, k in enumerate(head)}
ok = int(last[col["SuccessfulCall(C)"]])
elapsed = last[col["ElapsedTime(C)"]].split(":")
secs = int(elapsed[0]) * 3600 + int(elapsed[1]) * 60 + float(elapsed[2])
# each successful call is 12 transactions; calls in flight at the end are
# ignored (a slight undercount of SIPp, well below the ratio's precision)
print("%.0f" % (ok * 12 / secs))
PY
)
echo
echo "sipshard-load: $LOAD_RATE transactions/s (in-dialog INFO, window $WINDOW)"
echo "SIPp:          $SIPP_RATE transactions/s (INVITE + 10 INFO + BYE per call)"
python3 -c "import sys; print('ratio:         %.1fx' % (float(sys.argv[1]) / max(float(sys.argv[2]), 1)))" \
	"$LOAD_RATE" "$SIPP_RATE"
echo "(files in $OUT)"
