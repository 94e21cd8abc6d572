#!/usr/bin/env bash
# Calls setting up across `sipshardctl reload`, through a running sipshardd
# whose route has credentials (routes[].auth) and two targets, with raw UDP
# caller and callees (rawua.py), T1 100 ms:
#  1. a call whose INVITE the first target holds (100 Trying) while a reload
#     renames the route (same targets, same auth), then challenges 407: the
#     INVITE goes again to it with a correct Proxy-Authorization and a
#     higher CSeq, and its 200 reaches the caller, which never sees the 407;
#  2. a call held likewise while a reload drops the second target and
#     changes the route's password (same name), then challenged 401: the
#     INVITE again carries the password now of the route's name; then a 503
#     from that target: the call does not fail over (its route changed: the
#     second target gets no INVITE) and the caller gets the 503 as 500;
#  3. a call held likewise while a reload renames the route again, then
#     refused 422 with Min-SE 1800 (the caller asked for no session timer,
#     timers.session_expires_s): the INVITE goes again asking for 1800 s.
# Before, a call whose route a reload renamed or whose targets it changed
# took no credentials and no Min-SE any more (the set-up record found its
# route by its tag only): the caller got the 407, 401 and 422.
# The digest responses are checked here with hashlib, not with sipshard's
# code.
set -u
cd "$(dirname "$0")/../.."
ASAN_DAEMON=1
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=16830 # sipshardd; the callers are 16831, 16834 and 16835, the targets 16832 and 16833
SOCK=$WORK/sipshardd.sock
CFG=$WORK/reload_setup.json

cat >"$CFG" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "debug",
  "management_socket": "$SOCK", "run_dir": "$WORK/run", "persist_dialogs": false,
  "cdr_file": "$WORK/cdr.jsonl",
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "timers": { "t1_ms": 100, "session_expires_s": 600 },
  "routes": [ { "name": "carrier", "match": { "user_prefix": "" },
                "targets": ["127.0.0.1:$((D_PORT + 2))", "127.0.0.1:$((D_PORT + 3))"],
                "failover_ms": 20000,
                "auth": { "username": "trunk7", "password": "s3cret", "realm": "carrier.test" } } ]
}
JSON
start_daemon reload_setup "$CFG"

python3 - "$D_PORT" "$CTL" "$SOCK" "$CFG" >"$WORK/reload_setup.out" 2>&1 <<'PY'
import hashlib, json, re, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Caller, header, recv, recv_request, respond, status, udp

dport, ctl, sock, cfg = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
D = ("127.0.0.1", dport)
b1, b2 = udp(dport + 2), udp(dport + 3)
USER, REALM = "trunk7", "carrier.test"
res = {}


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def digest_ok(req, name, nonce, password):
    """req carries one line name answering realm REALM and nonce with
    USER and password (RFC 7616, MD5, qop auth), for its Request-URI."""
    lines = [l for l in req.split("\r\n") if l.lower().startswith(name.lower() + ":")]
    if len(lines) != 1:
        print("%d %s lines" % (len(lines), name))
        return False
    p = {k: v1 or v2 for k, v1, v2 in
         re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', lines[0].split(":", 1)[1].strip()[7:])}
    uri = req.split(" ")[1]
    ha1 = md5("%s:%s:%s" % (USER, REALM, password))
    ha2 = md5("INVITE:%s" % uri)
    want = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, p.get("nc"), p.get("cnonce"), ha2))
    print("%s: %s (want response %s)" % (name, p, want))
    return (p.get("username") == USER and p.get("realm") == REALM and p.get("nonce") == nonce
            and p.get("uri") == uri and p.get("response") == want)


def cseq(req):
    return int(header(req, "CSeq").split()[0])


def reload(change):
    conf = json.load(open(cfg))
    change(conf["routes"][0])
    json.dump(conf, open(cfg, "w"))
    r = subprocess.run([ctl, "-s", sock, "reload"], capture_output=True, text=True)
    print("reload:", r.returncode, r.stdout.strip(), r.stderr.strip())
    return r.returncode == 0


def invite_after(s, prev, t=3):
    """The next INVITE s gets with another branch than prev's (prev's own
    retransmissions skipped)."""
    end = time.time() + t
    while time.time() < end:
        m = recv_request(s, "INVITE", max(0.0, end - time.time()))
        if m and (prev is None or header(m, "Via") != header(prev, "Via")):
            return m
    return None


def caller_final(a, t=3):
    """The caller's first final within t s (provisionals skipped); ACKs a 2xx."""
    end = time.time() + t
    while time.time() < end:
        m = recv(a.sock, max(0.0, end - time.time()))
        if m and status(m) >= 200:
            if status(m) < 300:
                a.to = header(m, "To")
                a.sock.sendto(a.request("ACK", 1).encode(), D)
            return m
    return None


def challenge(s, req, code, nonce):
    hdr = "Proxy-Authenticate" if code.startswith("407") else "WWW-Authenticate"
    respond(s, req, D, code, totag="b1",
            extra='%s: Digest realm="%s", nonce="%s", qop="auth", algorithm=MD5\r\n'
            % (hdr, REALM, nonce))


def ack_of(s, req):
    """The ACK sipshard sends for a non-2xx final to req (Timer A's copies of
    req in between skipped)."""
    return recv_request(s, "ACK", 2) is not None


def held_call(port):
    """A call whose INVITE the first target got and answered 100 Trying."""
    a = Caller(port, dport)
    a.sock.sendto(a.request("INVITE", 1).encode(), D)
    inv = invite_after(b1, None)
    if inv:
        respond(b1, inv, D, "100 Trying")
    return a, inv


# ---- call 1: the route renamed, then a 407 ----------------------------------
a, inv = held_call(dport + 1)
res["held1"] = inv is not None
res["renamed"] = reload(lambda r: r.update(name="carrier-east"))
time.sleep(0.3)
challenge(b1, inv, "407 Proxy Authentication Required", "n1")
res["acked1"] = ack_of(b1, inv)
inv2 = invite_after(b1, inv)
res["again1"] = inv2 is not None
if inv2:
    res["digest1"] = digest_ok(inv2, "Proxy-Authorization", "n1", "s3cret")
    res["cseq1"] = cseq(inv2) > cseq(inv)
    respond(b1, inv2, D, "200 OK", totag="b1",
            extra="Contact: <sip:callee@127.0.0.1:%d>\r\n" % (dport + 2))
f = caller_final(a)
res["final1"] = status(f)
a.sock.close()

# ---- call 2: a target dropped and the password changed, then 401, then 503 -
a, inv = held_call(dport + 4)  # a port of its own: call 1's is sent call 1's
res["held2"] = inv is not None
res["changed"] = reload(lambda r: (r.update(targets=r["targets"][:1]),
                                   r["auth"].update(password="n3w")))
time.sleep(0.3)
challenge(b1, inv, "401 Unauthorized", "n2")
inv2 = invite_after(b1, inv)
res["again2"] = inv2 is not None
if inv2:
    res["digest2"] = digest_ok(inv2, "Authorization", "n2", "n3w")
    respond(b1, inv2, D, "503 Service Unavailable", totag="b1")
f = caller_final(a)
res["final2"] = status(f)
res["b2_invites"] = sum(1 for _ in iter(lambda: recv_request(b2, "INVITE", 0.5), None))
a.sock.close()

# ---- call 3: the route renamed, then 422 ------------------------------------
a, inv = held_call(dport + 5)  # call 2's 500 is resent until Timer H
res["held3"] = inv is not None
res["se_asked"] = header(inv, "Session-Expires") if inv else None
res["renamed3"] = reload(lambda r: r.update(name="carrier-west"))
time.sleep(0.3)
respond(b1, inv, D, "422 Session Interval Too Small", totag="b1", extra="Min-SE: 1800\r\n")
inv2 = invite_after(b1, inv)
res["again3"] = inv2 is not None
if inv2:
    res["se3"] = header(inv2, "Session-Expires")
    res["ruri3"] = inv2.split(" ")[1] == inv.split(" ")[1]
    respond(b1, inv2, D, "486 Busy Here", totag="b1")
f = caller_final(a)
res["final3"] = status(f)
print(json.dumps(res))
PY
rc=$?
sed 's/^/# /' "$WORK/reload_setup.out"
R=$(tail -1 "$WORK/reload_setup.out")
r() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$R" "$1" 2>/dev/null; }
check "the script ran" test "$rc" = 0
check "call 1: held by the first target, then a reload renames its route" \
	test "$(r held1)/$(r renamed)" = "True/True"
check "call 1: the 407 after the rename is ACKed and the INVITE goes again" \
	test "$(r acked1)/$(r again1)" = "True/True"
check "call 1: with a correct Proxy-Authorization (hashlib) and a higher CSeq" \
	test "$(r digest1)/$(r cseq1)" = "True/True"
check "call 1: the caller gets the 200, not the 407" test "$(r final1)" = 200
check "call 2: held, then a reload drops the route's second target and changes its password" \
	test "$(r held2)/$(r changed)" = "True/True"
check "call 2: the 401 after the reload is answered with the password now of the route's name" \
	test "$(r again2)/$(r digest2)" = "True/True"
check "call 2: its 503 makes no failover (the route changed): the caller gets 500, the second target nothing" \
	test "$(r final2)/$(r b2_invites)" = "500/0"
check "call 3: held, asked for timers.session_expires_s, then the route renamed" \
	test "$(r held3)/$(r se_asked)/$(r renamed3)" = "True/600/True"
check "call 3: the 422 after the rename: the INVITE again asks for its Min-SE, same Request-URI" \
	test "$(r again3)/$(r se3)/$(r ruri3)" = "True/1800/True"
check "call 3: the caller gets the final of that INVITE, not the 422" test "$(r final3)" = 486
check "stats: 2 challenges answered, none refused; one session interval raised; no failover" \
	wait_json "$WORK/reload_setup.stats.json" \
	'(j["controller"]["auth_answered"], j["controller"]["auth_refused"], j["controller"]["session_interval_raised"], j["controller"]["failovers"])' \
	"(2, 0, 1, 0)"
stop_daemon
check "the daemon stopped cleanly" test -z "$(grep -i 'sanitizer\|leak' "$WORK/reload_setup.log")"
