#!/usr/bin/env bash
# A callee side that forks (RFC 3261 13.2.2.4, RFC 3262), through a running
# sipshardd with raw UDP caller and callee: two forks of leg B's INVITE (To
# tags f1 and f2) each send a 183 with SDP of their own, reliable (100rel) or
# not; the caller must get both, each under a To tag of its own toward it
# (one early dialog per fork, RFC 3261 12.1) with that fork's SDP; its PRACK
# of each reliable one must reach that fork; then fork 2 answers 200, with
# its SDP or without a body (its answer came in its reliable 183): the
# caller gets that 200 under fork 2's tag, `sipshardctl dialogs` shows fork
# 2's SDP, and the caller's BYE under that tag reaches fork 2. sipshard held
# one early dialog toward the caller, the first fork's: the second fork's
# reliable 183 was PRACKed by sipshard and not relayed (its SDP never
# reached the caller), and its 200 came under the first fork's tag.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: the controller and the worker hold
# the forks' early dialogs
ASAN_DAEMON=1
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=16780 # sipshardd; the callers 16781 and 16783, the callee 16782
B_PORT=16782
SOCK=$WORK/sipshardd.sock

cat >"$WORK/fork.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "info",
  "run_dir": "$WORK/run", "persist_dialogs": false, "management_socket": "$SOCK",
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
start_daemon fork "$WORK/fork.json"

python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" >"$WORK/fork.out" 2>&1 <<'PY'
import json, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import branch, Caller, fork_response, header, recv_first, respond, status, tag_of, udp, vias_of

dport, bport, ctl, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
D = ("127.0.0.1", dport)
callee = udp(bport)
OFFER = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
SDP = {f: "v=0\r\no=%s 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
          "m=audio %d RTP/AVP 0\r\n" % (f, 5000 + int(f[1])) for f in ("f1", "f2")}


def response(req, code, totag, extra="", body=""):
    return fork_response(req, code, totag, bport, extra, body)


def h(msg, name):
    """header() of a message that may not have come (None)."""
    return header(msg, name) if msg else None


def body_of(msg):
    return msg.split("\r\n\r\n", 1)[1] if msg else ""


def caller_gets(c, want, t=2):
    return recv_first(c.sock, want, t)[0]


def call(port, reliable, body_in_2xx):
    """One forked call; reliable: whether each fork's 183 is (f1, f2)."""
    r = {}
    c = Caller(port, dport)
    inv_a = c.request("INVITE", 1, sdp=OFFER,
                      call_id_line="Call-ID: %s\r\nSupported: 100rel\r\n" % c.call_id)
    c.sock.sendto(inv_a.encode(), D)
    inv, _ = recv_first(callee, lambda m: m.startswith("INVITE ") and c.call_id not in m, 2)
    # each fork rings with its SDP (fork 1 first)
    for i, f in enumerate(("f1", "f2")):
        extra = "Require: 100rel\r\nRSeq: %d\r\n" % (i + 7) if reliable[i] else ""
        callee.sendto(response(inv, "183 Session Progress", f, extra, SDP[f]), D)
        time.sleep(0.05)
    got = {}
    end = time.time() + 2
    while len(got) < 2 and time.time() < end:
        m = caller_gets(c, lambda m: status(m) == 183, max(0, end - time.time()))
        if not m:
            break
        for f in ("f1", "f2"):
            if "o=%s " % f in body_of(m):
                got[f] = m
    r["both_183s"] = sorted(got)
    tags = {f: tag_of(header(m, "To")) for f, m in got.items()}
    r["distinct_tags"] = len(set(tags.values())) == 2 and None not in tags.values()
    r["reliable_relayed"] = [bool(h(got.get(f), "RSeq")) for f in ("f1", "f2")]
    # the caller PRACKs each reliable one; each PRACK must reach its fork
    r["prack_to"], r["prack_answered_under"] = [], []
    cseq = 1
    for i, f in enumerate(("f1", "f2")):
        if not reliable[i] or f not in got:
            continue
        cseq += 1
        m = got[f]
        prack = ("PRACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKpr%s%d\r\n"
                 "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d PRACK\r\nRAck: %s 1 INVITE\r\n"
                 "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                 % (header(m, "Contact").strip("<>"), port, f, port, header(inv_a, "From"),
                    header(m, "To"), c.call_id, cseq, header(m, "RSeq")))
        c.sock.sendto(prack.encode(), D)
        p, peer = recv_first(callee, lambda x: x.startswith("PRACK "), 2)
        r["prack_to"].append(tag_of(h(p, "To")))
        if p:
            callee.sendto(response(p, "200 OK", tag_of(header(p, "To"))), peer)
            ok = caller_gets(c, lambda x: status(x) == 200 and "PRACK" in (h(x, "CSeq") or ""))
            r["prack_answered_under"].append(tag_of(h(ok, "To")) == tags.get(f))
    # fork 2 answers
    callee.sendto(response(inv, "200 OK", "f2", body=SDP["f2"] if body_in_2xx else ""), D)
    ok = caller_gets(c, lambda x: status(x) == 200 and "INVITE" in (h(x, "CSeq") or ""))
    r["answered_under_fork2_tag"] = bool(ok) and tag_of(h(ok, "To")) == tags.get("f2")
    if ok:
        c.to = header(ok, "To")
        c.sock.sendto(c.request("ACK", 1).encode(), D)
        time.sleep(0.3)
    out = subprocess.run([ctl, "-s", sock, "--json", "dialogs", c.call_id],
                         capture_output=True, text=True).stdout
    try:
        ds = json.loads(out)["dialogs"]
    except ValueError:
        ds = []
    r["dialogs"] = [(d["callee"]["remote_tag"], d["caller"]["local_tag"] == tags.get("f2"),
                     ["o=f2 " in ((d[s]["answer"] or {}).get("body") or "")
                      for s in ("caller", "callee")]) for d in ds]
    # the caller hangs up under that tag: fork 2 gets the BYE
    c.sock.sendto(c.request("BYE", cseq + 1).encode(), D)
    bye, peer = recv_first(callee, lambda x: x.startswith("BYE "), 2)
    r["bye_to"] = tag_of(header(bye, "To")) if bye else None
    if bye:
        callee.sendto(response(bye, "200 OK", "f2"), peer)
        caller_gets(c, lambda x: status(x) == 200 and "BYE" in (h(x, "CSeq") or ""))
    c.sock.close()
    return r


res = {"both_reliable_2xx_with_sdp": call(dport + 1, (True, True), True),
       "both_reliable_2xx_without_body": call(dport + 3, (True, True), False),
       "unreliable_then_reliable_2xx_without_body": call(dport + 1, (False, True), False),
       "reliable_then_unreliable_2xx_with_sdp": call(dport + 3, (True, False), True)}
print(json.dumps(res))
PY
rc=$?
take_result "$WORK/fork.out"

check "the helper ran" test "$rc" = 0
for k in both_reliable_2xx_with_sdp both_reliable_2xx_without_body \
	unreliable_then_reliable_2xx_without_body reliable_then_unreliable_2xx_with_sdp; do
	check "$k: the caller gets both forks' 183s, each with its SDP" \
		test "$(get 'j["'$k'"]["both_183s"]')" = "['f1', 'f2']"
	check "$k: each under a To tag of its own (one early dialog per fork)" \
		test "$(get 'j["'$k'"]["distinct_tags"]')" = "True"
	check "$k: the caller's PRACK of each reliable 183 reaches that fork, and its 200 comes back under that fork's tag" \
		python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))[sys.argv[2]]; want = [f for f, rel in zip(("f1", "f2"), sys.argv[3].split(",")) if rel == "1"]; sys.exit(not (r["prack_to"] == want and r["prack_answered_under"] == [True] * len(want)))' \
		"$WORK/res.json" "$k" "$(case $k in both*) echo 1,1 ;; unreliable_then*) echo 0,1 ;; *) echo 1,0 ;; esac)"
	check "$k: fork 2's 200 reaches the caller under fork 2's tag" \
		test "$(get 'j["'$k'"]["answered_under_fork2_tag"]')" = "True"
	check "$k: sipshardctl dialogs: the call is fork 2's, under its tag, with its SDP as both legs' answer" \
		test "$(get 'j["'$k'"]["dialogs"]')" = "[['f2', True, [True, True]]]"
	check "$k: the caller's BYE under that tag reaches fork 2" \
		test "$(get 'j["'$k'"]["bye_to"]')" = "f2"
done
sleep 1.2 # a stats write
check "counted: controller.fork_dialogs 4, forks_refused 0, fork_provisionals_pracked 0" \
	wait_json "$WORK/fork.stats.json" \
	'j["controller"]["fork_dialogs"], j["controller"]["forks_refused"], j["controller"]["fork_provisionals_pracked"]' "4 0 0"
stop_daemon
check "no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$WORK/fork.log"
