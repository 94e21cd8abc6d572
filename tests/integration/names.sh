#!/usr/bin/env bash
# Route targets and a registrar given by host name in a running sipshardd:
# resolved when the configuration loads, and again every dns_refresh_s, so
# that a target whose name moves to another address is followed (its
# keep-alives, and new calls, go to the new address; the registration
# registers there), while a name that stops resolving keeps its last address.
# The daemon runs in a mount namespace of its own, where a hosts file this
# test writes is bind-mounted on /etc/hosts (needs root).
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: a refresh swaps the policy
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16190
T_PORT=16191 # the target's port, on 127.0.0.1 and on 127.0.0.2
STATS=$WORK/names.stats.json
HOSTS=$WORK/hosts
echo "127.0.0.1 trunk.test" >"$HOSTS"

# and a resolv.conf naming a DNS server at 127.0.0.99 (none answers there
# until the slow reload below starts one that never answers)
RESOLV=$WORK/resolv.conf
printf 'nameserver 127.0.0.99\noptions timeout:1 attempts:3\n' >"$RESOLV"
daemon_in_namespace "$HOSTS" "$RESOLV"

# the target on both addresses, answering OPTIONS and noting each
touch "$WORK/up"
sip_target 127.0.0.1 "$T_PORT" "$WORK/one.callids" "$WORK/up" "$WORK/one.options" \
	"$WORK/one.registers"
sip_target 127.0.0.2 "$T_PORT" "$WORK/two.callids" "$WORK/up" "$WORK/two.options" \
	"$WORK/two.registers"

cat >"$WORK/names.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "run_dir": "$WORK/run",
  "dns_refresh_s": 1,
  "routes": [ { "name": "trunk", "target": "trunk.test:$T_PORT", "keepalive_s": 1 } ],
  "registrations": [ { "name": "reg", "registrar": "trunk.test:$T_PORT",
                       "aor": "sip:acct@trunk.test", "expires_s": 600 } ]
}
JSON
start_daemon names "$WORK/names.json"

# wait_lines FILE N: until FILE has N lines (5 s at most)
wait_lines() {
	for _ in $(seq 1 50); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

check "the name resolved at the start: keep-alives to 127.0.0.1" wait_lines "$WORK/one.options" 2
check "and the registration registers there" wait_lines "$WORK/one.registers" 1
sleep 1.2
check "the stats name the address" \
	test "$(json_get "$STATS" 'sorted(j["controller"]["target_calls"])')" = "['127.0.0.1:$T_PORT']"

# the name moves: within dns_refresh_s the keep-alives follow it
echo "127.0.0.2 trunk.test" >"$HOSTS"
check "the name resolved again: keep-alives to 127.0.0.2" wait_lines "$WORK/two.options" 2
check "the registration follows the registrar's name: it registers at 127.0.0.2" \
	wait_lines "$WORK/two.registers" 1
check "the log says the registrar moved" \
	grep -q "dns_refresh_s: registrar trunk.test:$T_PORT resolves to 127.0.0.2:$T_PORT now (was 127.0.0.1:$T_PORT)" \
	"$WORK/names.log"
check "the log says which target moved" \
	grep -q "dns_refresh_s: target trunk.test:$T_PORT resolves to 127.0.0.2:$T_PORT now (was 127.0.0.1:$T_PORT)" \
	"$WORK/names.log"
n1=$(wc -l <"$WORK/one.options")
sleep 1.5
check "none to the old address any more" test "$(wc -l <"$WORK/one.options")" = "$n1"
check "the stats name the new address" \
	test "$(json_get "$STATS" 'sorted(j["controller"]["target_calls"])')" = "['127.0.0.2:$T_PORT']"

# the name stops resolving: its last address is kept, with a warning
echo "127.0.0.1 other.test" >"$HOSTS"
n2=$(wc -l <"$WORK/two.options")
check "a name that no longer resolves keeps its last address" wait_lines "$WORK/two.options" $((n2 + 2))
check "and the log says so" \
	grep -q "dns_refresh_s: \"trunk.test:$T_PORT\": trunk.test has no IPv4 address (.*); keeping its last address" \
	"$WORK/names.log"

# sipshardctl reload of a file whose target name waits on a DNS server that
# never answers (3 tries of 1 s): longer than the 2 s other commands get, so
# the reload's own outcome must come back, not a time-out
python3 - <<'PY' &
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.99", 53))
s.settimeout(0.5)
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        s.recvfrom(4096)
    except socket.timeout:
        pass
PY
PIDS+=($!)
# until it listens: before that a query is refused at once, not waited on
wait_udp_port 53 127.0.0.99
sed -i "s/trunk.test:$T_PORT\", \"keepalive_s\"/slow.test:$T_PORT\", \"keepalive_s\"/" "$WORK/names.json"
start=$(date +%s%N)
"$BUILD/sipshardctl" -s "$WORK/run/sipshardd.sock" reload >"$WORK/slow.out" 2>&1
rc=$?
took_ms=$((($(date +%s%N) - start) / 1000000))
check "a reload waiting on DNS for more than 2 s answers with its outcome (took $took_ms ms)" \
	bash -c "[ $rc = 1 ] && [ $took_ms -gt 2000 ] && grep -q 'routes\[0\].target: \"slow.test:$T_PORT\": slow.test has no IPv4 address' \"\$1\"" _ "$WORK/slow.out"
stop_daemon
check "the daemon stopped cleanly" test -z "$(grep -i 'sanitizer\|leak' "$WORK/names.log")"
