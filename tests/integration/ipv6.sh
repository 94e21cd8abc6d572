#!/usr/bin/env bash
# IPv6, with raw UDP peers of either family: a daemon listening on "[::1]"
# relays a call between an IPv6 caller and an IPv6 callee (INFO each way, a
# BYE from each side), with BPF steering and without, and sipshardctl
# disable finds its target "[::1]:PORT" written "[0::1]:PORT". A dual-stack
# "[::]" daemon relays a call from an IPv6 caller and one from an IPv4 caller
# to an IPv4 callee, and shows plain addresses (no ::ffff:) in sipshardctl
# dialogs and the CDRs' source; the callee's 486, resent after the caller's
# ACK, is ACKed again; a target written IPv4-mapped is that IPv4 callee,
# its answered INVITE counted on it, and a daemon whose listen is written
# IPv4-mapped reaches it too. In a network namespace of its own with
# net.ipv6.bindv6only=1, a "[::]" daemon still takes an IPv4 caller and
# reaches an IPv4 callee. sipshard-load's uas given only an IPv6 --local,
# and its uac given only an IPv6 --target, make calls.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=16530 # sipshardd; the caller is 16531, the callee 16532
A_PORT=16531
B_PORT=16532
NS_PORT=16533 # the namespace's sipshardd; its callee 16534, its caller 16535
LOAD_PORT=16536 # sipshard-load's uas
CTL=$BUILD/sipshardctl
LOAD=${LOAD:-$BUILD/sipshard-load}
SOCK=$WORK/sipshardd.sock
# small tables: each daemon starts at once
CAPACITY='"capacity": {"dialogs_per_shard": 64, "transactions_per_shard": 64, "setups": 16}'
CDR=$WORK/cdr.jsonl

# peer.py D_PORT A_PORT B_PORT call DAEMON_HOST CALLER_HOST CALLEE_HOST BYE_FROM [HELD]: one call
# with an INFO each way and a BYE from BYE_FROM (caller or callee); with
# HELD, the call is held up after the INFOs until the file HELD is removed.
# peer.py D_PORT A_PORT B_PORT stale: the resent 486 (all on 127.0.0.1). Exit status 1 on the
# first thing that went wrong, said on stdout.
cat >"$WORK/peer.py" <<'PY'
import os, random, re, select, socket, sys, time
sys.path.insert(0, "tests/integration")
from rawua import header, respond, status

DPORT, APORT, BPORT = (int(p) for p in sys.argv[1:4])
args = sys.argv[4:]


def hostport(host, port):
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def udp(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s


def wait(sock, what, pred, t=3.0):
    end = time.time() + t
    while time.time() < end:
        if not select.select([sock], [], [], max(0, end - time.time()))[0]:
            break
        data, peer = sock.recvfrom(65535)
        msg = data.decode("latin-1")
        if pred(msg):
            return msg, peer[:2]
    print("FAIL no %s in %.1f s" % (what, t))
    sys.exit(1)


def uri_of(contact):
    return re.search(r"<([^>]*)>", contact).group(1)


def request(method, ruri, via, frm, to, call_id, cseq, contact, branch=None):
    branch = branch or "z9hG4bK%s%d" % (method.lower(), random.randrange(1 << 30))
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s\r\nMax-Forwards: 70\r\n"
            "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:%s>\r\n"
            "Content-Length: 0\r\n\r\n" % (method, ruri, via, branch, frm, to, call_id, cseq,
                                           method, contact)).encode()


def is_req(method):
    return lambda m: m.startswith(method + " ")


def is_resp(code, method):
    return lambda m: status(m) == code and header(m, "CSeq").endswith(" " + method)


def call(dhost, ahost, bhost, bye_from, held=None):
    a, b = udp(ahost, APORT), udp(bhost, BPORT)
    D = (dhost, DPORT)
    me_a, me_b = hostport(ahost, APORT), hostport(bhost, BPORT)
    call_id = "v6-%d@%s" % (random.randrange(1 << 30), ahost)
    frm = "<sip:caller@%s>;tag=a%d" % (me_a, random.randrange(1 << 30))
    a.sendto(request("INVITE", "sip:callee@" + hostport(dhost, DPORT), me_a, frm,
                     "<sip:callee@%s>" % hostport(dhost, DPORT), call_id, 1, "caller@" + me_a), D)
    inv, bpeer = wait(b, "INVITE at the callee", is_req("INVITE"))
    respond(b, inv, bpeer, "200 OK", totag="b1", extra="Contact: <sip:callee@%s>\r\n" % me_b)
    ok, _ = wait(a, "200 to the INVITE", is_resp(200, "INVITE"))
    a_to, a_ruri = header(ok, "To"), uri_of(header(ok, "Contact"))
    a.sendto(request("ACK", a_ruri, me_a, frm, a_to, call_id, 1, "caller@" + me_a), D)
    wait(b, "ACK at the callee", is_req("ACK"))
    # leg B as the callee knows it
    b_ruri, b_call = uri_of(header(inv, "Contact")), header(inv, "Call-ID")
    b_from, b_to = header(inv, "To") + ";tag=b1", header(inv, "From")
    b_cseq = [0]

    def from_caller(method, cseq):
        a.sendto(request(method, a_ruri, me_a, frm, a_to, call_id, cseq, "caller@" + me_a), D)
        req, peer = wait(b, method + " from the caller at the callee", is_req(method))
        respond(b, req, peer, "200 OK")
        wait(a, "200 to the caller's " + method, is_resp(200, method))

    def from_callee(method):
        b_cseq[0] += 1
        b.sendto(request(method, b_ruri, me_b, b_from, b_to, b_call, b_cseq[0],
                         "callee@" + me_b), bpeer)
        req, peer = wait(a, method + " from the callee at the caller", is_req(method))
        respond(a, req, peer, "200 OK")
        wait(b, "200 to the callee's " + method, is_resp(200, method))

    from_caller("INFO", 2)
    from_callee("INFO")
    if held:
        open(held, "w").close()
        end = time.time() + 8
        while os.path.exists(held) and time.time() < end:
            time.sleep(0.05)
    if bye_from == "caller":
        from_caller("BYE", 3)
    else:
        from_callee("BYE")
    print("call %s -> [%s] -> %s: INFO each way, BYE from the %s: relayed and answered"
          % (me_a, dhost, me_b, bye_from))


def stale():
    """The callee's 486, resent after the caller ACKed it (our ACK to the
    callee was lost), ACKed again (RFC 3261 17.1.1.2)."""
    a, b = udp("127.0.0.1", APORT), udp("127.0.0.1", BPORT)
    D = ("127.0.0.1", DPORT)
    me_a = hostport("127.0.0.1", APORT)
    frm, call_id = "<sip:alice@127.0.0.1>;tag=at", "v6-stale-%d@127.0.0.1" % random.randrange(1 << 30)
    ruri = "sip:bob@" + hostport("127.0.0.1", DPORT)
    branch = "z9hG4bKstale%d" % random.randrange(1 << 30)
    a.sendto(request("INVITE", ruri, me_a, frm, "<sip:bob@127.0.0.1>", call_id, 1,
                     "alice@" + me_a, branch), D)
    inv, bpeer = wait(b, "INVITE at the callee", is_req("INVITE"))
    respond(b, inv, bpeer, "486 Busy Here", totag="bt")
    wait(b, "ACK of the 486", is_req("ACK"))
    fin, _ = wait(a, "486 at the caller", is_resp(486, "INVITE"))
    # a non-2xx's ACK: the INVITE's branch (RFC 3261 17.1.1.3)
    ack = request("ACK", ruri, me_a, frm, header(fin, "To"), call_id, 1, "alice@" + me_a, branch)
    a.sendto(ack, D)
    time.sleep(0.3)
    respond(b, inv, bpeer, "486 Busy Here", totag="bt")
    wait(b, "ACK of the resent 486", is_req("ACK"), 1.0)
    print("a 486 resent after the call's end: ACKed again")


if args[0] == "call":
    call(*args[1:])
else:
    stale()
PY

# ---- a daemon on [::1]: calls between IPv6 peers --------------------------
cat >"$WORK/v6.json" <<JSON
{ "listen": "[::1]:$D_PORT", "workers": 2, "log_level": "info", "run_dir": "$WORK/run",
  "management_socket": "$SOCK", $CAPACITY,
  "routes": [ { "name": "callee", "target": "[::1]:$B_PORT" } ] }
JSON
for mode in bpf nobpf; do
	flags=()
	[ "$mode" = nobpf ] && flags+=(--no-bpf)
	start_daemon "v6-$mode" "$WORK/v6.json" "${flags[@]}"
	[ "$mode" = bpf ] && check "bpf: the steering program is attached to the [::1] sockets" \
		wait_text "$WORK/v6-bpf.log" "BPF steering attached"
	for side in caller callee; do
		python3 "$WORK/peer.py" $D_PORT $A_PORT $B_PORT call ::1 ::1 ::1 "$side" \
			>"$WORK/v6-$mode-$side.out" 2>&1
		rc=$?
		sed 's/^/# /' "$WORK/v6-$mode-$side.out"
		check "$mode: listen [::1], a call between IPv6 peers: INFO each way, the $side's BYE, relayed and answered" \
			test "$rc" = 0
	done
	if [ "$mode" = bpf ]; then
		"$CTL" -s "$SOCK" disable "[0::1]:$B_PORT" 2>&1 | sed 's/^/# disable [0::1]: /'
		"$CTL" -s "$SOCK" --json targets >"$WORK/targets.json" 2>&1
		"$CTL" -s "$SOCK" enable "[0:0::1]:$B_PORT" 2>&1 | sed 's/^/# enable [0:0::1]: /'
		"$CTL" -s "$SOCK" --json targets >"$WORK/targets-enabled.json" 2>&1
		check "sipshardctl disable [0::1]:$B_PORT and enable [0:0::1]:$B_PORT find the target [::1]:$B_PORT" \
			test "$(json_get "$WORK/targets.json" '[t["disabled"] for t in j["targets"]]') $(json_get "$WORK/targets-enabled.json" '[t["disabled"] for t in j["targets"]]')" = "[True] [False]"
	fi
	stop_daemon
done

# ---- a dual-stack daemon on [::], an IPv4 callee ----------------------------
cat >"$WORK/dual.json" <<JSON
{ "listen": "[::]:$D_PORT", "advertise": "127.0.0.1", "workers": 2, "log_level": "info",
  "run_dir": "$WORK/run", "management_socket": "$SOCK", "cdr_file": "$CDR", $CAPACITY,
  "routes": [ { "name": "callee", "target": "127.0.0.1:$B_PORT" } ] }
JSON
start_daemon dual "$WORK/dual.json"
for caller in ::1 127.0.0.1; do
	rm -f "$WORK/held"
	start_bg python3 "$WORK/peer.py" $D_PORT $A_PORT $B_PORT call "$caller" "$caller" 127.0.0.1 \
		caller "$WORK/held" >"$WORK/dual-$caller.out" 2>&1
	peer=${PIDS[-1]}
	for _ in $(seq 1 50); do [ -e "$WORK/held" ] && break; sleep 0.1; done
	"$CTL" -s "$SOCK" --json dialogs >"$WORK/dialogs-$caller.json" 2>&1
	rm -f "$WORK/held"
	wait "$peer"
	rc=$?
	sed 's/^/# /' "$WORK/dual-$caller.out"
	a=$(python3 -c "import sys; h = sys.argv[1]; print(('[%s]:%s' if ':' in h else '%s:%s') % (h, sys.argv[2]))" "$caller" $A_PORT)
	check "listen [::]: a call from $a to the IPv4 callee: INFO each way, BYE, relayed and answered" \
		test "$rc" = 0
	check "listen [::]: sipshardctl dialogs shows the call's peers $a and 127.0.0.1:$B_PORT, no ::ffff:" \
		test "$(json_get "$WORK/dialogs-$caller.json" '[(d["caller"]["peer"], d["callee"]["peer"]) for d in j["dialogs"]], "ffff" in json.dumps(j)')" = "[('$a', '127.0.0.1:$B_PORT')] False"
done
check "listen [::]: the CDRs' source is [::1]:$A_PORT and 127.0.0.1:$A_PORT, no ::ffff: anywhere" \
	bash -c 'wait_n() { for _ in $(seq 1 30); do [ "$(wc -l <"$1" 2>/dev/null)" = 2 ] && return; sleep 0.1; done; }; wait_n "$1"
		[ "$(python3 -c "import json,sys; print([json.loads(l)[\"source\"] for l in open(sys.argv[1])])" "$1")" = "$2" ] && ! grep -q ffff "$1"' \
	_ "$CDR" "['[::1]:$A_PORT', '127.0.0.1:$A_PORT']"
python3 "$WORK/peer.py" $D_PORT $A_PORT $B_PORT stale >"$WORK/stale.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/stale.out"
check "listen [::]: an IPv4 callee's 486 resent after the call's end is ACKed again" test "$rc" = 0
stop_daemon

# the same daemon with its target written IPv4-mapped: that is the IPv4
# callee, whose answers match it (they matched no target when it was held
# as the IPv6 address)
sed 's/"target": "127.0.0.1:/"target": "[::ffff:127.0.0.1]:/' "$WORK/dual.json" >"$WORK/mapped.json"
start_daemon mapped "$WORK/mapped.json"
python3 "$WORK/peer.py" $D_PORT $A_PORT $B_PORT call 127.0.0.1 127.0.0.1 127.0.0.1 callee \
	>"$WORK/mapped.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/mapped.out"
"$CTL" -s "$SOCK" --json targets >"$WORK/mapped-targets.json" 2>&1
check "listen [::], target [::ffff:127.0.0.1]:$B_PORT: the call is relayed, and the target is 127.0.0.1:$B_PORT with its INVITE counted answered" \
	test "$rc $(json_get "$WORK/mapped-targets.json" '[(t["address"], t["invites"], t["answered"]) for t in j["targets"]]')" = "0 [('127.0.0.1:$B_PORT', 1, 1)]"
stop_daemon

# a listen written IPv4-mapped itself: its socket (not IPv6-only) talks to
# IPv4 peers, and reaches the target written IPv4-mapped, held as IPv4
# (the load refused it: "an IPv4 target cannot be reached")
sed 's/"listen": "\[::\]:/"listen": "[::ffff:127.0.0.1]:/' "$WORK/mapped.json" >"$WORK/mapped-listen.json"
start_daemon mapped-listen "$WORK/mapped-listen.json"
python3 "$WORK/peer.py" $D_PORT $A_PORT $B_PORT call 127.0.0.1 127.0.0.1 127.0.0.1 caller \
	>"$WORK/mapped-listen.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/mapped-listen.out"
check "listen [::ffff:127.0.0.1], target [::ffff:127.0.0.1]:$B_PORT: the daemon starts and relays an IPv4 caller's call to it" \
	test "$rc" = 0
stop_daemon

# ---- [::] with net.ipv6.bindv6only=1, in a network namespace of its own ----
# (the sysctl is per namespace: the host's is untouched)
sed -e "s/$D_PORT/$NS_PORT/; s/$B_PORT/$((NS_PORT + 1))/" -e "s#$WORK/run#$WORK/nsrun#" \
	-e "s#\"management_socket\": \"$SOCK\", \"cdr_file\": \"$CDR\",##" \
	"$WORK/dual.json" >"$WORK/ns.json"
timeout 20 unshare -n bash -c '
	ip link set lo up && sysctl -qw net.ipv6.bindv6only=1 || { echo "no namespace"; exit 2; }
	"$1" -c "$2" --discard-dialogs 2>"$3/ns.log" &
	d=$!
	trap "kill -9 $d 2>/dev/null" EXIT
	for _ in $(seq 1 50); do ss -Hlun "sport = :$4" | grep -q . && break; sleep 0.1; done
	python3 "$3/peer.py" "$4" $(($4 + 2)) $(($4 + 1)) call 127.0.0.1 127.0.0.1 127.0.0.1 callee
	rc=$?
	kill -INT $d
	wait $d
	exit $rc' _ "$SIPSHARDD" "$WORK/ns.json" "$WORK" $NS_PORT >"$WORK/ns.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/ns.out"
check "listen [::] with net.ipv6.bindv6only=1: an IPv4 caller's call reaches the IPv4 callee, INFO each way, BYE" \
	test "$rc" = 0

# ---- sipshard-load with IPv6 addresses alone --------------------------------
start_bg "$LOAD" --role uas --local "[::1]:$LOAD_PORT" --duration 4 --max-calls 64 \
	--pending 64 >"$WORK/uas.out" 2>&1
uas=${PIDS[-1]}
wait_udp_port "$LOAD_PORT"
timeout 10 "$LOAD" --role uac --target "[::1]:$LOAD_PORT" --calls 2 --duration 1 --sources 1 \
	--t1-ms 50 >"$WORK/uac.out" 2>&1
rc=$?
sed 's/^/# uac: /' "$WORK/uac.out" | tail -3
check "sipshard-load: a uac given only --target [::1]:PORT calls a uas given only --local [::1]:PORT" \
	test "$rc" = 0
kill -INT "$uas" 2>/dev/null
check "sipshard-load: the uas given only --local [::1]:PORT ran and stopped cleanly" wait_exit 5 "$uas"
