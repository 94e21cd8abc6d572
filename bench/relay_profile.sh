#!/usr/bin/env bash
# Where a worker's CPU goes while it relays in-dialog requests: the same load
# as relay_rate.sh (1000 calls, then INFO with 256 outstanding), a 1-worker
# sipshardd, and `perf record -e cpu-clock` on the worker thread for the
# middle of the run. Prints the share of the worker's samples by part: the
# SIP parser (user/sip parse, uri, lex), the message writer, the relay's
# own logic, the kernel (UDP, io_uring), and the rest; then the functions
# above 1%. Needs perf (Debian: linux-perf); cpu-clock is a software event,
# so it works where the CPU's counters are hidden (most VMs).
#
#   bench/relay_profile.sh [--seconds S] [--out DIR]
#
# S: the uac's run (default 8, at least 4; the samples cover S - 2 of it).
# Results: DIR/relay_profile.txt (default bench/results). A run in which any
# request failed (an error response such as a 503, or a timeout) gives no
# profile: it says how many and exits 1.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/results
SECONDS_=8
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) SECONDS_=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "relay_profile.sh: unknown argument '$1' (expected --seconds or --out)" >&2; exit 2 ;;
	esac
	shift
done
[ "$SECONDS_" -ge 4 ] 2>/dev/null || { echo "relay_profile.sh: --seconds needs a whole number, 4 or more" >&2; exit 2; }
command -v perf >/dev/null || { echo "relay_profile.sh: perf is missing (Debian: apt-get install linux-perf)" >&2; exit 1; }
. bench/lib.sh
bench_need relay_profile.sh "$BUILD/sipshardd" "$BUILD/sipshard-load"
bench_begin relay_profile

bench_daemon "$BUILD/sipshardd" 1
worker=$(for t in /proc/$DAEMON/task/*; do [ "$(cat "$t/comm")" = sipshard-w0 ] && basename "$t"; done)
[ -n "$worker" ] || { echo "relay_profile.sh: no thread named sipshard-w0 in the daemon" >&2; exit 1; }
bench_info_load "$SECONDS_"
# from 1 s into the in-dialog phase to 1 s before its end, as relay_rate.sh
# reads the daemon's CPU
sleep 1.5
perf record -q -e cpu-clock -t "$worker" -o "$WORK/perf.data" -- sleep $((SECONDS_ - 2)) \
	>"$WORK/perf.out" 2>&1
perf_rc=$?
wait "$UAC"
bench_uac_done $?
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null
# a request answered with an error (a 503 from a daemon that sheds load) or
# never answered was not relayed: the worker's samples then show it refusing
# them, not relaying, and are no profile of the relay
python3 - "$WORK/uac.json" <<'PY' || exit 1
import json, sys
u = json.load(open(sys.argv[1]))
failed = u["errors"]["total"]
if failed:
    why = ["%s: %d" % (c, n) for c, n in sorted(u["responses"]["by_code"].items()) if int(c) >= 300 and n]
    if u["requests"]["timeouts"]:
        why.append("timeouts: %d" % u["requests"]["timeouts"])
    sys.exit("relay_profile.sh: %d of the requests failed (%s); they were answered, not relayed:"
             " no profile of the relay" % (failed, ", ".join(why) or "sipshard-load's errors"))
PY
if [ "$perf_rc" != 0 ]; then
	echo "relay_profile.sh: perf record failed (exit $perf_rc); its output:" >&2
	cat "$WORK/perf.out" >&2
	exit 1
fi
perf report -i "$WORK/perf.data" --stdio --sort sym --percent-limit 0 2>/dev/null |
	python3 -c '
import json, re, sys
rows = []
for line in sys.stdin:
    m = re.match(r"\s*([0-9.]+)%\s+\[([.k])\]\s+(\S+)", line)
    if m:
        rows.append((float(m.group(1)), m.group(2) == "k", m.group(3)))
def part(kernel, sym):
    if kernel:
        return "kernel (UDP, io_uring, scheduler)"
    if re.match(r"(sip_parse|parse_headers|parse_via_parm|parse_route_value|parse_contact_value|sip_addr_scan|sip_uri_scan|sip_method_lookup|lex_)", sym):
        return "SIP parser (sip_parse)"
    if re.match(r"(sip_write|sip_respond|sip_response_head)", sym):
        return "SIP writer (sip_write, sip_respond)"
    if re.match(r"(relay_|dlg_|shard_|sip_session_|session_|wheel_|worker_|ring_)", sym):
        return "relay, dialog table, timers"
    return "other (io glue, libc, ...)"
parts = {}
for pct, k, sym in rows:
    p = part(k, sym)
    parts[p] = parts.get(p, 0) + pct
u = json.load(open(sys.argv[1]))
r = u["requests"]
if not rows or not r["per_second"]:
    sys.exit("relay_profile.sh: no samples or no requests relayed; the uac said:")
print("1 worker, 1000 calls, INFO with 256 outstanding: %.0f requests/s relayed, none failed"
      % r["per_second"])
print("share of the worker thread\x27s cpu-clock samples by part:")
for p, pct in sorted(parts.items(), key=lambda x: -x[1]):
    print("  %-40s %5.1f%%" % (p, pct))
print("functions at 1% or more:")
for pct, k, sym in rows:
    if pct >= 1:
        print("  %5.1f%%  %s%s" % (pct, "[k] " if k else "", sym))
' "$WORK/uac.json" >"$WORK/profile.txt" || {
	# WORK goes when the script exits: show what the uac printed now
	tail -n 20 "$WORK/uac.out" >&2
	exit 1
}
# the results file is replaced only by a run that gave figures
cp "$WORK/profile.txt" "$OUT/relay_profile.txt"
cat "$WORK/profile.txt"
