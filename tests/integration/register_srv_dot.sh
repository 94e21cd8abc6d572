#!/usr/bin/env bash
# A registrar given as a domain (its SRV records _sip._udp.reg.test, served
# by dnsmasq on 127.0.0.96) whose records all become "." (RFC 2782: the
# service is decidedly not available there): at the next dns_refresh_s the
# registration loses its records, says so, and fails each attempt without a
# REGISTER, logged with the reason, until records come back, when it
# registers again at once. Before, the refresh kept the last records, as
# for a lookup no server answers, and the registration kept registering
# there. A load with the "." records is still refused, naming the key. The
# daemon runs in a mount namespace of its own, where a resolv.conf naming
# 127.0.0.96 is bind-mounted on /etc/resolv.conf (needs root).
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: a refresh rebuilds the policy
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16760
REG1=16761 # the registrar's SRV record, reg1.test
DNS_IP=127.0.0.96
LOG=$WORK/reg.log

need_dnsmasq
RESOLV=$WORK/resolv.conf
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_IP" >"$RESOLV"
daemon_in_namespace "" "$RESOLV"

# start_dns [RECORD]: reg.test's SRV record reg1.test:$REG1, or the one given
# ("": a record with no target, which dnsmasq serves as ".")
start_dns() {
	local rec=${1-reg1.test,$REG1,10,0}
	start_bg dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--local=/test/ --listen-address=$DNS_IP --bind-interfaces --port=53 \
		--pid-file= --user=root --log-queries --log-facility="$WORK/dns.log" \
		"--srv-host=_sip._udp.reg.test${rec:+,$rec}" --host-record=reg1.test,127.0.0.1
	DNS_PID=${PIDS[-1]}
	wait_udp_port 53 "$DNS_IP"
}
restart_dns() {
	kill "$DNS_PID"
	wait "$DNS_PID" 2>/dev/null
	start_dns "$@"
}
check "dnsmasq answers on $DNS_IP:53" start_dns

# the registrar: answers each REGISTER 200, noting it in reg1.registers
touch "$WORK/reg1.up"
sip_target 127.0.0.1 "$REG1" "$WORK/reg1.callids" "$WORK/reg1.up" "$WORK/reg1.options" \
	"$WORK/reg1.registers"
cat >"$WORK/reg.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 1,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "management_socket": "$WORK/reg.sock",
  "timers": { "t1_ms": 50 },
  "dns_refresh_s": 1,
  "routes": [ { "name": "plain", "target": "127.0.0.1:16762" } ],
  "registrations": [ { "name": "reg", "registrar": "reg.test", "aor": "sip:acct@reg.test",
                       "expires_s": 600, "retry_s": 1 } ]
}
JSON
start_daemon reg "$WORK/reg.json"
# registrations: sipshardctl registrations, into regs.json
registrations() { "$BUILD/sipshardctl" -s "$WORK/reg.sock" registrations >"$WORK/regs.json" 2>/dev/null; }
# wait_registered [True|False]: until the registration says so (10 s at most)
wait_registered() {
	for _ in $(seq 1 100); do
		registrations && [ "$(json_get "$WORK/regs.json" 'j[0]["registered"]')" = "${1:-True}" ] &&
			return 0
		sleep 0.1
	done
	return 1
}
registers() { wc -l <"$WORK/reg1.registers"; }
check "registered at the SRV record" wait_registered
check "sipshardctl registrations names the record" \
	test "$(json_get "$WORK/regs.json" 'j[0]["registrar_record"], j[0]["address"]')" = \
	"reg1.test:$REG1 127.0.0.1:$REG1"

check "dnsmasq answers with a \".\" record" restart_dns ""
check "within dns_refresh_s the log says the registrar's records say \".\"" \
	wait_text "$LOG" "dns_refresh_s: registration reg: _sip._udp.reg.test says no SIP over UDP (its SRV records are all \".\", RFC 2782): no REGISTER is sent until records come back"
check "each attempt fails without a REGISTER, the reason logged" \
	wait_text "$LOG" "registration reg: no REGISTER sent: _sip._udp.reg.test says no SIP over UDP (its SRV records are all \".\", RFC 2782); next attempt in 1 s"
registrations
got=$(json_get "$WORK/regs.json" 'j[0]["registered"], j[0]["registrar_record"], j[0]["address"], j[0].get("no_service")')
check "sipshardctl registrations: not registered, no record, no address, no_service ($got)" \
	test "$got" = "False None None True"
n=$(registers)
sleep 2.5
check "no REGISTER reaches the old record meanwhile ($n, then $(registers))" test "$(registers)" = "$n"
# a refresh that falls in the moment dnsmasq restarts fails to look up and
# keeps the last targets, as it should: the "." answer after it must not
check "the last records were not kept for the \".\" answer (no \"keeping its last targets\" after it)" \
	bash -c "! sed -n '/says no SIP over UDP/,\$p' '$LOG' | grep -q 'registrations\[0\].registrar.*keeping its last targets'"
# a load with the "." records is refused as before, naming the key
"$SIPSHARDD" -c "$WORK/reg.json" --check-config >"$WORK/check.out" 2>&1
rc=$?
check "a load while the records say \".\" is refused, naming the key (exit $rc)" \
	bash -c "[ $rc -ne 0 ] && grep -q 'registrations\[0\].registrar: no SRV record of _sip._udp.reg.test can be used: _sip._udp.reg.test says no SIP over UDP' '$WORK/check.out'"

check "dnsmasq answers with the record again" restart_dns
check "within dns_refresh_s the registration has its record back" \
	wait_text "$LOG" "dns_refresh_s: registration reg: the SRV records changed: 1 target(s) now"
check "and registers there again" wait_registered
check "the record got a REGISTER again ($n, then $(registers))" test "$(registers)" -gt "$n"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$LOG'"
[ "$NOT_OK" -eq 0 ]
