#!/usr/bin/env bash
# Runs every suite that `make test` built and sums them. Last line: "N passed, N failed".
#   unit:        build/tests/test_*        (cmocka)
#   asan:        build/asan/tests/test_*   (cmocka under ASan + UBSan)
#   tsan:        build/tsan/tests/test_*   (those that start threads, under ThreadSanitizer:
#                a data race makes the binary exit non-zero, a failure)
#   fuzz:        build/fuzz/fuzz_*         (libFuzzer, FUZZ_SMOKE_SECONDS each, seeds from
#                tests/data/NAME_corpus for fuzz_NAME, else tests/data/corpus)
#   integration: tests/integration/*.sh    (each prints "ok NAME" / "not ok NAME" lines)
# ONLY=unit|asan|tsan|fuzz|integration runs one kind; FUZZ_CORPUS_DIR=DIR keeps each
# fuzzer's corpus (and crash files) in DIR/NAME instead of a temporary directory.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-30}
ONLY=${ONLY:-}
passed=0
failed=0
skipped=0
log_dir=$BUILD/test-logs
mkdir -p "$log_dir"

want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

# cmocka prints "[  PASSED  ] N test(s).", "[  FAILED  ] N test(s), listed below:"
# and "[  SKIPPED ] N test(s), listed below:"
run_cmocka() {
	local bin=$1 kind=$2 log p f k
	log=$log_dir/$kind-$(basename "$bin").log
	"$bin" >"$log" 2>&1
	local rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	k=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0}
	f=${f:-0}
	k=${k:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or aborted before cmocka could count
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + k))
	# a skipped test (no IPv6, no io_uring, no namespace here) counts as
	# neither: it is shown, with the reason its log gives
	printf '%-6s %-40s %4d passed %4d failed%s\n' "$kind" "$(basename "$bin")" "$p" "$f" \
		"$([ "$k" -eq 0 ] || echo " $k skipped")"
	# (cmocka names a skipped test twice: when it runs, and in its list)
	[ "$k" -eq 0 ] || grep -E '^\[  SKIPPED \] test|SKIP:' "$log" | awk '!seen[$0]++' |
		sed 's/^/    /' | head -10
	[ "$f" -eq 0 ] || sed 's/^/    /' "$log" | grep -E 'FAILED|ERROR|Assert|error|Sanitizer' | head -20
}

if want unit; then
	for t in "$BUILD"/tests/test_*; do [ -x "$t" ] && run_cmocka "$t" unit; done
fi
if want asan; then
	for t in "$BUILD"/asan/tests/test_*; do [ -x "$t" ] && run_cmocka "$t" asan; done
fi
if want tsan; then
	# a race fails the binary by its exit status: exitcode last, so that a
	# caller's TSAN_OPTIONS cannot set it to 0
	for t in "$BUILD"/tsan/tests/test_*; do
		[ -x "$t" ] && TSAN_OPTIONS="${TSAN_OPTIONS:-} exitcode=66" run_cmocka "$t" tsan
	done
fi
# runs_alone ITEM: the item (a script) says "# run-alone" in its first lines.
runs_alone() { head -30 "$1" 2>/dev/null | grep -aq '^# run-alone'; }
# in_lanes N FN ITEM...: FN ITEM for every item, N at once, each writing its
# own outcome file; the items that run alone (runs_alone) come first, one
# after the other, with none beside them: each one met in the list's order
# had to wait for the lanes to empty, and one lane stood idle while the other
# finished its script.
in_lanes() {
	local lanes=$1 fn=$2 item running=0
	shift 2
	for item in "$@"; do
		runs_alone "$item" && "$fn" "$item"
	done
	for item in "$@"; do
		runs_alone "$item" && continue
		"$fn" "$item" &
		running=$((running + 1))
		if [ "$running" -ge "$lanes" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
}
# Seeds of fuzz_NAME: tests/data/NAME_corpus when it exists, else the parser's.
fuzz_seeds() {
	local d=tests/data/${1#fuzz_}_corpus
	[ -d "$d" ] && echo "$d" || echo tests/data/corpus
}
# One fuzzer: runs FUZZ_SMOKE_SECONDS and writes its outcome line to $1.out
# (its log to the test-logs folder), so that several can run side by side.
run_fuzzer() {
	local f=$1 name work log seeds
	name=$(basename "$f")
	# FUZZ_CORPUS_DIR keeps what the fuzzer learns (make fuzz); else a temp dir
	if [ -n "${FUZZ_CORPUS_DIR:-}" ]; then
		work=$FUZZ_CORPUS_DIR/$name
		mkdir -p "$work"
	else
		work=$(mktemp -d)
	fi
	log=$log_dir/fuzz-$name.log
	seeds=$(fuzz_seeds "$name")
	if "$f" -max_total_time="$FUZZ_SMOKE_SECONDS" -max_len=65535 -timeout=10 \
		-artifact_prefix="$work/" "$work" "$seeds" >"$log" 2>&1; then
		printf '%-6s %-40s ok (%s)\n' fuzz "$name" "$(grep -o 'Done [0-9]* runs' "$log" | tail -1)" >"$log.out"
	else
		{
			printf '%-6s %-40s FAILED, see %s\n' fuzz "$name" "$log"
			tail -30 "$log" | sed 's/^/    /'
		} >"$log.out"
	fi
	[ -n "${FUZZ_CORPUS_DIR:-}" ] || rm -rf "$work"
}
if want fuzz; then
	# Each fuzzer is one process busy on one CPU for its whole time, so as many
	# run at once as there are CPUs: the suite waits for each for less, and each
	# still gets its full FUZZ_SMOKE_SECONDS.
	fuzzers=()
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		fuzzers+=("$f")
		rm -f "$log_dir/fuzz-$(basename "$f").log.out"
	done
	in_lanes "$(nproc 2>/dev/null || echo 1)" run_fuzzer "${fuzzers[@]}"
	for f in "${fuzzers[@]}"; do
		out=$log_dir/fuzz-$(basename "$f").log.out
		if [ -f "$out" ] && head -1 "$out" | grep -q ' ok ('; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
		cat "$out" 2>/dev/null || printf '%-6s %-40s FAILED, no outcome\n' fuzz "$(basename "$f")"
		rm -f "$out"
	done
fi
# One integration script: its log to the test-logs folder and its outcome
# ("P F", then the lines to show on failure) to $log.out.
run_integration() {
	local s=$1 log p f rc start=$SECONDS
	log=$log_dir/integration-$(basename "$s" .sh).log
	bash "$s" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	{
		echo "$p $f $((SECONDS - start))"
		if [ "$f" -ne 0 ]; then
			grep -E '^not ok|^#' "$log" | sed '/^# logs of this run kept/,$d' | head -30 |
				sed 's/^/    /'
			sed -n '/^# logs of this run kept/,$p' "$log" | head -150 | sed 's/^/    /'
		fi
	} >"$log.out"
}
if want integration; then
	# Most scripts spend their time waiting on timers and peers, not on a CPU,
	# and each has its own ports and work folder, so INTEG_LANES of them run
	# side by side (default: one per CPU). A script whose figures need the
	# machine to itself says "# run-alone" in its first lines and runs with no
	# other beside it.
	scripts=()
	for s in tests/integration/*.sh; do
		[ -f "$s" ] || continue
		scripts+=("$s")
		rm -f "$log_dir/integration-$(basename "$s" .sh).log.out"
	done
	in_lanes "${INTEG_LANES:-$(nproc 2>/dev/null || echo 1)}" run_integration "${scripts[@]}"
	for s in "${scripts[@]}"; do
		out=$log_dir/integration-$(basename "$s" .sh).log.out
		if [ -f "$out" ]; then
			read -r p f secs <"$out"
		else
			p=0 f=1 secs=0
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		# the seconds it took (beside others in its lane): where the
		# suite's time goes
		printf '%-6s %-40s %4d passed %4d failed %4ds\n' integ "$(basename "$s")" "$p" "$f" \
			"$secs"
		[ -f "$out" ] && tail -n +2 "$out"
		rm -f "$out"
	done
fi
[ "$skipped" -eq 0 ] || echo "$skipped skipped (not counted; listed above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
