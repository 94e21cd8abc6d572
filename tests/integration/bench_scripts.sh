#!/usr/bin/env bash
# The bench scripts never report a figure from a run that failed. Stub
# programs stand in for sipshardd, sipshardctl, sipshard-load and sipp
# (BUILD= and PATH point the scripts at them):
#   1. a uac that fails on its second run (exit 2, "cannot bind", no JSON):
#      setup_rate.sh and relay_rate.sh kept the first run's JSON in their
#      work dir and reported it again as the second run's figures;
#   2. a callee that cannot bind its port (exit 2 at once): the scripts never
#      looked, and reported the calls that failed against nothing as the
#      build's figures;
#   3. relay_rate.sh --seconds 2: a ZeroDivisionError, no line written (now
#      refused before the run, saying what it accepts);
#   4. compare.sh --quick into a directory that held a full run: the report
#      mixed the old run's files (scale-100000, scale-1000000) into the new one;
#   5. steer_bench (not a stub) gives every figure it documents, and names
#      the CPU its figures come from;
#   6. parse_bench --quick (not a stub): it parses and verifies every corpus
#      message (exit 1 when the parser no longer gives what the corpus says),
#      names the CPU its figures come from, and --json holds every figure;
#   7. a uac whose INFO all got 503: relay_rate.sh gave them as a rate and
#      relay_profile.sh the worker's samples as the relay's profile;
#   8. setup_burst.sh (as root, in a mount namespace) and restart.sh took
#      ports 5060 and 5080 whatever the environment said and gave figures
#      with no callee listening (setup_burst.sh: with no daemon either);
#   9. restart.sh timed a restart to the port's bind, not to the daemon's
#      "listening on";
#  10. bench/sipp/compare.sh (a stub sipp, the real sipshard-load) gave a
#      SIPp row and ratios when SIPp could not bind, and called the highest
#      rate asked SIPp's saturation when every rate held;
#  11. keepalive.sh --report: the info mode's CPU per datagram over the
#      INFO beyond the 100 a second quiet carries too;
#  12. --reps 0 and relay_rate.sh --workers 0: refused up front.
# Also: compare.sh's trunk row has a daemon of its own (with 4).
# Prints "ok NAME" / "not ok NAME".
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

SUT_PORT=16480
CALLEE_PORT=16481
STUBS=$WORK/stubs
mkdir -p "$STUBS"

# the daemon: a thread named as sipshardd's first worker (relay_profile.sh
# records it), awake every millisecond so that perf has samples of it
cat >"$STUBS/sipshardd" <<'SH'
#!/usr/bin/env bash
exec python3 -c 'import time
open("/proc/self/comm", "w").write("sipshard-w0")
print("listening on (stub)", flush=True)
end = time.time() + 30
while time.time() < end:
    time.sleep(0.001)'
SH
cat >"$STUBS/sipshardctl" <<'SH'
#!/usr/bin/env bash
echo '{"workers": [{"drops": {"controller_ring_full": 0}}]}'
SH
# stub_load MODE: sipshard-load whose callee listens on its --local port
# (MODE uac_fails_second, info_503) or cannot bind (MODE callee_down); its uac
# writes 100 of 100 calls set up and every request answered 200, except as
# MODE says (info_503: every INFO answered 503, exit 1 as errors exceed
# --max-errors)
stub_load() {
	cat >"$STUBS/sipshard-load" <<SH
#!/usr/bin/env bash
mode=$1
case " \$* " in *" --role uas "*)
	echo "\$*" >>"$STUBS/uas.args"
	if [ \$mode = callee_down ]; then
		echo "sipshard-load: thread 0: cannot bind: Address already in use" >&2
		exit 2
	fi
	port=\$(echo "\$*" | sed -n 's/.*--local 127.0.0.1:\([0-9]*\).*/\1/p')
	exec python3 -c "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', \$port)); time.sleep(30)" ;;
esac
echo "\$*" >>"$STUBS/uac.args"
n=\$(cat "$STUBS/n" 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >"$STUBS/n"
json=; while [ \$# -gt 0 ]; do [ "\$1" = --json ] && json=\$2; shift; done
if [ \$mode = uac_fails_second ] && [ \$n -ge 2 ]; then
	echo "sipshard-load: thread 0: cannot bind 127.0.0.1:0: Address already in use" >&2
	exit 2
fi
established=100; [ \$mode = callee_down ] && established=0
failed=0; [ \$mode = info_503 ] && failed=3000
cat >"\$json" <<J
{"calls": {"attempted": 100, "established": \$established, "failed": 0, "lost": 0, "ended": 100},
 "latency_us_by_method": {"INVITE": {"p50": 100, "p99": 200}, "INFO": {"p50": 50, "p99": 90}},
 "requests": {"per_second": 1000, "timeouts": 0},
 "errors": {"total": \$failed, "failed_responses": \$failed, "timeouts": 0},
 "responses": {"by_code": {"200": \$((3200 - failed)), "503": \$failed}}}
J
[ \$mode = callee_down ] || [ \$mode = info_503 ] && exit 1
exit 0
SH
	chmod +x "$STUBS"/*
	rm -f "$STUBS/n" "$STUBS/uac.args" "$STUBS/uas.args"
}

stub_load uac_fails_second
BUILD=$STUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT bench/setup_rate.sh --rates 100 --reps 2 \
	--seconds 1 --out "$WORK/setup" >"$WORK/setup_rate.out" 2>&1
rc=$?
check "setup_rate.sh: a uac that failed ends the script (exit $rc) with its message" \
	bash -c '[ "$1" != 0 ] && grep -q "cannot bind" "$2"' _ "$rc" "$WORK/setup_rate.out"
check "setup_rate.sh: no figure for the run whose uac failed" \
	bash -c '! grep -q "\"rep\": 2" "$1"' _ "$WORK/setup/setup_rate.json"

stub_load uac_fails_second
BUILD=$STUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT bench/relay_rate.sh --workers 1 --reps 2 \
	--seconds 3 --out "$WORK/relay" >"$WORK/relay_rate.out" 2>&1
rc=$?
check "relay_rate.sh: a uac that failed ends the script (exit $rc) with its message" \
	bash -c '[ "$1" != 0 ] && grep -q "cannot bind" "$2"' _ "$rc" "$WORK/relay_rate.out"
check "relay_rate.sh: no figure for the run whose uac failed" \
	bash -c '! grep -q "\"rep\": 2" "$1"' _ "$WORK/relay/relay_rate.json"

# 3. relay_rate.sh --seconds 2 (or less) left no time between its two CPU
#    readings: a ZeroDivisionError, and no line written for the run
stub_load uac_fails_second
BUILD=$STUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT bench/relay_rate.sh --workers 1 --reps 1 \
	--seconds 2 --out "$WORK/short" >"$WORK/short.out" 2>&1
rc=$?
check "relay_rate.sh: --seconds 2 is refused up front (exit $rc), saying what is accepted" \
	bash -c '[ "$1" = 2 ] && grep -q "seconds needs a whole number, 3 or more" "$2" && ! grep -q Traceback "$2"' \
	_ "$rc" "$WORK/short.out"

stub_load callee_down
BUILD=$STUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT bench/setup_rate.sh --rates 100 --reps 1 \
	--seconds 1 --out "$WORK/down" >"$WORK/down.out" 2>&1
rc=$?
check "setup_rate.sh: a callee that could not bind ends the script (exit $rc) with its message" \
	bash -c '[ "$1" != 0 ] && grep -q "cannot bind" "$2"' _ "$rc" "$WORK/down.out"
check "setup_rate.sh: and no figure is written" test ! -s "$WORK/down/setup_rate.json"

# 4. compare.sh --quick into a directory a full run left: stubs for every
# program it runs (kamailio and gnuplot on PATH); the systems under test and
# the callee bind their port, as compare.sh waits for it (sipshardd also says
# it listens, as compare.sh waits for that too), and stop on SIGINT
CSTUBS=$WORK/cstubs
mkdir -p "$CSTUBS" "$WORK/compare"
cat >"$CSTUBS/bind" <<'SH'
#!/usr/bin/env bash
exec python3 -c 'import signal, socket, sys, time
for n in (signal.SIGINT, signal.SIGTERM):
    signal.signal(n, lambda *a: sys.exit(0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)' "$1"
SH
for p in sipshardd udp_echo kamailio; do
	printf '#!/usr/bin/env bash
[ %s = sipshardd ] && echo "sipshardd: info: listening on 127.0.0.1:$SUT_PORT (stub, pid $$)" >&2
exec "%s/bind" "$SUT_PORT"
' "$p" "$CSTUBS" >"$CSTUBS/$p"
done
printf '#!/usr/bin/env bash
cat >/dev/null
' >"$CSTUBS/gnuplot"
cat >"$CSTUBS/sipshard-load" <<SH
#!/usr/bin/env bash
case " \$* " in *" --role uas "*) exec "$CSTUBS/bind" "\$CALLEE_PORT" ;; esac
calls=0; json=
while [ \$# -gt 0 ]; do
	case \$1 in --calls) calls=\$2 ;; --json) json=\$2 ;; esac
	shift
done
echo "[1s] mix 1000 req/s" >&2
echo '{"params": {"calls": '\$calls'}, "requests": {"per_second": 1000, "completed": 3000},
 "latency_us": {"p50": 100, "p99": 200}, "errors": {"total": 0}}' >"\$json"
SH
chmod +x "$CSTUBS"/*
for f in scale-100000 scale-1000000 scale-huge-100000 scale-huge-1000000; do # what a full run left
	echo '{"params": {"calls": 1}, "requests": {"per_second": 500, "completed": 1500},
 "latency_us": {"p50": 100, "p99": 200}, "errors": {"total": 0}}' >"$WORK/compare/$f.json"
done
PATH=$CSTUBS:$PATH BUILD=$CSTUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT \
	timeout 120 bench/compare.sh --quick --out "$WORK/compare" >"$WORK/compare.out" 2>&1
rc=$?
check "compare.sh --quick (stubs) runs to its report (exit $rc)" \
	bash -c '[ "$1" = 0 ] && [ -s "$2" ]' _ "$rc" "$WORK/compare/table.md"
# the trunk row (--sources 1) ran on the daemon the 2-worker BPF row had
# just used: its PSS before the first call held every page that run touched
check "compare.sh: the trunk row on a sipshardd of its own, started fresh" \
	bash -c 'a=$(grep -o "pid [0-9]*" "$1"); b=$(grep -o "pid [0-9]*" "$2")
		[ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]' _ \
	"$WORK/compare/sipshard-2w-bpf.daemon.log" "$WORK/compare/sipshard-2w-bpf-trunk.daemon.log"
# scaling_calls PAGES: the established calls of the report's scaling points
# with the tables on PAGES (small, huge) pages
scaling_calls() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(str(s["calls"]) for s in r["scaling"] if s["pages"] == sys.argv[2]))' \
		"$WORK/compare/results.json" "$1"
}
small=$(scaling_calls small)
check "compare.sh --quick after a full run reports only what it measured (scale 1000, 10000: $small)" \
	test "$small" = "1000 10000"
# as root it mounts a huge=advise tmpfs for the second series, and unmounts it
if [ "$(id -u)" = 0 ]; then
	huge=$(scaling_calls huge)
	check "compare.sh --quick as root: the same points with the tables on huge pages ($huge)" \
		test "$huge" = "1000 10000"
	check "compare.sh: the huge=advise tmpfs it mounted is gone after it" \
		bash -c '! grep -q " /tmp/sipshard-bench-huge\." /proc/mounts'
else
	huge=$(scaling_calls huge)
	check "compare.sh --quick without root: no huge-page points (${huge:-none}), and it says why" \
		bash -c '[ -z "$1" ] && grep -q "cannot mount a huge=advise tmpfs" "$2"' _ "$huge" \
		"$WORK/compare.out"
fi

# 5. steer_bench, the real program on loopback: every corpus message with
#    its figures; as root the kernel columns too (the program's run time
#    from BPF statistics, which must have counted)
# the processor's name as /proc/cpuinfo gives it, as the programs print it
# (followed by its family and model where the file has them)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cpu=${cpu:-unknown CPU}
timeout 60 build/steer_bench --reps 1 --count 1000 --json >"$WORK/steer.json" 2>"$WORK/steer.err"
rc=$?
check "steer_bench: its header names the CPU ($cpu)" \
	test "$(grep -cF "steer_bench: $cpu" "$WORK/steer.err")" = 1
check "steer_bench --json: each message's figures, the kernel's when root (exit $rc)" \
	python3 -c 'import json, os, sys
r = json.load(open(sys.argv[1]))
msgs = ["invite", "info", "bye", "200-ok", "180-ringing"]
kernel = ["bpf_ns", "steered_ns", "plain_ns"]
ok = all(r[m]["scan_ns"] > 0 and r[m]["parse_ns"] > 0 and r[m]["callid_at"] > 0 for m in msgs)
if os.geteuid() == 0:
    ok = ok and "no_bpf" not in r and all(r[m][k] > 0 for m in msgs for k in kernel)
else:
    ok = ok and r.get("no_bpf") and all(r[m][k] is None for m in msgs for k in kernel)
print("# info: %r" % r["info"])
sys.exit(0 if ok else 1)' "$WORK/steer.json"

# 6. parse_bench --quick, the real program: the table's header names the CPU
#    as /proc/cpuinfo does, and --json gives each message's four figures in
#    both rounds
timeout 60 build/parse_bench --quick >"$WORK/parse.txt" 2>&1
rc=$?
check "parse_bench --quick: a table whose header names the CPU ($cpu; exit $rc)" \
	test $rc = 0 -a "$(grep -cF "parse_bench: $cpu" "$WORK/parse.txt")" = 1
timeout 60 build/parse_bench --quick --json >"$WORK/parse.json" 2>/dev/null
rc=$?
check "parse_bench --quick --json: every message's figures, both rounds (exit $rc)" \
	python3 -c 'import json, sys
if sys.argv[2] != "0":
    sys.exit(1)
r = json.load(open(sys.argv[1]))
msgs = ["invite", "info", "bye", "200-ok", "180-ringing"]
keys = ["bytes", "sipshard_ns", "osip2_ns", "scan_ns"]
ok = all(r[m][k] > 0 and r["varied"][m][k] > 0 for m in msgs for k in keys)
sys.exit(0 if ok else 1)' "$WORK/parse.json" "$rc"

# 7. a daemon that answers every INFO 503: relay_rate.sh reported its 503s as
#    requests relayed per second ("timeouts 0", exit 0), and relay_profile.sh
#    the worker's CPU answering them as the relay's profile
stub_load info_503
BUILD=$STUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT bench/relay_rate.sh --workers 1 --reps 1 \
	--seconds 3 --out "$WORK/r503" >"$WORK/r503.out" 2>&1
rc=$?
check "relay_rate.sh: requests that failed refuse the figure (exit $rc), saying how many and why" \
	bash -c '[ "$1" = 1 ] && grep -q "3000 of the requests failed (503: 3000)" "$2"' _ "$rc" "$WORK/r503.out"
check "relay_rate.sh: the run's line and the table carry the failed requests, the table no rate" \
	python3 -c 'import json, sys
r = json.loads(open(sys.argv[1]).readline())
t = [l.split() for l in open(sys.argv[2]) if l.startswith("1 ")][0]
print("# %r / %r" % (r, t))
sys.exit(0 if r["failed"] == 3000 and r["failed_responses"] == 3000 and r["codes"] == {"503": 3000}
         and t[2] == "-" and t[-1] == "3000" else 1)' "$WORK/r503/relay_rate.json" "$WORK/r503/relay_rate.txt"
if command -v perf >/dev/null; then
	stub_load info_503
	BUILD=$STUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT bench/relay_profile.sh --seconds 4 \
		--out "$WORK/p503" >"$WORK/p503.out" 2>&1
	rc=$?
	check "relay_profile.sh: requests that failed give no profile (exit $rc), saying why" \
		bash -c '[ "$1" = 1 ] && grep -q "3000 of the requests failed (503: 3000)" "$2" &&
			! [ -e "$3" ]' _ "$rc" "$WORK/p503.out" "$WORK/p503/relay_profile.txt"
else
	echo "# perf is missing: relay_profile.sh not run"
fi

# 8. setup_burst.sh and restart.sh took 5060 and 5080 whatever SUT_PORT and
#    CALLEE_PORT said, never looked whether their callee listened (a taken
#    port gave a table of figures for calls that reached no callee, exit 0),
#    and setup_burst.sh sent its burst 1 s after the daemon's start, never
#    checking that it listened or still ran. setup_burst.sh sets the host's
#    transparent_hugepage mode: it runs as root in a mount namespace of its
#    own, where a scratch file stands in for that file.
if [ "$(id -u)" = 0 ] && [ -e /sys/kernel/mm/transparent_hugepage/enabled ]; then
	# burst BUILD OUT: setup_burst.sh, one burst per setup at 100/s, from
	# the mode never (the last burst sets madvise)
	burst() {
		echo "always madvise [never]" >"$WORK/thp"
		unshare -m bash -c 'mount --make-rprivate / &&
			mount --bind "$1" /sys/kernel/mm/transparent_hugepage/enabled && shift && exec "$@"' \
			_ "$WORK/thp" env BUILD="$1" SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT \
			bench/setup_burst.sh --rates 100 --reps 1 --out "$2" >"$2.out" 2>&1
	}
	stub_load ok
	burst "$STUBS" "$WORK/burst"
	rc=$?
	check "setup_burst.sh: its callee and daemon on CALLEE_PORT and SUT_PORT (exit $rc)" \
		bash -c '[ "$1" = 0 ] && grep -q -- "--local 127.0.0.1:$2 " "$4" &&
			[ "$(grep -c -- "--target 127.0.0.1:$3 " "$5")" = 3 ]' \
		_ "$rc" "$CALLEE_PORT" "$SUT_PORT" "$STUBS/uas.args" "$STUBS/uac.args"
	stub_load callee_down
	burst "$STUBS" "$WORK/burst-down"
	rc=$?
	check "setup_burst.sh: a callee that could not bind ends it (exit $rc) before any burst" \
		bash -c '[ "$1" = 1 ] && grep -q "not listening on 127.0.0.1:$2" "$3" && ! [ -e "$4" ]' \
		_ "$rc" "$CALLEE_PORT" "$WORK/burst-down.out" "$STUBS/uac.args"
	# a daemon that stops at once, saying why
	mkdir -p "$WORK/dead"
	printf '#!/usr/bin/env bash
echo "sipshardd: error: run_dir: stub failure" >&2
exit 1
' \
		>"$WORK/dead/sipshardd"
	chmod +x "$WORK/dead/sipshardd"
	stub_load ok
	ln -sf "$STUBS/sipshard-load" "$WORK/dead/sipshard-load"
	burst "$WORK/dead" "$WORK/burst-dead"
	rc=$?
	check "setup_burst.sh: a daemon that stopped at its start ends it (exit $rc) with its message" \
		bash -c '[ "$1" = 1 ] && grep -q "run_dir: stub failure" "$2" && ! [ -e "$3" ]' \
		_ "$rc" "$WORK/burst-dead.out" "$STUBS/uac.args"
	check "setup_burst.sh: the host's transparent_hugepage mode put back" grep -qx never "$WORK/thp"
else
	echo "# not root, or no transparent huge pages: setup_burst.sh not run"
fi
stub_load callee_down
BUILD=$STUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT CALLS=10 RATE=10 MIX_S=1 KILL_AFTER=0 \
	timeout 60 bench/restart.sh --out "$WORK/restart-down" >"$WORK/restart-down.out" 2>&1
rc=$?
check "restart.sh: a callee that could not bind on CALLEE_PORT ends it (exit $rc) before any call" \
	bash -c '[ "$1" = 1 ] && grep -q "not listening on 127.0.0.1:$2" "$3" && ! [ -e "$4" ]' \
	_ "$rc" "$CALLEE_PORT" "$WORK/restart-down.out" "$STUBS/uac.args"

# 9. restart.sh said "listening again after" when the port was bound, which
#    the daemon does before its pools are in memory; the start ends when it
#    says it listens. A stub binds at once and says so 1 s later.
mkdir -p "$WORK/late"
cat >"$WORK/late/sipshardd" <<'SH'
#!/usr/bin/env bash
exec python3 -c 'import json, socket, sys, time
conf = sys.argv[sys.argv.index("-c", 1) + 1]
host, port = json.load(open(conf))["listen"].rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((host, int(port)))
time.sleep(1)
print("sipshardd: info: listening on %s:%s (stub)" % (host, port), file=sys.stderr, flush=True)
time.sleep(30)' "$@"
SH
chmod +x "$WORK/late/sipshardd"
stub_load ok
ln -sf "$STUBS/sipshard-load" "$WORK/late/sipshard-load"
BUILD=$WORK/late SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT CALLS=10 RATE=10 MIX_S=1 KILL_AFTER=0 \
	timeout 60 bench/restart.sh --out "$WORK/restart" >"$WORK/restart.out" 2>&1
rc=$?
check "restart.sh: listening again when the new daemon says so, not when its port is bound (exit $rc)" \
	python3 -c 'import re, sys
m = re.search(r"listening again after ([0-9.]+) s", open(sys.argv[1]).read())
print("# %s" % (m and m.group(0)))
sys.exit(0 if sys.argv[2] == "0" and m and 0.9 <= float(m.group(1)) < 5 else 1)' \
	"$WORK/restart/restart.txt" "$rc"

# 10. bench/sipp/compare.sh printed a SIPp row and ratios when SIPp never ran
#     (a port it could not bind: "0 -1", exit status unchecked, exit 0), and
#     called the highest rate asked SIPp's saturation when every rate held.
#     A stub sipp on PATH: FAKE_SIPP=fail exits as SIPp does when it cannot
#     bind; otherwise its uas waits and its uac writes statistics of every
#     call set up at the rate asked. sipshard-load is the real one, briefly.
mkdir -p "$WORK/sipp-bin"
cat >"$WORK/sipp-bin/sipp" <<'PY'
#!/usr/bin/env python3
import os, sys, time
a = sys.argv[1:]
if os.environ.get("FAKE_SIPP") == "fail":
    print("2026-12-07\t22:03:49.918867\t1796681029.918867: Unable to bind main socket, "
          "errno = 98 (Address already in use)", flush=True)
    sys.exit(254)
if "bench/sipp/uas_call_info.xml" in a:
    os.execvp("sleep", ["sleep", "60"])
rate, t = int(a[a.index("-r") + 1]), time.time()
with open(a[a.index("-stf") + 1], "w") as f:
    f.write("CurrentTime;SuccessfulCall(P);FailedCall(P);\n")
    for i in range(5):
        f.write("d\tt\t%.6f;%d;0;\n" % (t + i, rate))
PY
chmod +x "$WORK/sipp-bin/sipp"
# sipp_compare NAME [VAR=VALUE...]: compare.sh at its smallest into WORK/NAME
sipp_compare() {
	local name=$1
	shift
	env "$@" PATH="$WORK/sipp-bin:$PATH" OUT="$WORK/$name" REPEAT=1 K_LIST=1 SIPP_RATES="100 200" \
		BISECT=0 timeout 60 bench/sipp/compare.sh 1 50 16 >"$WORK/$name.out" 2>&1
}
sipp_compare sipp-fail FAKE_SIPP=fail
rc=$?
check "sipp/compare.sh: a SIPp that could not bind ends it (exit $rc) with SIPp's error, no SIPp row" \
	bash -c '[ "$1" = 1 ] && grep -q "Unable to bind main socket" "$2" &&
		! grep -qE "^1 +SIPp|sipshard-load / SIPp" "$2"' _ "$rc" "$WORK/sipp-fail.out"
sipp_compare sipp-held
rc=$?
check "sipp/compare.sh: every rate held: not saturated (>= 200), no ratio (exit $rc)" \
	python3 -c 'import json, sys
out = open(sys.argv[1]).read()
f = json.load(open(sys.argv[2]))["flows"][0]
sys.exit(0 if sys.argv[3] == "0" and "not saturated (>= 200" in out and "SIPp saturation:" not in out
         and "sipshard-load / SIPp" not in out and not f["sipp_saturated"] and f["ratio_cps"] is None
         else 1)' "$WORK/sipp-held.out" "$WORK/sipp-held/summary.json" "$rc"

# 11. keepalive.sh's summary: the info mode's INFO replace the 100 a second
#     that the quiet calls carry too, so the datagrams it adds to quiet are
#     4 * (its INFO/s - quiet's); it divided by 4 * its INFO/s. Known runs
#     (--report prints the table of a keepalive.json again): quiet 30 ms/s
#     of CPU, keep-alive 1000 OPTIONS/s (2000 datagrams) costing 5 us each,
#     info 1000 INFO/s whose 900 beyond quiet's cost 10 us a datagram
base='"build": "b", "calls": 2000, "rep": 1, "keepalives_missed": 0, "calls_ended_by_keepalive": 0, "info_p50_us": 1, "info_p99_us": 1, "timeouts": 0'
cat >"$WORK/keepalive.json" <<J
{$base, "mode": "quiet", "cpu_ms_per_s": 30.0, "keepalives_per_s": 0, "info_per_s": 100}
{$base, "mode": "keepalive", "cpu_ms_per_s": 40.0, "keepalives_per_s": 1000, "info_per_s": 100}
{$base, "mode": "info", "cpu_ms_per_s": 66.0, "keepalives_per_s": 0, "info_per_s": 1000}
J
bench/keepalive.sh --report "$WORK/keepalive.json" >"$WORK/keepalive.out" 2>&1
rc=$?
check "keepalive.sh: the info mode's cost per datagram counts only the INFO beyond quiet's (exit $rc)" \
	python3 -c 'import sys
out = open(sys.argv[1]).read()
print("".join("# %s\n" % l for l in out.splitlines()), end="")
rows = {l.split()[1]: l.split()[-1] for l in out.splitlines() if l.startswith("2000 ")}
sys.exit(0 if sys.argv[2] == "0" and rows.get("info") == "10.00" and rows.get("keepalive") == "5.00"
         and "per datagram: 0.50" in out else 1)' "$WORK/keepalive.out" "$rc"

# 12. --reps 0 ran nothing, and the table's median of no run ended in a
#     Python ValueError, exit 0; relay_rate.sh --workers 0 labelled its row
#     0 workers while the daemon ran one per CPU: refused up front, exit 2
stub_load ok
for args in "relay_rate.sh --reps 0" "relay_rate.sh --workers 0" "relay_rate.sh --workers 1,2" \
	"setup_rate.sh --reps 0" "keepalive.sh --reps 0"; do
	set -- $args
	BUILD=$STUBS SUT_PORT=$SUT_PORT CALLEE_PORT=$CALLEE_PORT timeout 30 "bench/$1" "$2" "$3" \
		--out "$WORK/zero" >"$WORK/zero.out" 2>&1
	rc=$?
	check "$args: refused (exit $rc), saying what it takes" \
		bash -c '[ "$1" = 2 ] && grep -q -- "$2 needs whole numbers, 1 or more" "$3" &&
			! grep -q Traceback "$3"' _ "$rc" "$2" "$WORK/zero.out"
done

pkill -f "$STUBS/" 2>/dev/null
[ "$NOT_OK" -eq 0 ]
