#!/usr/bin/env bash
# bench/soak.sh, short, and its verdict (bench/soak_verdict.py):
#   1. 20 s of calls that come and go with hostile datagrams beside them,
#      against the real sipshardd ($SIPSHARDD): it passes, with a sample
#      every 2 s, the daemon's VmData judged (not in a sanitizer build, whose
#      reports judge instead: AddressSanitizer's leak check at exit), the hostile datagrams seen
#      (rx_bad), every call ended;
#   2. the verdict refuses what a daemon that leaks or loses its way would
#      give: VmData that grows, a descriptor more, calls left up, a sample
#      without the daemon's memory, uac errors, a daemon gone or exiting 1, a
#      sanitizer report; and the same samples
#      without the fault pass, so each refusal is the fault's doing;
#   3. a bad argument is refused up front (exit 2), saying what was expected.
# Prints "ok NAME" / "not ok NAME".
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

export SUT_PORT=16900 CALLEE_PORT=16901

# 1. the real run, of the daemon the suite runs (SIPSHARDD: the sanitizer
# build's in a sanitizer run, whose leak check at exit is then the judge)
bench/soak.sh --build "$(dirname "$SIPSHARDD")" --seconds 20 --interval 2 --calls 200 \
	--req-rate 500 --hostile-rate 100 --out "$WORK/soak" >"$WORK/soak.out" 2>&1
rc=$?
sed 's/^/# /' "$WORK/soak.out" | tail -16
check "soak.sh, 20 s against sipshardd: it passes (exit $rc)" \
	bash -c '[ "$1" = 0 ] && grep -qx "soak: PASS" "$2"' _ "$rc" "$WORK/soak.out"
check "soak.json: a sample every 2 s, VmData judged (under a sanitizer, its reports), requests answered, hostile datagrams seen, CPU per datagram" \
	python3 - "$WORK/soak/soak.json" "$WORK/soak/soak.tsv" \
	"$(ldd "$SIPSHARDD" 2>/dev/null | grep -c 'libasan\|libtsan')" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
rows = [l.split("\t") for l in open(sys.argv[2])][1:]
rx_bad = max(int(r[9]) for r in rows if r[9].strip().isdigit())
ok = (j["verdict"] == "PASS" and len(j["samples"]) >= 8
      and (isinstance(j["vm_data_growth_kib"], int) or sys.argv[3] == "1")
      and j["uac"]["requests"] > 1000
      and j["uac"]["calls_replaced"] > 0 and rx_bad > 100
      and all(v > 0 for v in j["cpu_ms_per_1000_datagrams"].values()))
sys.exit(0 if ok else 1)
PY

# 2. the verdict, on samples written here
samples() { # FILE VMDATA_STEP FDS_AT_LAST
	printf 's\tvm_data_kib\trss_anon_kib\trss_shmem_kib\tfds\tthreads\tcpu_ticks\tcalls_active\trx\trx_bad\tanswered_4xx\n' >"$1"
	local i
	for i in 0 1 2 3 4 5 6 7 8 9; do
		local fds=26
		[ "$i" = 9 ] && fds=$3
		printf '%d\t%d\t160000\t400000\t%d\t4\t%d\t200\t%d\t%d\t0\n' $((i * 2)) \
			$((276000 + i * $2)) "$fds" $((i * 50)) $((i * 1000)) $((i * 10)) >>"$1"
	done
}
echo '{"errors": {"total": 0}, "calls": {"mix_completed": 50}, "requests": {"mix_completed": 9000}}' \
	>"$WORK/uac-ok.json"
echo '{"errors": {"total": 2}, "calls": {"mix_completed": 50}, "requests": {"mix_completed": 9000}}' \
	>"$WORK/uac-errors.json"
END_OK=$(printf 'end\t276000\t160000\t400000\t26\t4\t500\t0\t9000\t90\t0')
END_CALLS=$(printf 'end\t276000\t160000\t400000\t26\t4\t500\t3\t9000\t90\t0')
# verdict TSV: the verdict of those samples for a run that ended as it
# should; a case names its fault by setting one of UAC, AFTER, DAEMON_RC,
# ALIVE, REPORTS or SANITIZED for its call
verdict() {
	python3 bench/soak_verdict.py --tsv "$1" --uac "${UAC:-$WORK/uac-ok.json}" \
		--after "${AFTER:-$END_OK}" --uac-rc 0 --daemon-rc "${DAEMON_RC:-0}" \
		--alive "${ALIVE:-1}" --sanitizer-reports "${REPORTS:-0}" --seconds 20 \
		--sanitized "${SANITIZED:-0}" --out "$WORK/v.json"
}
# refused TEXT TSV: exit 1, saying TEXT
refused() {
	local out
	out=$(verdict "$2")
	[ $? = 1 ] && grep -q "^soak: FAIL: .*$1" <<<"$out"
}
# passes TEXT TSV: exit 0, "soak: PASS", saying TEXT on the way
passes() {
	local out
	out=$(verdict "$2") && grep -qx "soak: PASS" <<<"$out" && grep -q "$1" <<<"$out"
}
samples "$WORK/flat.tsv" 0 26
samples "$WORK/leak.tsv" 300 26   # 1.8 MiB from the sample at 6 s (a quarter in) to the last
samples "$WORK/fd.tsv" 0 27
# the daemon's /proc files gone at the last sample: fields left empty
sed '$ s/^18\t[0-9]*\t[0-9]*/18\t\t/' "$WORK/flat.tsv" >"$WORK/gone.tsv"
check "verdict: flat samples, a clean end: PASS" passes "VmData grew 0 KiB" "$WORK/flat.tsv"
check "verdict: VmData growing 300 KiB a sample is refused" \
	refused "VmData grew 1800 KiB from 6 s to 18 s" "$WORK/leak.tsv"
SANITIZED=1 check "verdict: the same growth under a sanitizer is not judged (its quarantine), and passes" \
	passes "VmData not judged" "$WORK/leak.tsv"
check "verdict: a descriptor more in the last sample is refused" \
	refused "fds changed during the run: \[26, 27\]" "$WORK/fd.tsv"
AFTER=$END_CALLS check "verdict: calls left up after the uac ended them are refused" \
	refused "calls still up after the uac ended its calls: 3" "$WORK/flat.tsv"
check "verdict: a sample without the daemon's memory is refused" \
	refused "a sample lacks the daemon's memory" "$WORK/gone.tsv"
UAC=$WORK/uac-errors.json check "verdict: uac errors are refused" \
	refused "the uac counted 2 errors" "$WORK/flat.tsv"
ALIVE=0 check "verdict: a daemon gone before the end is refused" \
	refused "the daemon was no longer running" "$WORK/flat.tsv"
DAEMON_RC=1 check "verdict: a daemon exiting 1 on SIGTERM is refused" \
	refused "the daemon exited 1 on SIGTERM" "$WORK/flat.tsv"
SANITIZED=1 REPORTS=1 check "verdict: a sanitizer report is refused" \
	refused "1 sanitizer reports" "$WORK/flat.tsv"

# 3. arguments
bench/soak.sh --seconds 2x >"$WORK/arg.out" 2>&1
rc=$?
check "soak.sh --seconds 2x: refused (exit $rc), saying what it expects" \
	bash -c '[ "$1" = 2 ] && grep -q "soak: --seconds expects a whole number above 0, got .2x." "$2"' \
	_ "$rc" "$WORK/arg.out"
