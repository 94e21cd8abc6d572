#!/usr/bin/env bash
# sipshard-parse as an operator runs it: the JSON of a message (canonical
# names for compact forms, the parsed fields, the body length), --check,
# --respond, --stream records and the exit status of each (0 valid, 1
# invalid, 2 usage or input error), and an input error named on stderr.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

P=$BUILD/sipshard-parse
D=tests/data/corpus

# run NAME ARGS...: runs sipshard-parse, output in $WORK/NAME.out and .err,
# exit status in $WORK/NAME.rc
run() {
	local name=$1
	shift
	"$P" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	echo $? >"$WORK/$name.rc"
}
rc_is() { test "$(cat "$WORK/$1.rc")" = "$2"; }
# record FILE: FILE as one --stream record
record() {
	stat -c %s "$1"
	cat "$1"
}

# ---- flags and usage
run help --help
check "--help exits 0 and documents every flag" bash -c '
	rc=$(cat "$1/help.rc"); [ "$rc" = 0 ] || exit 1
	for f in "-c, --check" "-r, --respond" "-s, --stream" "-p, --pretty" "-h, --help"; do
		grep -qF -- "$f" "$1/help.out" || exit 1
	done' _ "$WORK"
run bogus --bogus "$D/bye.sip"
check "an unknown flag exits 2 with the usage on stderr" \
	bash -c '[ "$(cat "$1/bogus.rc")" = 2 ] && grep -q "^usage:" "$1/bogus.err" && [ ! -s "$1/bogus.out" ]' _ "$WORK"
run both -c -r "$D/bye.sip"
check "--check with --respond exits 2 and says they exclude each other" \
	bash -c '[ "$(cat "$1/both.rc")" = 2 ] && grep -q "exclude each other" "$1/both.err"' _ "$WORK"
run two "$D/bye.sip" "$D/ack.sip"
check "two FILEs exit 2" rc_is two 2
run missing "$WORK/no-such-file"
check "a missing FILE exits 2 and names it" \
	bash -c '[ "$(cat "$1/missing.rc")" = 2 ] && grep -q "cannot open .*no-such-file" "$1/missing.err"' _ "$WORK"
head -c 65536 /dev/zero | tr '\0' 'a' >"$WORK/big.sip"
run big "$WORK/big.sip"
check "a message over 65535 bytes exits 2 and says so" \
	bash -c '[ "$(cat "$1/big.rc")" = 2 ] && grep -q "larger than 65535" "$1/big.err"' _ "$WORK"

# ---- JSON
run compact "$D/compact_invite.sip"
check "a valid message exits 0" rc_is compact 0
check "compact forms are printed under their canonical names, in order" \
	bash -c 'python3 - "$1" <<"EOF"
import json, sys
j = json.load(open(sys.argv[1]))
names = [h["name"] for h in j["headers"]]
assert names[:7] == ["Via", "Max-Forwards", "To", "From", "Call-ID", "CSeq", "Contact"], names
EOF' _ "$WORK/compact.out"
check "the JSON holds the parsed fields and the body length" \
	bash -c 'python3 - "$1" "$2" <<"EOF"
import json, sys
j = json.load(open(sys.argv[1]))
raw = open(sys.argv[2], "rb").read()
body = raw[raw.index(b"\r\n\r\n") + 4:]
assert j["type"] == "request" and j["method"] == "INVITE", j
assert j["call_id"] == "cmp-a84b4c76e66710", j["call_id"]
assert j["from"]["tag"] == "88sja8x" and j["from"]["uri"]["host"] == "atlanta.example.com"
assert "tag" not in j["to"], j["to"]
assert j["cseq"] == {"number": 1, "method": "INVITE"}, j["cseq"]
assert j["via"][0]["branch"] == "z9hG4bKcmp1", j["via"]
assert j["body_length"] == len(body), (j["body_length"], len(body))
EOF' _ "$WORK/compact.out" "$D/compact_invite.sip"
run stdin - <"$D/compact_invite.sip"
check "standard input gives the same JSON as FILE" cmp -s "$WORK/stdin.out" "$WORK/compact.out"
run pretty -p "$D/compact_invite.sip"
check "--pretty indents the same JSON" bash -c '
	[ "$(wc -l <"$1/pretty.out")" -gt 20 ] &&
	python3 -c "import json,sys; assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))" \
		"$1/pretty.out" "$1/compact.out"' _ "$WORK"
run badjson "$D/bad_cseq_overflow.sip"
check "an invalid message exits 1 with {error, reason} naming the header" \
	bash -c '[ "$(cat "$1/badjson.rc")" = 1 ] && python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j[\"error\"] == \"bad-value\" and j[\"reason\"].startswith(\"CSeq: \"), j" "$1/badjson.out"' _ "$WORK"

# ---- --check
run cvalid -c "$D/bye.sip"
check "--check prints valid and exits 0" \
	bash -c '[ "$(cat "$1/cvalid.rc")" = 0 ] && [ "$(cat "$1/cvalid.out")" = valid ]' _ "$WORK"
run cbad -c "$D/bad_missing_callid.sip"
check "--check prints the reason and exits 1" \
	bash -c '[ "$(cat "$1/cbad.rc")" = 1 ] &&
		[ "$(cat "$1/cbad.out")" = "invalid: Call-ID: mandatory header missing" ]' _ "$WORK"

# ---- --respond
run r200 -r "$D/bye.sip"
check "--respond to a valid request: 200 with its Via, Call-ID and CSeq, exit 0" \
	bash -c '[ "$(cat "$1/r200.rc")" = 0 ] && python3 - "$1/r200.out" "$2" <<"EOF"
import sys
out = open(sys.argv[1], "rb").read()
req = open(sys.argv[2], "rb").read()
assert out.startswith(b"SIP/2.0 200 OK\r\n"), out[:40]
assert out.endswith(b"Content-Length: 0\r\n\r\n"), out[-40:]
lines = req.split(b"\r\n")
for name in (b"Via:", b"Call-ID:", b"CSeq:", b"From:"):
    want = [l for l in lines if l.startswith(name)]
    assert want and all(w + b"\r\n" in out for w in want), name
EOF' _ "$WORK" "$D/bye.sip"
run r400 -r "$D/bad_cseq_overflow.sip"
check "--respond to an invalid request: 400 with the reason and a To tag, exit 1" \
	bash -c '[ "$(cat "$1/r400.rc")" = 1 ] &&
		head -1 "$1/r400.out" | grep -q "^SIP/2.0 400 CSeq: sequence number must be" &&
		grep -q "^To: .*;tag=" "$1/r400.out"' _ "$WORK"
run r505 -r "$D/bad_version.sip"
check "--respond to a request of another SIP version: 505 (RFC 4475 3.1.2.16), exit 1" \
	bash -c '[ "$(cat "$1/r505.rc")" = 1 ] &&
		head -1 "$1/r505.out" | grep -q "^SIP/2.0 505 request line must end with SIP/2.0" &&
		grep -q "^To: .*;tag=" "$1/r505.out" && grep -q "^Call-ID: ver-1" "$1/r505.out"' _ "$WORK"
run rnone -r "$D/200_bye.sip"
check "--respond to a response prints nothing, says why and exits 1" \
	bash -c '[ "$(cat "$1/rnone.rc")" = 1 ] && [ ! -s "$1/rnone.out" ] &&
		grep -q "no response can be formed" "$1/rnone.err"' _ "$WORK"

# ---- --stream
{
	record "$D/bye.sip"
	echo # blank lines between records are skipped
	record "$D/bad_version.sip"
	record "$D/nul_in_body.sip"
	record "$D/200_bye.sip"
} >"$WORK/records"
run scheck -s -c "$WORK/records"
check "--stream --check: one line per datagram, in order, exit 1 for the invalid one" \
	bash -c '[ "$(cat "$1/scheck.rc")" = 1 ] &&
		[ "$(printf "valid\ninvalid: request line must end with SIP/2.0\nvalid\nvalid")" = "$(cat "$1/scheck.out")" ]' _ "$WORK"
run sjson -s "$WORK/records"
check "--stream JSON: a line of JSON per datagram, the same as each alone" \
	bash -c 'for f in bye bad_version nul_in_body 200_bye; do
			"$2" "$3/$f.sip"
		done >"$1/alone.out"; cmp -s "$1/alone.out" "$1/sjson.out"' _ "$WORK" "$P" "$D"
run sresp -s -r "$WORK/records"
run sresp_back -s -c "$WORK/sresp.out"
check "--stream --respond writes records that read back: 200, 505, 200 and an empty one" \
	bash -c '[ "$(cat "$1/sresp.rc")" = 1 ] && [ "$(cat "$1/sresp_back.rc")" = 1 ] &&
		[ "$(grep -c "^SIP/2.0 " "$1/sresp.out")" = 3 ] &&
		[ "$(sed -n 4p "$1/sresp_back.out")" = "invalid: too short to be a SIP message" ] &&
		[ "$(head -3 "$1/sresp_back.out" | sort -u)" = valid ]' _ "$WORK"
printf '%s\r\n' "$(stat -c %s "$D/bye.sip")" >"$WORK/crlf"
cat "$D/bye.sip" >>"$WORK/crlf"
run scrlf -s -c "$WORK/crlf"
check "--stream takes a length line ended by CRLF" \
	bash -c '[ "$(cat "$1/scrlf.rc")" = 0 ] && [ "$(cat "$1/scrlf.out")" = valid ]' _ "$WORK"

# a bad length line: exit 2, the datagrams before it still answered
n=0
for bad in '-1' '+-5' ' 5' '5 ' '70000' '65536' '99999999999999999999' 'abc' '0x10'; do
	n=$((n + 1))
	{
		record "$D/bye.sip"
		printf '%s\n' "$bad"
		cat "$D/bye.sip"
	} >"$WORK/badlen$n"
	run badlen$n -s -c "$WORK/badlen$n"
	check "--stream refuses the length line '$bad' (exit 2, named on stderr)" \
		bash -c '[ "$(cat "$1.rc")" = 2 ] && [ "$(cat "$1.out")" = valid ] &&
			grep -qF -- "found \"$2\"" "$1.err"' _ "$WORK/badlen$n" "$bad"
done
{
	printf '%s\n' "$(($(stat -c %s "$D/bye.sip") + 10))"
	cat "$D/bye.sip"
} >"$WORK/short"
run short -s -c "$WORK/short"
check "--stream: a record cut short exits 2 and says so" \
	bash -c '[ "$(cat "$1/short.rc")" = 2 ] && grep -q "input ends inside a datagram" "$1/short.err"' _ "$WORK"
printf '12' >"$WORK/noeol"
run noeol -s -c "$WORK/noeol"
check "--stream: input that ends inside a length line exits 2 and says so" \
	bash -c '[ "$(cat "$1/noeol.rc")" = 2 ] && grep -q "ends inside a length line" "$1/noeol.err"' _ "$WORK"
printf '%040d\n' 5 >"$WORK/longlen"
run longlen -s -c "$WORK/longlen"
check "--stream: an overlong length line exits 2 and says so" \
	bash -c '[ "$(cat "$1/longlen.rc")" = 2 ] && grep -q "line longer than" "$1/longlen.err"' _ "$WORK"
printf '65535\n' >"$WORK/max"
head -c 65535 "$D/invite_sdp.sip" /dev/zero | head -c 65535 >>"$WORK/max"
run max -s -c "$WORK/max"
check "--stream takes a 65535-byte datagram" \
	bash -c '[ "$(cat "$1/max.rc")" != 2 ] && [ "$(wc -l <"$1/max.out")" = 1 ]' _ "$WORK"

# a value that is not UTF-8 (a Latin-1 "e acute", which the parser accepts) is
# in the JSON with U+FFFD for each bad byte: jansson refused it, and the key
# was left out without a word (a header with a name and no value)
printf 'INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: "Ren\xe9" <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nSubject: caf\xe9 \xc3\xa9\r\nContent-Length: 0\r\n\r\n' >"$WORK/latin1.sip"
check "values that are not UTF-8 are in the JSON, each bad byte as U+FFFD" \
	bash -c '"$1" "$2" | python3 -c "
import json, sys
j = json.load(sys.stdin)
subj = [h for h in j[\"headers\"] if h[\"name\"] == \"Subject\"][0]
frm = [h for h in j[\"headers\"] if h[\"name\"] == \"From\"][0]
sys.exit(not (subj.get(\"value\") == \"caf\ufffd \u00e9\" and \"value\" in frm and j[\"from\"].get(\"display\") == \"Ren\ufffd\"))"' _ "$P" "$WORK/latin1.sip"

# Supported and Require may span lines (RFC 3261 7.3.1), and the library
# reads every line (sip_has_option_tag): the JSON gave the first line's
# value only, "timer" for a request that also supports 100rel
printf 'OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nSupported: timer\r\nRequire: timer\r\nk: 100rel, path\r\nSupported:\r\nRequire: 100rel\r\nContent-Length: 0\r\n\r\n' >"$WORK/options.sip"
check "supported and require join the values of every line, in order, with \", \"" \
	bash -c '"$1" "$2" | python3 -c "
import json, sys
j = json.load(sys.stdin)
sys.exit(not (j.get(\"supported\") == \"timer, 100rel, path\" and j.get(\"require\") == \"timer, 100rel\"))"' _ "$P" "$WORK/options.sip"

[ "$NOT_OK" -eq 0 ]
