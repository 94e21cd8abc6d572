#!/usr/bin/env bash
# A reload that changes a registration's password and expiry registers it
# again at once in its Call-ID, with the next CSeq (RFC 3261 10.2).
# A reload that removes a registration, or points it at another registrar,
# unregisters its binding (RFC 3261 10.2.2): the registrar that holds it gets
# one REGISTER more in the registration's Call-ID, Contact ;expires=0 and
# Expires: 0, whose digest challenge is answered; `sipshardctl registrations`
# lists it as unregistering while it waits for its answer; a registration
# that never got a binding goes without a word. The registrars are raw UDP
# sockets (each REGISTER without credentials is challenged, each with them
# granted), logging what they get.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16514  # the daemon
X_PORT=16515  # a registrar that answers nothing (nothing listens there)
R1_PORT=16516 # the first registrar
R2_PORT=16517 # the second
CFG=$WORK/register_reload.json
LOG=$WORK/register_reload.log
STATS=$WORK/register_reload.stats.json
RLOG=$WORK/registrars.log
MUTE=$WORK/mute # while it exists, the registrars answer no REGISTER asking for 0 s

# write_reg_config [REGISTRATIONS_JSON]: the daemon's file with those registrations
write_reg_config() {
	cat >"$CFG" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 1,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "routes": [ { "target": "127.0.0.1:$R1_PORT" } ],
  "registrations": [ ${1:-} ]
}
JSON
}
# reg NAME PORT [PASSWORD [EXPIRES_S]]: a registration at 127.0.0.1:PORT
reg() {
	echo "{ \"name\": \"$1\", \"registrar\": \"127.0.0.1:$2\", \"aor\": \"sip:acct-4471@trunk.test\",
	    \"auth\": { \"username\": \"acct-4471\", \"password\": \"${3:-s3cret}\" }, \"expires_s\": ${4:-600} }"
}

python3 - "$R1_PORT" "$R2_PORT" "$RLOG" "$MUTE" <<'PY' &
import os, re, select, socket, sys, time
sys.path.insert(0, "tests/integration")
from rawua import header, respond, udp
socks = [udp(int(p)) for p in sys.argv[1:3]]
log = open(sys.argv[3], "w")
end = time.monotonic() + 60
while time.monotonic() < end:
    r, _, _ = select.select(socks, [], [], 0.2)
    for s in r:
        data, peer = s.recvfrom(65535)
        msg = data.decode("latin-1")
        if not msg.startswith("REGISTER "):
            continue
        expires = header(msg, "Expires")
        auth = header(msg, "Authorization") or ""
        user = re.search(r'username="([^"]*)"', auth)
        log.write("%d %s %s %s %s %s\n" % (s.getsockname()[1], header(msg, "Call-ID"),
                  header(msg, "CSeq").split()[0], expires, header(msg, "Contact"),
                  user.group(1) if user else "-"))
        log.flush()
        if expires == "0" and os.path.exists(sys.argv[4]):
            continue
        if not auth:
            respond(s, msg, peer, "401 Unauthorized", "reg",
                    'WWW-Authenticate: Digest realm="trunk.test", nonce="n%d", qop="auth"\r\n'
                    % time.monotonic_ns())
        else:
            # the bindings in force: the Contact granted, or none left
            respond(s, msg, peer, "200 OK", "reg",
                    "" if expires == "0" else "Contact: %s\r\n" % header(msg, "Contact"))
PY
PIDS+=($!)
wait_udp_port "$R2_PORT"

# wait_log TEXT: until the daemon's log holds TEXT, 5 s at most.
wait_log() { wait_text "$LOG" "$1"; }
# registered NAME: until the stats say NAME holds a binding (5 s at most)
registered() {
	for _ in $(seq 1 50); do
		[ "$(json_get "$STATS" "j['controller']['registration_registered'].get('$1')" 2>/dev/null)" = True ] &&
			return 0
		sleep 0.1
	done
	return 1
}
reload() { "$BUILD/sipshardctl" -s "$WORK/run/sipshardd.sock" reload >/dev/null; }
regs() { "$BUILD/sipshardctl" -s "$WORK/run/sipshardd.sock" registrations; }
# rlog PORT EXPIRES: the registrars' lines for REGISTERs to PORT asking for EXPIRES
rlog() { awk -v p="$1" -v e="$2" '$1 == p && $4 == e' "$RLOG"; }
# wait_rlog PORT EXPIRES N: until there are N such lines, 3 s at most
wait_rlog() {
	for _ in $(seq 1 30); do
		[ "$(rlog "$1" "$2" | wc -l)" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

write_reg_config "$(reg carrier $R1_PORT), $(reg lost $X_PORT)"
start_daemon register_reload "$CFG"
check "registered at the first registrar" registered carrier
CALL_ID=$(rlog $R1_PORT 600 | tail -1 | cut -d' ' -f2)
CSEQ=$(rlog $R1_PORT 600 | tail -1 | cut -d' ' -f3)

# another password and expiry, the same registrar and address of record:
# registered again at once in the same Call-ID, the CSeq going on (RFC 3261
# 10.2), nothing unregistered
write_reg_config "$(reg carrier $R1_PORT n3w 900), $(reg lost $X_PORT)"
check "sipshardctl reload: another password and expires_s" reload
check "the registrar asked for 900 s, challenged, answered" wait_rlog $R1_PORT 900 2
check "in the registration's Call-ID, the CSeq going on" \
	test "$(rlog $R1_PORT 900 | cut -d' ' -f2,3,6 | tr '\n' ' ')" = \
	"$CALL_ID $((CSEQ + 1)) - $CALL_ID $((CSEQ + 2)) acct-4471 "
check "the log: registering again in its Call-ID" \
	wait_log "registration carrier: settings changed; registering again in its Call-ID"
check "nothing unregistered" test -z "$(rlog $R1_PORT 0)"
CSEQ=$((CSEQ + 2))

# re-pointed: the first registrar is told, the second asked
write_reg_config "$(reg carrier $R2_PORT)"
check "sipshardctl reload: the registration now at another registrar" reload
check "the log: unregistered from the first registrar" \
	wait_log "registration carrier: unregistered from 127.0.0.1:$R1_PORT"
check "the first registrar got Expires: 0 in the registration's Call-ID, challenged, answered" \
	test "$(rlog $R1_PORT 0 | cut -d' ' -f2,3,6 | tr '\n' ' ')" = \
	"$CALL_ID $((CSEQ + 1)) - $CALL_ID $((CSEQ + 2)) acct-4471 "
check "with Contact ;expires=0" \
	test "$(rlog $R1_PORT 0 | cut -d' ' -f5 | sort -u)" = "<sip:acct-4471@127.0.0.1:$D_PORT>;expires=0"
check "registered at the second registrar" registered carrier
check "the log: the registration that never got a binding left without a word" \
	wait_log "registration lost: removed; it holds no binding at 127.0.0.1:$X_PORT, nothing to unregister"
check "stats: one unregistering started, answered 2xx, none failed" \
	wait_json "$STATS" '[j["controller"][k] for k in ("unregisters_started", "unregisters_answered_2xx", "unregisters_failed", "unregisters_superseded")]' "[1, 1, 0, 0]"

# removed, with a registrar that does not answer: listed as unregistering
touch "$MUTE"
write_reg_config ""
check "sipshardctl reload: no registration left" reload
check "the second registrar got Expires: 0" wait_rlog $R2_PORT 0 1
unreg_listed() {
	test "$(regs | python3 -c "import json,sys; r=json.load(sys.stdin); print(len(r), r[0]['name'], r[0]['unregistering'], r[0]['registering'], r[0]['registrar'])")" \
		= "1 carrier True True 127.0.0.1:$R2_PORT"
}
check "sipshardctl registrations: the registration listed as unregistering" unreg_listed
check "Timer E: the unanswered REGISTER sent again" wait_rlog $R2_PORT 0 2
stop_daemon
check "the daemon stopped cleanly" test -z "$(grep -i 'sanitizer\|leak' "$LOG")"
