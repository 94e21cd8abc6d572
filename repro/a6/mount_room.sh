#!/usr/bin/env bash
# examples/run-sipshard.mount gives run_dir a tmpfs of a fixed size, and
# examples/sipshardd.json runs one worker per CPU ("workers": 0). sipshardd
# refuses to start when run_dir cannot hold what its files may take, so the
# pair only starts on hosts with few CPUs; the unit must say how many workers
# its size holds with the example configuration, and that must be true.
# Run as root: bash repro/a6/mount_room.sh (a private mount namespace: the
# tmpfs is gone when the script ends). Ports 31510 (listen), 31581-31590.
set -u
cd "$(dirname "$0")/../.."
if [ -z "${IN_NS:-}" ]; then
	exec env IN_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
W=$(mktemp -d /tmp/a6-mount.XXXXXX)
MNT=$W/run
mkdir -p "$MNT"
opts=$(sed -n 's/^Options=//p' examples/run-sipshard.mount)
mount -t tmpfs -o "$opts" tmpfs "$MNT" || { echo "cannot mount"; exit 2; }
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
c = json.load(open("examples/sipshardd.json"))
c["listen"] = "127.0.0.1:31510"
c["run_dir"] = w + "/run"
c["management_socket"] = w + "/run/sipshardd.sock"
c["cdr_file"] = w + "/cdr.jsonl"
for r in c["routes"]:
    for k in ("target",):
        if k in r:
            r[k] = r[k].replace(":50", ":315")
    for t in r.get("targets", []):
        t["address"] = t["address"].replace(":50", ":315")
json.dump(c, open(w + "/ex.json", "w"))
PY
fail=0
n=$(sed -n 's/.*size=[^ ]* holds \([0-9]*\) workers.*/\1/p' examples/run-sipshard.mount | head -1)
if [ -z "$n" ]; then
	echo "FAIL: examples/run-sipshard.mount does not say how many workers its size holds"
	fail=1
	n=5 # what 4G holds: shown below
fi
# start WORKERS: exit status of a start with that many workers (0: it listened)
start() {
	build/sipshardd -c "$W/ex.json" --workers "$1" --discard-dialogs 2>"$W/w$1.log" &
	local pid=$!
	for _ in $(seq 1 50); do
		grep -q "listening on" "$W/w$1.log" && { kill -INT $pid; wait $pid; return 0; }
		kill -0 $pid 2>/dev/null || { wait $pid; return 1; }
		sleep 0.1
	done
	kill -9 $pid; wait $pid; return 1
}
if start "$n"; then echo "ok: $n workers start"; else echo "FAIL: $n workers refused:"; cat "$W/w$n.log"; fail=1; fi
m=$((n + 1))
if start "$m"; then
	echo "FAIL?: $m workers start too (the unit's figure is low)"; fail=1
else
	echo "as the unit says: $m workers (a host of $m CPUs, workers 0) refused:"
	grep -o "run_dir .*SIGBUS" "$W/w$m.log"
fi
umount "$MNT"
rm -rf "$W"
exit $fail
