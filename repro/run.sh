#!/bin/bash
# repro/run.sh SCRIPT: starts build/sipshardd (repro/daemon.json, ports 31000-31002),
# runs the script against it, stops the daemon; the script's exit status.
cd "$(dirname "$0")/.." || exit 2
mkdir -p repro/run
build/sipshardd -c repro/daemon.json --discard-dialogs 2>repro/run/daemon.log &
pid=$!
sleep 0.5
python3 "$1" 31000
rc=$?
kill -INT $pid; wait $pid
exit $rc
