#!/usr/bin/env bash
# What a dns_refresh_s puts in service when the names of a route's targets
# resolve to something a load would not take:
# - two targets of one route at one address (a name moved onto another
#   target's): the first in order is used, the other is left out with a
#   warning at each refresh while so, and comes back when its name moves
#   away; a call then fails over to no address twice;
# - a name without a port whose SRV records all become "." (RFC 2782: no
#   SIP over UDP there): its targets are taken out, with a warning naming
#   the records, so that a route of that name alone answers 503 (sipshardd's
#   own) and one with another target sends its calls there; when records
#   come back, so do the targets.
# The daemon runs in a mount namespace of its own, with a hosts file and a
# resolv.conf of this test's bind-mounted on /etc/hosts and
# /etc/resolv.conf, the latter naming dnsmasq on 127.0.0.97 (needs root).
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: a refresh rebuilds the policy
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16590 # the callers are at D_PORT+2
T_PORT=16593 # route dup's targets one.test and two.test, at this port
SIP1=16594   # carrier.test's SRV record, sip1.carrier.test
BACKUP=16595 # route srvb's target after the name
DNS_IP=127.0.0.97
STATS=$WORK/dns_refresh.stats.json
HOSTS=$WORK/hosts
LOG=$WORK/dns_refresh.log

need_dnsmasq
printf '127.0.0.1 one.test sip1.carrier.test\n127.0.0.2 two.test\n' >"$HOSTS"
RESOLV=$WORK/resolv.conf
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_IP" >"$RESOLV"
daemon_in_namespace "$HOSTS" "$RESOLV"

# start_dns [RECORD]: carrier.test's SRV record sip1.carrier.test:$SIP1, or
# the one given ("": a record with no target, which dnsmasq serves as ".")
start_dns() {
	local rec=${1-sip1.carrier.test,$SIP1,10,10}
	start_bg dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--local=/test/ --listen-address=$DNS_IP --bind-interfaces --port=53 \
		--pid-file= --user=root --log-queries --log-facility="$WORK/dns.log" \
		"--srv-host=_sip._udp.carrier.test${rec:+,$rec}"
	DNS_PID=${PIDS[-1]}
	wait_udp_port 53 "$DNS_IP"
}
# restart_dns [RECORD]: dnsmasq again, with that record
restart_dns() {
	kill "$DNS_PID"
	wait "$DNS_PID" 2>/dev/null
	start_dns "$@"
}
check "dnsmasq answers on $DNS_IP:53" start_dns

# responder PORT STATUS: a target on 127.0.0.1:PORT that answers each INVITE
# STATUS and notes its Call-ID and CSeq number in $WORK/PORT.invites, for 150 s
responder() {
	python3 - "$1" "$2" "$WORK/$1.invites" <<'PY' &
import select, sys, time
sys.path.insert(0, "tests/integration")
from rawua import header, respond, udp
s = udp(int(sys.argv[1]))
end = time.time() + 150
with open(sys.argv[3], "w") as f:
    while time.time() < end:
        if not select.select([s], [], [], 0.2)[0]:
            continue
        data, peer = s.recvfrom(65535)
        msg = data.decode("latin-1")
        if msg.startswith("INVITE "):
            f.write("%s %s\n" % (header(msg, "Call-ID"), header(msg, "CSeq").split()[0]))
            f.flush()
            respond(s, msg, peer, sys.argv[2], "t1")
PY
	PIDS+=($!)
	wait_udp_port "$1"
}
responder "$T_PORT" "503 Service Unavailable"
responder "$SIP1" "486 Busy Here"
responder "$BACKUP" "486 Busy Here"

# call USER: an INVITE to USER from D_PORT+2; prints the final status, and
# "retry-after" when the final has one (the final is ACKed); then, for each
# target, how many INVITEs it got meanwhile in INV[port]
declare -A INV
call() {
	local p before=()
	for p in "$T_PORT" "$SIP1" "$BACKUP"; do before+=("$(wc -l <"$WORK/$p.invites")"); done
	CALLED=$(call_raw "$1")
	sleep 0.2 # an INVITE sent on after the final would show
	local i=0
	for p in "$T_PORT" "$SIP1" "$BACKUP"; do
		INV[$p]=$(($(wc -l <"$WORK/$p.invites") - before[i]))
		i=$((i + 1))
	done
}
call_raw() {
	python3 - "$D_PORT" "$1" <<'PY'
import random, sys, time
sys.path.insert(0, "tests/integration")
from rawua import header, recv, status, udp
dport, user = int(sys.argv[1]), sys.argv[2]
s = udp(dport + 2)
cid = "%s-%d@127.0.0.1" % (user, random.randrange(1 << 30))
head = ("sip:%s@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=c1\r\n"
        % (user, dport, dport + 2, cid.split("@")[0]))
s.sendto(("INVITE " + head + "To: <sip:%s@127.0.0.1>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
          "Contact: <sip:caller@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n"
          % (user, cid, dport + 2)).encode(), ("127.0.0.1", dport))
end, fin = time.time() + 10, None
while time.time() < end and not fin:
    msg = recv(s, 0.2)
    if status(msg) >= 200:
        fin = msg
if fin:
    s.sendto(("ACK " + head + "To: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
              % (header(fin, "To"), cid)).encode(), ("127.0.0.1", dport))
print(status(fin), "retry-after" if fin and header(fin, "Retry-After") else "")
PY
}
# routes_at ADDRESS: the (route, target) pairs sipshardctl targets lists at ADDRESS
routes_at() {
	"$BUILD/sipshardctl" -s "$WORK/dns_refresh.sock" targets | python3 -c '
import json, sys
t = {e["address"]: e for e in json.load(sys.stdin)}
print(sorted((r["route"], r["target"]) for r in t.get(sys.argv[1], {"routes": []})["routes"]))' "$1"
}

cat >"$WORK/dns_refresh.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "management_socket": "$WORK/dns_refresh.sock",
  "dns_refresh_s": 1,
  "routes": [
    { "name": "dup", "match": { "user_prefix": "dup" }, "failover_on": [503],
      "targets": [ "one.test:$T_PORT", "two.test:$T_PORT" ] },
    { "name": "srvb", "match": { "user_prefix": "srvb" },
      "targets": [ "carrier.test", "127.0.0.1:$BACKUP" ] },
    { "name": "srv", "match": { "user_prefix": "srv" }, "target": "carrier.test" }
  ]
}
JSON
start_daemon dns_refresh "$WORK/dns_refresh.json"
check "the daemon took the configuration" wait_text "$LOG" "listening on 127.0.0.1:$D_PORT"

# ---- two targets of a route at one address ------------------------------------
check "at the start one.test and two.test are two addresses" \
	test "$(routes_at 127.0.0.1:$T_PORT) $(routes_at 127.0.0.2:$T_PORT)" = \
	"[('dup', 'one.test:$T_PORT')] [('dup', 'two.test:$T_PORT')]"
printf '127.0.0.1 one.test two.test sip1.carrier.test\n' >"$HOSTS"
check "within dns_refresh_s two.test follows its name onto one.test's address" \
	wait_text "$LOG" "dns_refresh_s: target two.test:$T_PORT resolves to 127.0.0.1:$T_PORT now (was 127.0.0.2:$T_PORT)"
check "the log says the second is not used, naming the first" \
	wait_text "$LOG" "dns_refresh_s: route dup: target two.test:$T_PORT is at 127.0.0.1:$T_PORT, as target one.test:$T_PORT before it is: not used while so (one target per address)"
check "sipshardctl targets: the address once, for the first target only" \
	test "$(routes_at 127.0.0.1:$T_PORT) $(routes_at 127.0.0.2:$T_PORT)" = "[('dup', 'one.test:$T_PORT')] []"
call dup1
check "a call whose target answers 503 does not fail over to the same address: one INVITE there (${INV[$T_PORT]}), the caller gets 500 ($CALLED)" \
	test "${INV[$T_PORT]} $CALLED" = "1 500 "
n0=$(grep -c "route dup: target two.test:$T_PORT is at" "$LOG")
sleep 2.2
n1=$(grep -c "route dup: target two.test:$T_PORT is at" "$LOG")
check "the warning comes again at each refresh while so ($n0, then $n1 after 2.2 s)" \
	test "$n1" -ge $((n0 + 1)) -a "$n1" -le $((n0 + 3))
printf '127.0.0.1 one.test sip1.carrier.test\n127.0.0.2 two.test\n' >"$HOSTS"
check "when two.test moves away it is back in service" \
	wait_text "$LOG" "dns_refresh_s: target two.test:$T_PORT resolves to 127.0.0.2:$T_PORT now (was 127.0.0.1:$T_PORT)"
check "sipshardctl targets: both addresses again" \
	test "$(routes_at 127.0.0.1:$T_PORT) $(routes_at 127.0.0.2:$T_PORT)" = \
	"[('dup', 'one.test:$T_PORT')] [('dup', 'two.test:$T_PORT')]"

# ---- SRV records that become "." ---------------------------------------------
call srv1
check "at the start route srv's calls go to the SRV record ($CALLED)" \
	test "${INV[$SIP1]} $CALLED" = "1 486 "
check "dnsmasq answers with a \".\" record" restart_dns ""
check "within dns_refresh_s the log says why route srv lost its targets" \
	wait_text "$LOG" "dns_refresh_s: route srv: _sip._udp.carrier.test says no SIP over UDP (its SRV records are all \".\", RFC 2782): its targets are out of service; 0 target(s) now"
check "and route srvb, which keeps its other target" \
	wait_text "$LOG" "dns_refresh_s: route srvb: _sip._udp.carrier.test says no SIP over UDP (its SRV records are all \".\", RFC 2782): its targets are out of service; 1 target(s) now"
check "sipshardctl targets: no route names the record's address" \
	test "$(routes_at 127.0.0.1:$SIP1)" = "[]"
call srv2
check "a call of route srv gets sipshardd's 503 with Retry-After ($CALLED), no target an INVITE" \
	test "$CALLED ${INV[$SIP1]} ${INV[$BACKUP]}" = "503 retry-after 0 0"
check "counted in controller.rejected_no_target" \
	wait_json "$STATS" 'j["controller"]["rejected_no_target"], j["controller"]["rejected_target_full"]' "1 0"
call srvb1
check "a call of route srvb goes to its other target ($CALLED)" \
	test "${INV[$BACKUP]} ${INV[$SIP1]} $CALLED" = "1 0 486 "
check "dnsmasq answers with the record again" restart_dns
check "within dns_refresh_s route srv has its target back" \
	wait_text "$LOG" "dns_refresh_s: route srv: the SRV records changed: 1 target(s) now"
check "sipshardctl targets: both routes name the record again" \
	test "$(routes_at 127.0.0.1:$SIP1)" = "[('srv', 'sip1.carrier.test:$SIP1'), ('srvb', 'sip1.carrier.test:$SIP1')]"
call srv3
check "route srv's calls go to the record again ($CALLED)" \
	test "${INV[$SIP1]} $CALLED" = "1 486 "

stop_daemon
check "no sanitizer report" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$LOG'"
[ "$NOT_OK" -eq 0 ]
