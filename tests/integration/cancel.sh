#!/usr/bin/env bash
# A CANCEL of a re-INVITE (RFC 3261 9.1, 9.2), from the caller and from the
# callee, through a running sipshardd: the other side gets a CANCEL with the
# branch and CSeq of the re-INVITE it was sent, the canceller a 200 and then
# the 487. Such CANCELs went to the controller, which knows only call set-up:
# 200 or 481, and the re-INVITE rang on. With BPF steering and without.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=16350 # sipshardd; the caller is 16351, the callee 16352
B_PORT=16352

write_config "$WORK/cancel.json"
for mode in bpf nobpf; do
	flags=()
	[ "$mode" = nobpf ] && flags+=(--no-bpf)
	start_daemon "$mode" "$WORK/cancel.json" "${flags[@]}"
	python3 tests/integration/cancel_reinvite.py "$D_PORT" >"$WORK/$mode.out" 2>&1
	rc=$?
	sed 's/^/# /' "$WORK/$mode.out"
	check "$mode: a CANCEL of a re-INVITE from either side reaches the other, 200 then 487" \
		test "$rc" = 0
	check "$mode: the answers to the CANCELs sipshard sent end there (drops.cancel_answered)" \
		wait_json "$WORK/$mode.stats.json" 'sum(w["drops"]["cancel_answered"] for w in j["workers"]) >= 1' True
	stop_daemon
done
