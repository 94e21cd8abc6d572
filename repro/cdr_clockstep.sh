#!/usr/bin/env bash
# An answered call during which the wall clock steps back 5 s: its CDR must
# keep start <= answer <= end and a duration_ms near the real 1 s.
# Exit 1 when it does not.
set -u
cd /work/audit-6
R=repro/cs; rm -rf $R; mkdir -p $R/run
sed -e "s#repro/run#repro/cs/run#g; s#repro/cdr.jsonl#repro/cs/cdr.jsonl#; s#31590#31592#; s#31500#31510#; s#31520#31522#" repro/d.json > $R/d.json
CLOCKSTEP_FILE=$PWD/$R/step LD_PRELOAD=$PWD/repro/clockstep.so \
	build/sipshardd -c $R/d.json --discard-dialogs --no-bpf 2>$R/d.log &
PID=$!
sleep 1
python3 - <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
import rawua
callee = rawua.Callee(31522); caller = rawua.Caller(31511, 31510)
callee.port = 31522
assert caller.call(callee) == 200
open("repro/cs/step", "w").close()   # the wall clock steps back 5 s
time.sleep(1)
caller.sock.sendto(caller.request("BYE", caller.next_cseq()).encode(), ("127.0.0.1", 31510))
callee.pump(0.2); rawua.recv(caller.sock, 0.5)
PY
sleep 0.5
kill -INT $PID; wait $PID
cat $R/cdr.jsonl
python3 - <<'PY'
import json, sys
r = json.loads(open("repro/cs/cdr.jsonl").readline())
ok = r["start"] <= r["answer"] <= r["end"] and 800 <= r["duration_ms"] <= 3000
print("ok" if ok else "BAD: duration_ms %d, start %s answer %s end %s" % (r["duration_ms"], r["start"], r["answer"], r["end"]))
sys.exit(0 if ok else 1)
PY
