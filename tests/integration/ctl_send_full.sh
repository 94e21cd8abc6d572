#!/usr/bin/env bash
# ctl_send_full.sh - a datagram of the controller's that finds its worker's
# socket's send buffer full waits for room and goes (net/sendq.h); it was
# dropped, counted in controller.send_refused, and never sent.
#
# Two network namespaces of the test's own, joined by a veth pair: the daemon
# in one (10.99.0.1, one worker), the caller in the other (10.99.0.2);
# nothing leaves them. The daemon's end of the pair sends through an HTB
# class of 8 bit/s with a long queue, which holds what the daemon sends
# (static neighbour entries: no ARP reply waits there), while the caller's
# datagrams reach the daemon at full speed. A flood of BYEs for no dialog
# gets 481s from the worker, which fill its socket's send buffer (8 MiB, 16
# as the kernel counts it) and keep it full. Then an OPTIONS: the
# controller's 200 to it finds the buffer full (EAGAIN). Removing the queue
# frees the buffer, and the 200 must then reach the caller. Then a call
# whose 180 is held so: the callee's 2xx, which goes through the worker
# once its dialog is installed, must not pass it; it is put off
# (controller.answers_deferred) and the callee's retransmission reaches the
# caller after the 180.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=17120 B_PORT=17121 FLOOD_PORT=17122 OPT_PORT=17123 A_PORT=17124
D_ADDR=10.99.0.1 C_ADDR=10.99.0.2
NS_D=sipshard-ctlsend-$$-d NS_C=sipshard-ctlsend-$$-c

end() {
	cleanup
	ip netns del "$NS_D" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
}
trap end EXIT

in_d() { ip netns exec "$NS_D" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

if ! ip netns add "$NS_D" 2>/dev/null || ! ip netns add "$NS_C" 2>/dev/null; then
	not_ok "network namespaces of the test's own (ip netns add needs root)"
	exit 1
fi
if ! { ip link add ctlsd0 netns "$NS_D" type veth peer name ctlsc0 netns "$NS_C" &&
	ip -n "$NS_D" link set lo up && ip -n "$NS_C" link set lo up &&
	ip -n "$NS_D" addr add "$D_ADDR/24" dev ctlsd0 &&
	ip -n "$NS_C" addr add "$C_ADDR/24" dev ctlsc0 &&
	ip -n "$NS_D" link set ctlsd0 up && ip -n "$NS_C" link set ctlsc0 up; }; then
	not_ok "a veth pair between the test's namespaces"
	exit 1
fi
d_mac=$(ip -n "$NS_D" -br link show ctlsd0 | awk '{print $3}')
c_mac=$(ip -n "$NS_C" -br link show ctlsc0 | awk '{print $3}')
ip -n "$NS_D" neigh replace "$C_ADDR" lladdr "$c_mac" dev ctlsd0 nud permanent
ip -n "$NS_C" neigh replace "$D_ADDR" lladdr "$d_mac" dev ctlsc0 nud permanent
hold_sends() {
	in_d tc qdisc add dev ctlsd0 root handle 1: htb default 1 &&
		in_d tc class add dev ctlsd0 parent 1: classid 1:1 htb rate 8bit ceil 8bit 2>/dev/null &&
		in_d tc qdisc add dev ctlsd0 parent 1:1 handle 10: pfifo limit 1000000
}
if ! hold_sends; then
	not_ok "an HTB queue of 8 bit/s on the daemon's side (tc, sch_htb)"
	exit 1
fi

cat >"$WORK/cfg.json" <<JSON
{
  "listen": "$D_ADDR:$D_PORT",
  "workers": 1,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "$C_ADDR:$B_PORT" } ]
}
JSON
start_bg ip netns exec "$NS_D" "$SIPSHARDD" -c "$WORK/cfg.json" --stats-file "$WORK/d.stats.json" \
	--discard-dialogs 2>"$WORK/d.log"
DAEMON_PID=${PIDS[-1]}
for _ in $(seq 1 50); do
	in_d ss -Hlun "sport = :$D_PORT" | grep -q . && break
	sleep 0.1
done

# ---- the worker's 481s fill the send buffer ---------------------------------
cat >"$WORK/flood.py" <<'PY'
import socket, sys
daddr, dport, caddr, cport, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 32, 64 << 20)  # SO_SNDBUFFORCE: the burst leaves at once
s.bind((caddr, cport))
# a long Via that each 481 copies: fewer of them fill the buffer
pad = "Via: SIP/2.0/UDP 10.99.0.9:5060;branch=z9hG4bKpad;x=" + "p" * 900 + "\r\n"
for i in range(n):
    s.sendto(("BYE sip:x@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bKf%d\r\n%s"
              "From: <sip:a@%s>;tag=fa%d\r\nTo: <sip:b@%s>;tag=nosuch%d\r\n"
              "Call-ID: flood-%d@%s\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
              % (daddr, dport, caddr, cport, i, pad, caddr, i, daddr, i, i, caddr)).encode(),
             (daddr, dport))
PY
# skmem t (bytes charged to the socket's sends) and tb (its send buffer)
send_buffer() {
	in_d ss -Huamn "sport = :$D_PORT" | sed -n 's/.*skmem:(.*,t\([0-9]*\),tb\([0-9]*\),.*/\1 \2/p' |
		head -1
}
# fill: floods until the send buffer is full (t >= tb), three at most,
# FLOOD_BYES a flood (written as a product: mgmt.sh reads five-digit
# numbers in the scripts as ports)
FLOOD_BYES=$((15 * 1000))
fill() {
	local round t tb
	for round in 1 2 3; do
		in_c python3 "$WORK/flood.py" "$D_ADDR" "$D_PORT" "$C_ADDR" "$FLOOD_PORT" "$FLOOD_BYES"
		for _ in $(seq 1 20); do
			read -r t tb <<<"$(send_buffer)"
			if [ -n "${t:-}" ] && [ "$t" -ge "$tb" ]; then
				echo "# send buffer: $t of $tb bytes after $round flood(s)"
				return 0
			fi
			sleep 0.1
		done
	done
	echo "# send buffer: ${t:-?} of ${tb:-?} bytes after 3 floods"
	return 1
}
check "the worker's 481s to a flood of BYEs fill its socket's send buffer" fill

# ---- an OPTIONS: the controller's 200 finds it full -------------------------
cat >"$WORK/options.py" <<'PY'
import select, socket, sys, time
daddr, dport, caddr, cport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((caddr, cport))
s.sendto(("OPTIONS sip:x@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bKopt1\r\n"
          "From: <sip:a@%s>;tag=o1\r\nTo: <sip:b@%s>\r\nCall-ID: options-1@%s\r\n"
          "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
          % (daddr, dport, caddr, cport, caddr, daddr, caddr)).encode(), (daddr, dport))
t0 = time.time()
# sent once, never again: only the daemon's first answer can come
while time.time() - t0 < 10:
    r, _, _ = select.select([s], [], [], 10 - (time.time() - t0))
    if not r:
        break
    m = s.recv(65535).decode("latin-1")
    if "options-1@" in m:
        print(m.split("\r\n")[0], "after %.1f s" % (time.time() - t0))
        sys.exit(0)
print("no answer")
PY
start_bg ip netns exec "$NS_C" python3 "$WORK/options.py" "$D_ADDR" "$D_PORT" "$C_ADDR" "$OPT_PORT" \
	>"$WORK/options.out"
opt=${PIDS[-1]}
check "the OPTIONS reached the controller (controller.options)" \
	wait_json "$WORK/d.stats.json" 'j["controller"]["options"]' 1
# the stats file is written once a second: the 200 was tried by then
sleep 1.2
check "its 200 found the send buffer full and waits for room (controller.send_waited 1, send_refused 0)" \
	wait_json "$WORK/d.stats.json" \
	'(j["controller"].get("send_waited"), j["controller"]["send_refused"])' "(1, 0)"

# ---- the buffer drains: the 200 goes ----------------------------------------
in_d tc qdisc del dev ctlsd0 root # what it held is dropped: the buffer is free
wait "$opt"
sed 's/^/# caller: /' "$WORK/options.out"
check "the 200 reaches the caller once the buffer has room" grep -q "^SIP/2.0 200 " "$WORK/options.out"

# ---- a 180 held: the 2xx after it waits ---------------------------------------
cat >"$WORK/call.py" <<'PY'
import json, re, select, socket, subprocess, sys, time
daddr, dport, caddr, aport, bport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
fill, drain, stats = sys.argv[6], sys.argv[7], sys.argv[8]
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind((caddr, aport))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind((caddr, bport))

def hdr(m, name):
    x = re.search(r"^%s\s*:\s*(.*?)\r\n" % name, m, re.M | re.I)
    return x.group(1) if x else ""

def wait(sock, pred, t):
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([sock], [], [], end - time.time())
        if not r:
            return None
        m = sock.recv(65535).decode("latin-1")
        if pred(m):
            return m
    return None

def controller():
    return json.load(open(stats))["controller"]

a.sendto(("INVITE sip:callee@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bKinv1\r\n"
          "From: <sip:caller@%s>;tag=a1\r\nTo: <sip:callee@%s>\r\nCall-ID: held-1@%s\r\n"
          "CSeq: 1 INVITE\r\nContact: <sip:caller@%s:%d>\r\nMax-Forwards: 70\r\n"
          "Content-Length: 0\r\n\r\n" % (daddr, dport, caddr, aport, caddr, daddr, caddr, caddr,
                                          aport)).encode(), (daddr, dport))
inv = wait(b, lambda m: m.startswith("INVITE "), 3)
if not inv:
    print(json.dumps({"error": "no INVITE at the callee"}))
    sys.exit(1)
got = []  # the statuses the caller gets, in order

def answer(code):
    to = hdr(inv, "To") + ("" if ";tag=" in hdr(inv, "To") else ";tag=b1")
    vias = "".join(re.findall(r"^Via\s*:.*?\r\n", inv, re.M | re.I))
    b.sendto(("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
              "Contact: <sip:callee@%s:%d>\r\nContent-Length: 0\r\n\r\n"
              % (code, vias, hdr(inv, "From"), to, hdr(inv, "Call-ID"), hdr(inv, "CSeq"), caddr,
                 bport)).encode(), (daddr, dport))

def take(t):
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([a], [], [], max(0, end - time.time()))
        if not r:
            return
        m = a.recv(65535).decode("latin-1")
        if "held-1@" in m and m.startswith("SIP/2.0 "):
            got.append(int(m.split(" ")[1]))

take(0.3)  # the 100
if subprocess.call(["bash", "-c", fill]) != 0:
    print(json.dumps({"error": "the send buffer did not fill"}))
    sys.exit(1)
answer("180 Ringing")
time.sleep(0.3)
answer("200 OK")
take(1.5)  # the stats file is written once a second
c = controller()
held = {"waited": c.get("send_waited"), "deferred": c["answers_deferred"], "got": list(got)}
subprocess.call(["bash", "-c", drain])
# the callee resends its 2xx until the ACK (RFC 3261 13.3.1.4)
for _ in range(8):
    answer("200 OK")
    take(0.5)
    if 200 in got:
        break
print(json.dumps({"held": held, "got": got}))
PY
# (the INVITE to the callee first: then the queue holds the daemon's sends,
# and the flood fills the buffer)
fill_cmd="$(declare -f in_d in_c send_buffer hold_sends fill); NS_D=$NS_D NS_C=$NS_C D_ADDR=$D_ADDR"
fill_cmd+=" D_PORT=$D_PORT C_ADDR=$C_ADDR FLOOD_PORT=$FLOOD_PORT FLOOD_BYES=$FLOOD_BYES WORK=$WORK;"
fill_cmd+=" hold_sends && fill"
in_c python3 "$WORK/call.py" "$D_ADDR" "$D_PORT" "$C_ADDR" "$A_PORT" "$B_PORT" "$fill_cmd" \
	"ip netns exec $NS_D tc qdisc del dev ctlsd0 root" "$WORK/d.stats.json" >"$WORK/call.out" 2>&1
take_result "$WORK/call.out"
# (send_waited: the OPTIONS' 200, the 180, and any INVITE Timer A resent
# while the buffer filled)
check "held: the 180 waits (send_waited), the 2xx after it is put off (answers_deferred 1), none reached the caller but the 100" \
	test "$(get 'j["held"]["waited"] >= 2 and j["held"]["deferred"] == 1 and j["held"]["got"] == [100]')" = True
check "held: once the buffer has room the caller gets the 180, then the callee's 2xx resent" \
	test "$(get 'j["got"]')" = "[100, 180, 200]"
stop_daemon
