#!/bin/bash
# sipshard-parse JSON: a header value or display name that is not valid UTF-8
# (a Latin-1 "é", which the parser accepts) must still appear in the JSON.
# Before the fix jansson refused the string and the key was silently left out.
# Usage: repro/cli_utf8.sh  (from the clone's root; exit 0 = pass)
set -u
P=${P:-build/sipshard-parse}
T=$(mktemp); trap 'rm -f "$T"' EXIT
printf 'INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: "Ren\xe9" <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nSubject: caf\xe9 \xc3\xa9\r\nContent-Length: 0\r\n\r\n' >"$T"
"$P" "$T" | python3 -c '
import json, sys
j = json.load(sys.stdin)
subj = [h for h in j["headers"] if h["name"] == "Subject"][0]
frm = [h for h in j["headers"] if h["name"] == "From"][0]
ok = subj.get("value") == "caf\ufffd \u00e9" and "value" in frm and j["from"].get("display") == "Ren\ufffd"
print("PASS" if ok else "FAIL: %r %r %r" % (subj, frm, j["from"]))
sys.exit(0 if ok else 1)'
