#!/usr/bin/env bash
# In-dialog requests whose Via, From, To, Call-ID and CSeq lines exceed what a
# transaction record keeps (SHARD_TXN_HEAD_MAX, 1024 bytes: eight Vias of an
# IMS chain here) through a running sipshardd with raw UAs (long_head.py): a
# re-INVITE, INFOs both ways and a BYE reach the other side, and their answers
# come back with every Via byte for byte, their lines kept in the worker's
# long-head pool (capacity.long_heads_per_shard, 4 here); a fifth while four
# are held gets 513, counted (long_head_full). A SIGKILL while such a request
# waits for its answer: the next process takes the pool file over with the
# tables, and the answer still reaches the caller. These requests were all
# answered 513 (a BYE: 200 here), and a session refresh so answered dropped
# the call at its Session-Expires.
# A pool file the run never opens (a shard it does not have; every one with
# long_heads_per_shard 0) is removed at the start with an info line: it was
# kept, holding its tmpfs memory for good.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=16490 # sipshardd; the caller is 16491, the callee 16492
B_PORT=16492

write_config "$WORK/long_head.json" ', "management_socket": null,
  "capacity": { "transactions_per_shard": 64, "long_heads_per_shard": 4 },
  "timers": { "transaction_timeout_ms": 4000 }'

start_daemon calls "$WORK/long_head.json"
python3 tests/integration/long_head.py "$D_PORT" calls "$WORK/state.json" >"$WORK/calls.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/calls.out"
check "a re-INVITE, INFOs both ways and a BYE with 8 long Vias cross, their answers back with every Via; answered ones give their slots way; one while four are held unanswered: 513" \
	test "$rc" = 0
check "the 513 for a full pool is counted (long_head_full)" \
	wait_json "$WORK/calls.stats.json" 'sum(w["long_head_full"] for w in j["workers"])' 1
check "the three answered that gave their slots way are counted (long_heads_evicted)" \
	wait_json "$WORK/calls.stats.json" 'sum(w["long_heads_evicted"] for w in j["workers"])' 3
check "the start logs the pools, and each worker has its pool file in run_dir" \
	bash -c "grep -q 'long-head pools: 2 x 4 slots of 8 KiB' '$WORK/calls.log' &&
		test -f '$WORK/run/shard-0.heads' && test -f '$WORK/run/shard-1.heads'"

# a request waiting for its answer across a SIGKILL
python3 tests/integration/long_head.py "$D_PORT" hold "$WORK/state.json" >"$WORK/hold.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/hold.out"
check "a call, and an INFO with 8 long Vias that the callee holds" test "$rc" = 0
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
KEEP_DIALOGS=1 start_daemon resumed "$WORK/long_head.json"
python3 tests/integration/long_head.py "$D_PORT" resume "$WORK/state.json" >"$WORK/resume.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/resume.out"
check "after a SIGKILL and a new process, the held INFO's 200 reaches the caller with every Via" \
	test "$rc" = 0
check "the new process freed no record of the pool as malformed" \
	bash -c "! grep -q 'malformed records\|made anew' '$WORK/resumed.log'"
stop_daemon

# another pool size: the file is made anew, with a warning naming the key
write_config "$WORK/other.json" ', "management_socket": null,
  "capacity": { "transactions_per_shard": 64, "long_heads_per_shard": 2 }'
KEEP_DIALOGS=1 start_daemon other "$WORK/other.json"
sleep 0.3
check "a pool file of another capacity.long_heads_per_shard is made anew, saying so" \
	grep -q 'shard-0.heads was written for another capacity.long_heads_per_shard' "$WORK/other.log"
stop_daemon

# pool files this configuration never opens are removed at the start, saying
# so (kept, each held its tmpfs memory for good): that of a shard the run
# does not have (2 workers here), then all of them with long_heads_per_shard 0
truncate -s "$(stat -c %s "$WORK/run/shard-1.heads")" "$WORK/run/shard-5.heads"
KEEP_DIALOGS=1 start_daemon unused "$WORK/other.json"
wait_text "$WORK/unused.log" 'long-head pools: 2 x 2 slots'
check "the pool file of a shard the run does not have is removed, with an info line; the others stay" \
	bash -c "grep -q 'removed $WORK/run/shard-5.heads: the long-head pool of shard 5, which this run (2 workers) does not have' '$WORK/unused.log' &&
		test ! -e '$WORK/run/shard-5.heads' && test -f '$WORK/run/shard-0.heads' && test -f '$WORK/run/shard-1.heads'"
stop_daemon
write_config "$WORK/nopool.json" ', "management_socket": null,
  "capacity": { "transactions_per_shard": 64, "long_heads_per_shard": 0 }'
KEEP_DIALOGS=1 start_daemon nopool "$WORK/nopool.json"
wait_text "$WORK/nopool.log" 'dialog tables: 2 x'
check "with long_heads_per_shard 0 the pool files are removed, an info line each; the tables stay" \
	bash -c "test \$(grep -c 'heads: capacity.long_heads_per_shard is 0, so no long-head pool is used' '$WORK/nopool.log') = 2 &&
		test ! -e '$WORK/run/shard-0.heads' && test ! -e '$WORK/run/shard-1.heads' &&
		test -f '$WORK/run/shard-0.tbl' && test -f '$WORK/run/shard-1.tbl'"
stop_daemon

# refused at load, naming the key
write_config "$WORK/bad.json" ', "capacity": { "transactions_per_shard": 64, "long_heads_per_shard": 65 }'
"$SIPSHARDD" -c "$WORK/bad.json" --check-config >"$WORK/bad.out" 2>&1
check "more long heads than transactions is refused, naming the key" \
	grep -q 'capacity.long_heads_per_shard: must not exceed capacity.transactions_per_shard (64)' "$WORK/bad.out"
