#!/usr/bin/env bash
# sipshard-load's pacing: whether it held the rates it was asked for, and the
# latency of paced requests from the time they were due (coordinated
# omission), against its own uas and a raw callee (rawua.py):
#   1. a callee that stalls 0.4 s once: with --req-rate and a small --window
#      the requests due during the stall go out late, after it, and their
#      service time is short; the latency from when they were due shows the
#      stall, and so does how late they went out (pacing.mix.lag_us);
#   2. a callee that answers each INFO 50 ms late, --window 1: the mix cannot
#      issue the --req-rate asked, and says so (pacing.mix.short, SHORT);
#   3. a set-up --rate the uac cannot offer is said short; one it can, not.
# Ports: 16648 (the callee), 16649 (the uac); LOAD_PACING_PORT names another
# first port. BUILD (or LOAD) names the build.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

A=${LOAD_PACING_PORT:-16648}
B=$((A + 1))
UAS_PORT=$A

. tests/integration/load.bash

# callee.py PORT MODE SECONDS: answers INVITE 200 and every request 200;
# INFO: "stall" holds those that come 0.5-0.9 s after the first INFO and
# answers them at 0.9 s; "slow" answers each 50 ms after it came.
cat >"$WORK/callee.py" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua

port, mode, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
s = rawua.udp(port)
end = time.time() + secs
first, held = None, []
while time.time() < end:
    now = time.time()
    due = [h for h in held if h[0] <= now]
    for h in due:
        held.remove(h)
        rawua.respond(s, h[1], h[2], "200 OK")
    r, _, _ = rawua.select.select([s], [], [], 0.002)
    if not r:
        continue
    data, peer = s.recvfrom(65535)
    m = data.decode("latin-1")
    meth = m.split(" ", 1)[0]
    if meth == "ACK" or m.startswith("SIP/2.0"):
        continue
    if meth == "INVITE" and ";tag=" not in (rawua.header(m, "To") or ""):
        rawua.respond(s, m, peer, "200 OK", totag="callee",
                      extra="Contact: <sip:callee@127.0.0.1:%d>\r\n" % port)
        continue
    if meth == "INFO":
        first = first or now
        if mode == "stall" and first + 0.5 <= now < first + 0.9:
            held.append((first + 0.9, m, peer))
            continue
        if mode == "slow":
            held.append((now + 0.05, m, peer))
            continue
    rawua.respond(s, m, peer, "200 OK")
PY

# uac NAME ARGS...: a uac run against the callee on A, from B
uac() {
	local name=$1
	shift
	timeout -k 1 20 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 \
		--target "127.0.0.1:$A" --json "$WORK/$name.json" "$@" >"$WORK/$name.out" 2>&1
}

# ---- 1. a stall: service time against time from when due ---------------------------
start_bg python3 "$WORK/callee.py" "$A" stall 6
callee=${PIDS[-1]}
wait_udp_port "$A"
uac stall --calls 20 --rate 200 --duration 2 --req-rate 100 --window 2
rc=$?
wait_exit 5 "$callee"
check "stall: the 0.4 s stall shows in the latency from when each INFO was due, not in its service time (exit $rc)" \
	python3 - "$WORK/stall.json" "$rc" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
svc, due = j["latency_us"], j.get("latency_us_from_schedule", {})
lag = j.get("pacing", {}).get("mix", {})
# 200 INFOs at 100/s; about 40 were due in the stall, 2 (the window) were
# out when it began: the other 38 went out after it
ok = (sys.argv[2] == "0" and svc["count"] == 200 and svc["p90"] < 50000
      and due.get("count") == 200 and due.get("p90", 0) > 100000
      and lag.get("lag_us", {}).get("max", 0) > 250000 and lag.get("short") is False
      and lag.get("issued") == 200)
if not ok:
    print("# service %r\n# from when due %r\n# pacing.mix %r" % (svc, due, lag))
sys.exit(0 if ok else 1)
PY
check "stall: the table says how late the mix's requests went out, and their latency from when due" \
	sh -c "grep -q '^pacing   mix asked 100.0/s  issued 100.0/s  sent late by' '$WORK/stall.out' &&
		grep -q '^latency  mix from when due' '$WORK/stall.out'"

# ---- 2. a slow callee, a window of 1: the asked rate cannot be held -------------------
start_bg python3 "$WORK/callee.py" "$A" slow 5
callee=${PIDS[-1]}
wait_udp_port "$A"
uac slow --calls 5 --rate 100 --duration 1.5 --req-rate 100 --window 1
rc=$?
wait_exit 5 "$callee"
check "slow: --req-rate 100 with one request out at a time to a callee 50 ms slow is said short (exit $rc)" \
	python3 - "$WORK/slow.json" "$rc" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
mix = j.get("pacing", {}).get("mix", {})
ok = (sys.argv[2] == "0" and mix.get("short") is True and mix.get("asked_per_second") == 100
      and 0 < mix.get("issued_per_second", 0) <= 25)
if not ok:
    print("# pacing.mix %r, requests %r" % (mix, j["requests"]))
sys.exit(0 if ok else 1)
PY
check "slow: the table flags it" grep -q '^pacing   mix asked 100.0/s .*SHORT of the asked rate' "$WORK/slow.out"

# ---- 3. the set-up rate: held, and not held --------------------------------------------
start_uas uas --t1-ms 100
uac held --calls 200 --rate 500 --duration 0
rc_held=$?
uac burst --calls 5000 --rate 1000000000 --duration 0 --t1-ms 100
rc_burst=$?
stop "$UAS_PID"
check "setup: 200 calls at 500/s are offered at that rate, 1e9/s is said short (exit $rc_held, $rc_burst)" \
	python3 - "$WORK/held.json" "$WORK/burst.json" "$rc_held" "$rc_burst" <<'PY'
import json, sys
held, burst = (json.load(open(p)).get("pacing", {}).get("setup", {}) for p in sys.argv[1:3])
ok = (sys.argv[3:5] == ["0", "0"]
      and held.get("invites") == 200 and held.get("short") is False
      and 475 <= held.get("offered_per_second", 0) <= 525
      and abs(held.get("seconds", 0) - 199 / 500) < 0.02
      and burst.get("invites") == 5000 and burst.get("short") is True
      and burst.get("offered_per_second", 1e9) < 1e9 * 0.95)
if not ok:
    print("# held %r\n# burst %r" % (held, burst))
sys.exit(0 if ok else 1)
PY
check "setup: the table flags the short one only" \
	sh -c "grep -q '^pacing   setup asked 1000000000.0/s .*SHORT' '$WORK/burst.out' &&
		grep '^pacing   setup asked 500.0/s' '$WORK/held.out' | grep -vq SHORT"

[ "$NOT_OK" -eq 0 ]
