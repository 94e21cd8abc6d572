#!/usr/bin/env bash
# sipshard-load: what it counts when a send fails, what it does with a late
# 2xx, and its --window over threads, against raw UDP peers (rawua.py), with
# T1 = 10 ms so that every 64*T1 is 0.64 s:
#   1. uas: an in-dialog request whose answer cannot be sent (an INFO whose
#      Vias make the 200 larger than a send buffer) is not counted answered,
#      and the failed send is an error of the run (errors.total, send_errors);
#   2. uac: a 2xx to an INVITE that had timed out is ACKed (RFC 3261
#      13.2.2.4) and its call ended with a BYE, and counted as a late
#      answer, not as a call established or ended;
#   3. uac: --window is the total over --threads: one below it is refused
#      with a message that says so; one equal to it runs; a port 0 to send
#      to or listen on is refused (exit 2);
#   4. uac: a 2xx of a second fork (another To tag) after the call took the
#      first is ACKed in its own dialog (its To tag, to its Contact, RFC 3261
#      13.2.2.4) and ended with a BYE in it, a repeat of it ACKed again, and
#      it counts as a late answer; the call goes on in the first fork's dialog;
#   5. uac: the final to a fork's BYE that comes after --requests-per-call
#      reused the call's slot (or after the run's last call ended) completes
#      that BYE and counts as its own (a 481 is an error);
#   6. uac: a second fork's 2xx to the INVITE of a call whose slot
#      --requests-per-call has since reused is ACKed and ended with a BYE in
#      its dialog, a repeat of it ACKed again; a repeat of the 2xx that call
#      took is ACKed again, and not ended twice.
# Ports: 16800 (the uas or the raw callee), 16801 (the uac or the raw caller);
# LOAD_LATE_PORT names another first port. BUILD (or LOAD) names the build.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

A=${LOAD_LATE_PORT:-16800}
B=$((A + 1))
UAS_PORT=$A
T=(--t1-ms 10 --t2-ms 40)

. tests/integration/load.bash

# ---- 1. uas: an answer that cannot be sent ------------------------------------------
cat >"$WORK/big_via.py" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
import rawua

uas, me = int(sys.argv[1]), int(sys.argv[2])
s = rawua.udp(me)
dst = ("127.0.0.1", uas)
head = ("sip:service@127.0.0.1:%d SIP/2.0\r\n" % uas)


def request(method, cseq, totag="", vias=None):
    vias = vias or ["SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s%d" % (me, method.lower(), cseq)]
    s.sendto(("%s %s" % (method, head) +
              "".join("Via: %s\r\n" % v for v in vias) +
              "Max-Forwards: 70\r\nFrom: <sip:load@127.0.0.1:%d>;tag=c1\r\n"
              "To: <sip:service@127.0.0.1:%d>%s\r\nCall-ID: bigvia-1\r\nCSeq: %d %s\r\n"
              "Contact: <sip:load@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n"
              % (me, uas, totag, cseq, method, me)).encode(), dst)


def final(t, cseq):
    """The final to the request of CSeq cseq: a repeat of the INVITE's 200
    (its ACK late on a busy machine) is not the INFO's."""
    while True:
        m = rawua.recv(s, t)
        if m is None or (m.startswith("SIP/2.0") and rawua.status(m) >= 200 and
                         rawua.header(m, "CSeq").split()[0] == str(cseq)):
            return m


request("INVITE", 1)
ok = final(2, 1)
tag = rawua.header(ok, "To").split(";tag=")[1] if ok else ""
request("ACK", 1, ";tag=" + tag)
request("INFO", 2, ";tag=" + tag)
small = final(2, 2)
# 6 Vias of 400 bytes: a 2.6 kB request (a receive buffer takes 8 kB) whose
# 200 repeats them, more than a 2 kB send buffer holds
big = ["SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbig%d;x=%s" % (me, i, "v" * 360) for i in range(6)]
request("INFO", 3, ";tag=" + tag, big)
large = final(1, 3)
print("invite %s small %s large %s" % (rawua.status(ok) if ok else None,
                                       rawua.status(small) if small else None,
                                       rawua.status(large) if large else None))
PY
start_uas big_via "${T[@]}"
out=$(python3 "$WORK/big_via.py" "$A" "$B")
stop "$UAS_PID"
check "uas: the call is up, an INFO answered, the INFO whose 200 cannot be written gets none ($out)" \
	test "$out" = "invite 200 small 200 large None"
check "uas: that INFO is received but not answered, and its failed send is in the errors' total" \
	python3 - "$WORK/big_via.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
info = j["by_method"]["INFO"]
err = j["errors"]
got = (info["received"], info["answered"], j["send"]["errors"], err.get("send_errors"),
       err["total"])
print("# INFO received/answered, send errors, errors' send_errors and total:", got)
sys.exit(0 if got == (2, 1, 1, 1, 1) else 1)
PY

# ---- 2. uac: a 2xx after the INVITE's timeout ---------------------------------------
# Two calls at --rate 1: the first INVITE is left unanswered past its 64*T1
# (0.64 s) and answered 200 at 0.9 s; the second (at 1 s) is answered at once.
cat >"$WORK/late_200.py" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua

me, uac, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = rawua.udp(me)
peer = ("127.0.0.1", uac)
contact = "Contact: <sip:callee@127.0.0.1:%d>\r\n" % me
first_cid = None
first_inv = None
late_at = None
after_late = []  # what came for the first call once its 200 went out
done = set()
end = time.time() + 5
while time.time() < end:
    t = 0.05 if late_at is None and first_inv else end - time.time()
    m = rawua.recv(s, max(0.01, t))
    if first_inv and late_at is None and time.time() - first_at >= 0.9:
        rawua.respond(s, first_inv, peer, "200 OK", totag="late1", extra=contact)
        late_at = time.time()
    if m is None or m.startswith("SIP/2.0"):
        continue
    method = m.split(" ", 1)[0]
    cid = rawua.header(m, "Call-ID")
    if method != "ACK" and rawua.branch(m) in done:
        continue  # a retransmission (this peer slow on a busy machine): answered once
    done.add(rawua.branch(m))
    if first_cid is None and method == "INVITE":
        first_cid, first_inv, first_at = cid, m, time.time()
    if cid == first_cid:
        if late_at is not None and method != "INVITE":
            after_late.append("%s(%s)" % (method, rawua.header(m, "CSeq")))
            if method == "BYE":
                rawua.respond(s, m, peer, "200 OK")
        continue
    if method == "INVITE":
        rawua.respond(s, m, peer, "200 OK", totag="ok2", extra=contact)
    elif method != "ACK":
        rawua.respond(s, m, peer, "200 OK")
        if method == "BYE":
            end = min(end, time.time() + 0.3)
open(out, "w").write(" ".join(after_late) + "\n")
PY
start_bg python3 "$WORK/late_200.py" "$A" "$B" "$WORK/late_200.out"
peer=${PIDS[-1]}
wait_udp_port "$A"
timeout -k 1 15 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 \
	--target "127.0.0.1:$A" --calls 2 --rate 1 --duration 0.5 --req-rate 0.001 "${T[@]}" \
	--max-errors 1 --json "$WORK/late_200.json" >"$WORK/late_200.uac" 2>&1
rc=$?
wait_exit 6 "$peer"
seen=$(cat "$WORK/late_200.out" 2>/dev/null)
check "uac: the 2xx that came after its INVITE timed out is ACKed, then the call ended with BYE ($seen; exit $rc)" \
	test "$seen" = "ACK(1 ACK) BYE(2 BYE)" -a "$rc" = 0
check "uac: counted as a late answer, not as established or ended; the timeout is the one error" \
	python3 - "$WORK/late_200.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
c = j["calls"]
got = (c["attempted"], c["established"], c["failed"], c["ended"], c.get("late_answers"),
       j["by_method"]["BYE"]["completed"], j["errors"]["total"],
       j["repeats"]["duplicate_responses"] + j["repeats"]["late_responses"])
print("# attempted, established, failed, ended, late answers, BYEs completed, errors, repeats:", got)
sys.exit(0 if got == (2, 1, 1, 1, 1, 2, 1, 0) else 1)
PY

# ---- 3. uac: --window over --threads ------------------------------------------------
timeout -k 1 10 "$LOAD" --role uac --quiet --target "127.0.0.1:$A" --calls 4 --threads 2 \
	--window 1 --duration 0 "${T[@]}" >"$WORK/win.out" 2>&1
rc=$?
check "uac: --window 1 with --threads 2 is refused (exit $rc), the message says the window is the total: $(head -c 200 "$WORK/win.out")" \
	grep -q -- "--window 1 is below --threads 2: the window is the total over all threads" "$WORK/win.out"
test "$rc" = 2 || not_ok "uac: --window below --threads exits 2 (exit $rc)"
# a port 0 sends nowhere, or listens where nobody is told: refused, exit 2
# (a uac's run went on with every send refused; the drop-proxy's check
# compared text, so 127.0.0.2:0 and 127.0.0.1:00 passed)
for args in "--role uac --target 127.0.0.1:0" "--role uas --local 127.0.0.1:0" \
	"--role drop-proxy --local 127.0.0.2:0 --target 127.0.0.1:$A" \
	"--role drop-proxy --local 127.0.0.1:00 --target 127.0.0.1:$A"; do
	# shellcheck disable=SC2086
	timeout -k 1 10 "$LOAD" $args --quiet --calls 1 --duration 0 >"$WORK/port0.out" 2>&1
	rc=$?
	check "$args: refused, exit 2 ($rc): $(head -c 120 "$WORK/port0.out")" \
		bash -c '[ "$1" = 2 ] && grep -q "port" "$2"' _ "$rc" "$WORK/port0.out"
done
start_uas win "${T[@]}"
timeout -k 1 15 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 \
	--target "127.0.0.1:$A" --calls 4 --threads 2 --window 2 --duration 0.3 "${T[@]}" \
	--json "$WORK/win_uac.json" >"$WORK/win_uac.out" 2>&1
rc=$?
stop "$UAS_PID"
check "uac: --window 2 with --threads 2 runs, no error (exit $rc)" test "$rc" = 0

# ---- 4. uac: the 2xx of a second fork ----------------------------------------------
# A raw callee (a forking proxy's two forks in one) answers the INVITE 200 with
# To tag fork1 (Contact fork1) and at once 200 with To tag fork2 (Contact
# fork2); once fork2's 200 has its ACK it sends that 200 again (a repeat that
# crossed the ACK). Every request that comes is listed as METHOD user-of-the-
# Request-URI To-tag CSeq; the BYEs get 200. The uac used to ACK fork2's 200
# with fork1's tag and Request-URI, so fork2 never had its ACK nor a BYE.
cat >"$WORK/forks.py" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua

me, uac, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = rawua.udp(me)
peer = ("127.0.0.1", uac)
contact = "Contact: <sip:{}@127.0.0.1:%d>\r\n" % me
seen = []
ok2 = None
repeated = False
done = set()
end = time.time() + 5
while time.time() < end:
    m = rawua.recv(s, end - time.time())
    if m is None or m.startswith("SIP/2.0"):
        continue
    method = m.split(" ", 1)[0]
    if method != "ACK" and rawua.branch(m) in done:
        continue  # a retransmission (this peer slow on a busy machine): answered once
    done.add(rawua.branch(m))
    user = rawua.ruri(m).split("@")[0].replace("sip:", "")
    to = rawua.header(m, "To")
    tag = to.split(";tag=")[1] if ";tag=" in to else "-"
    if method != "INVITE":
        seen.append("%s %s %s %s" % (method, user, tag, rawua.header(m, "CSeq").split()[0]))
    if method == "INVITE":
        rawua.respond(s, m, peer, "200 OK", totag="fork1", extra=contact.format("fork1"))
        ok2 = m
        rawua.respond(s, m, peer, "200 OK", totag="fork2", extra=contact.format("fork2"))
    elif method == "ACK" and tag == "fork2" and not repeated:
        repeated = True
        rawua.respond(s, ok2, peer, "200 OK", totag="fork2", extra=contact.format("fork2"))
    elif method != "ACK":
        rawua.respond(s, m, peer, "200 OK")
        end = min(end, time.time() + 0.5)
open(out, "w").write("|".join(sorted(seen)) + "\n")
PY
start_bg python3 "$WORK/forks.py" "$A" "$B" "$WORK/forks.out"
peer=${PIDS[-1]}
wait_udp_port "$A"
timeout -k 1 15 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 \
	--target "127.0.0.1:$A" --calls 1 --rate 10 --duration 0 "${T[@]}" \
	--max-errors 1 --json "$WORK/forks.json" >"$WORK/forks.uac" 2>&1
rc=$?
wait_exit 6 "$peer"
seen=$(cat "$WORK/forks.out" 2>/dev/null)
check "uac: fork1's 200 ACKed and its call ended with BYE in its dialog; fork2's 200 ACKed in fork2's (twice: its repeat) and ended with a BYE there ($seen; exit $rc)" \
	test "$seen" = "ACK fork1 fork1 1|ACK fork2 fork2 1|ACK fork2 fork2 1|BYE fork1 fork1 2|BYE fork2 fork2 2" -a "$rc" = 0
check "uac: fork2's answer counts as a late answer, its repeat as a duplicate ACKed again; the call as established and ended; no error" \
	python3 - "$WORK/forks.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
c = j["calls"]
got = (c["attempted"], c["established"], c["failed"], c["ended"], c.get("late_answers"),
       j["by_method"]["BYE"]["sent"], j["by_method"]["BYE"]["completed"], j["acks"]["sent"],
       j["acks"]["resent"], j["repeats"]["duplicate_responses"], j["errors"]["total"])
print("# attempted, established, failed, ended, late answers, BYEs sent/completed, ACKs sent/resent, duplicates, errors:", got)
sys.exit(0 if got == (1, 1, 0, 1, 1, 2, 2, 2, 1, 1, 0) else 1)
PY

# ---- 5. uac: the final to a fork's BYE after the call's slot was reused ----------------
# With --requests-per-call 1 the call's slot takes a new call (a new Call-ID)
# after its INFO and BYE. A raw callee answers the first INVITE 200 from fork1
# and from fork2 and holds fork2's BYE: in run "reuse" it answers that BYE 200
# once the slot's next INVITE came, in run "end" 481 at 1 s, once the run's
# last call ended. The final is the fork's BYE's, counted as such, whatever
# the call the slot holds by then: before, the 481 went uncounted when that
# call had ended (the exemption of a request the peer's own BYE crossed).
# T1 = 50 ms here, so that the held BYE's Timer F (3.2 s) outlasts the wait.
cat >"$WORK/fork_bye_reuse.py" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua

me, uac, mode, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = rawua.udp(me)
peer = ("127.0.0.1", uac)
contact = "Contact: <sip:{}@127.0.0.1:%d>\r\n" % me
first_cid, first_at, fork_bye, answered = None, None, None, None
cids, done = [], set()
end = time.time() + 8
while time.time() < end:
    m = rawua.recv(s, 0.02)
    if fork_bye and not answered:
        if mode == "reuse" and len(cids) > 1:
            answered = "200 after INVITE %d" % len(cids)
            rawua.respond(s, fork_bye, peer, "200 OK")
        elif mode == "end" and time.time() - first_at >= 1.0:
            answered = "481 at 1 s"
            rawua.respond(s, fork_bye, peer, "481 Call/Transaction Does Not Exist")
        if answered:
            end = time.time() + 0.5
    if m is None or m.startswith("SIP/2.0"):
        continue
    method = m.split(" ", 1)[0]
    cid = rawua.header(m, "Call-ID")
    if method != "ACK" and rawua.branch(m) in done:
        continue  # a retransmission (this peer slow on a busy machine): answered once
    done.add(rawua.branch(m))
    to = rawua.header(m, "To")
    tag = to.split(";tag=")[1] if ";tag=" in to else None
    if method == "INVITE":
        if cid not in cids:
            cids.append(cid)
        if first_cid is None:
            first_cid, first_at = cid, time.time()
        if cid == first_cid:
            rawua.respond(s, m, peer, "200 OK", totag="fork1", extra=contact.format("fork1"))
            rawua.respond(s, m, peer, "200 OK", totag="fork2", extra=contact.format("fork2"))
        else:
            rawua.respond(s, m, peer, "200 OK", totag="c%d" % len(cids),
                          extra=contact.format("callee"))
    elif method == "BYE" and tag == "fork2":
        fork_bye = m  # held
    elif method != "ACK":
        rawua.respond(s, m, peer, "200 OK")
open(out, "w").write("%s; calls %d\n" % (answered, len(cids)))
PY
for run in reuse end; do
	start_bg python3 "$WORK/fork_bye_reuse.py" "$A" "$B" "$run" "$WORK/fork_bye_$run.out"
	peer=${PIDS[-1]}
	wait_udp_port "$A"
	timeout -k 1 15 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 \
		--target "127.0.0.1:$A" --calls 1 --requests-per-call 1 --duration 0.5 \
		--req-rate 20 --t1-ms 50 --t2-ms 200 --max-errors 1 \
		--json "$WORK/fork_bye_$run.json" >"$WORK/fork_bye_$run.uac" 2>&1
	rc=$?
	wait_exit 10 "$peer"
	seen=$(cat "$WORK/fork_bye_$run.out" 2>/dev/null)
	check "uac ($run): fork2's BYE answered after its call's slot took another call ($seen; exit $rc)" \
		test "${seen%%;*}" = "$([ $run = reuse ] && echo "200 after INVITE 2" || echo "481 at 1 s")" -a "$rc" = 0
	check "uac ($run): that final completes the fork's BYE and is counted as its own: no BYE outstanding, no repeat, no mismatch; the 481 (run end) is the one error" \
		python3 - "$WORK/fork_bye_$run.json" "$run" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
bye = j["by_method"]["BYE"]
got = (j["calls"]["late_answers"], bye["sent"] - bye["completed"], bye["timeouts"],
       bye["responses"]["4xx"], j["unexpected"]["total"],
       j["repeats"]["late_responses"] + j["repeats"]["duplicate_responses"],
       j["errors"]["failed_responses"], j["errors"]["total"])
print("# late answers, BYEs not completed, BYE timeouts, BYE 4xx, unexpected, repeats, failed responses, errors:", got)
want = (1, 0, 0, 0, 0, 0, 0, 0) if sys.argv[2] == "reuse" else (1, 0, 0, 1, 0, 0, 1, 1)
sys.exit(0 if got == want else 1)
PY
done

# ---- 6. uac: a second fork's 2xx after the call's slot was reused ----------------------
# With --requests-per-call 1 the call's slot takes a new call after its INFO
# and BYE. A raw callee answers the first INVITE 200 from fork1 at once and
# holds fork2's 200 until the slot's next INVITE came; then it sends it (a
# forking proxy's late 2xx), and once that has its ACK, fork2's 200 again and
# fork1's 200 again (repeats: ACKs lost). Every request of the first Call-ID
# is listed as METHOD user-of-the-Request-URI To-tag CSeq; BYEs get 200.
# fork2's 2xx is ACKed in its dialog and ended with a BYE there (RFC 3261
# 13.2.2.4), its repeat ACKed again, fork1's repeat ACKed again in fork1's
# dialog (which the call's BYE ended: no second BYE). Before, all three were
# counted late responses and none was ACKed: fork2's callee was left with a
# call nobody was on.
cat >"$WORK/fork_late_reuse.py" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua

me, uac, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = rawua.udp(me)
peer = ("127.0.0.1", uac)
contact = "Contact: <sip:{}@127.0.0.1:%d>\r\n" % me
first, cids, seen, state, done = None, [], [], "wait", set()
end = time.time() + 8
while time.time() < end:
    m = rawua.recv(s, 0.05)
    if m is None or m.startswith("SIP/2.0"):
        continue
    method = m.split(" ", 1)[0]
    cid = rawua.header(m, "Call-ID")
    if method != "ACK" and rawua.branch(m) in done:
        continue  # a retransmission (this peer slow on a busy machine): answered once
    done.add(rawua.branch(m))
    to = rawua.header(m, "To")
    tag = to.split(";tag=")[1] if ";tag=" in to else "-"
    if method == "INVITE" and cid not in cids:
        cids.append(cid)
    if first and cid == rawua.header(first, "Call-ID"):
        user = rawua.ruri(m).split("@")[0].replace("sip:", "")
        seen.append("%s %s %s %s" % (method, user, tag, rawua.header(m, "CSeq").split()[0]))
    if method == "INVITE":
        if first is None:
            first = m
            rawua.respond(s, m, peer, "200 OK", totag="fork1", extra=contact.format("fork1"))
        elif cid != rawua.header(first, "Call-ID"):
            rawua.respond(s, m, peer, "200 OK", totag="c%d" % len(cids),
                          extra=contact.format("callee"))
            if state == "wait":
                state = "sent"
                rawua.respond(s, first, peer, "200 OK", totag="fork2",
                              extra=contact.format("fork2"))
    elif method == "ACK" and tag == "fork2" and state == "sent":
        state = "repeated"
        rawua.respond(s, first, peer, "200 OK", totag="fork2", extra=contact.format("fork2"))
        rawua.respond(s, first, peer, "200 OK", totag="fork1", extra=contact.format("fork1"))
        end = min(end, time.time() + 1.5)
    elif method != "ACK":
        rawua.respond(s, m, peer, "200 OK")
open(out, "w").write("|".join(sorted(seen)) + "\n")
PY
start_bg python3 "$WORK/fork_late_reuse.py" "$A" "$B" "$WORK/fork_late_reuse.out"
peer=${PIDS[-1]}
wait_udp_port "$A"
timeout -k 1 15 "$LOAD" --role uac --quiet --local "127.0.0.1:$B" --sources 1 \
	--target "127.0.0.1:$A" --calls 1 --requests-per-call 1 --duration 1 --req-rate 20 \
	--t1-ms 50 --t2-ms 200 --max-errors 0 --json "$WORK/fork_late_reuse.json" \
	>"$WORK/fork_late_reuse.uac" 2>&1
rc=$?
wait_exit 10 "$peer"
seen=$(cat "$WORK/fork_late_reuse.out" 2>/dev/null)
check "uac: fork2's 200 after the slot took another call ACKed in fork2's dialog (twice: its repeat) and ended with a BYE there; fork1's repeat ACKed again, no second BYE ($seen; exit $rc)" \
	test "$seen" = "ACK fork1 fork1 1|ACK fork1 fork1 1|ACK fork2 fork2 1|ACK fork2 fork2 1|BYE fork1 fork1 3|BYE fork2 fork2 2|INFO fork1 fork1 2" -a "$rc" = 0
check "uac: fork2's 200 counts as a late answer, its repeat as a duplicate, fork1's as a late response, both ACKed again; every BYE completed; no error" \
	python3 - "$WORK/fork_late_reuse.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
bye = j["by_method"]["BYE"]
got = (j["calls"]["late_answers"], bye["sent"] - bye["completed"], j["acks"]["resent"],
       j["repeats"]["duplicate_responses"], j["repeats"]["late_responses"],
       j["errors"]["total"])
print("# late answers, BYEs not completed, ACKs resent, duplicates, late responses, errors:", got)
sys.exit(0 if got == (1, 0, 2, 1, 1, 0) else 1)
PY

[ "$NOT_OK" -eq 0 ]
