#!/usr/bin/env bash
# What a newcomer and an operator take from the examples holds on a small
# host, in a private mount namespace (the tmpfs mounts here go with it):
# - `make demo`'s script places its calls on a host whose /run is a 400 MiB
#   tmpfs (Debian sizes /run at 10% of memory: a 4 GiB machine). It used to
#   start sipshardd with its tables in /run/sipshard, which such a host
#   refused, and then send its calls to no one for a minute.
# - examples/run-sipshard.mount says how many workers of
#   examples/sipshardd.json its size holds, and that is true: that many
#   start, one more is refused with the figures (its "workers": 0 means one
#   worker per CPU, so a larger host needs a larger mount).
# Ports: 16522 (the mount check's sipshardd), 16523-16525 (the demo's
# sipshardd, caller, callee), 16526-16529 (examples/sipshardd.json's targets,
# never answered).
set -u
cd "$(dirname "$0")/../.."
if [ -z "${EXAMPLES_IN_NS:-}" ]; then
	if ! unshare -m --propagation private true 2>/dev/null; then
		echo "not ok examples: cannot make a private mount namespace (unshare -m needs root)"
		exit 1
	fi
	exec env EXAMPLES_IN_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
. tests/integration/common.bash

# ---- the demo on a small /run ------------------------------------------------
mount -t tmpfs -o size=400M,mode=0755 tmpfs /run
SUT_PORT=16523 CALLER_PORT=16524 CALLEE_PORT=16525 CALLS=20 RATE=20 BUILD=$BUILD \
	timeout 120 scripts/demo.sh >"$WORK/demo.out" 2>&1
rc=$?
check "the demo on a host whose /run holds 400 MiB: 20 of 20 calls answered (exit $rc)" \
	bash -c '[ "$1" = 0 ] && grep -q "calls: 20 answered" "$2"' _ "$rc" "$WORK/demo.out"
[ "$rc" = 0 ] || tail -8 "$WORK/demo.out" | sed 's/^/#   /'
umount /run

# ---- the run_dir mount unit and the example configuration -------------------
MNT=$WORK/mnt
mkdir -p "$MNT"
mount -t tmpfs -o "$(sed -n 's/^Options=//p' examples/run-sipshard.mount)" tmpfs "$MNT"
python3 - "$WORK" "$MNT" <<'PY'
import json, sys
work, mnt = sys.argv[1], sys.argv[2]
c = json.load(open("examples/sipshardd.json"))
ports = {"5080": "16526", "5081": "16527", "5082": "16528", "5090": "16529"}
def moved(a):
    host, port = a.rsplit(":", 1)
    return host + ":" + ports[port]
c["listen"] = "127.0.0.1:16522"
c["run_dir"] = mnt
c["management_socket"] = mnt + "/sipshardd.sock"
c["cdr_file"] = work + "/cdr.jsonl"
for r in c["routes"]:
    if "target" in r:
        r["target"] = moved(r["target"])
    for t in r.get("targets", []):
        t["address"] = moved(t["address"])
json.dump(c, open(work + "/example.json", "w"))
PY
n=$(sed -n 's/.*size=[^ ]* holds \([0-9]*\) workers.*/\1/p' examples/run-sipshard.mount | head -1)
check "examples/run-sipshard.mount says how many workers of the example configuration it holds (${n:-none})" \
	test -n "$n"
# starts WORKERS: 0 when that many listened on the unit's tmpfs
starts() {
	local log=$WORK/workers-$1.log pid
	"$SIPSHARDD" -c "$WORK/example.json" --workers "$1" --discard-dialogs 2>"$log" &
	pid=$!
	for _ in $(seq 1 100); do
		if grep -q "listening on" "$log"; then
			kill -INT "$pid"
			wait "$pid"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; return 1; }
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid"
	return 1
}
if [ -n "$n" ]; then
	check "the example configuration with $n workers starts on the unit's tmpfs" starts "$n"
	more=$((n + 1))
	if starts "$more"; then outcome=started; else outcome=refused; fi
	check "with $more workers it is refused ($outcome), the log naming the workers and what they need" \
		bash -c '[ "$0" = refused ] && grep -q "$1 workers x [0-9]* MiB" "$2"' \
		"$outcome" "$more" "$WORK/workers-$more.log"
fi
umount "$MNT"
