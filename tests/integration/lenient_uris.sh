#!/usr/bin/env bash
# Bytes RFC 3261 25.1 does not have where equipment sends them, taken by
# sipshardd for a whole call: a '#' in a user part, a '_' in a host name, and
# UTF-8 in a display name not in quotes.
#
# 1. A '#' bare in the called user (25.1 writes %23; feature codes and
# Microsoft Teams Direct Routing send "sip:#31#123@..."): SIPp calls
# "#31#123" through a real sipshardd. The route whose user_prefix is "#31#"
# takes the call (the configuration keeps the '#' as %23, the Request-URI's
# bare one is read so), its rewrite strips the four characters and puts "*#"
# in front, and the callee gets "*%23123" in its Request-URI and To. The
# caller's To keeps the bare '#' for the whole call: its in-dialog INFO and
# BYE, and its 200 to the callee's BYE, parse and are relayed (before, each
# was answered 400, and the call could not be hung up). A call whose user has
# the escaped form, %2331%23123, takes the same route.
#
# 2. A '_' in host names (a machine named "pbx_a"), and a display name in
# UTF-8 not in quotes: raw UAs whose Via sent-by, From, To and Contact hosts
# have one, the caller's From naming it "Jürgen Müller", make a call, an INFO,
# and a BYE from the callee; every message reaches the other side (before,
# the INVITE was answered 400).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=17240      # sipshardd; the callers are 17241
B_PORT=17242      # the callee
OTHER_PORT=17243  # the target of any other user: answers 503
STATS=$WORK/lenient.stats.json

cat >"$WORK/lenient.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 1,
  "run_dir": "$WORK/run",
  "routes": [
    { "name": "code", "match": { "user_prefix": "#31#" }, "target": "127.0.0.1:$B_PORT",
      "rewrite": { "strip": 4, "prefix": "*#" } },
    { "name": "other", "target": "127.0.0.1:$OTHER_PORT" }
  ]
}
JSON
# none_refused NAME CALLS: no request was answered 400 or 4xx (a stateless 400
# counts in answered_400 and rx_bad), none dropped as unparsable, and CALLS
# calls were answered in all
none_refused() {
	check "$1" wait_json "$STATS" \
		'sum(w["answered_400"] + w["answered_4xx"] for w in j["workers"]), sum(w["rx_bad"] + w["drops"]["unparsable"] for w in j["workers"]), j["controller"]["calls_answered"]' \
		"0 0 $2"
}

start_daemon lenient "$WORK/lenient.json"
sipp_uas "$OTHER_PORT" uas_503.xml
OTHER=${PIDS[-1]}

run_flow hash "a call to #31#123 with INFOs and the caller's BYE" \
	uac_info_bye.xml uas_info_bye.xml 1 -s '#31#123'
check "the callee's INVITE names *%23123 in its Request-URI" \
	grep -q "^INVITE sip:\*%23123@127.0.0.1:$B_PORT SIP/2.0" "$WORK/uas-$B_PORT.msg"
check "and in its To" grep -q "^To: <sip:\*%23123@127.0.0.1:$B_PORT>" "$WORK/uas-$B_PORT.msg"
check "no bare '#' reached the callee" \
	test "$(grep -c '#' "$WORK/uas-$B_PORT.msg")" = 0
check "the callee got the three INFOs and the BYE" \
	test "$(grep -c '^INFO ' "$WORK/uas-$B_PORT.msg") $(grep -c '^BYE ' "$WORK/uas-$B_PORT.msg")" = "3 1"

run_flow hash "a call to #31#123 the callee hangs up (the caller's 200 to BYE relayed)" \
	uac_wait_bye.xml uas_bye.xml 1 -s '#31#123'
run_flow hash "a call to %2331%23123 (the escaped form) takes the same route" \
	uac_info_bye.xml uas_info_bye.xml 1 -s '%2331%23123'

check "no call reached the other route's target" \
	test "$(cat "$WORK/uas-$OTHER_PORT.msg" 2>/dev/null | grep -c '^INVITE ')" = 0
none_refused "no request was answered 400 and nothing was dropped as malformed" 3

# ---- 2. '_' in host names, a display name in UTF-8 ----------------------------
# the route "other" sends the call to the raw callee at OTHER_PORT, now free
kill "$OTHER" 2>/dev/null
wait "$OTHER" 2>/dev/null
python3 - "$D_PORT" "$OTHER_PORT" >"$WORK/underscore.out" 2>&1 <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
from rawua import header as hdr, recv_first, respond, udp

D, B = int(sys.argv[1]), int(sys.argv[2])
a, b = udp(D + 1), udp(B)
dest = ("127.0.0.1", D)
cid = "us-%f@pbx_a.example" % time.time()


def first(sock, start, method=None, t=2.0):
    return recv_first(sock, lambda m: m.startswith(start) and
                      (method is None or hdr(m, "CSeq").split()[-1] == method), t)


def a_req(method, cseq, to, n):
    return ("%s sip:other@pbx_sbc.example:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP pbx_a.example:%d;branch=z9hG4bKus%d;rport\r\n"
            "From: J\u00fcrgen M\u00fcller <sip:alice@pbx_a.example>;tag=atag\r\nTo: %s\r\n"
            "Call-ID: %s\r\n"
            "CSeq: %d %s\r\nContact: <sip:alice@pbx_a.example:%d>\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n" % (method, D, D + 1, n, to, cid, cseq, method,
                                           D + 1)).encode()


def seen(what, msg):
    print("%s: %s" % (what, "yes" if msg is not None else "missing"))
    return msg


contact_b = "Contact: <sip:bob@pbx_b.example:%d>\r\n" % B
a.sendto(a_req("INVITE", 1, "<sip:other@pbx_sbc.example>", 1), dest)
inv, bpeer = first(b, "INVITE")
if seen("INVITE at the callee", inv) is None:
    print("caller got: %r" % (first(a, "SIP/2.0", None, 1.0)[0],))
    sys.exit(1)
respond(b, inv, bpeer, "200 OK", "btag", contact_b)
ok200 = seen("200 (INVITE) at the caller", first(a, "SIP/2.0 200", "INVITE")[0])
if ok200 is None:
    sys.exit(1)
to = hdr(ok200, "To")
a.sendto(a_req("ACK", 1, to, 2), dest)
seen("ACK at the callee", first(b, "ACK")[0])
a.sendto(a_req("INFO", 2, to, 3), dest)
info, bpeer = first(b, "INFO")
if seen("INFO at the callee", info) is not None:
    respond(b, info, bpeer, "200 OK")
    seen("200 (INFO) at the caller", first(a, "SIP/2.0 200", "INFO")[0])
# the callee hangs up: its BYE names the caller's leg as sipshard wrote it
bye = ("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP pbx_b.example:%d;branch=z9hG4bKusb;rport\r\n"
       "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\n"
       "Content-Length: 0\r\n\r\n"
       % (hdr(inv, "Contact").strip("<>"), B, hdr(inv, "To") + ";tag=btag", hdr(inv, "From"),
          hdr(inv, "Call-ID"))).encode()
b.sendto(bye, bpeer)
req, apeer = first(a, "BYE")
if seen("BYE at the caller", req) is not None:
    respond(a, req, apeer, "200 OK")
    seen("200 (BYE) at the callee", first(b, "SIP/2.0 200", "BYE")[0])
PY
sed 's/^/# /' "$WORK/underscore.out"
check "a call between hosts named with '_', the caller's name in UTF-8 unquoted: all seven messages reached the other side" \
	test "$(grep -c ': yes$' "$WORK/underscore.out")" = 7
none_refused "and no request was answered 400 or 4xx, none unparsable" 4
stop_daemon
