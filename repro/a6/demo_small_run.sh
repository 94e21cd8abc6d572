#!/usr/bin/env bash
# make demo ("On a fresh Debian 12 machine") on a host whose /run is small:
# Debian mounts /run as a tmpfs of 10% of memory, 400 MiB on a 4 GiB machine.
# The demo started sipshardd on the embedded default, whose run_dir is
# /run/sipshard with persist_dialogs on: refused (its files may take 1438 MiB
# with 2 workers), and the demo then ran SIPp against no one for a minute.
# Run as root: bash repro/a6/demo_small_run.sh. A private mount namespace with
# a 400 MiB tmpfs on /run; ports 31520 (sipshardd), 31521 (caller), 31580
# (callee), never the demo's fixed ones.
set -u
cd "$(dirname "$0")/../.."
if [ -z "${IN_NS:-}" ]; then
	exec env IN_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
mount -t tmpfs -o size=400M,mode=0755 tmpfs /run || exit 2
# what the demo's daemon was: the embedded default (listen moved to our port)
W=$(mktemp -d /tmp/a6-demo.XXXXXX)
echo '{ "listen": "127.0.0.1:31520", "routes": [ { "name": "local-callee", "target": "127.0.0.1:31580" } ] }' >"$W/embedded.json"
timeout 10 build/sipshardd -c "$W/embedded.json" --workers 2 2>"$W/embedded.log"
echo "the embedded default on a 400 MiB /run: exit $? ($(grep -o 'MiB free, but its files ([0-9]* MiB' "$W/embedded.log"))"
rm -rf "$W"
if ! grep -q SUT_PORT scripts/demo.sh; then
	echo "FAIL: scripts/demo.sh takes no other ports (not run: 5060 is fixed) and runs that daemon"
	exit 1
fi
out=$(SUT_PORT=31520 CALLEE_PORT=31580 CALLER_PORT=31521 CALLS=20 RATE=20 timeout 120 scripts/demo.sh 2>&1)
rc=$?
echo "$out" | tail -6
if [ $rc = 0 ] && echo "$out" | grep -q "calls: 20 answered"; then
	echo "ok: the demo placed its calls on a 400 MiB /run"
	exit 0
fi
echo "FAIL: demo exit $rc"
exit 1
