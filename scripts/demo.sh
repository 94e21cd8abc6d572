#!/usr/bin/env bash
# The main job, on the embedded default's addresses: sipshardd listening on
# 127.0.0.1:5060 routes every call to a local callee on 127.0.0.1:5080; a
# caller places calls through it, each with three INFOs and a BYE. Shows live
# counters each second and a summary, then stops everything it started.
#   CALLS=300 RATE=100 scripts/demo.sh
# SUT_PORT, CALLEE_PORT and CALLER_PORT (5060, 5080, 5061) name other ports
# when those are taken.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CALLS=${CALLS:-300}
RATE=${RATE:-100}
SUT_PORT=${SUT_PORT:-5060}
CALLEE_PORT=${CALLEE_PORT:-5080}
CALLER_PORT=${CALLER_PORT:-5061}
WORK=$(mktemp -d /tmp/sipshard-demo.XXXXXX)
STATS=$WORK/stats.json
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for port in $SUT_PORT $CALLEE_PORT $CALLER_PORT; do
	if ss -Hlun "sport = :$port" | grep -q .; then
		echo "demo: UDP port $port on this machine is in use; stop what holds it first" >&2
		exit 1
	fi
done

# The embedded default, but with the tables in memory and run_dir here: with
# persist_dialogs its files need room for every call of the default capacities
# (574 MiB a worker and 335 MiB) in /run/sipshard, which Debian sizes at 10% of
# memory, so a start on a host of less than about 15 GiB was refused; and the
# demo neither takes up nor leaves calls in a real daemon's run_dir.
cat >"$WORK/demo.json" <<JSON
{ "listen": "127.0.0.1:$SUT_PORT", "run_dir": "$WORK/run", "persist_dialogs": false,
  "routes": [ { "name": "local-callee", "target": "127.0.0.1:$CALLEE_PORT" } ] }
JSON
echo "== starting sipshardd on the embedded default (127.0.0.1:$SUT_PORT -> 127.0.0.1:$CALLEE_PORT)"
"$BUILD/sipshardd" -c "$WORK/demo.json" --stats-file "$STATS" 2>"$WORK/sipshardd.log" &
DAEMON=$!
PIDS+=($DAEMON)
sipp -sf tests/sipp/uas_info_bye.xml -i 127.0.0.1 -p "$CALLEE_PORT" -nostdin >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
	[ -f "$STATS" ] && break
	kill -0 "$DAEMON" 2>/dev/null || break
	sleep 0.1
done
sed 's/^/   /' "$WORK/sipshardd.log"
if [ ! -f "$STATS" ]; then
	# without this the calls went to no one for a minute, each second's
	# counters a Python traceback
	echo "demo: sipshardd did not start (its log above)" >&2
	exit 1
fi

echo "== placing $CALLS calls at $RATE calls/s, each: INVITE, ACK, 3 x INFO, BYE"
sipp "127.0.0.1:$SUT_PORT" -sf tests/sipp/uac_info_bye.xml -s callee -i 127.0.0.1 -p "$CALLER_PORT" \
	-m "$CALLS" -r "$RATE" -l "$CALLS" -nostdin -timeout 60 >"$WORK/uac.out" 2>&1 &
UAC=$!
PIDS+=($UAC)

show() {
	python3 - "$STATS" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
c = j["controller"]; r = j["totals"]["relayed_requests"]
w = " ".join("w%d:%d" % (x["id"], x["rx"]) for x in j["workers"])
print("   calls answered %-5d active %-4d | relayed INFO %-5d BYE %-4d ACK %-4d | rx per worker %s | steering %s"
      % (c["calls_answered"], c["calls_active"], r.get("INFO", 0), r.get("BYE", 0), r.get("ACK", 0),
         w, "BPF" if j["steering"]["attached"] else "userspace"))
PY
}

while kill -0 "$UAC" 2>/dev/null; do
	sleep 1
	show
done
wait "$UAC"
rc=$?
sleep 1.2
echo "== summary"
python3 - "$STATS" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
c = j["controller"]
print("   calls: %d answered, %d failed, %d timed out, %d still active"
      % (c["calls_answered"], c["calls_failed"], c["calls_timeout"], c["calls_active"]))
print("   requests relayed per method: " + ", ".join(
      "%s %d" % kv for kv in sorted(j["totals"]["relayed_requests"].items())))
bad = sum(x["rx_bad"] for x in j["workers"])
print("   malformed datagrams: %d, I/O: %s, steering: %s"
      % (bad, j["io"], "BPF" if j["steering"]["attached"] else "userspace handoff"))
PY
grep -E "Successful call|Failed call" "$WORK/uac.out" | tail -2 | sed 's/^/   caller (SIPp): /' | tr -s ' '
exit $rc
