#!/usr/bin/env bash
# The memory of a fresh daemon (README, "Memory"), checked in /proc/PID/smaps:
#   1. the set-up records are in memory before the first INVITE. They live in
#      run_dir (setups.tbl), so they take huge pages where the tables can (a
#      tmpfs mounted huge=advise) and not elsewhere; with persist_dialogs
#      false they are anonymous, on huge pages when the host's
#      transparent_hugepage mode allows them (madvise or always), and on
#      small pages when it does not (a start with the mode set to never, put
#      back after);
#   2. with run_dir on a tmpfs mounted huge=advise, the dialog tables may take
#      huge pages, and after calls they hold some;
#   3. with run_dir on a tmpfs without that option they may not, and the log
#      says how to give them (a warning for tables of 2 GiB or more);
#   4. the log's "huge pages" words match what the kernel says of each mapping.
# Needs root (the mount). Prints "ok NAME" / "not ok NAME".
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

LOAD=$BUILD/sipshard-load
D_PORT=15860
B_PORT=15870
HUGEFS=$(mktemp -d /tmp/sipshard-hugefs.XXXXXX)
PLAIN=$(mktemp -d /dev/shm/sipshard-it.XXXXXX) # /dev/shm: a tmpfs mounted without huge=
THP=/sys/kernel/mm/transparent_hugepage/enabled
mode=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$THP" 2>/dev/null)
trap 'cleanup; umount "$HUGEFS" 2>/dev/null; rmdir "$HUGEFS"; rm -rf "$PLAIN"
	[ -z "$mode" ] || echo "$mode" >"$THP"' EXIT

# config FILE RUN_DIR: 1024 set-up records, tables of 8192 dialogs in RUN_DIR.
config() {
	cat >"$1" <<JSON
{
  "listen": "127.0.0.1:$D_PORT",
  "workers": 2,
  "run_dir": "$2",
  "capacity": { "setups": 1024, "dialogs_per_shard": 8192, "transactions_per_shard": 8192 },
  "routes": [ { "name": "callee", "match": { "user_prefix": "" }, "target": "127.0.0.1:$B_PORT" } ]
}
JSON
}

# smaps PID WHAT ARG FIELD: a figure of the daemon's smaps.
#   huge-anon - FIELD: the sum of FIELD (Rss, AnonHugePages: kB) over the
#     anonymous mappings that asked for huge pages (VmFlags hg). The kernel
#     merges neighbouring ones (the pools, the rings), so they are summed.
#   table PATH FIELD: FIELD of the mapping of the file PATH
smaps() {
	python3 - "$@" <<'PY'
import sys
pid, what, arg, field = sys.argv[1:5]
maps, cur = [], None
for line in open(f"/proc/{pid}/smaps"):
    head = line.split()
    if "-" in head[0] and not head[0].endswith(":"):
        cur = {"path": head[5] if len(head) > 5 else "", "f": {}}
        maps.append(cur)
    elif cur is not None:
        cur["f"][head[0][:-1]] = head[1:]
def num(m):
    return int(m["f"].get(field, ["0"])[0])
if what == "huge-anon":
    print(sum(num(m) for m in maps if m["path"] == "" and "hg" in m["f"].get("VmFlags", [])))
else:
    hits = [m for m in maps if m["path"] == arg]
    print(hits[0]["f"].get(field, ["absent"])[0] if hits else "no such mapping")
PY
}

# log_figure LOG REGEX: the first capture group of REGEX in the daemon's log
log_figure() { sed -n "s/.*$2.*/\\1/p" "$1" | head -1; }

# wait_memory_log LOG: the port is bound before the pools are made; the two
# memory lines come once they are
wait_memory_log() { wait_text "$1" "dialog tables:"; }

if ! mount -t tmpfs -o huge=advise,size=512m,mode=0700 tmpfs "$HUGEFS" 2>"$WORK/mount.err"; then
	not_ok "a tmpfs mounted with huge=advise for run_dir: $(cat "$WORK/mount.err")"
	exit 1
fi
echo "# transparent_hugepage: ${mode:-absent}"

# setup_records LOG HUGE NAME [FILE]: the set-up record checks of the daemon
# that wrote LOG, whose records are the file FILE (anonymous without it), and
# should (HUGE yes) or should not (no) sit on huge pages.
setup_records() {
	local log=$1 huge=$2 name=$3 file=${4:-} records record_kib pool_kib pool_rss pool_huge
	records=$(log_figure "$log" 'set-up records: \([0-9]*\) x')
	record_kib=$(log_figure "$log" 'set-up records: [0-9]* x \([0-9]*\) KiB')
	check "$name: the log names the set-up pool: 1024 records of ${record_kib:-?} KiB" \
		test "${records:-0}" = 1024 -a "${record_kib:-0}" -gt 0
	pool_kib=$((${records:-0} * ${record_kib:-0}))
	if [ -n "$file" ]; then
		pool_rss=$(smaps "$DAEMON_PID" table "$file" Rss)
		pool_huge=$(smaps "$DAEMON_PID" table "$file" ShmemPmdMapped)
	else
		# everything else that asks for huge pages (rings, buffers) fills as
		# used. On huge pages the start's writes to each record (the free
		# list) fault whole 2 MiB pages in anyway: the start with mode never
		# is the one that fails when the pool is not populated (checked:
		# 4096 of 15360 kB)
		pool_rss=$(smaps "$DAEMON_PID" huge-anon - Rss)
		pool_huge=$(smaps "$DAEMON_PID" huge-anon - AnonHugePages)
	fi
	check "$name: set-up records: all in memory before the first INVITE ($pool_rss kB >= $pool_kib kB)" \
		test "${pool_rss:-0}" -ge "$pool_kib" -a "$pool_kib" -gt 0
	if [ "$huge" = yes ]; then
		check "$name: set-up records: on huge pages ($pool_huge kB of them)" \
			test "${pool_huge:-0}" -gt 0
		check "$name: the log says the set-up records have huge pages" \
			grep -q "set-up records: .*huge pages: yes" "$log"
	else
		check "$name: set-up records: on small pages" test "${pool_huge:-0}" = 0
		check "$name: the log says the set-up records have none" \
			grep -q "set-up records: .*huge pages: no" "$log"
	fi
}

# ---- run_dir on a tmpfs mounted huge=advise ----------------------------------
config "$WORK/huge.json" "$HUGEFS/run"
start_bg "$LOAD" --role uas --local "127.0.0.1:$B_PORT" --duration 0 >"$WORK/uas.out" 2>&1
start_daemon huge "$WORK/huge.json"
LOG=$WORK/huge.log
wait_memory_log "$LOG"
setup_records "$LOG" yes "in run_dir on huge=advise tmpfs" "$HUGEFS/run/setups.tbl"

table=$HUGEFS/run/shard-0.tbl
check "dialog tables on huge=advise tmpfs: may take huge pages (THPeligible 1)" \
	test "$(smaps "$DAEMON_PID" table "$table" THPeligible)" = 1
check "the log says so" grep -q "dialog tables: 2 x [0-9]* MiB in $HUGEFS/run, .*huge pages: yes$" "$LOG"
"$LOAD" --role uac --target "127.0.0.1:$D_PORT" --calls 400 --rate 2000 --duration 1 \
	--json "$WORK/uac.json" >"$WORK/uac.out" 2>&1
check "400 calls set up and ended through the daemon" \
	test "$(json_get "$WORK/uac.json" 'j["calls"]["established"]')" = 400
pmd0=$(smaps "$DAEMON_PID" table "$table" ShmemPmdMapped)
pmd1=$(smaps "$DAEMON_PID" table "$HUGEFS/run/shard-1.tbl" ShmemPmdMapped)
check "their dialogs sit on huge pages (ShmemPmdMapped $pmd0 + $pmd1 kB)" \
	test $((${pmd0:-0} + ${pmd1:-0})) -gt 0
stop_daemon

# ---- run_dir on a tmpfs without huge=, and a host without huge pages ---------
config "$WORK/plain.json" "$PLAIN/run"
start_daemon plain "$WORK/plain.json"
wait_memory_log "$WORK/plain.log"
setup_records "$WORK/plain.log" no "in run_dir on a tmpfs without huge=" "$PLAIN/run/setups.tbl"
check "the log says how to give them huge pages" \
	grep -q "set-up records: .*huge pages: no (.*a run_dir on a tmpfs mounted with huge=advise gives them)" \
	"$WORK/plain.log"
eligible=$(smaps "$DAEMON_PID" table "$PLAIN/run/shard-0.tbl" THPeligible)
check "dialog tables on a tmpfs without huge=: no huge pages (THPeligible ${eligible})" \
	test "$eligible" = 0
check "the log says so and how to give them" \
	grep -q "dialog tables: .*huge pages: no (a run_dir on a tmpfs mounted with huge=advise gives them)" \
	"$WORK/plain.log"
check "tables this small: an info line, no warning" \
	grep -q "sipshardd: info: dialog tables: " "$WORK/plain.log"
stop_daemon

# the file stays in run_dir for the next start, but a stop gives back the
# memory of its free records (here all of them)
kept=$(($(stat -c %b "$PLAIN/run/setups.tbl") * $(stat -c %B "$PLAIN/run/setups.tbl") / 1024))
check "stopped: the set-up records' file keeps its size and gives back its free records ($kept kB left)" \
	test "$(stat -c %s "$PLAIN/run/setups.tbl")" -gt $((15 << 20)) -a "$kept" -le 64

# tables of 2 GiB or more on small pages: the same line is a warning, as the
# relay can slow with many calls up (sparse files: nothing is taken here)
config "$WORK/large.json" "$PLAIN/large"
sed -i 's/"workers": 2/"workers": 1/; s/"dialogs_per_shard": 8192/"dialogs_per_shard": 300000/' \
	"$WORK/large.json"
start_daemon large "$WORK/large.json"
wait_memory_log "$WORK/large.log"
check "tables of 2 GiB or more on small pages: a warning that says why" \
	grep -q "sipshardd: warn: dialog tables: 1 x [0-9]* MiB .*huge pages: no (a run_dir on a tmpfs mounted with huge=advise gives them); on small pages, tables this large can slow the first request of each call that was quiet a while, on some hosts by half" \
	"$WORK/large.log"
stop_daemon
rm -rf "$PLAIN/large"

# ---- persist_dialogs false: anonymous records, under the host's mode and never
config "$WORK/anon.json" "$PLAIN/anon"
sed -i 's/"workers": 2,/"workers": 2, "persist_dialogs": false,/' "$WORK/anon.json"
start_daemon anon "$WORK/anon.json"
wait_memory_log "$WORK/anon.log"
case "$mode" in
madvise | always) setup_records "$WORK/anon.log" yes "anonymous, host mode $mode" ;;
*) setup_records "$WORK/anon.log" no "anonymous, host mode ${mode:-absent}" ;;
esac
check "anonymous: the log says they are not kept" \
	grep -q "set-up records: 1024 x [0-9]* KiB (not kept across restarts)" "$WORK/anon.log"
stop_daemon
if [ -n "$mode" ] && echo never >"$THP" 2>/dev/null; then
	start_daemon never "$WORK/anon.json"
	wait_memory_log "$WORK/never.log"
	setup_records "$WORK/never.log" no "anonymous, mode never"
	echo "$mode" >"$THP"
	stop_daemon
else
	not_ok "transparent_hugepage set to never for the fallback (needs root and a kernel with it)"
fi

# ---- run_dir on a tmpfs too small for what its sparse tables may take -------
# The tables take their pages as calls arrive; on a tmpfs without room the
# write to such a page killed the daemon with SIGBUS under load (and again
# after each restart). The start is refused instead, saying why.
SMALLFS=$(mktemp -d /tmp/sipshard-smallfs.XXXXXX)
if mount -t tmpfs -o size=1m,mode=0700 tmpfs "$SMALLFS" 2>"$WORK/mount-small.err"; then
	config "$WORK/small.json" "$SMALLFS/run"
	timeout 10 "$SIPSHARDD" -c "$WORK/small.json" --discard-dialogs --no-bpf \
		2>"$WORK/small.log" >/dev/null
	rc=$?
	check "run_dir on a 1 MiB tmpfs: the start is refused (exit status $rc; 1 wanted, not a signal or a daemon that runs)" \
		test "$rc" = 1
	check "run_dir on a 1 MiB tmpfs: the log names run_dir and the room its files may take" \
		grep -q "run_dir $SMALLFS/run: [0-9]* MiB free, but its files ([0-9]* MiB, sparse: [0-9]* workers x [0-9]* MiB, and [0-9]* MiB of set-up records) may take [0-9]* MiB more" "$WORK/small.log"
	umount "$SMALLFS"
else
	not_ok "a 1 MiB tmpfs mounted for run_dir ($(cat "$WORK/mount-small.err"))"
fi
rmdir "$SMALLFS"
