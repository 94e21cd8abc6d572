#!/usr/bin/env bash
# sipshard-load uac against a target that answers nothing: every INVITE
# times out (64*T1 = 0.64 s at --t1-ms 10). With no call up there is no
# in-dialog traffic to send, yet the run sat in its mix phase for the whole
# --duration (here 6 s; a minute for --duration 60) and reported it as
# mix_seconds. It must end right after the set-up fails.
#   repro/uac_no_calls_no_mix.sh [BUILD]     (ports 34130-34133, 34139)
cd "$(dirname "$0")/.."
B=${1:-build}
t0=$(date +%s.%N)
"$B/sipshard-load" --role uac --local 127.0.0.1:34130 --target 127.0.0.1:34139 --calls 5 \
	--rate 100 --duration 6 --t1-ms 10 --t2-ms 40 --quiet \
	--json /tmp/audit3_no_mix.json >/dev/null 2>&1
rc=$?
t1=$(date +%s.%N)
secs=$(python3 -c "print(round($t1 - $t0, 1))")
read -r failed mix < <(python3 -c "import json; d = json.load(open('/tmp/audit3_no_mix.json')); print(d['calls']['failed'], d['requests']['mix_seconds'])")
echo "uac exit $rc after $secs s: calls failed $failed of 5, mix_seconds $mix"
if python3 -c "import sys; sys.exit(0 if $secs < 3 and $failed == 5 and $rc == 1 else 1)"; then
	echo PASS
else
	echo FAIL
	exit 1
fi
