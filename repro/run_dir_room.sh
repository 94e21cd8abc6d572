#!/usr/bin/env bash
# run_dir on a tmpfs with less room than the sparse dialog tables: the tables
# fill as calls arrive and a write to a page the tmpfs cannot hold kills the
# process with SIGBUS (tmpfs_fill does what a worker does to its table). The
# daemon must refuse such a run_dir at its start, saying why.
# Needs root (a mount namespace for the tmpfs). Ports 33010-33011 only.
# Exit 0: the start was refused with the message; 1: the daemon started.
set -u
cd "$(dirname "$0")/.."
mkdir -p repro/run
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Iuser repro/tmpfs_fill.c build/libsipshard.a \
	-o repro/tmpfs_fill -luring -lbpf -lelf -lz -ljansson -lnettle -lresolv -lpthread -lm || exit 2
cat >repro/run_dir_room.json <<JSON
{"listen": "127.0.0.1:33010", "workers": 1, "run_dir": "$PWD/repro/run/sipshard",
 "management_socket": "$PWD/repro/run/mgmt.sock",
 "capacity": {"dialogs_per_shard": 1024, "transactions_per_shard": 1024, "setups": 16},
 "routes": [{"target": "127.0.0.1:33011"}]}
JSON
exec unshare --mount bash -c '
mount -t tmpfs -o size=1m,mode=0700 tmpfs repro/run || exit 2
mkdir -m 0700 repro/run/sipshard
echo "== a table on a 1 MiB tmpfs filled as calls would fill it:"
./repro/tmpfs_fill repro/run/sipshard 1024; echo "tmpfs_fill exit status $? (135 = SIGBUS)"
rm -f repro/run/sipshard/shard-0.tbl
echo "== sipshardd with run_dir on that tmpfs:"
timeout 3 build/sipshardd -c repro/run_dir_room.json --no-bpf >repro/run_dir_room.log 2>&1
rc=$?
grep -E "run_dir|error" repro/run_dir_room.log
if [ $rc = 124 ]; then echo "FAIL: sipshardd started (it would die of SIGBUS under load)"; exit 1; fi
grep -q "may take .* MiB more" repro/run_dir_room.log && { echo "OK: start refused"; exit 0; }
echo "FAIL: exit $rc without the message"; exit 1'
