#!/usr/bin/env bash
# sipshard-load --json FILE whose directory does not exist (a typo) or is not
# writable: the whole run goes ahead, and only at its end does the tool say
# "cannot write FILE" and exit 2: a long run's figures are lost. Expected: a
# usage error (exit 2) before any call is made.
# Here the run would take 6.4 s (one INVITE to a silent port, 64*T1 of 100 ms).
#   repro/load_json_unwritable.sh   (sends to 127.0.0.1:33999, nothing listens)
cd "$(dirname "$0")/.."
t0=$(date +%s%N)
timeout 20 build/sipshard-load --role uac --target 127.0.0.1:33999 --local 127.0.0.1:33998 \
	--sources 1 --calls 1 --duration 0 --t1-ms 100 --t2-ms 100 --quiet \
	--json /nonexistent-dir/run.json >/dev/null 2>/tmp/f3-json.err
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "exit $rc after $ms ms: $(cat /tmp/f3-json.err)"
rm -f /tmp/f3-json.err
if [ $rc != 2 ] || [ $ms -ge 1000 ]; then
	echo "FAIL: the unwritable --json was found only after the run"
	exit 1
fi
echo "ok: refused before the run"
