#!/usr/bin/env bash
# A registrar's 2xx lists the bindings it holds (RFC 3261 10.2.4), and sipshard
# finds its Contact among them as RFC 3261 19.1.4 compares URIs: one the
# registrar rewrote (the scheme's letter case, URI parameters added, header
# parameters such as received, another binding listed beside it) is still ours,
# and its expires parameter is what was granted. A 2xx that does not list it
# (a registrar that put a NAT's address in its place) is still taken as
# registered, for its Expires header, but counted
# (controller.register_2xx_contact_unlisted), flagged (registration_contact_unlisted,
# sipshardctl registrations "contact_unlisted") and logged once when it starts
# and once when the Contact is listed again, not at each refresh. The registrar
# is a raw UDP socket that grants 4 s (a refresh every 2 s) and answers as the
# file $MODE says: "listed" or "nat".
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=17110 # the daemon
R_PORT=17111 # the registrar
CFG=$WORK/register_contact.json
LOG=$WORK/register_contact.log
STATS=$WORK/register_contact.stats.json
RLOG=$WORK/registrar.log
MODE=$WORK/mode

cat >"$CFG" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 1,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "routes": [ { "target": "127.0.0.1:$R_PORT" } ],
  "registrations": [ { "name": "carrier", "registrar": "127.0.0.1:$R_PORT",
                       "aor": "sip:acct-4471@trunk.test", "expires_s": 60 } ]
}
JSON
echo listed >"$MODE"

python3 - "$R_PORT" "$RLOG" "$MODE" "$D_PORT" <<'PY' &
import select, sys, time
sys.path.insert(0, "tests/integration")
from rawua import header, respond, udp
s = udp(int(sys.argv[1]))
log = open(sys.argv[2], "w")
mode_file, d_port = sys.argv[3], sys.argv[4]
end = time.monotonic() + 60
while time.monotonic() < end:
    r, _, _ = select.select([s], [], [], 0.2)
    if not r:
        continue
    data, peer = s.recvfrom(65535)
    msg = data.decode("latin-1")
    if not msg.startswith("REGISTER "):
        continue
    mode = open(mode_file).read().strip()
    log.write("%s %s %s\n" % (mode, header(msg, "CSeq"), header(msg, "Contact")))
    log.flush()
    if mode == "listed":
        # ours rewritten as registrars do, and another device's binding
        contacts = ('Contact: <sip:other@192.0.2.1:5060>;expires=300\r\n'
                    'Contact: <SIP:acct-4471@127.0.0.1:%s;transport=UDP;ob>;expires=4;'
                    'received="sip:127.0.0.1:%s"\r\nExpires: 3600\r\n' % (d_port, d_port))
    else:
        # a NAT's address in its place: not ours
        contacts = ('Contact: <sip:acct-4471@192.0.2.80:40000>;expires=3600\r\n'
                    'Expires: 4\r\n')
    respond(s, msg, peer, "200 OK", "reg", contacts)
PY
PIDS+=($!)
wait_udp_port "$R_PORT"

regs() { "$BUILD/sipshardctl" -s "$WORK/run/sipshardd.sock" registrations; }
# unlisted_shown WANT: sipshardctl registrations says contact_unlisted WANT (True/False)
unlisted_shown() {
	test "$(regs | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['contact_unlisted'])")" = "$1"
}
# refreshes N: until the registrar has got N REGISTERs in all, 8 s at most
refreshes() {
	for _ in $(seq 1 80); do
		[ "$(wc -l <"$RLOG")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
WARNING="registration carrier: the 2xx of 127.0.0.1:$R_PORT does not list our Contact <sip:acct-4471@127.0.0.1:$D_PORT> (1 other binding listed): taken as registered for 4 s"
AGAIN="registration carrier: 127.0.0.1:$R_PORT lists our Contact again"

start_daemon register_contact "$CFG"
check "registered: its rewritten Contact is ours, for its expires=4 (not Expires: 3600)" \
	wait_json "$STATS" "(j['controller']['registration_registered']['carrier'], j['controller']['registration_expires_in_s']['carrier'] <= 4)" "(True, True)"
check "refreshed at half of it" refreshes 2
check "stats: no 2xx without our Contact" \
	wait_json "$STATS" "(j['controller']['register_2xx_contact_unlisted'], j['controller']['registration_contact_unlisted']['carrier'])" "(0, False)"
check "sipshardctl registrations: contact_unlisted false" unlisted_shown False

echo nat >"$MODE"
N=$(wc -l <"$RLOG")
check "two refreshes answered without our Contact" refreshes $((N + 2))
check "still registered, for the Expires header's 4 s" \
	wait_json "$STATS" "(j['controller']['registration_registered']['carrier'], j['controller']['registration_expires_in_s']['carrier'] <= 4, j['controller']['register_2xx_contact_unlisted'] >= 2, j['controller']['registration_contact_unlisted']['carrier'])" "(True, True, True, True)"
check "sipshardctl registrations: contact_unlisted true" unlisted_shown True
check "the log: a warning, once" test "$(grep -cF -- "$WARNING" "$LOG")" = 1

echo listed >"$MODE"
check "the log: listed again" wait_text "$LOG" "$AGAIN"
check "sipshardctl registrations: contact_unlisted false again" unlisted_shown False
check "the warning still once, the notice once" \
	test "$(grep -cF -- "$WARNING" "$LOG") $(grep -cF -- "$AGAIN" "$LOG")" = "1 1"
stop_daemon
check "the daemon stopped cleanly" test -z "$(grep -i 'sanitizer\|leak' "$LOG")"
