#!/usr/bin/env bash
# bench/soak.sh - a long run of calls that come and go, with hostile datagrams
# beside them, that shows whether sipshardd holds its memory, descriptors and
# threads flat and ends with no call left.
#
# Owns: the run and its verdict. sipshard-load uac keeps --calls calls up, each
# ended with BYE after 20 in-dialog requests (a mix of every method the relay
# carries) and replaced by a new one, at --req-rate requests a second, against
# a 2-worker sipshardd routing to sipshard-load uas; scripts/hostile.py sends
# --hostile-rate hostile datagrams a second at the same port the whole time.
# Every --interval the daemon's /proc files and its statistics file are read:
# VmData (its private writable mappings: the fixed pools it maps at the start,
# and the heap, where a leak would show), resident memory split as the kernel
# splits it (RssAnon: pages of those mappings touched so far; RssShmem: the
# dialog tables in run_dir, bounded by their files), open descriptors,
# threads, its CPU time (reported as CPU per datagram received, early in
# the run and late: a cost that grows with time is a table or a list that
# grows), calls up.
# Does not own: the figures of speed (compare.sh), the memory per call
# (compare.sh's PSS, tests/integration/memory.sh).
#
# Verdict (bench/soak_verdict.py; exit 1 and the reasons when one fails):
#   - VmData grows by at most 1 MiB from the first sample taken a quarter
#     into the run to the last one taken under load (a leak of one small
#     allocation per request or per call passes that within minutes). RssAnon
#     is not judged: the fixed pools' pages are touched for the first time
#     over many minutes, bounded by VmData;
#   - descriptors and threads the same in every sample after the first;
#   - the uac ends with no error (no timeout, no failed call: the hostile
#     datagrams meet a 4xx or a counted drop, never a real call);
#   - calls_active 0 once the uac has ended its calls;
#   - the daemon exits 0 on SIGTERM, and a sanitizer build reports nothing
#     (AddressSanitizer's leak check runs at its exit; its VmData, which the
#     quarantine of freed memory fills, is not judged).
#
# usage: bench/soak.sh [--minutes M | --seconds S] [--build DIR] [--calls N]
#                      [--req-rate R] [--hostile-rate H] [--interval S] [--out DIR]
#   --minutes M       length of the call phase (default 30)
#   --seconds S       the same in seconds (for a short check)
#   --build DIR       where sipshardd is (default build; build/asan: the sanitizer
#                     build, which `make asan` makes); sipshard-load is always build's
#   --calls N         calls kept up (default 2000)
#   --req-rate R      in-dialog requests a second (default 2000)
#   --hostile-rate H  hostile datagrams a second (default 200)
#   --interval S      seconds between samples (default: a twentieth of the run, 2 to 60)
#   --out DIR         where soak.tsv and soak.json go (default bench/results; a relative
#                     path is taken from the repository's top, as the script runs there)
# SUT_PORT and CALLEE_PORT (5060, 5080) name other ports when those are taken.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh

usage() {
	sed -n '/^# usage:/,/^# SUT_PORT/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
need_number() { # NAME VALUE
	[[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] ||
		{ echo "soak: $1 expects a whole number above 0, got '$2'" >&2; exit 2; }
}

SECONDS_RUN=1800 SUT_BUILD=build CALLS=2000 REQ_RATE=2000 HOSTILE_RATE=200 INTERVAL= OUT=bench/results
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { echo "soak: $1 expects a value" >&2; usage; }
	case $1 in
	--minutes) need_number "$1" "$2"; SECONDS_RUN=$(($2 * 60)) ;;
	--seconds) need_number "$1" "$2"; SECONDS_RUN=$2 ;;
	--build) SUT_BUILD=$2 ;;
	--calls) need_number "$1" "$2"; CALLS=$2 ;;
	--req-rate) need_number "$1" "$2"; REQ_RATE=$2 ;;
	--hostile-rate) need_number "$1" "$2"; HOSTILE_RATE=$2 ;;
	--interval) need_number "$1" "$2"; INTERVAL=$2 ;;
	--out) OUT=$2 ;;
	*) echo "soak: unknown option '$1'" >&2; usage ;;
	esac
	shift 2
done
if [ -z "$INTERVAL" ]; then
	INTERVAL=$((SECONDS_RUN / 20))
	[ "$INTERVAL" -ge 2 ] || INTERVAL=2
	[ "$INTERVAL" -le 60 ] || INTERVAL=60
fi
BUILD=build
bench_need soak.sh "$BUILD/sipshard-load" "$SUT_BUILD/sipshardd"
bench_begin soak
# a sanitizer's allocator keeps freed memory aside (AddressSanitizer's
# quarantine, 256 MiB), so a sanitizer build's VmData says nothing of leaks:
# its reports are the judge there (AddressSanitizer's leak check at exit)
SANITIZED=0
ldd "$SUT_BUILD/sipshardd" 2>/dev/null | grep -q 'libasan\|libtsan' && SANITIZED=1

ASAN_OPTIONS="log_path=$WORK/asan:detect_leaks=1" UBSAN_OPTIONS="log_path=$WORK/ubsan" \
	TSAN_OPTIONS="log_path=$WORK/tsan" DAEMON_ARGS="--stats-file $WORK/stats.json" \
	bench_daemon "$SUT_BUILD/sipshardd" 2
PIDS+=("$DAEMON")

# the calls come up at 500 a second, then the requests run for the whole length
"$BUILD/sipshard-load" --role uac --target "127.0.0.1:$SUT_PORT" --calls "$CALLS" --rate 500 \
	--duration "$SECONDS_RUN" --req-rate "$REQ_RATE" --window 256 --requests-per-call 20 \
	--mix INFO:40,MESSAGE:10,REINVITE:15,UPDATE:15,NOTIFY:10,REFER:10 \
	--max-errors 1000000000 --json "$WORK/uac.json" >"$WORK/uac.out" 2>&1 &
UAC=$!
PIDS+=("$UAC")
python3 scripts/hostile.py "$SUT_PORT" --seconds "$SECONDS_RUN" --rate "$HOSTILE_RATE" \
	--seed 11 >"$WORK/hostile.out" 2>&1 &
PIDS+=($!)

# sample ELAPSED: one line of soak.tsv
sample() {
	local st=/proc/$DAEMON/status
	local cpu
	cpu=$(stat_ticks "/proc/$DAEMON/stat")
	# its descriptors but the statistics file it writes each second (open for a
	# moment under its .tmp name: a sample that fell in that moment once read
	# one more)
	local f fds
	fds=$(for f in "/proc/$DAEMON/fd/"*; do readlink "$f"; done 2>/dev/null |
		grep -vc 'stats\.json\.tmp$')
	awk -v t="$1" -v fds="$fds" -v cpu="${cpu:--}" '
		/^VmData:/ { data = $2 } /^RssAnon:/ { anon = $2 } /^RssShmem:/ { shm = $2 }
		/^Threads:/ { thr = $2 }
		END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s", t, data, anon, shm, fds, thr, cpu }' "$st"
	python3 - "$WORK/stats.json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    w = j["workers"]
    print("\t%d\t%d\t%d\t%d" % (j["controller"]["calls_active"], sum(x["rx"] for x in w),
          sum(x["rx_bad"] for x in w), sum(x["answered_4xx"] for x in w)))
except (OSError, ValueError, KeyError):
    print("\t-\t-\t-\t-")
PY
}

mkdir -p "$OUT"
TSV=$OUT/soak.tsv
printf 's\tvm_data_kib\trss_anon_kib\trss_shmem_kib\tfds\tthreads\tcpu_ticks\tcalls_active\trx\trx_bad\tanswered_4xx\n' >"$TSV"
echo "soak: $SECONDS_RUN s of $CALLS calls coming and going, $REQ_RATE requests/s," \
	"$HOSTILE_RATE hostile datagrams/s, against $SUT_BUILD/sipshardd (2 workers)"
column_line() {
	tr '\t' ' ' | awk '{ printf "%6s %11s %12s %13s %4s %7s %9s %12s %10s %7s %12s\n",
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
}
head -1 "$TSV" | column_line
start=$(date +%s)
while kill -0 "$UAC" 2>/dev/null; do
	kill -0 "$DAEMON" 2>/dev/null || break
	sample $(($(date +%s) - start)) | tee -a "$TSV" | column_line
	for _ in $(seq 1 $((INTERVAL * 10))); do
		kill -0 "$UAC" 2>/dev/null || break
		sleep 0.1
	done
done
wait "$UAC"
uac_rc=$?
# the uac has ended every call with BYE; the stats file is written every
# second: the last sample is the first with no call up, or the 50th (about 10 s)
for _ in $(seq 1 50); do
	after=$(sample "end")
	[ "$(cut -f8 <<<"$after")" = 0 ] && break
	sleep 0.2
done
echo "$after" | column_line
alive=1
kill -0 "$DAEMON" 2>/dev/null || alive=0
kill -TERM "$DAEMON" 2>/dev/null
wait "$DAEMON"
daemon_rc=$?
# the sanitizer's reports, if any (one file a process, named by its pid)
reports=$(cat "$WORK"/asan.* "$WORK"/ubsan.* "$WORK"/tsan.* 2>/dev/null |
	grep -c 'ERROR: \|runtime error\|WARNING: ThreadSanitizer' || true)

python3 bench/soak_verdict.py --tsv "$TSV" --uac "$WORK/uac.json" --out "$OUT/soak.json" \
	--after "$after" --uac-rc "$uac_rc" --daemon-rc "$daemon_rc" --alive "$alive" \
	--sanitizer-reports "$reports" --seconds "$SECONDS_RUN" --sanitized "$SANITIZED"
