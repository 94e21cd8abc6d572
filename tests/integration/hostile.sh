#!/usr/bin/env bash
# Hostile input: thousands of random and mutated datagrams at a running
# sipshardd; afterwards it must still be alive, still complete calls, have
# counted the garbage, and have left no dialog or setup behind.
# run-alone: thousands of datagrams at the sanitizer build keep a CPU busy
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build of the daemon when there is one: a hostile datagram that
# reads out of bounds should fail this test, not pass silently
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16060
B_PORT=16080
cat >"$WORK/cfg.json" <<JSON
{ "listen": "127.0.0.1:$D_PORT", "workers": 2, "run_dir": "$WORK/run",
  "routes": [ { "target": "127.0.0.1:$B_PORT" } ] }
JSON
start_bg "$SIPSHARDD" -c "$WORK/cfg.json" --stats-file "$WORK/stats.json" 2>"$WORK/d.log"
DAEMON=${PIDS[-1]}
wait_udp_port "$D_PORT" || { not_ok "daemon started"; exit 1; }

python3 scripts/hostile.py "$D_PORT" --count 6000 --seed 7

sleep 0.5
check "daemon survives hostile datagrams" kill -0 "$DAEMON"
# exit status 1 exactly: a crash while cleaning up the failed start (it once
# wrote statistics from a controller that never opened) is not a refusal
check "a second daemon on the same port refuses to start (exit 1), saying why" \
	bash -c 'timeout 5 "$1" -c "$2" --stats-file "$3.stats" 2>"$3"; [ $? = 1 ] && grep -q "another process holds this UDP port" "$3" && ! grep -q "Sanitizer\|runtime error" "$3"' \
	_ "$SIPSHARDD" "$WORK/cfg.json" "$WORK/second.log"
sipp_uas "$B_PORT" uas_info_bye.xml -m 5
sleep 0.3
check "calls still complete afterwards" sipp_uac after "$D_PORT" uac_info_bye.xml -m 5 -r 50 -i 127.0.0.1 -p 16061
# the stats file is written every second: each check waits for a write that
# has what it looks for; "no call left active" for one that has the five
# calls above answered (a write from before them has no call active either),
# which the counts below then start from
check "garbage counted as malformed" \
	wait_json "$WORK/stats.json" 'sum(w["rx_bad"] for w in j["workers"]) > 1000' True
check "forged dialogs answered 481" \
	wait_json "$WORK/stats.json" 'sum(w["answered_4xx"] for w in j["workers"]) > 0' True
check "no call left active" \
	wait_json "$WORK/stats.json" 'j["controller"]["calls_answered"], j["controller"]["calls_active"]' "5 0"
# Empty datagrams (no payload): the sockets' filter drops each in the kernel,
# where io_uring's receive would have stopped at every one; the socket's drop
# count has them, and the steering program counts them apart
out=$(python3 - "$WORK/stats.json" "$D_PORT" <<'PY'
import json, socket, sys, time
stats, port = sys.argv[1], int(sys.argv[2])
N = 5000
def totals():
    j = json.load(open(stats))
    w = j["workers"]
    return (sum(x["rx"] for x in w), sum(x["drops"]["socket_queue_full"] for x in w),
            j["steering"].get("empty", 0), j["steering"]["attached"])
rx0, sock0, empty0, _ = totals()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(N):
    s.sendto(b"", ("127.0.0.1", port))
    if i % 500 == 0:
        time.sleep(0.01) # no queue overflow: only the filter drops
# the stats file is written every second: until a write has them all, 5 s at most
end = time.monotonic() + 5
while True:
    rx, sock, empty, attached = totals()
    ok = rx == rx0 and sock - sock0 == N and (not attached or empty - empty0 == N)
    if ok or time.monotonic() > end:
        break
    time.sleep(0.1)
print("sent %d received %d socket_drops %d steering_empty %d attached %s %s" %
      (N, rx - rx0, sock - sock0, empty - empty0, attached, "ok" if ok else "wrong"))
PY
)
echo "# $out"
check "empty datagrams are dropped at the socket and counted (socket_queue_full, steering.empty)" \
	test "${out##* }" = ok
# A worker that falls behind (paused here): the kernel drops what its full
# socket queue cannot hold, which no counter of ours saw; each datagram sent
# must now be received (rx) or counted (drops.socket_queue_full)
out=$(python3 - "$DAEMON" "$WORK/stats.json" "$D_PORT" <<'PY'
import json, os, signal, socket, sys, time
pid, stats, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
N = 20000
def totals():
    w = json.load(open(stats))["workers"]
    return sum(x["rx"] for x in w), sum(x["drops"]["socket_queue_full"] for x in w)
rx0, sock0 = totals()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
os.kill(pid, signal.SIGSTOP)
try:
    for _ in range(N):
        s.sendto(b"not sip " * 125, ("127.0.0.1", port))
finally:
    os.kill(pid, signal.SIGCONT)
# the stats file is written every second: until a write has them all, 5 s at most
end = time.monotonic() + 5
while True:
    rx, sock = totals()
    if sock - sock0 > 0 and rx - rx0 + sock - sock0 == N or time.monotonic() > end:
        break
    time.sleep(0.1)
print("sent %d received %d queue_full %d %s" % (N, rx - rx0, sock - sock0,
      "ok" if sock - sock0 > 0 and rx - rx0 + sock - sock0 == N else "lost"))
PY
)
echo "# $out"
check "datagrams dropped at a paused worker's full socket queue are counted (socket_queue_full)" \
	test "${out##* }" = ok
kill "$DAEMON"
wait "$DAEMON"
check "daemon exits cleanly on SIGTERM" test $? -eq 0
check "no sanitizer report" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' \"\$1\"" _ "$WORK/d.log"
