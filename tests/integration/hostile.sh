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

python3 - "$D_PORT" <<'PY'
import random, socket, sys
port = int(sys.argv[1])
rnd = random.Random(7)
base = (b"INFO sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=k01000000000000000000000001\r\n"
        b"Call-ID: x@y\r\nCSeq: 2 INFO\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
resp = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKw0000000001000000020000000300\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\nCall-ID: x@y\r\nCSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
sent = 0
for i in range(6000):
    kind = i % 6
    if kind == 0:
        d = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 1400)))
    elif kind in (1, 2):
        d = bytearray(base if kind == 1 else resp)
        for _ in range(rnd.randint(1, 8)):
            d[rnd.randrange(len(d))] = rnd.getrandbits(8)
        d = bytes(d)
    elif kind == 3:
        d = base[: rnd.randint(0, len(base))]
    elif kind == 4:
        d = base.replace(b"Content-Length: 0", b"Content-Length: 99999")
    else:
        d = b"\r\n\r\n" if i % 2 else base.replace(b"\r\n\r\n", b"\r\n" + b"X-A: b\r\n" * 900 + b"\r\n")
    try:
        s.sendto(d[:65000], ("127.0.0.1", port))
        sent += 1
    except BlockingIOError:
        pass
print("# sent %d hostile datagrams" % sent)
PY

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
