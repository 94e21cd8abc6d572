#!/usr/bin/env bash
# Restart under load: sipshardd (2 workers, shard tables on tmpfs) relays
# sipshard-load calls; once they are up and in-dialog requests flow, the daemon
# is killed with SIGKILL and started again on the same tables. The caller keeps
# sending; what it reports afterwards is what the restart cost.
#
#   bench/restart.sh [--out DIR]
#
# CALLS (100000) calls at RATE (5000/s), then INFO at REQ_RATE (2000/s) for
# MIX_S (40) seconds; the kill comes KILL_AFTER seconds after the last call was
# set up (3). Results: DIR/restart.json (the caller's figures), DIR/restart.txt
# (the summary: "listening again after" is the time from the new start to the
# daemon's log line that it listens, to within 20 ms), the daemon logs. NO_KILL=1: the same run without the kill
# (the control).
#
# Calls that ring when the daemon dies: ANSWER_DELAY_MS (0) makes the callee
# answer that long after its 180, and a negative KILL_AFTER kills the daemon
# that many seconds before the last call was set up, so that RATE *
# ANSWER_DELAY_MS / 1000 calls are ringing at the kill; PREFIX names the
# output files (restart by default), for runs side by side. SUT_PORT and
# CALLEE_PORT (5060, 5080) name other ports when those are taken; a callee
# that cannot bind ends the script with its message (bench/lib.sh).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/results
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '2,21p' "$0"; exit 0 ;;
	*) echo "restart.sh: unknown argument '$1' (expected --out DIR)" >&2; exit 2 ;;
	esac
	shift
done
CALLS=${CALLS:-100000}
RATE=${RATE:-5000}
REQ_RATE=${REQ_RATE:-2000}
MIX_S=${MIX_S:-40}
KILL_AFTER=${KILL_AFTER:-3}
ANSWER_DELAY_MS=${ANSWER_DELAY_MS:-0}
P=${PREFIX:-restart}
. bench/lib.sh
bench_need restart.sh "$BUILD/sipshardd" "$BUILD/sipshard-load"
# WORK on /dev/shm (the run_dir: the tables outlive the kill there), SUT_PORT,
# CALLEE_PORT, the callee started and listening
CALLEE_ARGS="--max-calls $((CALLS * 2)) --answer-delay-ms $ANSWER_DELAY_MS"
bench_begin restart
RUN_DIR=$WORK/run
mkdir -p "$RUN_DIR"
# the callee's output is in WORK, which goes at the exit
trap 'cp "$WORK/uas.out" "$OUT/$P-uas.txt" 2>/dev/null; bench_end' EXIT

cat >"$OUT/$P-config.json" <<JSON
{ "listen": "127.0.0.1:$SUT_PORT", "log_level": "info", "run_dir": "$RUN_DIR",
  "capacity": { "dialogs_per_shard": $((CALLS + CALLS / 2)), "transactions_per_shard": 65536,
                "setups": 65536 },
  "limits": { "max_calls": $((CALLS * 2)) },
  "routes": [ { "target": "127.0.0.1:$CALLEE_PORT" } ] }
JSON
"$BUILD/sipshardd" --workers 2 -c "$OUT/$P-config.json" --discard-dialogs \
	--stats-file "$OUT/$P-stats1.json" \
	>"$OUT/$P-daemon1.log" 2>&1 &
SUT=$!
PIDS+=($SUT)
# the calls start once it says it listens: it binds its port before its pools
# are in memory (bench/lib.sh)
bench_wait_listening "$SUT" "$OUT/$P-daemon1.log" sipshardd
"$BUILD/sipshard-load" --role uac --target 127.0.0.1:$SUT_PORT --calls "$CALLS" --rate "$RATE" \
	--req-rate "$REQ_RATE" --duration "$MIX_S" --window 1024 --max-errors 1000000000 \
	--json "$OUT/$P.json" >"$OUT/$P-uac.txt" 2>&1 &
UAC=$!
if [ "${NO_KILL:-0}" = 1 ]; then
	# the control run: the same load, no restart
	t0=0 t1=0
	cp "$OUT/$P-daemon1.log" "$OUT/$P-daemon2.log"
else
	sleep "$(python3 -c "print($CALLS / $RATE + $KILL_AFTER)")"
	kill -KILL "$SUT"
	wait "$SUT" 2>/dev/null
	t0=$(date +%s.%N)
	"$BUILD/sipshardd" --workers 2 -c "$OUT/$P-config.json" \
		--stats-file "$OUT/$P-stats2.json" >"$OUT/$P-daemon2.log" 2>&1 &
	SUT=$!
	PIDS+=($SUT)
	# back when it says it listens, not when its port is bound (before its
	# pools and the tables it carries over are ready)
	bench_wait_listening "$SUT" "$OUT/$P-daemon2.log" "sipshardd (started again)"
	t1=$(date +%s.%N)
fi
wait "$UAC"
python3 - "$OUT/$P.json" "$OUT/$P-daemon2.log" "$t0" "$t1" <<'PY' | tee "$OUT/$P.txt"
import json, re, sys
j = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
carried = sum(int(n) for n in re.findall(r"carried over (\d+) calls", log))
taken_up = sum(int(n) for n in re.findall(r"took up (\d+) calls that were setting up", log))
# early dialogs freed at the restart (builds before set-ups survived it said
# "N more were still setting up: dropped")
dropped = sum(int(n) for n in re.findall(
    r"\((\d+) (?:more were still setting up|early dialogs of calls no longer setting up)", log))
codes = j["responses"]["by_code"]
c = j["calls"]
print("listening again after %.2f s; carried over %d calls, took up %d still setting up, "
      "%d early dialogs dropped" % (float(sys.argv[4]) - float(sys.argv[3]), carried, taken_up,
                                   dropped))
print("calls: attempted %d, established %d, failed %d, lost %d, ended %d"
      % (c["attempted"], c["established"], c["failed"], c["lost"], c["ended"]))
print("responses 481 (a dialog the new process did not have): %d; 5xx: %d; timeouts: %d"
      % (codes.get("481", 0), sum(v for k, v in codes.items() if k.startswith("5")),
         j["errors"]["timeouts"]))
PY
