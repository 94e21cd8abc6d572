#!/usr/bin/env bash
# A route whose target the kernel refuses to send to (255.255.255.255: EACCES
# without SO_BROADCAST): leg B's INVITE never leaves, and the statistics must
# say so. Exit 1 when no counter of a refused send moved.
set -u
cd /work/audit-6
R=repro/bc; rm -rf $R; mkdir -p $R/run
sed -e "s#repro/run#repro/bc/run#g; s#repro/cdr.jsonl#repro/bc/cdr.jsonl#; s#31590#31593#; s#31500#31530#; s#127.0.0.1:31520#255.255.255.255:31521#" repro/d.json > $R/d.json
build/sipshardd -c $R/d.json --discard-dialogs --no-bpf --stats-file $R/stats.json 2>$R/d.log &
PID=$!
sleep 1
python3 - <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua
c = rawua.Caller(31531, 31530)
inv = c.request("INVITE", 1)
c.sock.sendto(inv.encode(), ("127.0.0.1", 31530))
print("caller got", rawua.status(rawua.recv(c.sock, 1)))
PY
sleep 1.5
kill -INT $PID; wait $PID
grep -i "refus\|send" $R/d.log
python3 - <<'PY'
import json, sys
s = json.load(open("repro/bc/stats.json"))
n = s["controller"].get("send_refused")
print("controller.send_refused:", n)
sys.exit(0 if n else 1)
PY
