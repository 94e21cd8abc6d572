#!/usr/bin/env bash
# The bench scripts start sipshard-load uas as the callee in the background
# (bench_begin) and never look whether it runs: when it cannot bind its port
# (CALLEE_PORT is fixed at 5080, often held on a shared machine) it exits 2
# at once, every call of every run then fails or reaches whatever holds the
# port, and the script reports those figures as the build's.
#
# Stub programs stand in for sipshardd, sipshardctl and sipshard-load (no
# socket is opened): the callee exits 2 ("cannot bind"), the uac reports 0 of
# 100 calls set up and exits 1 (errors above --max-errors, as a real uac would
# against a dead callee). Fails (exit 1) when setup_rate.sh reports a figure.
#   repro/bench_callee_down.sh
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/f3-bench-repro.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
mkdir -p "$T/build"
cat >"$T/build/sipshardd" <<'SH'
#!/usr/bin/env bash
echo "listening on (stub)"
exec sleep 30
SH
cat >"$T/build/sipshardctl" <<'SH'
#!/usr/bin/env bash
echo '{"workers": [{"drops": {"controller_ring_full": 0}}]}'
SH
cat >"$T/build/sipshard-load" <<'SH'
#!/usr/bin/env bash
case " $* " in
*" --role uas "*)
	echo "sipshard-load: thread 0: cannot bind 127.0.0.1:5080: Address already in use" >&2
	exit 2 ;;
esac
json=; while [ $# -gt 0 ]; do [ "$1" = --json ] && json=$2; shift; done
cat >"$json" <<'J'
{"calls": {"attempted": 100, "established": 0},
 "latency_us_by_method": {},
 "requests": {"per_second": 0, "timeouts": 100}}
J
exit 1
SH
chmod +x "$T/build/"*
BUILD=$T/build SUT_PORT=33060 CALLEE_PORT=33080 \
	bench/setup_rate.sh --rates 100 --reps 1 --seconds 1 --out "$T/out" >"$T/out.txt" 2>&1
echo "setup_rate.sh exit $?; it said:"
tail -n 4 "$T/out.txt"
if [ -s "$T/out/setup_rate.json" ]; then
	echo "FAIL: a figure was reported though the callee never ran:"
	cat "$T/out/setup_rate.json"
	exit 1
fi
echo "ok: no figure without a callee"
