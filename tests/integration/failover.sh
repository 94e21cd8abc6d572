#!/usr/bin/env bash
# Failover between a route's targets in a running sipshardd: leg B's INVITE
# goes to the first target, which never answers, then after failover_ms to
# the second, which answers 503 (ACKed), then to the third, which answers:
# the caller sees one call set up, the CDR names the target that took it and
# the attempts, and the stats count two failovers per call. The silent
# target is then down: the next calls skip it. A 486 from a target is not a
# reason to fail over: the caller gets it. A target at its max_calls makes
# the next call 503. The down target gets an OPTIONS every probe_s, and is
# up again when it answers one. A round-robin route starts each call at the
# next target and rewrites the called user. With keepalive_s, targets that
# are up are sent OPTIONS too, and one that answers none is down before any
# call tried it. A round-robin route shares calls by its targets' weights;
# sipshardctl disable takes a target out of service.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build when there is one: failover rewrites the set-up record
ASAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16160
B_PORT=16180      # the third target: answers
DOWN_PORT=16181   # the second: 503
SILENT_PORT=16182 # the first: a socket that never answers
STATS=$WORK/failover.stats.json
CDR=$WORK/cdr.jsonl
CALLS=4

cat >"$WORK/failover.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "management_socket": "$WORK/failover.sock",
  "cdr_file": "$CDR",
  "routes": [
    { "name": "rr", "match": { "user_prefix": "rr" }, "select": "round_robin",
      "targets": [ "127.0.0.1:$B_PORT", "127.0.0.1:$DOWN_PORT" ],
      "rewrite": { "strip": 2, "prefix": "x" } },
    { "name": "one", "match": { "user_prefix": "one" },
      "target": { "address": "127.0.0.1:$SILENT_PORT", "max_calls": 1 } },
    { "name": "busy", "match": { "user_prefix": "busy" },
      "targets": [ "127.0.0.1:$DOWN_PORT", "127.0.0.1:$B_PORT" ], "failover_on": [503] },
    { "name": "trunk", "failover_ms": 400, "probe_s": 1,
      "targets": [ "127.0.0.1:$SILENT_PORT", "127.0.0.1:$DOWN_PORT", "127.0.0.1:$B_PORT" ] }
  ]
}
JSON
start_daemon failover "$WORK/failover.json"

# the first target of route trunk: silent until silent.up exists
sip_target 127.0.0.1 "$SILENT_PORT" "$WORK/silent.callids" "$WORK/silent.up"
sipp_uas "$DOWN_PORT" uas_503.xml -m "$CALLS"
DOWN=${PIDS[-1]}

t0=$(date +%s%N)
run_flow failover "$CALLS calls set up at the third target" uac_wait_bye.xml uas_bye.xml "$CALLS"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
check "the silent target was given up after failover_ms, not Timer B (took ${elapsed_ms} ms)" \
	test "$elapsed_ms" -lt 8000
check "the second target got each INVITE and the ACK of its 503" wait_exit 5 "$DOWN"
check "the silent target got each call's INVITE (no retransmission before failover_ms)" \
	test "$(sort "$WORK/silent.callids" | uniq | wc -l) $(wc -l <"$WORK/silent.callids")" = "$CALLS $CALLS"
# the stats file is written every second: the first check waits for the
# write that has every call answered (a fixed sleep waited 1.2 s, and was
# outrun by a busy machine), the next read that one or a later one
check "two failovers per call, every call answered" \
	wait_json "$STATS" 'j["controller"]["failovers"], j["controller"]["calls_answered"]' "$((2 * CALLS)) $CALLS"
check "each target's INVITEs and how they ended: unanswered, rejected, answered" \
	test "$(json_get "$STATS" '[[j["controller"]["target_" + k]["127.0.0.1:" + p] for k in ("invites", "answered", "rejected", "unanswered")] for p in ("'$SILENT_PORT'", "'$DOWN_PORT'", "'$B_PORT'")]')" = "[[$CALLS, 0, 0, $CALLS], [$CALLS, 0, $CALLS, 0], [$CALLS, $CALLS, 0, 0]]"
check "each CDR names the third target and three attempts" python3 - "$CDR" "$CALLS" "127.0.0.1:$B_PORT" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
print("# %d records: %s" % (len(recs), sorted({(r["target"], r["attempts"], r["disposition"]) for r in recs})))
ok = len(recs) == int(sys.argv[2]) and all(
    r["target"] == sys.argv[3] and r["attempts"] == 3 and r["disposition"] == "answered"
    and r["route"] == "trunk" for r in recs)
sys.exit(0 if ok else 1)
PY

# ---- the silent target is down: new calls skip it ---------------------------
check "the silent target is down" \
	test "$(json_get "$STATS" 'j["controller"]["targets_marked_down"], j["controller"]["targets_down"]')" = "1 1"
if grep -q "target 127.0.0.1:$SILENT_PORT sent nothing to an INVITE: new calls of route trunk skip it for 30 s" \
	"$WORK/failover.log"; then
	ok "failover: the log says which target is down, and for how long"
else
	not_ok "failover: the log says which target is down, and for how long"
fi
sipp_uas "$DOWN_PORT" uas_503.xml -m 2
DOWN=${PIDS[-1]}
run_flow failover "2 more calls, at once past the silent target" uac_wait_bye.xml uas_bye.xml 2
check "the second target got their INVITEs and ACKs" wait_exit 5 "$DOWN"
check "the silent target got no INVITE of theirs" test "$(wc -l <"$WORK/silent.callids")" = "$CALLS"
wait_cdrs() {
	for _ in $(seq 1 50); do
		[ "$(wc -l <"$CDR")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_cdrs $((CALLS + 2))
check "their CDRs count two attempts" python3 - "$CDR" "$CALLS" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]):]
print("# %s" % [(r["target"], r["attempts"]) for r in recs])
sys.exit(0 if len(recs) == 2 and all(r["attempts"] == 2 for r in recs) else 1)
PY

# ---- a status not in failover_on goes to the caller -------------------------
# route "busy" fails over on 503 only; its first target answers 486
cat >"$WORK/uas_486.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas_486">
  <recv request="INVITE"/>
  <send retrans="500"><![CDATA[
      SIP/2.0 486 Busy Here
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]BUSY[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
  ]]></send>
  <recv request="ACK"/>
</scenario>
XML
start_bg sipp -sf "$WORK/uas_486.xml" -i 127.0.0.1 -p "$DOWN_PORT" -nostdin -m 1 \
	>"$WORK/uas-486.out" 2>&1
BUSY=${PIDS[-1]}
wait_udp_port "$DOWN_PORT"
cat >"$WORK/uac_486.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac_486">
  <send retrans="500"><![CDATA[
      INVITE sip:busy1@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]BUSY[call_number]
      To: <sip:busy1@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="486"/>
  <send><![CDATA[
      ACK sip:busy1@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-1]
      From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]BUSY[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
</scenario>
XML
if timeout 30 sipp "127.0.0.1:$D_PORT" -sf "$WORK/uac_486.xml" -m 1 -i 127.0.0.1 \
	-p "$((D_PORT + 2))" -nostdin -timeout 20 -timeout_error >"$WORK/uac-486.out" 2>&1; then
	ok "failover: a 486 from the first target reaches the caller"
else
	not_ok "failover: a 486 from the first target reaches the caller"
fi
check "the busy target got its ACK" wait_exit 5 "$BUSY"
sleep 1.2
check "no failover for it" test "$(json_get "$STATS" 'j["controller"]["failovers"]')" = "$((2 * CALLS + 2))"

# ---- round robin, rewrite ----------------------------------------------------
# route "rr" (user rr1): the first call starts at the answering target, the
# second at the one answering 503, and fails over to the first; both reach
# it as user x1
sipp_uas "$DOWN_PORT" uas_503.xml -m 1
DOWN=${PIDS[-1]}
run_flow failover "2 calls of a round-robin route" uac_wait_bye.xml uas_bye.xml 2 -s rr1
check "the second call started at the second target" wait_exit 5 "$DOWN"
check "leg B's Request-URI has the rewritten user" \
	test "$(grep -c "^INVITE sip:x1@127.0.0.1:$B_PORT SIP/2.0" "$WORK/uas-$B_PORT.msg")" = 2

# ---- max_calls ---------------------------------------------------------------
# route "one": one call at once to the silent target; the first rings on
# (its caller is stopped before Timer B), the second gets 503
start_bg sipp "127.0.0.1:$D_PORT" -sf tests/sipp/probe_invite_408.xml -s one1 -m 1 \
	-i 127.0.0.1 -p "$((D_PORT + 3))" -nostdin >"$WORK/uac-one1.out" 2>&1
ONE=${PIDS[-1]}
for _ in $(seq 1 30); do
	[ "$(wc -l <"$WORK/silent.callids")" -gt "$CALLS" ] && break
	sleep 0.1
done
probe failover "the second call to a full target: 503" probe_invite_503.xml -s one2
check "counted: one call on the target, one refused" \
	wait_json "$STATS" 'j["controller"]["target_calls"]["127.0.0.1:'$SILENT_PORT'"], j["controller"]["rejected_target_full"]' "1 1"
kill "$ONE" 2>/dev/null

# ---- probes: the down target is sent OPTIONS; its first answer ends down ----
check "the down target was probed, and did not answer" \
	test "$(json_get "$STATS" 'j["controller"]["probes_sent"] > 0, j["controller"]["probes_answered"], j["controller"]["targets_down"]')" = "True 0 1"
touch "$WORK/silent.up"
for _ in $(seq 1 30); do
	grep -q "target 127.0.0.1:$SILENT_PORT answers OPTIONS (200): back in use" "$WORK/failover.log" && break
	sleep 0.1
done
check "its answer to the next OPTIONS makes it up (probe_s 1)" \
	wait_json "$STATS" 'j["controller"]["probes_answered"], j["controller"]["targets_down"], j["controller"]["target_down"]["127.0.0.1:'$SILENT_PORT'"]' "1 0 False"
"$BUILD/sipshardctl" -s "$WORK/failover.sock" targets >"$WORK/targets.json"
check "sipshardctl targets: each target once, its routes and limits, its calls, its OPTIONS round trip" python3 - "$WORK/targets.json" "$SILENT_PORT" "$DOWN_PORT" "$B_PORT" <<'PY'
import json, sys
t = {e["address"]: e for e in json.load(open(sys.argv[1]))}
silent, down, up = ("127.0.0.1:" + p for p in sys.argv[2:5])
print("# %s" % json.dumps(t[silent]))
ok = (sorted(t) == sorted([silent, down, up])
      and t[silent]["routes"] == [{"route": "one", "target": silent, "max_calls": 1, "max_cps": 0, "weight": 1},
                                  {"route": "trunk", "target": silent, "max_calls": 0, "max_cps": 0, "weight": 1}]
      and t[silent]["calls"] == 1 and t[silent]["down"] is False
      and isinstance(t[silent]["options_rtt_ms"], int) and t[up]["options_rtt_ms"] is None
      and [r["route"] for r in t[down]["routes"]] == ["rr", "busy", "trunk"] and t[up]["calls"] == 0)
sys.exit(0 if ok else 1)
PY

stop_daemon

# ---- keep-alive: targets that are up are sent OPTIONS every keepalive_s ------
# one answers, nothing listens on the other: it is down before any call.
# Route ka names the answering one as localhost (resolved at load, /etc/hosts)
# and route w by its address: one target, whose stats carry the address
KA_UP=16183
KA_DEAD=16184
W_PORT=16185 # route w's second target, a third of KA_UP's weight
touch "$WORK/ka.up"
sip_target 127.0.0.1 "$KA_UP" "$WORK/ka.callids" "$WORK/ka.up"
sip_target 127.0.0.1 "$W_PORT" "$WORK/w.callids" "$WORK/ka.up"
cat >"$WORK/keepalive.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "run_dir": "$WORK/run",
  "routes": [ { "name": "w", "match": { "user_prefix": "w" }, "select": "round_robin",
                "failover_ms": 600000,
                "targets": [ { "address": "127.0.0.1:$KA_UP", "weight": 3 }, "127.0.0.1:$W_PORT" ] },
              { "name": "ka", "keepalive_s": 1, "failover_ms": 300, "probe_s": 60,
                "targets": [ "127.0.0.1:$KA_DEAD", "localhost:$KA_UP" ] } ]
}
JSON
start_daemon keepalive "$WORK/keepalive.json"
# keep-alives at 0, 1 and 2 s; the stats written every second: the first
# check waits for the write that has them (a fixed sleep waited 2.5 s)
KSTATS=$WORK/keepalive.stats.json
check "keep-alives sent to both, the answering target up, the other down" \
	wait_json "$KSTATS" 'j["controller"]["keepalives_sent"] >= 3, j["controller"]["keepalives_answered"] >= 2, j["controller"]["keepalives_missed"], j["controller"]["target_down"]["127.0.0.1:'$KA_DEAD'"], j["controller"]["target_down"]["127.0.0.1:'$KA_UP'"]' "True True 1 True False"
check "the answering target's OPTIONS round trip is in the stats, the other has none" \
	test "$(json_get "$KSTATS" 'sorted(j["controller"]["target_options_rtt_ms"]), 0 <= j["controller"]["target_options_rtt_ms"]["127.0.0.1:'$KA_UP'"] < 1000')" = "['127.0.0.1:$KA_UP'] True"
check "the log names the target that sent nothing" \
	grep -q "target 127.0.0.1:$KA_DEAD sent nothing to an OPTIONS: new calls of route ka skip it for 30 s" "$WORK/keepalive.log"

# ---- weights: route w's 8 calls start 6 at the weight-3 target, 2 at the other
start_bg sipp "127.0.0.1:$D_PORT" -sf tests/sipp/probe_invite_408.xml -s w1 -m 8 -r 40 \
	-i 127.0.0.1 -p "$((D_PORT + 2))" -nostdin >"$WORK/uac-w.out" 2>&1
W_UAC=${PIDS[-1]}
for _ in $(seq 1 50); do
	[ "$(sort -u "$WORK/ka.callids" "$WORK/w.callids" | wc -l)" -ge 8 ] && break
	sleep 0.1
done
sleep 0.3 # a ninth would show
# calls, not INVITEs: Timer A resends them to these silent targets
check "weights 3 and 1 share 8 calls 6 and 2" \
	test "$(sort -u "$WORK/ka.callids" | wc -l) $(sort -u "$WORK/w.callids" | wc -l)" = "6 2"
kill "$W_UAC" 2>/dev/null

# ---- sipshardctl disable: new calls skip the target, its calls go on ---------
CTL=("$BUILD/sipshardctl" -s "$WORK/run/sipshardd.sock")
check "sipshardctl disable names the address and the calls on it" \
	test "$("${CTL[@]}" disable "127.0.0.1:$W_PORT")" = "disabled 127.0.0.1:$W_PORT: new calls skip it; 2 call(s) on it"
start_bg sipp "127.0.0.1:$D_PORT" -sf tests/sipp/probe_invite_408.xml -s w2 -m 4 -r 40 \
	-i 127.0.0.1 -p "$((D_PORT + 3))" -nostdin >"$WORK/uac-w2.out" 2>&1
W_UAC=${PIDS[-1]}
for _ in $(seq 1 50); do
	[ "$(sort -u "$WORK/ka.callids" | wc -l)" -ge 10 ] && break
	sleep 0.1
done
sleep 0.3
check "4 more calls all at the other target" \
	test "$(sort -u "$WORK/ka.callids" | wc -l) $(sort -u "$WORK/w.callids" | wc -l)" = "10 2"
kill "$W_UAC" 2>/dev/null
check "sipshardctl targets shows it disabled" test "$("${CTL[@]}" targets | python3 -c '
import json, sys
print(sorted((t["address"], t["disabled"]) for t in json.load(sys.stdin)))')" = \
	"[('127.0.0.1:$KA_UP', False), ('127.0.0.1:$KA_DEAD', False), ('127.0.0.1:$W_PORT', True)]"
check "a target named as a route writes it: enable localhost:$KA_UP" \
	test "$("${CTL[@]}" enable "localhost:$KA_UP")" = "enabled 127.0.0.1:$KA_UP: new calls may take it; 10 call(s) on it"
check "a target no route has: refused" \
	test "$("${CTL[@]}" disable 127.0.0.1:9 2>&1)" = "sipshardctl: disable: no route of the configuration in service has that target"
stop_daemon
