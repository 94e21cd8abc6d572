#!/bin/bash
# Starts sipshardd on 127.0.0.1:32800 (io_uring, or recvmmsg with --no-uring
# as $1), runs rx_overflow.py against it, stops it. Exit status: the script's.
cd "$(dirname "$0")/.." || exit 2
build/sipshardd -c repro/d.json --stats-file repro/s.json --discard-dialogs "$@" 2>repro/d.log &
pid=$!
sleep 1
python3 repro/rx_overflow.py "$pid" repro/s.json
rc=$?
kill -INT "$pid"; wait "$pid"
exit $rc
