#!/bin/bash
# osip-diff.sh [SECONDS]: fuzzes sip_parse against libosip2's parser for SECONDS
# (default 120) and lists where they disagree: the messages sipshard refuses
# and libosip2 takes, grouped by sipshard's reason, and those sipshard takes
# and libosip2 refuses, with the count of each group and its shortest input.
#
# A survey, not a test: neither side is the reference. README's "The SIP
# message library" says what sipshard refuses on purpose (outside RFC 3261
# 25.1) and what it takes outside it because equipment sends it; this is how
# such cases are found. Needs clang (libFuzzer) and libosip2-dev (scripts/
# deps.sh installs both). Seeds: tests/data/corpus. Output: build/osip-diff/
# (refused/ and taken/ hold the inputs, HASH.sip, named in groups.tsv).
set -euo pipefail

seconds=${1:-120}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/osip-diff
cflags=(-O1 -g -std=c11 -D_GNU_SOURCE -fsanitize=address,fuzzer -I"$root/include" -I"$root/user")

rm -rf "$out"
mkdir -p "$out/corpus"
clang "${cflags[@]}" "$root/scripts/osip_diff.c" "$root"/user/sip/*.c -losipparser2 -lnettle \
	-o "$out/osip_diff"
cp "$root"/tests/data/corpus/* "$out/corpus/"
echo "osip-diff: sip_parse against libosip2 for ${seconds}s"
cd "$out"
./osip_diff -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 corpus >"$out/log" 2>&1 ||
	{ tail -20 "$out/log"; echo "osip-diff: the fuzzer stopped (see $out/log)"; exit 1; }
grep -E "stat::number_of_executed_units" "$out/log" | sed 's/^/osip-diff: /'
[ -f groups.tsv ] || { echo "osip-diff: no disagreement"; exit 0; }
# count, side, reason; the input is build/osip-diff/SIDE/HASH.sip
sort -t$'\t' -k2,2 -k1,1nr groups.tsv |
	awk -F'\t' '{ printf "%9d  %-8s %s  (%s/%s.sip)\n", $1, $2, $3, $2, $4 }'
