#!/usr/bin/env bash
# Leg B's INVITE built from a caller's INVITE whose P-Asserted-Identity,
# Referred-By, Replaces, Diversion, History-Info and Path name the caller's
# address (192.0.2.10) and Call-ID: exits 1 when any of it reaches leg B.
set -u
cd "$(dirname "$0")"
gcc -std=c11 -D_GNU_SOURCE -I../include -I../user -o h h.c ../build/libsipshard.a \
	-ljansson -lnettle -lm -lpthread || exit 2
./h invite t1.txt >leg_b.txt 2>leg_b.err || exit 2
if grep -n -e '192\.0\.2' -e 'callerid-' leg_b.txt; then
	echo "LEAK: the callee sees the caller's address or Call-ID in the lines above"
	exit 1
fi
echo "no leak"
