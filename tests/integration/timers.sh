#!/usr/bin/env bash
# The controller's timers in a running sipshardd (each set-up record has one
# timer in a wheel): to a callee that never answers, leg B's INVITE is resent
# with doubling gaps from T1 (Timer A) and the caller gets 408 at 64 x T1
# (Timer B); a call ringing past timers.no_answer_s gets a CANCEL towards the
# callee and a 408 towards the caller; hundreds of calls ringing at once are
# each answered when their callee answers, none times out and none is
# answered early.
# run-alone: Timer A's gaps are checked to tens of milliseconds
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the timers are the controller's state
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=15960
B_PORT=15980
STATS=$WORK/timers.stats.json

# T1 100 ms: Timer B at 6.4 s, and gaps of 100 ms and more between resends,
# wide against a busy machine's scheduling; calls ringing 4 s are given up
write_config "$WORK/timers.json" \
	", \"timers\": { \"t1_ms\": 100, \"t2_ms\": 4000, \"no_answer_s\": 4 }"
start_daemon timers "$WORK/timers.json"

# ---- Timer A and B: a callee that never answers -----------------------------
# a silent callee: notes the time of each INVITE it gets, in ms
python3 - "$B_PORT" "$WORK/silent.times" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2)
end = time.monotonic() + 12
with open(sys.argv[2], "w") as f:
    while time.monotonic() < end:
        try:
            data = s.recv(65535)
        except socket.timeout:
            continue
        if data.startswith(b"INVITE "):
            f.write("%d\n" % int(time.monotonic() * 1000))
            f.flush()
PY
SILENT=$!
PIDS+=($SILENT)
wait_udp_port "$B_PORT"
t0=$(date +%s%N)
probe timers "a silent callee: 100, then 408 from Timer B" probe_invite_408.xml
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
check "the 408 comes at Timer B, 64 x T1 = 6.4 s (took ${elapsed_ms} ms)" \
	test "$elapsed_ms" -ge 6300 -a "$elapsed_ms" -lt 9000
kill "$SILENT" 2>/dev/null
wait "$SILENT" 2>/dev/null
# sent at 0, then Timer A at 100, 300, 700, 1500, 3100 and 6300 ms (the gap
# doubles from T1); the last may fall at Timer B, 6400 ms, when a tick is late
check "leg B's INVITE resent by Timer A, the gaps doubling from T1" python3 - "$WORK/silent.times" <<'PY'
import sys
t = [int(l) for l in open(sys.argv[1])]
gaps = [b - a for a, b in zip(t, t[1:])]
print("# INVITEs at +%s ms" % [x - t[0] for x in t])
ok = len(t) in (6, 7) and gaps[0] >= 90 and all(b >= 1.6 * a for a, b in zip(gaps, gaps[1:]))
sys.exit(0 if ok else 1)
PY
check "counted as one timeout" wait_json "$STATS" 'j["controller"]["calls_timeout"]' 1

# ---- no answer: a callee that rings until it is CANCELled --------------------
sipp_uas "$B_PORT" uas_cancel.xml -m 1
UAS=${PIDS[-1]}
sleep 0.3
t0=$(date +%s%N)
probe timers "ringing past timers.no_answer_s: 180, then 408" uac_ring_408.xml
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
check "the 408 comes at no_answer_s, 4 s after the INVITE (took ${elapsed_ms} ms)" \
	test "$elapsed_ms" -ge 3900 -a "$elapsed_ms" -lt 7000
check "the callee got a CANCEL, and the ACK of its 487" wait_exit 5 "$UAS"
check "counted as a timeout, not a cancel" \
	wait_json "$STATS" 'j["controller"]["calls_timeout"], j["controller"]["calls_cancelled"]' "2 0"

# ---- hundreds of calls ringing at once --------------------------------------
# 400 calls at 200/s, each answered 2 s after its 180: about 400 ringing at
# once, every one answered when its callee answers
start_bg "$BUILD/sipshard-load" --role uas --local "127.0.0.1:$B_PORT" --duration 0 \
	--answer-delay-ms 2000 >"$WORK/ringing-uas.out" 2>&1
wait_udp_port "$B_PORT"
t0=$(date +%s%N)
timeout 60 "$BUILD/sipshard-load" --role uac --target "127.0.0.1:$D_PORT" \
	--local "127.0.0.1:$((D_PORT + 1))" --calls 400 --rate 200 --duration 1 \
	--json "$WORK/ringing.json" >"$WORK/ringing.out" 2>&1
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
check "400 calls ringing 2 s each: all set up" \
	test "$(json_get "$WORK/ringing.json" 'j["calls"]["established"]')" = 400
check "none answered before its callee did (INVITE p50 >= 2 s)" \
	test "$(json_get "$WORK/ringing.json" 'int(j["latency_us_by_method"]["INVITE"]["p50"] >= 2000000)')" = 1
check "no timeout among them, 400 answered" \
	wait_json "$STATS" 'j["controller"]["calls_timeout"], j["controller"]["calls_answered"]' "2 400"
echo "# the ringing run took ${elapsed_ms} ms"
