#!/usr/bin/env bash
# A '#' bare in the called user (RFC 3261 25.1 writes %23; feature codes and
# Microsoft Teams Direct Routing send "sip:#31#123@..."): SIPp calls
# "#31#123" through a real sipshardd. The route whose user_prefix is "#31#"
# takes the call (the configuration keeps the '#' as %23, the Request-URI's
# bare one is read so), its rewrite strips the four characters and puts "*#"
# in front, and the callee gets "*%23123" in its Request-URI and To. The
# caller's To keeps the bare '#' for the whole call: its in-dialog INFO and
# BYE, and its 200 to the callee's BYE, parse and are relayed (before, each
# was answered 400, and the call could not be hung up). A call whose user has
# the escaped form, %2331%23123, takes the same route.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=17240      # sipshardd; the callers are 17241
B_PORT=17242      # the callee
OTHER_PORT=17243  # the target of any other user: answers 503
STATS=$WORK/user_hash.stats.json

cat >"$WORK/user_hash.json" <<JSON
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
start_daemon user_hash "$WORK/user_hash.json"
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
check "no request was answered 400 and nothing was dropped as malformed" \
	wait_json "$STATS" \
	'sum(w["answered_4xx"] for w in j["workers"]), sum(w["drops"]["unparsable"] for w in j["workers"]), j["controller"]["calls_answered"]' \
	"0 0 3"
stop_daemon
