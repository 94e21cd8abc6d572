#!/bin/bash
# parser-diff.sh [REV] [SECONDS]: fuzzes the parser in the working tree against
# the parser at git revision REV (default HEAD) for SECONDS (default 120), and
# fails on the first input where the two disagree in any field.
#
# For work that must not change what the parser says, only how fast it says
# it: optimisations of user/sip/. Needs clang (libFuzzer) and binutils.
# Seeds: tests/data/corpus. Output and any failing input: build/parser-diff/.
set -euo pipefail

rev=${1:-HEAD}
seconds=${2:-120}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/parser-diff
cflags=(-O1 -g -std=c11 -D_GNU_SOURCE -fsanitize=address,fuzzer-no-link -I"$root/include")

rm -rf "$out"
mkdir -p "$out/ref/sip" "$out/ref/core" "$out/new" "$out/corpus"
for f in $(git -C "$root" ls-tree --name-only "$rev" user/sip/); do
	git -C "$root" show "$rev:$f" >"$out/ref/sip/$(basename "$f")"
done
# the library's headers from user/core (wbuf.h: the writer's bounded buffer)
for f in $(git -C "$root" ls-tree --name-only "$rev" user/core/ | grep '\.h$'); do
	git -C "$root" show "$rev:$f" >"$out/ref/core/$(basename "$f")"
done

# The reference build, its defined symbols renamed ref_*.
for c in "$out"/ref/sip/*.c; do
	clang "${cflags[@]}" -I"$out/ref" -c "$c" -o "$c.o"
done
ld -r "$out"/ref/sip/*.c.o -o "$out/ref.o"
nm --defined-only -g "$out/ref.o" | awk '{print $3 " ref_" $3}' >"$out/ref.syms"
objcopy --redefine-syms="$out/ref.syms" "$out/ref.o" "$out/ref_renamed.o"

for c in "$root"/user/sip/*.c; do
	clang "${cflags[@]}" -I"$root/user" -c "$c" -o "$out/new/$(basename "$c").o"
done
clang "${cflags[@]/fuzzer-no-link/fuzzer}" "$root/scripts/parser_diff.c" \
	"$out/ref_renamed.o" "$out"/new/*.o -lnettle -o "$out/parser_diff"

cp "$root"/tests/data/corpus/* "$out/corpus/"
echo "parser-diff: working tree against $rev for ${seconds}s"
cd "$out"
./parser_diff -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 corpus 2>"$out/log" ||
	{ tail -20 "$out/log"; echo "parser-diff: the builds disagree (input in $out)"; exit 1; }
grep -E "stat::number_of_executed_units" "$out/log" | sed 's/^/parser-diff: /'
echo "parser-diff: no difference"
