#!/usr/bin/env bash
# Chained digest challenges (RFC 3261 22.3) and a registrar's Min-Expires,
# through the daemon's sockets: one peer (Python, its own MD5 check of every
# line) is an outbound proxy with a registrar and a callee behind it. A
# request without the proxy's credentials gets 407 (realm proxy.test), one
# without the server's 401 (realm trunk.test); a REGISTER asking for less
# than 1800 s gets 423 with Min-Expires 1800 (the next REGISTER must keep
# both answers), and one that passes gets 4 s, so that the refresh comes 2 s
# later. The refresh must ask for 1800 at once
# and carry both lines after the 407 and the 401; a call on the route with
# auth must reach the callee with both. A call to "both" meets a 407 that
# carries the proxy's challenge and the server's WWW-Authenticate together
# (RFC 3261 16.7 item 7: a proxy puts a forked 401's challenges in its 407):
# its next INVITE must answer both (22.3), and be answered 200, where it
# answered the proxy's alone and met the 401 a round trip later. The route's
# and the registration's auth list both realms (auth.realm as a list), so
# every answer here also checks that each realm of the list is answered.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16460 # the daemon; the caller uses D_PORT+1
P_PORT=16463 # the proxy, with the registrar and the callee behind it
STATS=$WORK/auth_chain.stats.json
PEER_LOG=$WORK/peer.log

cat >"$WORK/auth_chain.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "persist_dialogs": false,
  "capacity": { "setups": 64 },
  "routes": [ { "name": "carrier", "target": "127.0.0.1:$P_PORT",
                "auth": { "username": "acct-4471", "password": "s3cret",
                          "realm": ["proxy.test", "trunk.test"] } } ],
  "registrations": [
    { "name": "carrier", "registrar": "127.0.0.1:$P_PORT", "aor": "sip:acct-4471@trunk.test",
      "auth": { "username": "acct-4471", "password": "s3cret",
                "realm": ["trunk.test", "proxy.test"] },
      "expires_s": 600, "retry_s": 1 }
  ]
}
JSON

# The peer: one line in PEER_LOG per request, "METHOD CSEQ -> STATUS
# expires=E proxy_nc=N server_nc=M" (- for a line absent or wrong).
python3 - "$P_PORT" "$PEER_LOG" <<'PY' &
import hashlib, random, re, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2)
log = open(sys.argv[2], "w")
nonces = set()
md5 = lambda t: hashlib.md5(t.encode()).hexdigest()

def hdr(msg, name):
    m = re.search(r"^%s\s*:\s*(.*?)\r\n" % re.escape(name), msg, re.M | re.I)
    return m.group(1) if m else None

def valid(msg, name, realm):
    """The nc of the line `name` when it answers one of our nonces in realm
    with acct-4471's password, else None."""
    line = hdr(msg, name)
    if not line:
        return None
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', line))
    if p.get("realm") != realm or p.get("nonce") not in nonces or p.get("username") != "acct-4471":
        return None
    ha1 = md5("acct-4471:%s:s3cret" % realm)
    ha2 = md5("%s:%s" % (msg.split(" ", 1)[0], p.get("uri")))
    want = md5("%s:%s:%s:%s:auth:%s" % (ha1, p["nonce"], p.get("nc"), p.get("cnonce"), ha2))
    return p["nc"] if p.get("response") == want else None

def answer(msg, peer, code, extra=""):
    vias = "".join(re.findall(r"^Via\s*:.*?\r\n", msg, re.M | re.I))
    to = hdr(msg, "To")
    if ";tag=" not in to:
        to += ";tag=peer1"
    s.sendto(("SIP/2.0 %s\r\n%sFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n%s"
              "Content-Length: 0\r\n\r\n" % (code, vias, hdr(msg, "From"), to,
                                              hdr(msg, "Call-ID"), hdr(msg, "CSeq"), extra)).encode(), peer)

def challenge(kind, realm):
    n = "%s%08x" % (realm[0], random.getrandbits(32))
    nonces.add(n)
    return '%s: Digest realm="%s", nonce="%s", qop="auth", algorithm=MD5\r\n' % (kind, realm, n)

end = time.monotonic() + 40
while time.monotonic() < end:
    try:
        data, peer = s.recvfrom(65535)
    except socket.timeout:
        continue
    msg = data.decode("latin-1")
    method = msg.split(" ", 1)[0]
    if msg.startswith("SIP/2.0") or method == "ACK":
        continue
    pnc = valid(msg, "Proxy-Authorization", "proxy.test")
    snc = valid(msg, "Authorization", "trunk.test")
    expires = hdr(msg, "Expires")
    if method == "BYE":
        code, extra = "200 OK", ""
    elif msg.startswith("INVITE sip:both@") and (pnc is None or snc is None):
        code, extra = "407 Proxy Authentication Required", \
            challenge("Proxy-Authenticate", "proxy.test") + challenge("WWW-Authenticate", "trunk.test")
    elif pnc is None:
        code, extra = "407 Proxy Authentication Required", challenge("Proxy-Authenticate", "proxy.test")
    elif snc is None:
        code, extra = "401 Unauthorized", challenge("WWW-Authenticate", "trunk.test")
    elif method == "REGISTER" and int(expires or 0) < 1800:
        code, extra = "423 Interval Too Brief", "Min-Expires: 1800\r\n"
    elif method == "REGISTER":
        code, extra = "200 OK", "Contact: <sip:acct-4471@127.0.0.1:%s>;expires=4\r\n" % \
            re.search(r"@127\.0\.0\.1:(\d+)", hdr(msg, "Contact")).group(1)
    else:
        code, extra = "200 OK", "Contact: <sip:callee@127.0.0.1:%s>\r\n" % sys.argv[1]
    answer(msg, peer, code, extra)
    log.write("%s %s -> %s expires=%s proxy_nc=%s server_nc=%s\n" % (
        method, hdr(msg, "CSeq").split()[0], code.split()[0], expires or "-", pnc or "-", snc or "-"))
    log.flush()
PY
PIDS+=($!)
wait_udp_port "$P_PORT"
start_daemon auth_chain "$WORK/auth_chain.json"

# registered_at SECONDS N: until the peer has answered N REGISTERs 200
registered_at() {
	for _ in $(seq 1 $(($1 * 10))); do
		[ "$(grep -c '^REGISTER .* -> 200' "$PEER_LOG")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
check "registered through the proxy's 407, the registrar's 401 and its 423" registered_at 5 1
# the first attempt: 407, 401, 423 (with both lines), 200 (both lines again,
# each with the next nc: RFC 3261 22.3; before, the REGISTER after the 423
# went without them and met the 407 and the 401 again)
check "the REGISTER after the 401 carried both answers, the proxy's with nc 2" \
	grep -q '^REGISTER 3 -> 423 expires=600 proxy_nc=00000002 server_nc=00000001' "$PEER_LOG"
check "the REGISTER after the 423 kept both answers, each with the next nc" \
	grep -q '^REGISTER 4 -> 200 expires=1800 proxy_nc=00000003 server_nc=00000002' "$PEER_LOG"
check "the refresh registered too" registered_at 6 2
# refresh: REGISTER (1800) 407, 401, 200: three transactions, no 423
refresh_lines() { awk '/^REGISTER/ {n++} n > 4' "$PEER_LOG" | grep '^REGISTER' | head -3 | cut -d' ' -f4-; }
check "the refresh asked for 1800 at once, and met no 423" \
	test "$(refresh_lines | tr '\n' '|')" = "407 expires=1800 proxy_nc=- server_nc=-|401 expires=1800 proxy_nc=00000001 server_nc=-|200 expires=1800 proxy_nc=00000002 server_nc=00000001|"

# a call on the route with auth: 407, 401, then 200 with both lines
call() {
	python3 - "$D_PORT" "${1:-callee}" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua
class Nobody:
    def pump(self, seconds):
        time.sleep(seconds)
class To(rawua.Caller):
    def request(self, *args, **kw):
        return super().request(*args, **kw).replace("sip:callee@", "sip:%s@" % sys.argv[2], 1)
c = To(int(sys.argv[1]) + 1, int(sys.argv[1]))
st = c.call(Nobody())
if st == 200:
    c.sock.sendto(c.request("BYE", c.next_cseq()).encode(), ("127.0.0.1", c.dport))
    rawua.recv(c.sock, 2)
sys.exit(0 if st == 200 else 1)
PY
}
check "a call on the route with auth is answered" call
check "its INVITE after the 401 carried both answers" \
	grep -q '^INVITE 3 -> 200 expires=- proxy_nc=00000002 server_nc=00000001' "$PEER_LOG"
check "a call whose 407 carries WWW-Authenticate too is answered" call both
check "its second INVITE answered both challenges of that 407 at once, and got 200" \
	grep -q '^INVITE 2 -> 200 expires=- proxy_nc=00000001 server_nc=00000001' "$PEER_LOG"
# the zeros in a stats write that has the call's end (dialogs_ended), not in
# one from before it
check "stats: no call failed, no challenge refused" \
	wait_json "$STATS" '(j["controller"]["dialogs_ended"], j["controller"]["auth_refused"], j["controller"]["register_attempts_failed"])' "(2, 0, 0)"
stop_daemon
check "the daemon stopped cleanly" test -z "$(grep -i 'sanitizer\|leak' "$WORK/auth_chain.log")"
echo "# peer log:"
sed 's/^/#   /' "$PEER_LOG"
