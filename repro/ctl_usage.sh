#!/usr/bin/env bash
# sipshardctl: an info/message whose --type/--body make a request the daemon
# can only refuse is bad usage (exit 2, as --help's "Exit status" says, and
# told without a daemon), not sent: before, it was sent, refused (exit 1) or,
# with no daemon, "no daemon reached" (exit 3).
cd "$(dirname "$0")/.."
CTL=build/sipshardctl
fail=0
body=$(head -c 1025 /dev/zero | tr '\0' x)
check() { # WANT_RC DESCRIPTION ARGS...
	local want=$1 what=$2
	shift 2
	out=$("$CTL" -s /nonexistent/sipshardd.sock "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ]; then echo "ok   $what (exit $rc): $out"; else
		echo "FAIL $what: exit $rc, want $want: $out"; fail=1; fi
}
check 2 "info with --body and no --type" info CID --to caller --body hello
check 2 "message without --body" message CID --to callee --type text/plain
check 2 "message without --type" message CID --to callee --body hi
check 2 "a body over 1024 bytes" message CID --to callee --type text/plain --body "$body"
check 3 "info with no body (valid: the daemon is not there)" info CID --to caller
check 3 "message with both (valid)" message CID --to callee --type text/plain --body hi
exit $fail
