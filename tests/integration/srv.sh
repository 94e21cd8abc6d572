#!/usr/bin/env bash
# Route targets given as a name without a port (RFC 3263 4.2): the load makes
# one target of each SRV record of _sip._udp.NAME, served here by dnsmasq on
# 127.0.0.98. New calls share the records of the lowest priority by their
# weights (RFC 2782: 60 and 20 give three calls to one for every one to the
# other), fail over to the other record of that priority before a record of
# a higher one, and leg B's Request-URI keeps the name. A name with no SRV
# records is its own address at port 5060; a record that says no service,
# "select": "round_robin" with such a name, and a name that resolves to
# nothing are refused with the key named. Every dns_refresh_s the records are
# read again: when they change, the targets follow; when no DNS server
# answers, the running targets stay, and a reload is refused. A registrar
# given as a name without a port registers at its SRV records in turn: one
# that gives no answer passes the next attempt to the next record. The daemon runs in a mount
# namespace of its own, where a resolv.conf naming 127.0.0.98 is
# bind-mounted on /etc/resolv.conf (needs root).
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the load expands the targets in place
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16220 # callers at D_PORT+1
SIP1=16225
SIP2=16226
BACKUP=16227
SIP3=16224 # comes with the records' change
REG1=16222 # registrar records: the first never answers
REG2=16223
DNS_IP=127.0.0.98
STATS=$WORK/srv.stats.json
CDR=$WORK/cdr.jsonl

need_dnsmasq
RESOLV=$WORK/resolv.conf
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_IP" >"$RESOLV"
daemon_in_namespace "" "$RESOLV"

# the zone: carrier.test's servers (priority 10: sip1 weight 60, sip2 weight
# 20; priority 20: backup, weight 0), none.test's "." (no SIP over UDP),
# long.test's record with a name too long for a target, and plain.test with
# an address and no SRV; any other .test name does not exist
# start_dns [RECORD...]: with these SRV records of carrier.test instead
start_dns() {
	local records=("$@")
	[ ${#records[@]} -gt 0 ] || records=(sip1.carrier.test,$SIP1,10,60
		sip2.carrier.test,$SIP2,10,20 backup.carrier.test,$BACKUP,20,0)
	start_bg dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--local=/test/ --listen-address=$DNS_IP --bind-interfaces --port=53 \
		--pid-file= --user=root --log-queries --log-facility="$WORK/dns.log" \
		"${records[@]/#/--srv-host=_sip._udp.carrier.test,}" \
		--srv-host=_sip._udp.none.test \
		--srv-host=_sip._udp.long.test,a-host-name-much-too-long-for-a-target.of-the-sipshard-test.carrier.test,5060 \
		--host-record=sip1.carrier.test,127.0.0.1 --host-record=sip2.carrier.test,127.0.0.1 \
		--host-record=sip3.carrier.test,127.0.0.1 \
		--srv-host=_sip._udp.reg.test,reg1.test,$REG1,10,0 \
		--srv-host=_sip._udp.reg.test,reg2.test,$REG2,20,0 \
		--host-record=reg1.test,127.0.0.1 --host-record=reg2.test,127.0.0.1 \
		--host-record=backup.carrier.test,127.0.0.1 --host-record=plain.test,127.0.0.1
	DNS_PID=${PIDS[-1]}
	wait_udp_port 53 "$DNS_IP"
}
check "dnsmasq answers on $DNS_IP:53" start_dns

# ---- what a load makes of names without a port ------------------------------
# check_config NAME ROUTES_JSON: --check-config on a file with these routes,
# its output in $WORK/NAME.out (and the exit status returned)
check_config() {
	cat >"$WORK/$1.json" <<JSON
{ "listen": "127.0.0.1:$D_PORT", "run_dir": "$WORK/run", "routes": $2 }
JSON
	"$SIPSHARDD" -c "$WORK/$1.json" --check-config >"$WORK/$1.out" 2>&1
}
ROUTES='[ { "name": "trunk", "targets": [ "carrier.test", "127.0.0.1:16228" ] },
	   { "name": "plain", "match": { "user_prefix": "p" }, "target": "plain.test" } ]'
check "names without a port load" check_config expand "$ROUTES"
check "the configuration prints them as written" \
	test "$(json_get "$WORK/expand.out" '[r.get("targets", r.get("target")) for r in j["routes"]]')" = \
	"[['carrier.test', '127.0.0.1:16228'], 'plain.test']"
check "the resolver was asked for _sip._udp.carrier.test SRV" \
	grep -q "query\[SRV\] _sip._udp.carrier.test" "$WORK/dns.log"

refused() { # NAME ROUTES_JSON EXPECTED_MESSAGE
	if check_config "$1" "$2"; then
		echo "# loaded: $(head -c 200 "$WORK/$1.out")"
		return 1
	fi
	grep -qF "$3" "$WORK/$1.out" || {
		echo "# said: $(cat "$WORK/$1.out")"
		return 1
	}
}
check "a name whose SRV record says no service is refused, the key named" refused none \
	'[ { "name": "t", "target": "none.test" } ]' \
	'routes[0].target: no SRV record of _sip._udp.none.test can be used: _sip._udp.none.test says no SIP over UDP'
check "a name whose only record's host:port is too long is refused" refused long \
	'[ { "name": "t", "target": "long.test" } ]' \
	"routes[0].target: no SRV record of _sip._udp.long.test can be used: a record's name and port are longer than 63 bytes"
check "a name with neither SRV records nor an address is refused" refused nx \
	'[ { "name": "t", "targets": [ "127.0.0.1:16228", "nx.test" ] } ]' \
	'routes[0].targets[1]: no SRV records (_sip._udp.nx.test), and "nx.test:5060": nx.test has no IPv4 address'
check "select round_robin with a name without a port is refused" refused rr \
	'[ { "name": "t", "select": "round_robin", "targets": [ "carrier.test" ] } ]' \
	'routes[0].targets[0]: a name without a port is shared out by its SRV records'
check "a weight given to a name without a port is refused" refused weight \
	'[ { "name": "t", "target": { "address": "carrier.test", "weight": 5 } } ]' \
	'routes[0].target.weight: a name without a port takes its SRV records'

# ---- calls ------------------------------------------------------------------
cat >"$WORK/srv.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "run_dir": "$WORK/run",
  "management_socket": "$WORK/srv.sock",
  "cdr_file": "$CDR",
  "dns_refresh_s": 1,
  "routes": [ { "name": "trunk", "targets": [ "carrier.test", "127.0.0.1:16228" ], "failover_on": [503] },
              { "name": "plain", "match": { "user_prefix": "p" }, "target": "plain.test" } ]
}
JSON
start_daemon srv "$WORK/srv.json"

# srv_targets: what sipshardctl targets says the routes' targets are (each as
# its route writes it, with weight, SRV priority and the name it came from)
srv_targets() {
	"$BUILD/sipshardctl" -s "$WORK/srv.sock" targets >"$WORK/targets.json" &&
		python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(sorted((r["route"], r["target"], r["weight"], r.get("srv_priority"), r.get("domain"))
             for t in j for r in t["routes"]))' "$WORK/targets.json"
}
# record_ports: the carrier.test records among the targets, by port
record_ports() { srv_targets | grep -o "carrier.test:[0-9]*" | sort | tr '\n' ' '; }
# wait_log TEXT: until the daemon's log holds TEXT (5 s at most)
wait_log() { wait_text "$WORK/srv.log" "$1"; }
check "the log says what each name became" \
	wait_log "route trunk: carrier.test: SRV record sip1.carrier.test:$SIP1 (127.0.0.1:$SIP1), priority 10, weight 60"
check "and that plain.test has no SRV records" \
	wait_log "route plain: plain.test: no SRV records: its address, 127.0.0.1:5060"
# (the log lines come once the management socket is up)
check "each SRV record of carrier.test is a target with its weight and priority (a priority of weight 0 only: 1); a name with no SRV records is its address at port 5060" \
	test "$(srv_targets)" = "[('plain', 'plain.test:5060', 1, None, 'plain.test'), ('trunk', '127.0.0.1:16228', 1, None, None), ('trunk', 'backup.carrier.test:$BACKUP', 1, 20, 'carrier.test'), ('trunk', 'sip1.carrier.test:$SIP1', 60, 10, 'carrier.test'), ('trunk', 'sip2.carrier.test:$SIP2', 20, 10, 'carrier.test')]"

sipp_uas "$SIP1" uas_bye.xml
UAS1=${PIDS[-1]}
sipp_uas "$SIP2" uas_bye.xml
UAS2=${PIDS[-1]}
sipp_uas "$BACKUP" uas_bye.xml # (back once its port is bound)

# calls NAME N: N calls from a SIPp caller, each answered and ended by the callee
calls() {
	sipp_uac "$1" "$D_PORT" uac_wait_bye.xml -m "$2" -l 1 -r 20 -i 127.0.0.1 -p $((D_PORT + 1))
}
wait_cdrs() {
	for _ in $(seq 1 50); do
		[ -f "$CDR" ] && [ "$(wc -l <"$CDR")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# cdr_targets FROM: "target/attempts" of each CDR from the FROM-th on, sorted
cdr_targets() {
	python3 -c 'import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]):]
print(" ".join(sorted("%s/%d" % (r["target"], r["attempts"]) for r in recs if r["disposition"] == "answered")))' \
		"$CDR" "$1"
}

# replace_uas PID PORT SCENARIO: the callee at PORT (process PID) replaced by
# one playing SCENARIO, whose PID is then in NEW_UAS
replace_uas() {
	kill "$1"
	wait "$1" 2>/dev/null
	sipp_uas "$2" "$3"
	NEW_UAS=${PIDS[-1]}
}

check "8 calls answered" calls weights 8
wait_cdrs 8
check "the priority-10 records shared them 60:20 (6 and 2), none went to priority 20" \
	test "$(cdr_targets 0)" = "$(python3 -c 'import sys
print(" ".join(["sip1.carrier.test:%s/1" % sys.argv[1]] * 6 + ["sip2.carrier.test:%s/1" % sys.argv[2]] * 2))' $SIP1 $SIP2)"
check "the statistics name each record's address" \
	wait_json "$STATS" 'sorted((k, v) for k, v in j["controller"]["target_invites"].items() if v)' \
	"[('127.0.0.1:$SIP1', 6), ('127.0.0.1:$SIP2', 2)]"
check "leg B's Request-URI and To carry the name, not the record's" \
	grep -q "^INVITE sip:callee@carrier.test SIP/2.0" "$WORK/uas-$SIP1.msg"
check "leg B's To carries the name" grep -q "^To: <sip:callee@carrier.test>" "$WORK/uas-$SIP1.msg"

# sip1 out of service: calls that start there fail over to sip2, its peer of
# priority 10, not to the backup
replace_uas "$UAS1" "$SIP1" uas_503.xml
UAS1=$NEW_UAS
check "4 calls answered with sip1 answering 503" calls sip1_503 4
wait_cdrs 12
check "all 4 taken by sip2 (three after sip1's 503), none by the backup" \
	test "$(cdr_targets 8)" = \
	"sip2.carrier.test:$SIP2/1 sip2.carrier.test:$SIP2/2 sip2.carrier.test:$SIP2/2 sip2.carrier.test:$SIP2/2"

# both of priority 10 out of service: the backup takes the calls
replace_uas "$UAS2" "$SIP2" uas_503.xml
UAS2=$NEW_UAS
# (the third starts at sip2: it too tries sip1 before the backup)
check "4 calls answered with both priority-10 records answering 503" calls both_503 4
wait_cdrs 16
check "the priority-20 record took them, third in line" \
	test "$(cdr_targets 12)" = "$(python3 -c 'import sys
print(" ".join(["backup.carrier.test:%s/3" % sys.argv[1]] * 4))' $BACKUP)"

# ---- dns_refresh_s: the records change ---------------------------------------
# sip1 and the backup gone, sip3 (weight 20, as sip2's) come
kill "$DNS_PID"
wait "$DNS_PID" 2>/dev/null
replace_uas "$UAS2" "$SIP2" uas_bye.xml
sipp_uas "$SIP3" uas_bye.xml
check "dnsmasq answers with other records" start_dns sip2.carrier.test,$SIP2,10,20 \
	sip3.carrier.test,$SIP3,10,20
check "within dns_refresh_s the log says route trunk's records changed" \
	wait_log "dns_refresh_s: route trunk: the SRV records changed: 3 target(s) now"
check "and what they are now" \
	wait_log "route trunk: carrier.test: SRV record sip3.carrier.test:$SIP3 (127.0.0.1:$SIP3), priority 10, weight 20"
check "sipshardctl targets shows the new records" \
	test "$(record_ports)" = \
	"carrier.test:$SIP3 carrier.test:$SIP2 "
check "2 calls answered" calls changed 2
wait_cdrs 18
check "one at each of the two records of equal weight" \
	test "$(cdr_targets 16)" = "sip2.carrier.test:$SIP2/1 sip3.carrier.test:$SIP3/1"

# ---- no DNS server answering: the running targets are kept ---------------------
kill "$DNS_PID"
wait "$DNS_PID" 2>/dev/null
check "a refresh that gets no answer keeps the targets, and says so" \
	wait_log "dns_refresh_s: routes[0].targets[0]: SRV lookup of _sip._udp.carrier.test failed (Host name lookup failure); keeping its last targets"
if "$BUILD/sipshardctl" -s "$WORK/srv.sock" reload >"$WORK/reload.out" 2>&1; then
	not_ok "a reload with no DNS server is refused"
else
	check "a reload with no DNS server is refused, naming the lookup" \
		grep -q "routes\[0\].targets\[0\]: SRV lookup of _sip._udp.carrier.test failed" \
		"$WORK/reload.out"
fi
check "the running targets are still the two records" \
	test "$(record_ports)" = \
	"carrier.test:$SIP3 carrier.test:$SIP2 "

stop_daemon
check "no sanitizer report" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$WORK/srv.log'"

# ---- a registrar given as a name without a port ---------------------------------
# reg.test: reg1 (priority 10) never answers, reg2 (priority 20) does; Timer F
# is 64 x t1_ms, 1.6 s here
check "dnsmasq answers again" start_dns
sip_target 127.0.0.1 "$REG1" "$WORK/reg1.callids" "$WORK/reg1.up" "$WORK/reg1.options" \
	"$WORK/reg1.registers"
touch "$WORK/reg2.up"
sip_target 127.0.0.1 "$REG2" "$WORK/reg2.callids" "$WORK/reg2.up" "$WORK/reg2.options" \
	"$WORK/reg2.registers"
cat >"$WORK/reg.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 1,
  "run_dir": "$WORK/run",
  "management_socket": "$WORK/srv.sock",
  "timers": { "t1_ms": 25 },
  "dns_refresh_s": 1,
  "routes": [ { "name": "plain", "target": "127.0.0.1:16228" } ],
  "registrations": [ { "name": "reg", "registrar": "reg.test", "aor": "sip:acct@reg.test",
                       "expires_s": 600, "retry_s": 1 } ]
}
JSON
mv "$WORK/srv.log" "$WORK/srv-routes.log" # (kept: the next start writes srv.log)
start_daemon srv "$WORK/reg.json"
check "the log says the registrar's records, the first tried first" \
	wait_log "registration reg: registrar reg.test: SRV record reg1.test:$REG1 (127.0.0.1:$REG1), tried first"
# wait_registered: until sipshardctl registrations says registered (10 s at most)
wait_registered() {
	for _ in $(seq 1 100); do
		"$BUILD/sipshardctl" -s "$WORK/srv.sock" registrations >"$WORK/regs.json" 2>/dev/null &&
			[ "$(json_get "$WORK/regs.json" 'j[0]["registered"]')" = True ] && return 0
		sleep 0.1
	done
	return 1
}
check "registered, at the second record once the first gave no answer" wait_registered
check "sipshardctl registrations names the name, the record and its address" \
	test "$(json_get "$WORK/regs.json" 'j[0]["registrar"], j[0]["registrar_record"], j[0]["address"]')" = \
	"reg.test reg2.test:$REG2 127.0.0.1:$REG2"
check "the log says the attempt moved on to the next record" \
	wait_log "registration reg at reg1.test:$REG1: 408 (no final response by Timer F); next attempt in 1 s, at reg2.test:$REG2"
check "reg2 got the REGISTER" test "$(wc -l <"$WORK/reg2.registers")" -ge 1
# srv_queries: how often dnsmasq was asked for reg.test's records
srv_queries() { grep -c "query\[SRV\] _sip._udp.reg.test" "$WORK/dns.log"; }
q0=$(srv_queries)
# two more within 2.2 s (dns_refresh_s 1): looked at as soon as they came
for _ in $(seq 1 21); do
	[ "$(srv_queries)" -ge $((q0 + 2)) ] && break
	sleep 0.1
done
check "dns_refresh_s looks the registrar's records up again, with no route target by name ($q0 -> $(srv_queries) queries)" \
	test "$(srv_queries)" -ge $((q0 + 2))
stop_daemon
check "no sanitizer report (registrar)" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$WORK/srv.log'"
[ "$NOT_OK" -eq 0 ]
