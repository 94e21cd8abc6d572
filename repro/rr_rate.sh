#!/bin/bash
# Round robin under a per-source rate limit, on a real daemon (ports 34000-34011).
# usage: repro/rr_rate.sh [BUILD_DIR]   (default build; repro/orig/build = unfixed)
# A source sends 16.7 calls/s (one every 60 ms), evenly paced, for 2.4 s against calls_per_second_per_source 10 (burst 1):
# about every other INVITE is refused 503. The admitted calls should be shared
# between the two round-robin targets; the unfixed build sends them all to one.
set -u
cd "$(dirname "$0")/.."
B=${1:-build}
W=$(mktemp -d /tmp/a8-rr.XXXX)
cat >"$W/c.json" <<JSON
{ "listen": "127.0.0.1:34000", "workers": 1, "persist_dialogs": false, "run_dir": "$W/run",
  "management_socket": "$W/mgmt.sock", "log_level": "warn",
  "limits": { "calls_per_second_per_source": 10, "burst": 1 },
  "routes": [ { "name": "rr", "select": "round_robin",
                "targets": [ "127.0.0.1:34010", "127.0.0.1:34011" ] } ] }
JSON
"$B/sipshardd" -c "$W/c.json" 2>"$W/d.log" & D=$!
sipp -sn uas -i 127.0.0.1 -p 34010 -nostdin >/dev/null 2>&1 & U1=$!
sipp -sn uas -i 127.0.0.1 -p 34011 -nostdin >/dev/null 2>&1 & U2=$!
sleep 0.5
python3 repro/paced_uac.py 40 0.06 >"$W/uac.out" 2>&1; cat "$W/uac.out"
sleep 0.5
"$B/sipshardctl" -s "$W/mgmt.sock" targets 2>&1 | tee "$W/targets.txt"
kill -INT $D; wait $D
kill $U1 $U2; wait $U1 $U2 2>/dev/null
echo "work dir: $W"
