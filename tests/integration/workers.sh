#!/usr/bin/env bash
# The workers' receive path at its edges: an INVITE larger than 2 KiB (a
# WebRTC gateway's SDP), a datagram larger than any receive buffer,
# in-dialog requests whose Call-ID the steering cannot read (folded onto a
# continuation line), with the BPF program and without, and a stop while a
# worker waits for room on its ring to the controller; a datagram the kernel
# refuses to send.
# run-alone: 30000 calls end at once; a neighbour would slow it past its waits
set -u
cd "$(dirname "$0")/../.."
# the ThreadSanitizer build of the daemon (common.bash): the workers hand
# datagrams to each other and to the controller
TSAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16300 # sipshardd
B_PORT=16320 # callee
A_PORT=16330 # raw caller; 16331-16346 its other source ports

write_config "$WORK/main.json"

# ---- large datagrams ----------------------------------------------------
# Receive buffers were 2048 bytes: this 3.9 KB INVITE was cut, dropped and
# counted nowhere, and the caller's call timed out.
start_daemon big "$WORK/main.json"
run_flow big "an INVITE of 3.9 KB is answered and its call completes" \
	uac_big_sdp_info_bye.xml uas_info_bye.xml 1
# Leg B's copy of an INVITE had 4096 bytes of room: this 7.6 KB one (video
# and ICE candidates) was answered 513.
out=$(python3 - "$D_PORT" "$B_PORT" "$A_PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from rawua import Callee, Caller
dport, bport, aport = map(int, sys.argv[1:])
callee, caller = Callee(bport), Caller(aport, dport)
sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
sdp += "m=video 40000 RTP/AVP 96\r\n"
i = 0
while len(sdp) < 7300:
    sdp += "a=candidate:%d 1 UDP 2130706431 192.0.2.%d %d typ host\r\n" % (i, i % 250 + 1, 40000 + 2 * i)
    i += 1
size = len(caller.request("INVITE", 1, sdp=sdp))
final = caller.call(callee, sdp)
got = [m for m in callee.got if m.startswith("INVITE ")]
whole = len(got) == 1 and got[0].endswith("\r\n\r\n" + sdp)
print("size %d final %d whole %s" % (size // 100, final, whole))
PY
)
echo "# $out"
check "big: an INVITE of 7.6 KB reaches the callee whole and is answered 200" \
	test "$out" = "size 76 final 200 whole True"
# A BYE through a chain of proxies (seven more Vias): its lines did not fit
# the record its response is written from; answered 513, the caller hung up
# and the callee stayed up until the idle timer. Now they go to the worker's
# long-head pool: relayed, and the callee's 200 comes back with every Via.
out=$(python3 - "$D_PORT" "$B_PORT" "$A_PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from rawua import call_up, recv, status
dport, bport, aport = map(int, sys.argv[1:])
callee, caller = call_up(dport, bport, aport + 20)
bye = caller.request("BYE", caller.next_cseq())
first_via_end = bye.index("\r\n", bye.index("Via:")) + 2
vias = "".join("Via: SIP/2.0/UDP 10.1.1.%d:5060;branch=z9hG4bK3a5d.7c8e5f1d0e6f9e2a3b4c5d6e7f8a9b%02d.0"
               ";i=1a2b3c;received=203.0.113.5;rport=5060\r\n" % (10 + i, i) for i in range(7))
bye = bye[:first_via_end] + vias + bye[first_via_end:]
caller.sock.sendto(bye.encode(), ("127.0.0.1", dport))
callee.pump_until("BYE", 1)
answer = recv(caller.sock, 3.0)
vias_back = answer.count("\r\nVia: ") if answer else 0
print("size %d answer %d callee got BYE %d vias back %d" %
      (len(bye) // 100, status(answer), callee.count("BYE"), vias_back))
PY
)
echo "# $out"
check "big: a BYE through seven proxies reaches the callee, whose 200 comes back with its eight Vias" \
	test "$out" = "size 12 answer 200 callee got BYE 1 vias back 8"
python3 - "$D_PORT" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n",
         ("127.0.0.1", int(sys.argv[1])))
PY
check "big: a 9 KB datagram is a counted drop (drops.too_large)" \
	wait_json "$WORK/big.stats.json" 'sum(w["drops"]["too_large"] for w in j["workers"])' 1
stop_daemon

# ---- an answer larger than a send buffer ------------------------------------
# A malformed OPTIONS (Max-Forwards: abc) whose To is 1700 bytes: its 400
# copies that To and cannot fit tx_buffer_size 1500. It was counted in
# answered_400 though nothing left.
write_config "$WORK/small_tx.json" ', "tx_buffer_size": 1500'
start_daemon small_tx "$WORK/small_tx.json"
got=$(python3 - "$D_PORT" "$A_PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from rawua import recv, status, udp
dport, aport = map(int, sys.argv[1:])
s = udp(aport)
s.sendto(("OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbad400\r\n"
          "Max-Forwards: abc\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\n"
          "To: <sip:bob@127.0.0.1;x=%s>\r\n"
          "Call-ID: bad400\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
          % (aport, "y" * 1700)).encode(), ("127.0.0.1", dport))
print(status(recv(s, 1.0)))
PY
)
# until a stats write has the drop (5 s at most), then the check reads it
wait_json "$WORK/small_tx.stats.json" 'sum(w["drops"]["no_buffer"] for w in j["workers"])' 1
check "small_tx: a 400 too large to send is no answer ($got) but a counted drop (drops.no_buffer, not answered_400)" \
	test "$got $(json_get "$WORK/small_tx.stats.json" 'sum(w["answered_400"] for w in j["workers"]), sum(w["drops"]["no_buffer"] for w in j["workers"])')" = "0 0 1"
stop_daemon

# ---- a destination the kernel refuses -------------------------------------
# Leg B's INVITE to a target the kernel will not send to (a broadcast
# address: EACCES) was dropped with a debug line only: the route showed as
# calls timing out, nothing said why.
sed 's/"127.0.0.1:'"$B_PORT"'"/"255.255.255.255:'"$B_PORT"'"/' "$WORK/main.json" >"$WORK/refused.json"
start_daemon refused "$WORK/refused.json"
python3 - "$D_PORT" "$A_PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from rawua import Caller, recv
dport, aport = map(int, sys.argv[1:])
c = Caller(aport, dport)
c.sock.sendto(c.request("INVITE", 1).encode(), ("127.0.0.1", dport))
recv(c.sock, 1.0)
PY
check "refused: leg B's INVITE the kernel refused is counted (controller.send_refused)" \
	wait_json "$WORK/refused.stats.json" 'j["controller"]["send_refused"] >= 1' True
check "refused: and logged with its destination" \
	grep -q "cannot send to 255.255.255.255:$B_PORT" "$WORK/refused.log"
stop_daemon

# ---- Call-IDs the steering cannot read ------------------------------------
# A folded Call-ID is valid SIP (RFC 3261 7.3.1), but neither the kernel's
# scanner nor the userspace one follows it: the worker the kernel chose by
# the sender's port held no such call and answered 481, half the time.
for mode in bpf nobpf; do
	flags=()
	[ "$mode" = nobpf ] && flags+=(--no-bpf)
	start_daemon "fold-$mode" "$WORK/main.json" "${flags[@]}"
	out=$(python3 - "$D_PORT" "$B_PORT" "$A_PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from rawua import call_up, recv, status, udp
dport, bport, aport = map(int, sys.argv[1:])
callee, caller = call_up(dport, bport, aport)
answers = []
for i in range(16):  # from 16 source ports: the kernel spreads them over both workers
    s = udp(aport + 1 + i)
    cseq = caller.next_cseq()
    folded = "Call-ID:\r\n  %s\r\n" % caller.call_id
    s.sendto(caller.request("INFO", cseq, folded, aport + 1 + i).encode(), ("127.0.0.1", dport))
    callee.pump_until("INFO", i + 1)
    # the answer goes back to the port the INFO came from (RFC 3261
    # 18.2.2), where a 481 from the worker without the call would come too;
    # nothing goes to the caller's latched address
    answer = recv(s, 3.0)
    stray = recv(caller.sock, 0.05)
    answers.append(status(answer) if answer and "CSeq: %d INFO" % cseq in answer else 0)
    if stray:
        answers.append(status(stray))
    s.close()
print("answers %s relayed %d" % (",".join(map(str, answers)), callee.count("INFO")))
PY
)
	echo "# $mode: $out"
	check "$mode: 16 INFOs with a folded Call-ID from 16 ports all relayed and answered 200" \
		test "$out" = "answers $(printf '200,%.0s' $(seq 15))200 relayed 16"
	if [ "$mode" = bpf ]; then
		check "$mode: BPF attached" \
			wait_json "$WORK/fold-$mode.stats.json" 'j["steering"]["attached"]' True
	fi
	stop_daemon
done

# ---- answers at a call's end go where their requests came from --------------
# A request still open when the call ends is answered 487 by sipshardd
# (relay_end_pending). Those answers went to the leg's peer, the address of
# the call's set-up, not to the node the request came from (RFC 3261 18.2.2).
start_daemon endsrc "$WORK/main.json"
out=$(python3 - "$D_PORT" "$B_PORT" "$A_PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from rawua import call_up, recv, recv_request, status, udp
dport, bport, aport = map(int, sys.argv[1:])
callee, caller = call_up(dport, bport, aport)
other = udp(aport + 1)
info = caller.next_cseq()
other.sendto(caller.request("INFO", info, None, aport + 1).encode(), ("127.0.0.1", dport))
held = recv_request(callee.sock, "INFO", 3.0)  # the callee keeps it unanswered
caller.sock.sendto(caller.request("BYE", caller.next_cseq()).encode(), ("127.0.0.1", dport))
callee.pump_until("BYE", 1)
answer = recv(other, 3.0)
at_caller = []
while True:
    m = recv(caller.sock, 0.3)
    if not m:
        break
    at_caller.append(m.split("\r\n")[0] + "/" + ("INFO" if "INFO\r\n" in m else "BYE"))
print("held %s other %s caller %s" % (bool(held),
      status(answer) if answer and "CSeq: %d INFO" % info in answer else 0, ",".join(at_caller)))
PY
)
echo "# $out"
check "end: an INFO open at the call's end gets its 487 at the port it came from" \
	test "$out" = "held True other 487 caller SIP/2.0 200 OK/BYE"
stop_daemon

# ---- io_uring refused by the kernel -----------------------------------------
# io_uring_setup failing with EPERM (kernel.io_uring_disabled=2, a container's
# seccomp profile): each worker falls back to recvmmsg, which the log said in
# one line ("I/O backend: recvmmsg"), with no word that io_uring was asked
# for and why it was not there. The call is relayed all the same.
DAEMON_WRAP=$BUILD/tools/deny_uring start_daemon nouring "$WORK/main.json"
out=$(python3 - "$D_PORT" "$B_PORT" "$A_PORT" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from rawua import call_up, recv, status
dport, bport, aport = map(int, sys.argv[1:])
callee, caller = call_up(dport, bport, aport)
caller.sock.sendto(caller.request("INFO", caller.next_cseq()).encode(), ("127.0.0.1", dport))
callee.pump_until("INFO", 1)
print("info", status(recv(caller.sock, 3.0)))
PY
)
echo "# $out"
check "io_uring refused: each worker says so, with the step and the error" \
	test "$(grep -c 'io_uring unavailable (io_uring_setup: Operation not permitted): using recvmmsg/sendmmsg' "$WORK/nouring.log")" = 2
check "io_uring refused: stats say recvmmsg, for the daemon and for each worker" \
	wait_json "$WORK/nouring.stats.json" 'j["io"], sorted(set(w["io"]["backend"] for w in j["workers"]))' "recvmmsg ['recvmmsg']"
check "io_uring refused: a call's INFO is relayed and answered" test "$out" = "info 200"
stop_daemon
start_daemon uring "$WORK/main.json"
check "io_uring allowed: no such warning" bash -c "! grep -q 'io_uring unavailable' \"\$1\"" _ "$WORK/uring.log"
check "io_uring allowed: the daemon's backend is each worker's" \
	wait_json "$WORK/uring.stats.json" 'j["io"] == j["workers"][0]["io"]["backend"] == j["workers"][1]["io"]["backend"]' True
stop_daemon

# ---- the capabilities the steering program needs ---------------------------
# The README named CAP_BPF and CAP_NET_ADMIN: with those the kernel refuses
# the program (E2BIG: without CAP_PERFMON its checker stops at 1M
# instructions) and the log did not say which capability was missing.
for caps in bpf,+perfmon bpf,+net_admin; do
	timeout -s INT 3 setpriv --inh-caps=-all --bounding-set=-all,+$caps -- \
		"$SIPSHARDD" -c "$WORK/main.json" --discard-dialogs >/dev/null 2>"$WORK/caps-$caps.log"
done
check "caps: CAP_BPF and CAP_PERFMON attach the steering program (as the README says)" \
	grep -q "BPF steering attached" "$WORK/caps-bpf,+perfmon.log"
check "caps: without CAP_PERFMON the log names it" \
	grep -q "CAP_PERFMON" "$WORK/caps-bpf,+net_admin.log"
check "caps: the README names that set" grep -q "CAP_BPF and CAP_PERFMON" README.md

# ---- requests that arrive while the daemon starts ---------------------------
# Datagrams queued on the worker sockets before the steering program was
# attached were dropped (steering.dropped_before_attach), though a worker
# passes any datagram it does not own to its owner by its parsed Call-ID:
# requests of a busy port went unanswered at every start. In-dialog INFOs
# with a forged To-tag (any worker answers 481) stream in while it starts;
# every one the workers received must be answered.
out=$(python3 - "$SIPSHARDD" "$WORK/main.json" "$WORK/starting.stats.json" "$D_PORT" "$A_PORT" \
	2>"$WORK/starting.log" <<'PY'
import json, select, signal, socket, subprocess, sys, time
daemon, cfg, stats = sys.argv[1:4]
dport, aport = map(int, sys.argv[4:6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", aport))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
answered = set()
def drain(timeout=0):
    while select.select([s], [], [], timeout)[0]:
        for line in s.recv(65535).decode("latin-1").split("\r\n"):
            if line.startswith("Call-ID: start-"):
                answered.add(line)
p, i, t0 = None, 0, time.time()
while time.time() - t0 < 2.0:
    if p is None and time.time() - t0 > 0.2:
        p = subprocess.Popen([daemon, "-c", cfg, "--discard-dialogs", "--stats-file", stats])
    s.sendto(("INFO sip:bob@127.0.0.1:%d SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-st%d\r\n"
              "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a%d\r\n"
              "To: <sip:bob@127.0.0.1>;tag=forged%d\r\nCall-ID: start-%d@127.0.0.1\r\n"
              "CSeq: 2 INFO\r\nContent-Length: 0\r\n\r\n"
              % (dport, aport, i, i, i, i)).encode(), ("127.0.0.1", dport))
    i += 1
    drain()
    time.sleep(0.0002)
drain(1.5)
time.sleep(1.2)  # a stats write
p.send_signal(signal.SIGINT)
p.wait()
j = json.load(open(stats))
rx = sum(w["rx"] for w in j["workers"])
print("attached %s rx>0 %s answered==rx %s" % (j["steering"]["attached"], rx > 0, len(answered) == rx))
PY
)
echo "# $out"
check "starting: every request the workers received while the daemon started was answered ($out)" \
	test "$out" = "attached True rx>0 True answered==rx True"

# ---- a stop while ending more calls than the controller's ring holds -------
# 30000 calls idle since long before this start: the first tick ends them all,
# one notice each on a ring of 4096 to the controller. SIGINT then stopped
# the controller first, and the worker waited for room for ever.
rm -rf "$WORK/run" && mkdir -p "$WORK/run"
if "$BUILD/tools/idle_tables" "$WORK/run/shard-0.tbl" 30000 1024 "$B_PORT"; then
	write_config "$WORK/idle.json" ', "workers": 1, "capacity": { "dialogs_per_shard": 30000,
	  "transactions_per_shard": 1024 }, "timers": { "dialog_idle_s": 1 }'
	sed -i 's/"workers": 2,//' "$WORK/idle.json"
	KEEP_DIALOGS=1 start_daemon idle "$WORK/idle.json" --no-bpf
	wait_text "$WORK/idle.log" "carried over"
	kill -INT "$DAEMON_PID"
	check "a SIGINT while 30000 carried calls end stops the daemon within 10 s" \
		wait_exit 10 "$DAEMON_PID"
	check "it had taken the 30000 calls up" grep -q "carried over 30000 calls" "$WORK/idle.log"
else
	not_ok "idle_tables wrote the table of 30000 idle calls"
fi

[ "$NOT_OK" -eq 0 ]
