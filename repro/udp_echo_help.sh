#!/bin/sh
# Every flag udp_echo takes (getopt: -a/--addr, -t/--threads, --no-uring,
# -h/--help) must be in its --help. Exit 1 when one is missing.
out=$(build/udp_echo --help) || exit 1
rc=0
for f in '-a, --addr' '-t, --threads' '--no-uring' '-h, --help'; do
	printf '%s\n' "$out" | grep -q -- "$f" || { echo "missing from --help: $f"; rc=1; }
done
exit $rc
