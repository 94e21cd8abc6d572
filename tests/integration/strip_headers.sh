#!/usr/bin/env bash
# strip_headers (topology hiding): raw UAs make a call through a real
# sipshardd whose every message carries User-Agent, Server and extension
# lines: the INVITE, the 180 and 200, the ACK, an in-dialog INFO and its 200,
# the BYE and its 200. With strip_headers naming User-Agent, Server and
# X-Internal-Route (in another case than the messages write it), none of
# those reaches the other leg and X-Keep crosses everywhere; without the key
# all of them cross, as before. A reload that drops the key warns that it
# waits for the next start, and the next call is still stripped.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=16502 # sipshardd; the caller is 16503, the callee 16504
SIPSHARDCTL=${SIPSHARDCTL:-$BUILD/sipshardctl}

# config FILE [EXTRA_JSON_MEMBERS]: one worker, every call to the callee
config() {
	cat >"$1" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 1,
  "run_dir": "$WORK/run",
  "routes": [ { "name": "callee", "target": "127.0.0.1:$((D_PORT + 2))" } ]
  ${2:-}
}
JSON
}

# call OUT: one call through the daemon; OUT gets a line per message as it
# reached the other side: "WHAT: the lines of NAMES it carried"
call() {
	python3 - "$D_PORT" >"$1" 2>&1 <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
from rawua import header as hdr, recv_first, respond, udp

D = int(sys.argv[1])
a, b = udp(D + 1), udp(D + 2)
dest = ("127.0.0.1", D)
cid, n = "sh-%f@127.0.0.1" % time.time(), [0]
NAMES = ("User-Agent", "Server", "X-Internal-Route", "X-Keep")
A_LINES = "User-Agent: caller-ua/1.0\r\nX-Internal-Route: a-core-7\r\nX-Keep: a\r\n"
B_LINES = "Server: callee-srv/2.0\r\nx-internal-route: b-edge-1\r\nX-Keep: b\r\n"


def note(what, msg):
    if msg is None:
        print("%s: missing" % what)
        return
    print("%s: %s" % (what, " ".join(h for h in NAMES if hdr(msg, h) is not None) or "-"))


def first(sock, start, method=None, t=2.0):
    """The first message that starts with start (a response: to method),
    returned as soon as it comes: a retransmission of another is skipped."""
    return recv_first(sock, lambda m: m.startswith(start) and
                      (method is None or hdr(m, "CSeq").split()[-1] == method), t)


def a_req(method, cseq, to):
    n[0] += 1
    return ("%s sip:callee@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKsh%d\r\n"
            "From: <sip:caller@127.0.0.1:%d>;tag=atag1\r\nTo: %s\r\nCall-ID: %s\r\n"
            "CSeq: %d %s\r\nContact: <sip:caller@127.0.0.1:%d>\r\nMax-Forwards: 70\r\n%s"
            "Content-Length: 0\r\n\r\n" % (method, D, D + 1, n[0], D + 1, to, cid, cseq, method,
                                           D + 1, A_LINES)).encode()


contact_b = "Contact: <sip:callee@127.0.0.1:%d>\r\n" % (D + 2)
a.sendto(a_req("INVITE", 1, "<sip:callee@127.0.0.1>"), dest)
inv, bpeer = first(b, "INVITE")
note("INVITE at the callee", inv)
if inv is None:
    sys.exit(1)
respond(b, inv, bpeer, "180 Ringing", "btag1", contact_b + B_LINES)
note("180 at the caller", first(a, "SIP/2.0 180", "INVITE")[0])
respond(b, inv, bpeer, "200 OK", "btag1", contact_b + B_LINES)
ok200 = first(a, "SIP/2.0 200", "INVITE")[0]
note("200 (INVITE) at the caller", ok200)
if ok200 is None:
    sys.exit(1)
to = hdr(ok200, "To")
a.sendto(a_req("ACK", 1, to), dest)
note("ACK at the callee", first(b, "ACK")[0])
for method, cseq in (("INFO", 2), ("BYE", 3)):
    a.sendto(a_req(method, cseq, to), dest)
    req, bpeer = first(b, method)
    note("%s at the callee" % method, req)
    if req is None:
        continue
    respond(b, req, bpeer, "200 OK", None, B_LINES)
    note("200 (%s) at the caller" % method, first(a, "SIP/2.0 200", method)[0])
PY
}

# lines_all OUT NAMES: every message of the call reached the other side,
# each carrying exactly NAMES of the four lines looked for
lines_all() {
	test "$(wc -l <"$1")" -eq 8 && ! grep -qv ": $2\$" "$1"
}

# requests carry User-Agent (caller) and responses Server (callee); both
# carry X-Internal-Route and X-Keep
as_sent() {
	test "$(wc -l <"$1")" -eq 8 &&
		! grep -E 'at the callee' "$1" | grep -qv ': User-Agent X-Internal-Route X-Keep$' &&
		! grep -E 'at the caller' "$1" | grep -qv ': Server X-Internal-Route X-Keep$'
}

# 1. without the key: every line crosses
config "$WORK/plain.json"
start_daemon plain "$WORK/plain.json"
call "$WORK/plain.out"
sed 's/^/# /' "$WORK/plain.out"
check "without strip_headers, User-Agent, Server and X-Internal-Route cross in every message" \
	as_sent "$WORK/plain.out"
"$SIPSHARDCTL" -c "$WORK/plain.json" config >"$WORK/plain.config" 2>&1
check "sipshardctl config shows strip_headers empty" \
	test "$(json_get "$WORK/plain.config" 'j["strip_headers"]')" = "[]"
stop_daemon

# 2. with it: none of the three crosses, X-Keep does
config "$WORK/strip.json" ', "strip_headers": [ "user-agent", "SERVER", "X-INTERNAL-ROUTE" ]'
"$SIPSHARDD" -c "$WORK/strip.json" --check-config >"$WORK/check.out" 2>&1
check "--check-config prints strip_headers as written" \
	test "$(json_get "$WORK/check.out" '",".join(j["strip_headers"])')" = "user-agent,SERVER,X-INTERNAL-ROUTE"
start_daemon strip "$WORK/strip.json"
call "$WORK/strip.out"
sed 's/^/# /' "$WORK/strip.out"
check "with strip_headers, no message reaches the other leg with User-Agent, Server or X-Internal-Route; X-Keep crosses" \
	lines_all "$WORK/strip.out" "X-Keep"
"$SIPSHARDCTL" -c "$WORK/strip.json" config >"$WORK/strip.config" 2>&1
check "sipshardctl config shows strip_headers" \
	test "$(json_get "$WORK/strip.config" 'len(j["strip_headers"])')" = 3

# 3. a reload that drops the key: a warning, and the running list kept
config "$WORK/strip.json"
"$SIPSHARDCTL" -c "$WORK/strip.json" reload >"$WORK/reload.out" 2>&1
sed 's/^/# /' "$WORK/reload.out"
check "a reload that changes strip_headers warns that it takes effect at the next start" \
	grep -q "^warning: strip_headers changed in .*next start" "$WORK/reload.out"
check "the daemon logs that warning" \
	grep -q "reload: strip_headers changed" "$WORK/strip.log"
call "$WORK/reloaded.out"
sed 's/^/# /' "$WORK/reloaded.out"
check "after that reload, the next call is still stripped" \
	lines_all "$WORK/reloaded.out" "X-Keep"
"$SIPSHARDCTL" -c "$WORK/strip.json" config >"$WORK/reloaded.config" 2>&1
check "sipshardctl config after the reload shows the list in service" \
	test "$(json_get "$WORK/reloaded.config" 'len(j["strip_headers"])')" = 3
stop_daemon
