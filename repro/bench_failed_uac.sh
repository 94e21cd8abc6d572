#!/usr/bin/env bash
# A bench run whose sipshard-load uac fails (exit 2: a usage or setup error,
# here "cannot bind") must not be reported as a figure. The scripts keep the
# uac's JSON in WORK between runs, so a uac that writes none leaves the
# previous run's figures to be read as this run's.
#
# Stub programs stand in for sipshardd, sipshardctl and sipshard-load (no
# socket is opened): the uac writes 100 of 100 calls set up on its first run
# and fails on its second. Fails (exit 1) when a script reports the second run.
#   repro/bench_failed_uac.sh
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/f3-bench-repro.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
mkdir -p "$T/build"
cat >"$T/build/sipshardd" <<'SH'
#!/usr/bin/env bash
echo "listening on 127.0.0.1:5060 (stub)"
exec sleep 30
SH
cat >"$T/build/sipshardctl" <<'SH'
#!/usr/bin/env bash
echo '{"workers": [{"drops": {"controller_ring_full": 0}}]}'
SH
cat >"$T/build/sipshard-load" <<SH
#!/usr/bin/env bash
case " \$* " in *" --role uas "*)
	# listen as a callee would, only on a port of this audit's range (the
	# scripts before CALLEE_PORT= was honoured pass 5080: not bound here)
	port=\$(echo "\$*" | sed -n 's/.*--local 127.0.0.1:\([0-9]*\).*/\1/p')
	[ "\$port" -ge 33000 ] && [ "\$port" -le 33999 ] &&
		exec python3 -c "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', \$port)); time.sleep(30)"
	exec sleep 30 ;;
esac
n=\$(cat "$T/n" 2>/dev/null || echo 0); n=\$((n + 1)); echo \$n >"$T/n"
json=; while [ \$# -gt 0 ]; do [ "\$1" = --json ] && json=\$2; shift; done
if [ \$n -ge 2 ]; then
	echo "sipshard-load: thread 0: cannot bind 127.0.0.1:0: Address already in use" >&2
	exit 2
fi
cat >"\$json" <<'J'
{"calls": {"attempted": 100, "established": 100},
 "latency_us_by_method": {"INVITE": {"p50": 100, "p99": 200}, "INFO": {"p50": 50, "p99": 90}},
 "requests": {"per_second": 1000, "timeouts": 0}}
J
exit 0
SH
chmod +x "$T/build/"*
fail=0

rm -f "$T/n"
BUILD=$T/build SUT_PORT=33060 CALLEE_PORT=33080 bench/setup_rate.sh --rates 100 --reps 2 --seconds 1 --out "$T/out" \
	>"$T/setup_rate.out" 2>&1
echo "setup_rate.sh exit $?; its lines:"
cat "$T/out/setup_rate.json"
if grep -q '"rep": 2' "$T/out/setup_rate.json"; then
	echo "FAIL: setup_rate.sh reported run 2, whose uac failed, with run 1's figures"
	fail=1
fi

rm -f "$T/n"
BUILD=$T/build SUT_PORT=33060 CALLEE_PORT=33080 bench/relay_rate.sh --workers 1 --reps 2 --seconds 3 --out "$T/out" \
	>"$T/relay_rate.out" 2>&1
echo "relay_rate.sh exit $?; its lines:"
cat "$T/out/relay_rate.json"
if grep -q '"rep": 2' "$T/out/relay_rate.json"; then
	echo "FAIL: relay_rate.sh reported run 2, whose uac failed, with run 1's figures"
	fail=1
fi
[ $fail = 0 ] && echo "ok: no figure from a failed uac run"
exit $fail
