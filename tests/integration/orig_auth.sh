#!/usr/bin/env bash
# A callee (a carrier) that challenges the in-dialog requests sipshard itself
# sends on leg B, through a running sipshardd whose route has credentials
# (routes[].auth), with raw UDP caller and callee (rawua.py), T1 50 ms:
#  1. the keep-alive's OPTIONS (timers.dialog_keepalive_s) answered 401: the
#     OPTIONS goes again with an Authorization line and a higher CSeq;
#  2. the BYE of `sipshardctl bye` answered 407: the BYE goes again with a
#     Proxy-Authorization line and a higher CSeq than any before it on leg B,
#     and once its 200 came nothing more is sent; the call has its CDR;
#  3. a second call whose retried BYE is challenged again: final, no third
#     BYE, counted and logged;
#  4. a third call whose keep-alive OPTIONS again (challenged 401) is
#     answered 481: the call ends (BYE, CDR keepalive_failed), as a 481 to
#     the first OPTIONS would end it; the caller's OPTIONS of that round,
#     challenged too, uses up no CSeq of leg A (no credentials there);
#  5. a fourth call whose callee challenges every keep-alive OPTIONS and never
#     answers the OPTIONS again: each one lost at Timer F is a round missed,
#     and dialog_keepalive_misses of them end the call (BYE, Reason
#     "keep-alive not answered", CDR keepalive_failed);
#  6. a fifth call, then `sipshardctl reload` of the file with the route
#     renamed (same target, same auth): the BYE of `sipshardctl bye`,
#     answered 407, goes again with the credentials. The call found its
#     route's credentials by the route's name only, and after the rename
#     had none: the challenge was final and the carrier kept the call up.
#  7. a sixth call whose keep-alive OPTIONS again (challenged 401) is still
#     unanswered when the caller hangs up: it is resent no more (counted in
#     originated.call_ended), as the operator's request in a call that ends;
#     so are call 4's still going when call 4 ended. Before, they went on
#     until Timer F, and call 4's reached the callee during call 6.
#  8. a seventh call, then a reload that gives the route's name another
#     target (another carrier, same auth): this callee's 407 to the BYE of
#     `sipshardctl bye` is not answered (challenges_no_credentials). Before,
#     the route's name alone chose the credentials, and this carrier got a
#     digest of the account the route now has at the other one.
# The digest responses are checked here with hashlib, not with sipshard's
# code. Before, such challenges ended the transaction: the carrier kept the
# call up; and the final of the OPTIONS again was dropped, so a 481 to it
# ended nothing; and an OPTIONS again that got no answer ended nothing, so a
# proxy that challenged each round kept a call to a dead phone up for good.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=16510 # sipshardd; the caller is 16511, the callee 16512 (16513: call 7's route after the reload, silent)
B_PORT=16512
SOCK=$WORK/sipshardd.sock
CDR=$WORK/cdr.jsonl

cat >"$WORK/orig_auth.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT", "workers": 1, "log_level": "info",
  "management_socket": "$SOCK", "run_dir": "$WORK/run", "persist_dialogs": false,
  "cdr_file": "$CDR",
  "capacity": { "setups": 64, "dialogs_per_shard": 64, "transactions_per_shard": 64 },
  "timers": { "t1_ms": 50, "dialog_keepalive_s": 1, "dialog_keepalive_misses": 5 },
  "routes": [ { "name": "carrier", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT",
                "auth": { "username": "trunk7", "password": "s3cret", "realm": "carrier.test" } } ]
}
JSON
start_daemon orig_auth "$WORK/orig_auth.json"

python3 - "$D_PORT" "$B_PORT" "$CTL" "$SOCK" "$WORK/orig_auth.json" >"$WORK/orig_auth.out" 2>&1 <<'PY'
import hashlib, json, re, subprocess, sys, time
sys.path.insert(0, "tests/integration")
from rawua import Callee, Caller, header, recv, respond

dport, bport, ctl, sock, cfg = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
D = ("127.0.0.1", dport)
callee = Callee(bport)
USER, PASSWORD, REALM = "trunk7", "s3cret", "carrier.test"
res = {}


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def params(value):
    """The parameters of a Digest credentials value, unquoted."""
    return {k: v1 or v2 for k, v1, v2 in
            re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value.split(" ", 1)[1])}


def digest_ok(req, name, method, nonce):
    """req carries one line name answering realm REALM and nonce with the
    route's credentials (RFC 7616, MD5, qop auth), for its Request-URI."""
    lines = [l for l in req.split("\r\n") if l.lower().startswith(name.lower() + ":")]
    if len(lines) != 1:
        print("%d %s lines" % (len(lines), name))
        return False
    p = params(lines[0].split(":", 1)[1].strip())
    uri = req.split(" ")[1]
    ha1 = md5("%s:%s:%s" % (USER, REALM, PASSWORD))
    ha2 = md5("%s:%s" % (method, uri))
    want = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, p.get("nc"), p.get("cnonce"), ha2))
    print("%s: %s (want response %s)" % (name, p, want))
    return (p.get("username") == USER and p.get("realm") == REALM and p.get("nonce") == nonce
            and p.get("uri") == uri and p.get("qop") == "auth" and p.get("response") == want)


def cseq(req):
    return int(header(req, "CSeq").split()[0])


def next_request(s, method, seconds, after=None):
    """The next request method that s gets within seconds, but for copies of
    after (retransmissions of a request answered: its Via); requests of other
    methods on the way get 200 (the other leg's keep-alive, say)."""
    end = time.time() + seconds
    while time.time() < end:
        msg = recv(s, max(0.0, end - time.time()))
        if msg is None:
            break
        if msg.startswith("SIP/2.0") or msg.startswith("ACK "):
            continue
        if after and header(msg, "Via") == header(after, "Via"):
            continue
        if msg.startswith(method + " "):
            return msg
        respond(s, msg, D, "200 OK")
    return None


def keep_caller_quiet(a, seconds):
    """The caller answers what it gets (its keep-alive OPTIONS, our BYE) 200."""
    end = time.time() + seconds
    while time.time() < end:
        msg = recv(a.sock, max(0.0, end - time.time()))
        if msg and not msg.startswith("SIP/2.0") and not msg.startswith("ACK "):
            respond(a.sock, msg, D, "200 OK")


def ctl_bye(call_id):
    return subprocess.run([ctl, "-s", sock, "bye", call_id], capture_output=True,
                          text=True).returncode


def challenge(req, code, nonce):
    hdr = "Proxy-Authenticate" if code.startswith("407") else "WWW-Authenticate"
    respond(callee.sock, req, D, code,
            extra='%s: Digest realm="%s", nonce="%s", qop="auth", algorithm=MD5, '
            'opaque="op-%s"\r\n' % (hdr, REALM, nonce, nonce))


# ---- call 1 -----------------------------------------------------------------
a = Caller(dport + 1, dport)
res["call1"] = a.call(callee)
callee.got = []

# 1. the keep-alive's OPTIONS to the callee, challenged 401
ka = next_request(callee.sock, "OPTIONS", 3)
keep_caller_quiet(a, 0.05)
res["ka_sent"] = ka is not None
if ka:
    challenge(ka, "401 Unauthorized", "ka-nonce")
    ka2 = next_request(callee.sock, "OPTIONS", 1, ka)
    res["ka_again"] = ka2 is not None
    if ka2:
        res["ka_digest"] = digest_ok(ka2, "Authorization", "OPTIONS", "ka-nonce")
        res["ka_higher_cseq"] = cseq(ka2) > cseq(ka)
        respond(callee.sock, ka2, D, "200 OK")
        ka_cseq = cseq(ka2)
keep_caller_quiet(a, 0.1)

# 2. the operator's BYE, challenged 407 on leg B
res["ctl_bye"] = ctl_bye(a.call_id)
bye = next_request(callee.sock, "BYE", 2)
keep_caller_quiet(a, 0.05)
res["bye_sent"] = bye is not None
if bye:
    res["bye_after_ka"] = cseq(bye) > ka_cseq if res.get("ka_again") else False
    challenge(bye, "407 Proxy Authentication Required", "bye-nonce")
    bye2 = next_request(callee.sock, "BYE", 1, bye)
    res["bye_again"] = bye2 is not None
    if bye2:
        res["bye_digest"] = digest_ok(bye2, "Proxy-Authorization", "BYE", "bye-nonce")
        res["bye_higher_cseq"] = cseq(bye2) > cseq(bye)
        res["bye_new_branch"] = header(bye2, "Via") != header(bye, "Via")
        respond(callee.sock, bye2, D, "200 OK")
        # T1 is 50 ms: a retransmission would come within 0.6 s
        res["nothing_after_200"] = next_request(callee.sock, "BYE", 0.6, bye) is None

# ---- call 2: the retry challenged again -------------------------------------
a.sock.close()
b = Caller(dport + 1, dport)
res["call2"] = b.call(callee)
res["ctl_bye2"] = ctl_bye(b.call_id)
bye = next_request(callee.sock, "BYE", 2)
keep_caller_quiet(b, 0.05)
if bye:
    challenge(bye, "407 Proxy Authentication Required", "n1")
    bye2 = next_request(callee.sock, "BYE", 1, bye)
    res["call2_bye_again"] = bye2 is not None
    if bye2:
        challenge(bye2, "407 Proxy Authentication Required", "n2")
        # copies of the first BYE or of the second may still come, no third
        third = next_request(callee.sock, "BYE", 0.6, bye)
        while third and header(third, "Via") == header(bye2, "Via"):
            third = next_request(callee.sock, "BYE", 0.6, bye)
        res["call2_no_third"] = third is None

# ---- call 3: the keep-alive's OPTIONS again answered 481 --------------------
b.sock.close()
c = Caller(dport + 1, dport)
res["call3"] = c.call(callee)
ka = next_request(callee.sock, "OPTIONS", 3)
# the caller's OPTIONS of the round, challenged: leg A has no credentials
ka_a = next_request(c.sock, "OPTIONS", 1)
if ka_a:
    respond(c.sock, ka_a, D, "401 Unauthorized",
            extra='WWW-Authenticate: Digest realm="phone", nonce="a1", algorithm=MD5\r\n')
if ka:
    challenge(ka, "401 Unauthorized", "ka3")
    ka2 = next_request(callee.sock, "OPTIONS", 1, ka)
    res["ka3_again"] = ka2 is not None
    if ka2:
        respond(callee.sock, ka2, D, "481 Call/Transaction Does Not Exist")
        bye = next_request(callee.sock, "BYE", 0.8, ka2)
        res["ka481_bye"] = bye is not None
        if bye:
            res["ka481_reason"] = header(bye, "Reason")
            respond(callee.sock, bye, D, "200 OK")
# the next request to the caller (the BYE) takes the CSeq after its OPTIONS'
nxt = next_request(c.sock, "BYE", 1) if ka_a else None
res["leg_a_cseq_kept"] = bool(nxt) and cseq(nxt) == cseq(ka_a) + 1
if nxt:
    respond(c.sock, nxt, D, "200 OK")

# ---- call 4: each round's OPTIONS challenged, the OPTIONS again unanswered --
# (a proxy that challenges every OPTIONS in front of a phone that is gone):
# each OPTIONS again lost at Timer F (3.2 s) is a round missed, and the fifth
# ends the call at the next round
c.sock.close()
d4 = Caller(dport + 1, dport)
res["call4"] = d4.call(callee)
t_up = time.time()
retries, bye4 = set(), None
while time.time() < t_up + 20 and not bye4:
    for s4 in (callee.sock, d4.sock):
        msg = recv(s4, 0.05)
        if not msg or msg.startswith("SIP/2.0") or msg.startswith("ACK "):
            continue
        if s4 is d4.sock:
            respond(s4, msg, D, "200 OK")  # the caller answers all it gets
        elif msg.startswith("OPTIONS ") and header(msg, "Authorization"):
            retries.add(header(msg, "Via"))  # never answered
        elif msg.startswith("OPTIONS "):
            challenge(msg, "401 Unauthorized", "ka4")
        elif msg.startswith("BYE "):
            bye4 = msg
            respond(s4, msg, D, "200 OK")
res["call4_retries"] = len(retries)
res["call4_bye"] = bye4 is not None
res["call4_after_s"] = round(time.time() - t_up, 1)
if bye4:
    res["call4_reason"] = header(bye4, "Reason")
    keep_caller_quiet(d4, 0.3)  # the BYE to the caller

# ---- call 5: the route renamed by a reload while the call is up -------------
d4.sock.close()
e = Caller(dport + 1, dport)
res["call5"] = e.call(callee)
conf = json.load(open(cfg))
conf["routes"][0]["name"] = "carrier-east"
json.dump(conf, open(cfg, "w"))
r = subprocess.run([ctl, "-s", sock, "reload"], capture_output=True, text=True)
res["renamed"] = r.returncode == 0 and subprocess.run(
    [ctl, "-s", sock, "--json", "config"], capture_output=True,
    text=True).stdout.count('"carrier-east"') == 1
res["ctl_bye5"] = ctl_bye(e.call_id)
bye = next_request(callee.sock, "BYE", 2)
keep_caller_quiet(e, 0.05)
if bye:
    challenge(bye, "407 Proxy Authentication Required", "renamed-nonce")
    bye2 = next_request(callee.sock, "BYE", 1, bye)
    res["call5_bye_again"] = bye2 is not None
    if bye2:
        res["call5_digest"] = digest_ok(bye2, "Proxy-Authorization", "BYE", "renamed-nonce")
        respond(callee.sock, bye2, D, "200 OK")
# ---- call 6: the keep-alive's OPTIONS again in flight when the call ends ---
# (challenged 401, the OPTIONS again never answered, then the caller hangs
# up): it is resent no more once the dialog is freed. Before, only the
# operator's request was stopped there (orig_end_dialog), and the OPTIONS
# again went on to Timer F (3.2 s) into a call that was over.
e.sock.close()
f6 = Caller(dport + 1, dport)
res["call6"] = f6.call(callee)
ka = next_request(callee.sock, "OPTIONS", 3)
keep_caller_quiet(f6, 0.05)
if ka:
    challenge(ka, "401 Unauthorized", "ka6")
    ka2 = next_request(callee.sock, "OPTIONS", 1, ka)
    res["call6_again"] = ka2 is not None and bool(header(ka2, "Authorization"))
    if ka2:
        f6.sock.sendto(f6.request("BYE", f6.next_cseq()).encode(), D)
        bye = next_request(callee.sock, "BYE", 1, ka2)
        res["call6_bye"] = bye is not None
        if bye:
            respond(callee.sock, bye, D, "200 OK")
            keep_caller_quiet(f6, 0.2)  # the 200 to the caller's BYE
            # T1 50 ms: copies 0.1, 0.2, 0.4 s apart would come within 1 s
            copies, end = 0, time.time() + 1
            while time.time() < end:
                msg = recv(callee.sock, max(0.0, end - time.time()))
                if msg and header(msg, "Via") == header(ka2, "Via"):
                    copies += 1
            res["call6_copies_after_end"] = copies
# ---- call 7: a reload points the route's name at another carrier -----------
# (same name and auth, another target: 127.0.0.1:bport+1) while the call is
# up at this callee: the callee's 407 to the operator's BYE is not answered
# with the account the route now has at the other carrier. Before, the
# workers found the call's credentials by the route's name alone, and this
# carrier got a digest of another carrier's account.
f6.sock.close()
g7 = Caller(dport + 1, dport)
res["call7"] = g7.call(callee)
conf = json.load(open(cfg))
conf["routes"][0]["target"] = "127.0.0.1:%d" % (bport + 1)
json.dump(conf, open(cfg, "w"))
r = subprocess.run([ctl, "-s", sock, "reload"], capture_output=True, text=True)
res["moved"] = r.returncode == 0 and subprocess.run(
    [ctl, "-s", sock, "--json", "config"], capture_output=True,
    text=True).stdout.count("127.0.0.1:%d" % (bport + 1)) == 1
res["ctl_bye7"] = ctl_bye(g7.call_id)
bye = next_request(callee.sock, "BYE", 2)
keep_caller_quiet(g7, 0.05)
res["call7_bye"] = bye is not None
if bye:
    challenge(bye, "407 Proxy Authentication Required", "moved-nonce")
    # T1 50 ms: a BYE again would come at once
    res["call7_no_bye_again"] = next_request(callee.sock, "BYE", 0.6, bye) is None
print(json.dumps(res))
PY
rc=$?
sed 's/^/# /' "$WORK/orig_auth.out"
R=$(tail -1 "$WORK/orig_auth.out")
r() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$R" "$1" 2>/dev/null; }
check "the script ran" test "$rc" = 0
check "two calls up through the route with auth" test "$(r call1)/$(r call2)" = "200/200"
check "keep-alive OPTIONS answered 401 by the callee goes again" test "$(r ka_again)" = True
check "the OPTIONS again carries a correct Authorization (hashlib)" test "$(r ka_digest)" = True
check "the OPTIONS again has a higher CSeq" test "$(r ka_higher_cseq)" = True
check "sipshardctl bye: the BYE to the callee" test "$(r ctl_bye)/$(r bye_sent)" = "0/True"
check "the BYE takes a CSeq above the answered OPTIONS'" test "$(r bye_after_ka)" = True
check "the BYE answered 407 goes again" test "$(r bye_again)" = True
check "the BYE again carries a correct Proxy-Authorization (hashlib)" test "$(r bye_digest)" = True
check "the BYE again has a higher CSeq and a new branch" \
	test "$(r bye_higher_cseq)/$(r bye_new_branch)" = "True/True"
check "after its 200, no more BYEs" test "$(r nothing_after_200)" = True
check "the call's CDR: ended by the operator" test "$(cdr_end 0)" = operator
check "call 2: its BYE again, challenged again: no third BYE" \
	test "$(r call2_bye_again)/$(r call2_no_third)" = "True/True"
check "call 3: the keep-alive's OPTIONS again, answered 481: the BYE to the callee" \
	test "$(r call3)/$(r ka3_again)/$(r ka481_bye)" = "200/True/True"
check "its Reason says the keep-alive was answered 481" \
	test "$(r ka481_reason)" = 'Q.850;cause=41;text="keep-alive answered 481"'
check "call 3's CDR: keepalive_failed" test "$(cdr_end 2)" = keepalive_failed
check "a challenged OPTIONS to the caller uses up no CSeq of leg A" \
	test "$(r leg_a_cseq_kept)" = True
check "call 4: a callee whose proxy challenges every OPTIONS and then sends nothing: the BYE after 5 OPTIONS again went unanswered (after $(r call4_after_s) s, $(r call4_retries) of them)" \
	python3 -c 'import sys; sys.exit(not (sys.argv[1] == "200/True" and int(sys.argv[2]) >= 5))' "$(r call4)/$(r call4_bye)" "$(r call4_retries)"
check "its Reason says the keep-alive was not answered" \
	test "$(r call4_reason)" = 'Q.850;cause=102;text="keep-alive not answered"'
check "call 4's CDR: keepalive_failed" test "$(cdr_end 3)" = keepalive_failed
check "call 5: up, then a reload renames its route (same target and auth)" \
	test "$(r call5)/$(r renamed)/$(r ctl_bye5)" = "200/True/0"
check "call 5: its BYE answered 407 goes again with a correct Proxy-Authorization" \
	test "$(r call5_bye_again)/$(r call5_digest)" = "True/True"
check "call 5's CDR: ended by the operator" test "$(cdr_end 4)" = operator
check "call 6: its keep-alive OPTIONS again (challenged 401, unanswered) when the caller's BYE ends the call" \
	test "$(r call6)/$(r call6_again)/$(r call6_bye)" = "200/True/True"
check "call 6: the OPTIONS again is resent no more once the call ended ($(r call6_copies_after_end) copies in 1 s after)" \
	test "$(r call6_copies_after_end)" = 0
check "call 7: up, then a reload gives its route's name another carrier (same auth)" \
	test "$(r call7)/$(r moved)/$(r ctl_bye7)/$(r call7_bye)" = "200/True/0/True"
check "call 7: the first carrier's 407 to its BYE is not answered with the route's account" \
	test "$(r call7_no_bye_again)" = True
check "call 7's CDR: ended by the operator" test "$(cdr_end 6)" = operator
check "no dialogs left" bash -c '"$1" -s "$2" --json dialogs | python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(len(j[\"dialogs\"]) != 0)"' _ "$CTL" "$SOCK"
ORIG='j["workers"][0]["originated"]'
# every OPTIONS again of call 4 was lost at Timer F (unanswered) or still
# going when call 4 ended, and then stopped (call_ended), as call 6's was
check "originated.challenges_answered 6 and one per OPTIONS again of call 4, challenges_refused 1, challenges_no_credentials 2 (call 3's caller, call 7's first carrier); call_ended + unanswered: one per OPTIONS again of call 4, and call 6's" \
	wait_json "$WORK/orig_auth.stats.json" "($ORIG['challenges_answered'], $ORIG['challenges_refused'], $ORIG['challenges_no_credentials'], $ORIG['call_ended'] + $ORIG['unanswered'])" "($((6 + $(r call4_retries))), 1, 2, $((1 + $(r call4_retries))))"
check "the log says once why a challenge was not answered" \
	test "$(grep -c 'to our BYE not answered: a second challenge' "$WORK/orig_auth.log")" = 1
stop_daemon
