#!/usr/bin/env bash
# An attended transfer through a running sipshardd (RFC 3891 Replaces): P1
# holds call 1 with X and call 2 with Y; X's INVITE with Replaces naming
# call 2 as P1 knows it must reach Y, from sipshard, with Replaces naming call
# 2 as Y knows it (Y's 407 to it answered with the credentials of the route
# call 2 took to Y), and Y's BYE of call 2 then reaches P1; Y naming its own
# call gets 403, two Replaces lines 400, one too large to go to the
# controller with call 2's leg 513 (controller.rejected_too_large, not
# controller_ring_full), one with a valueless to-tag crosses unchanged
# (transfer.py). Two
# workers, the transfer's Call-ID on the other worker than call 2's: the
# worker that receives it hands it to the one holding call 2. With BPF
# steering and without. Then with rewrite_refer_to, a daemon of its own
# (16980-16983): P1's REFER in call 1, whose Refer-To names Y behind P1's
# PBX with call 2's Replaces, reaches X naming sipshard (maddr gone, the
# rest as written), as does its Referred-By, and X's INVITE sent where it
# says makes the transfer; one before it naming a sips: URI gets 403.
# Then call pickup of a forked call (pickup.py, a daemon of its own on
# 16404-16407): a Replaces naming either ringing fork's early dialog as the
# callee's phone knows it reaches the caller naming that fork's dialog as
# the caller knows it; one naming the caller's side of the second fork gets
# 481, as the first fork's does.
set -u
cd "$(dirname "$0")/../.."
# the ThreadSanitizer build of the daemon (common.bash): a transfer crosses
# from the controller to a worker and back
TSAN_DAEMON=1
. tests/integration/common.bash

D_PORT=16400 # sipshardd; P1 is 16401, Y 16402, X 16403
CDR=$WORK/transfer.cdr

cat >"$WORK/transfer.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "log_level": "info",
  "run_dir": "$WORK/run",
  "cdr_file": "$CDR",
  "management_socket": null,
  "routes": [
    { "name": "x", "match": { "user_prefix": "x" }, "target": "127.0.0.1:$((D_PORT + 3))" },
    { "name": "y", "match": { "user_prefix": "" }, "target": "127.0.0.1:$((D_PORT + 2))",
      "auth": { "username": "trunk-y", "password": "s3cret" } }
  ]
}
JSON
for mode in bpf nobpf; do
	flags=()
	[ "$mode" = nobpf ] && flags+=(--no-bpf)
	rm -f "$CDR"
	start_daemon "$mode" "$WORK/transfer.json" "${flags[@]}"
	python3 tests/integration/transfer.py "$D_PORT" 2 >"$WORK/$mode.out" 2>&1
	rc=$?
	sed 's/^/# /' "$WORK/$mode.out"
	check "$mode: Y gets the transfer's INVITE with Replaces naming call 2 as it knows it, its 407 answered with the credentials of call 2's route, its BYE reaches P1; 403 when Y names its own call, 400 for two Replaces, 513 for one of 8180 bytes, a valueless to-tag unchanged" \
		test "$rc" = 0
	sleep 1.2 # a stats write
	check "$mode: the INVITE was handed to the worker holding call 2 and matched (replaces_handed, replaces_matched)" \
		test "$(json_get "$WORK/$mode.stats.json" 'sum(w["replaces_handed"] for w in j["workers"]) >= 1 and sum(w["replaces_matched"] for w in j["workers"]) == 1')" = True
	check "$mode: the INVITE too large beside call 2's leg counted as too large, not as a full ring (controller.rejected_too_large)" \
		test "$(json_get "$WORK/$mode.stats.json" 'j["controller"]["rejected_too_large"] == 1 and sum(w["drops"]["controller_ring_full"] for w in j["workers"]) == 0')" = True
	check "$mode: the transfer's CDR has no route and Y's address as its target" \
		python3 -c 'import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(r["route"] is None and r["target"] == sys.argv[2] for r in rs) else 1)' \
		"$CDR" "127.0.0.1:$((D_PORT + 2))"
	stop_daemon
done

# rewrite_refer_to: P1 is 16981, Y 16982, X 16983
D_PORT=16980
sed -e "s/127.0.0.1:16400/127.0.0.1:$D_PORT/" -e "s/:16403/:$((D_PORT + 3))/" \
	-e "s/:16402/:$((D_PORT + 2))/" -e "s|\"$WORK/run\"|\"$WORK/run-refer\"|" \
	-e 's/"workers": 2,/"workers": 2, "rewrite_refer_to": true,/' \
	"$WORK/transfer.json" >"$WORK/refer.json"
rm -f "$CDR"
start_daemon refer "$WORK/refer.json"
python3 tests/integration/transfer.py "$D_PORT" 2 refer >"$WORK/refer.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/refer.out"
check "rewrite_refer_to: P1's REFER with a sips: Refer-To is answered 403 and does not reach X; X gets P1's REFER with Refer-To <sip:yuser@127.0.0.1:$D_PORT;transport=udp?Replaces=...> (not pbx.internal:5070, no maddr, the Replaces byte for byte) and Referred-By \"P1\" <sip:p1user@127.0.0.1:$D_PORT>;x=1, and its INVITE sent there with that Replaces replaces call 2 at Y" \
	test "$rc" = 0
sleep 1.2 # a stats write
check "rewrite_refer_to: counted (refer_to_rewritten 1, refer_to_kept 0, refer_to_refused 1, refer_to_malformed 0, referred_by_rewritten 1, referred_by_kept 0)" \
	test "$(json_get "$WORK/refer.stats.json" 'tuple(sum(w[k] for w in j["workers"]) for k in ("refer_to_rewritten", "refer_to_kept", "refer_to_refused", "refer_to_malformed", "referred_by_rewritten", "referred_by_kept"))')" = "(1, 0, 1, 0, 1, 0)"
stop_daemon

# call pickup of a forked call: the caller is 16405, the callee side 16406,
# the pickup UA 16407
D_PORT=16404
cat >"$WORK/pickup.json" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 1,
  "log_level": "info",
  "run_dir": "$WORK/run-pickup",
  "management_socket": null,
  "routes": [ { "name": "y", "match": { "user_prefix": "" }, "target": "127.0.0.1:$((D_PORT + 2))" } ]
}
JSON
for case in f1 f2 a1 a2; do
	start_daemon "pickup-$case" "$WORK/pickup.json"
	python3 tests/integration/pickup.py "$D_PORT" "$case" >"$WORK/pickup-$case.out" 2>&1
	rc=$?
	sed 's/^/# /' "$WORK/pickup-$case.out"
	case $case in
	f*) what="a Replaces naming ringing fork $case as the callee's phone knows it reaches the caller naming that fork's early dialog as the caller knows it" ;;
	*) what="a Replaces naming the caller's side of fork ${case#a}'s early dialog gets 481" ;;
	esac
	check "pickup: $what" test "$rc" = 0
	stop_daemon
done
