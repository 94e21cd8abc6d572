#!/usr/bin/env bash
# sipshard-load uac whose callee vanishes after the calls are up: with
# --window 4 and 200 calls the BYE phase used to time out 4 BYEs per 64*T1
# (50 rounds: 32 s at T1 = 10 ms, 27 minutes at the default 500 ms). It must
# end about 2 x 64*T1 after the mix, every BYE still counted as a timeout.
#   repro/uac_peer_gone.sh [BUILD]     (ports 34092, 34120-34123)
cd "$(dirname "$0")/.."
B=${1:-build}
"$B/sipshard-load" --role uas --local 127.0.0.1:34092 --duration 1.5 --quiet >/dev/null 2>&1 &
UAS=$!
sleep 0.2
t0=$(date +%s.%N)
"$B/sipshard-load" --role uac --local 127.0.0.1:34120 --target 127.0.0.1:34092 --calls 200 \
	--rate 1000 --duration 2 --req-rate 10 --window 4 --t1-ms 10 --t2-ms 40 --quiet \
	--json /tmp/audit3_peer_gone.json >/dev/null 2>&1
rc=$?
t1=$(date +%s.%N)
kill "$UAS" 2>/dev/null; wait "$UAS" 2>/dev/null
secs=$(python3 -c "print(round($t1 - $t0, 1))")
bye_to=$(python3 -c "import json; print(json.load(open('/tmp/audit3_peer_gone.json'))['by_method']['BYE']['timeouts'])")
echo "uac exit $rc after $secs s, BYE timeouts $bye_to of 200"
if python3 -c "import sys; sys.exit(0 if $secs < 8 and $bye_to == 200 else 1)"; then
	echo PASS
else
	echo FAIL
	exit 1
fi
