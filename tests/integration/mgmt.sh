#!/usr/bin/env bash
# The management socket and sipshardctl against a running sipshardd: stats,
# config and reload answer; hostile or idle clients are answered and dropped
# without holding up call setup; a second daemon cannot take the socket, a
# stale one is replaced, and the daemon removes its socket when it stops.
# The Prometheus endpoint (metrics_listen) serves the same counters.
set -u
cd "$(dirname "$0")/../.."
# the sanitizer build of the daemon when there is one: requests are parsed and
# answered on the controller thread
ASAN_DAEMON=1
. tests/integration/common.bash
CTL=$BUILD/sipshardctl

D_PORT=15260
B1_PORT=15280
B2_PORT=15290
M_PORT=15299 # metrics
R_PORT=15297 # a registrar nobody runs: a registration whose name needs escaping in metrics
SOCK=$WORK/mgmt/sipshardd.sock # its directory does not exist yet: the daemon makes it
CFG=$WORK/mgmt.json
LOG=$WORK/mgmt.log

# with_socket FILE [EXTRA]: write_config plus this test's management socket.
with_socket() {
	write_config "$1" ", \"management_socket\": \"$SOCK\", \"metrics_listen\": \"127.0.0.1:$M_PORT\",
	\"registrations\": [ { \"name\": \"acme \\\"east\\\" \\\\ 2\", \"registrar\": \"127.0.0.1:$R_PORT\",
	\"aor\": \"sip:a@127.0.0.1\" } ] ${2:-}"
}

# exchange ADDR TEXT: sends TEXT (backslash escapes such as \r\n expanded) to
# ADDR, a Unix socket path or a TCP port on 127.0.0.1, and prints all it gets
# back until the peer closes.
exchange() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
addr, text = sys.argv[1], sys.argv[2].encode().decode("unicode_escape").encode("latin1")
if addr.isdigit():
    s = socket.create_connection(("127.0.0.1", int(addr)))
else:
    s = socket.socket(socket.AF_UNIX)
    s.connect(addr)
s.sendall(text)
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
print(out.decode(), end="")
PY
}

# http REQUEST: to the metrics endpoint. ask TEXT: a line to the management socket.
http() { exchange "$M_PORT" "$1"; }
ask() { exchange "$SOCK" "$1\n"; }

# wait_socket: waits until the daemon's management socket exists.
wait_socket() {
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	return 1
}

B_PORT=$B1_PORT
with_socket "$CFG"
# --log-level wins over the file's log_level ("info"), as --workers does
start_daemon mgmt "$CFG" --log-level debug
wait_socket
check "the daemon made the socket's directory and the socket, mode 0600" \
	test "$(stat -c %a "$SOCK")" = 600
check "stats answers with both workers and no call" \
	test "$("$CTL" -s "$SOCK" stats | python3 -c 'import json,sys; j=json.load(sys.stdin); print(len(j["workers"]), j["controller"]["calls_active"])')" = "2 0"
run_flow mgmt "a call through the daemon" uac_info_bye.xml uas_info_bye.xml 1
check "stats count the call's three INFOs" \
	test "$("$CTL" -s "$SOCK" stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["relayed_requests"]["INFO"])')" = 3
check "config (socket found through -c) shows the route in service" \
	test "$("$CTL" -c "$CFG" config | python3 -c 'import json,sys; print(json.load(sys.stdin)["routes"][0]["target"])')" = "127.0.0.1:$B1_PORT"
check "config shows the log level in force, --log-level's (debug), not the file's" \
	test "$("$CTL" -s "$SOCK" config | python3 -c 'import json,sys; print(json.load(sys.stdin)["log_level"])')" = debug

# reload through the socket
B_PORT=$B2_PORT
with_socket "$CFG"
out=$("$CTL" -s "$SOCK" reload)
check "reload answers 'reloaded FILE'" test "$out" = "reloaded $CFG"
sleep 0.1
check "config shows the reloaded route" \
	test "$("$CTL" -s "$SOCK" config | python3 -c 'import json,sys; print(json.load(sys.stdin)["routes"][0]["target"])')" = "127.0.0.1:$B2_PORT"
check "after a reload of a file with log_level info, config still shows --log-level's debug" \
	test "$("$CTL" -s "$SOCK" config | python3 -c 'import json,sys; print(json.load(sys.stdin)["log_level"])')" = debug
run_flow mgmt "after sipshardctl reload, calls follow the new route" \
	uac_info_bye.xml uas_info_bye.xml 1
sed "s/127.0.0.1:$D_PORT/127.0.0.1:$((D_PORT + 5))/" "$CFG" >"$WORK/moved.json"
cp "$WORK/moved.json" "$CFG"
out=$("$CTL" -s "$SOCK" reload)
check "a restart-only change comes back as a warning" \
	grep -q "^warning: listen changed in $CFG; it takes effect at the next start$" <<<"$out"
with_socket "$CFG" ', "limits": { "burst": -1 }'
"$CTL" -s "$SOCK" reload >"$WORK/bad.out" 2>"$WORK/bad.err"
rc=$?
check "a bad file: exit 1 and the key path on stderr" \
	bash -c "[ $rc = 1 ] && grep -q 'sipshardctl: reload: $CFG: limits.burst' \"\$1\"" _ "$WORK/bad.err"
# -c reads only the socket from the file: the bad file (the one being edited)
# still reaches the daemon, which refuses it and says why
"$CTL" -c "$CFG" reload >"$WORK/bad-c.out" 2>"$WORK/bad-c.err"
rc=$?
check "-c with a bad file: the daemon refuses the reload (exit 1, key path)" \
	bash -c "[ $rc = 1 ] && grep -q 'sipshardctl: reload: $CFG: limits.burst' \"\$1\"" _ "$WORK/bad-c.err"
check "-c with a bad file: stats still answer" bash -c '"$1" -c "$2" stats >/dev/null' _ "$CTL" "$CFG"
# a file whose listen moves to IPv6 with an IPv6 target: listen waits for the
# next start, so the target could not be reached from the socket in service
with_socket "$WORK/v6.json"
sed -e "s/127.0.0.1:$D_PORT/[::1]:$D_PORT/" -e "s/127.0.0.1:$B_PORT/[::1]:$B_PORT/" \
	-e "s/127.0.0.1:$R_PORT/[::1]:$R_PORT/" \
	"$WORK/v6.json" >"$CFG"
check "(that file alone is valid)" bash -c '"$1" -c "$2" --check-config >/dev/null' _ "$SIPSHARDD" "$CFG"
"$CTL" -s "$SOCK" reload >"$WORK/v6.out" 2>"$WORK/v6.err"
rc=$?
check "a reload whose targets only the next start's listen reaches is refused, naming the key" \
	bash -c "[ $rc = 1 ] && grep -q 'routes\[0\].target: an IPv6 target cannot be reached from listen' \"\$1\"" _ "$WORK/v6.err"
check "and the route in service stays" \
	test "$("$CTL" -s "$SOCK" config | python3 -c 'import json,sys; print(json.load(sys.stdin)["routes"][0]["target"])')" = "127.0.0.1:$B2_PORT"

# hostile and idle clients
check "not JSON: an error that shows the expected form" \
	grep -q '"ok":false,"error":"expected one JSON object such as' <<<"$(ask 'nonsense')"
check "unknown command: an error that lists the commands" \
	grep -q 'unknown command \\"halt\\"; expected stats, targets, registrations, disable, enable, config, reload, drain, dialogs, bye, info, message or refer' <<<"$(ask '{"command": "halt"}')"
check "a request over 4096 bytes: an error, not a reset" \
	grep -q 'request longer than the limit' <<<"$(ask "$(head -c 5000 /dev/zero | tr '\0' x)")"
python3 - "$SOCK" >"$WORK/idle.out" <<'PY' &
import socket, sys, time
idle = []
for i in range(10):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    idle.append(s)
time.sleep(0.2)
print(idle[-1].recv(1000).decode().strip())  # past the 8 waiting clients
t = time.time()
print(idle[0].recv(1000).decode().strip(), round(time.time() - t) <= 3)
# the other seven are dropped the same way, each 2 s after the daemon took it,
# which on a loaded machine can be some ms after the first: read before the
# script exits, or its exit closes them first and they are not dropped
for s in idle[1:8]:
    s.settimeout(5)
print("others", sum(b"no complete request line" in s.recv(1000) for s in idle[1:8]))
PY
idle_pid=$!
sleep 0.5
run_flow mgmt "a call while eight idle clients wait on the socket" \
	uac_info_bye.xml uas_info_bye.xml 1
wait "$idle_pid"
check "the ninth idle client is answered busy" grep -q '"error":"busy' "$WORK/idle.out"
check "an idle client is answered and dropped after 2 s" \
	grep -q 'no complete request line within 2000 ms.* True$' "$WORK/idle.out"
check "so are the seven other idle clients" grep -qx 'others 7' "$WORK/idle.out"
# sipshardctl while eight clients wait: the busy answer reaches it (exit 1);
# the daemon closed the socket with the request unread, which reset it, and
# sipshardctl said "Connection reset by peer" or "Broken pipe" (exit 3, as
# for no daemon at all)
python3 - "$SOCK" "$CTL" >"$WORK/busy.out" <<'PY'
import socket, subprocess, sys, time
idle = []
for _ in range(8):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    idle.append(s)
time.sleep(0.1)
for _ in range(3):
    r = subprocess.run([sys.argv[2], "-s", sys.argv[1], "stats"], capture_output=True, text=True)
    print(r.returncode, "busy" in r.stderr, r.stderr.strip())
PY
check "sipshardctl with eight clients waiting gets the busy answer (exit 1), three times of three" \
	test "$(grep -c '^1 True' "$WORK/busy.out")" = 3
# the eight clients above close as their script exits, which the daemon sees
# on its next turn: until then a ninth is answered busy (exit 1), not counted
for _ in $(seq 1 50); do
	"$CTL" -s "$SOCK" stats >"$WORK/mgmt-stats.json" 2>/dev/null && break
	sleep 0.1
done
# dropped: the two clients past the eight, the eight idle ones, the three
# sipshardctl answered busy (and any busy answer of the loop above)
check "stats count requests, errors and dropped clients" \
	test "$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["management"]; print(m["errors"] >= 4 and m["dropped"] >= 13)' "$WORK/mgmt-stats.json")" = True

# the Prometheus endpoint
http 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >"$WORK/metrics.out"
check "GET /metrics: 200, the text format's content type" \
	bash -c "head -1 \"\$1\" | grep -q '^HTTP/1.1 200 OK' && grep -qi '^Content-Type: text/plain; version=0.0.4' \"\$1\"" _ "$WORK/metrics.out"
python3 - "$WORK/metrics.out" >"$WORK/metrics.check" 2>"$WORK/metrics.types" <<'PY'
import re, sys
head, body = open(sys.argv[1], newline="").read().split("\r\n\r\n", 1)
length = int(re.search(r"Content-Length: (\d+)", head).group(1))
lines = [l for l in body.splitlines() if not l.startswith(("# TYPE ", "# HELP "))]
lv = r'"(?:[^"\\\n]|\\["\\n])*"'  # a label value: \\, \" and \n escaped
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*=' + lv + r'(,[a-zA-Z_][a-zA-Z0-9_]*=' + lv + r')*\})? (-?[0-9.e+]+)$')
bad = [l for l in lines if not line_re.match(l)]
names = [line_re.match(l).group(1) for l in lines if line_re.match(l)]
grouped = all(names.index(n) + names.count(n) - 1 == len(names) - 1 - names[::-1].index(n) for n in set(names))
series = [l.rsplit(" ", 1)[0] for l in lines]
v = {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1]) for l in lines if not l.startswith("#")}
print(len(body.encode()) == length, not bad, grouped, len(series) == len(set(series)),
      v.get("sipshard_controller_calls_answered", 0) >= 3,
      v.get('sipshard_totals_relayed_requests{method="INFO"}', 0) >= 3,
      v.get('sipshard_worker_rx{worker="1"}', -1) >= 0,
      'sipshard_controller_registration_registered{registration="acme \\"east\\" \\\\ 2"}' in v)
# each group opens with its TYPE line, once: gauges for what goes down too
types, prev, expect, ordered = {}, None, None, True
for l in body.splitlines():
    if l.startswith("# HELP "):
        continue
    if l.startswith("# TYPE "):
        _, _, n, t = l.split(" ")
        types.setdefault(n, []).append(t)
        expect = n
    else:
        n = re.split(r"[{ ]", l, maxsplit=1)[0]
        ordered = ordered and (n == prev or n == expect)
        prev, expect = n, None
print("typed", ordered and all(len(t) == 1 for t in types.values()) and set(types) == set(names),
      types.get("sipshard_controller_calls_active") == ["gauge"],
      types.get("sipshard_controller_calls_answered") == ["counter"],
      types.get("sipshard_io_info") == ["gauge"], file=sys.stderr)
PY
check "the body: Content-Length right, every line valid, one group per metric, no series twice" \
	grep -q '^True True True True' "$WORK/metrics.check"
check "it counts the calls and INFOs so far, per worker too" \
	grep -q 'True True True True$' "$WORK/metrics.check"
check "a registration named with a quote and a backslash: its label escaped" \
	grep -q 'True$' "$WORK/metrics.check"
# there were no TYPE lines: every metric untyped, a gauge (calls_active)
# not to be told from a counter
check "a TYPE line opens each metric's group: gauge or counter as the value moves" \
	grep -qx 'typed True True True True' "$WORK/metrics.types"
# there were no HELP lines. The text format (0.0.4) wants one HELP and one
# TYPE per family, before its samples (here: HELP, TYPE, then every sample
# of the family together); a HELP's text escapes backslash as \\ and line
# feed as \n, and no other
python3 - "$WORK/metrics.out" >"$WORK/metrics.help" <<'PY'
import itertools, re, sys
head, body = open(sys.argv[1], newline="").read().split("\r\n\r\n", 1)
seq, bad = [], []
for l in body.split("\n")[:-1]:
    m = re.fullmatch(r"# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)", l)
    if m:
        seq.append((m.group(2), m.group(1), m.group(3)))
        if m.group(1) == "HELP" and not re.fullmatch(r"(?:[^\\\n]|\\\\|\\n)+", m.group(3)):
            bad.append(l)  # empty, or a backslash that escapes neither \\ nor n
    elif l.startswith("#"):
        bad.append(l)
    else:
        seq.append((re.split(r"[{ ]", l, maxsplit=1)[0], "sample", None))
runs = [(n, [k for _, k, _ in g]) for n, g in itertools.groupby(seq, key=lambda e: e[0])]
names = [n for n, _ in runs]
shaped = all(k[:2] == ["HELP", "TYPE"] and len(k) > 2 and set(k[2:]) == {"sample"} for _, k in runs)
# the fallback for a family the table does not describe
fallback = [n for n, k, t in seq if k == "HELP" and "no description" in t]
print(not bad, shaped, len(names) == len(set(names)), not fallback, len(names) > 100)
for l in bad + fallback:
    print("#", l)
PY
sed 's/^/# /' "$WORK/metrics.help" # the verdicts, and the lines at fault
check "each metric family: one HELP, one TYPE, then its samples; each HELP valid and the family's own" \
	grep -qx 'True True True True True' "$WORK/metrics.help"
check "another path: 404" grep -q '^HTTP/1.1 404' <<<"$(http 'GET / HTTP/1.0\r\n\r\n')"
# HEAD was answered 405: it is answered as GET is, without the body (RFC
# 9110 9.3.1, 9.3.2: the same header fields, Content-Length the GET's)
http 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >"$WORK/head.out"
check "HEAD /metrics: 200, the GET's Content-Type and a Content-Length, no body" \
	python3 - "$WORK/head.out" "$WORK/metrics.out" <<'PY'
import re, sys
head, body = open(sys.argv[1], newline="").read().split("\r\n\r\n", 1)
get = open(sys.argv[2], newline="").read().split("\r\n\r\n", 1)[0]
field = lambda h, n: re.search(r"(?im)^" + n + r": *(.*?)\r?$", h).group(1)
length = int(field(head, "Content-Length"))
# the counters moved between the two (management.requests): a length near the GET's
sys.exit(not (head.startswith("HTTP/1.1 200 OK\r\n") and body == "" and
              field(head, "Content-Type") == field(get, "Content-Type") and
              abs(length - int(field(get, "Content-Length"))) < 64))
PY
http 'HEAD / HTTP/1.1\r\n\r\n' >"$WORK/head404.out"
check "HEAD of another path: 404 without a body" \
	python3 -c 'import sys; h, b = open(sys.argv[1], newline="").read().split("\r\n\r\n", 1); sys.exit(not (h.startswith("HTTP/1.1 404 ") and b == ""))' "$WORK/head404.out"
check "another method: 405 with Allow: GET, HEAD" \
	bash -c "grep -q '^HTTP/1.1 405' <<<\"\$1\" && grep -q '^Allow: GET, HEAD' <<<\"\$1\"" _ "$(http 'POST /metrics HTTP/1.1\r\n\r\n')"
check "not HTTP: 400" grep -q '^HTTP/1.1 400' <<<"$(http 'hello\n\n')"
check "a head over 4096 bytes: 431" \
	grep -q '^HTTP/1.1 431' <<<"$(http "GET /metrics HTTP/1.1\r\nX: $(head -c 5000 /dev/zero | tr '\0' x)\r\n\r\n")"
check "a head that never ends: 408 after 2 s" grep -q '^HTTP/1.1 408' <<<"$(http 'GET /metrics HTTP/1.1\r\n')"

# one socket, one daemon
second_cfg=$WORK/second.json
D_PORT=$((D_PORT + 7)) with_socket "$second_cfg"
# its own run_dir: the first daemon's shard files would stop it before the socket
sed -i "s|\"run_dir\": \"$WORK/run\"|\"run_dir\": \"$WORK/run-second\"|" "$second_cfg"
"$SIPSHARDD" -c "$second_cfg" 2>"$WORK/second.log"
rc=$?
check "a second daemon on the same socket exits 1 and says why" \
	bash -c "[ $rc = 1 ] && grep -q 'management_socket $SOCK: another process answers on it' \"\$1\"" _ "$WORK/second.log"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
check "a daemon killed with -9 leaves its socket behind" test -S "$SOCK"
with_socket "$CFG"
start_daemon restarted "$CFG"
for _ in $(seq 1 50); do
	grep -q "management socket $SOCK\$" "$WORK/restarted.log" && break
	sleep 0.1
done
check "the next daemon replaces the stale socket and answers" \
	bash -c "grep -q 'was left over by a process that is gone' \"\$1\" && \"\$2\" -s \"\$3\" stats >/dev/null" \
	_ "$WORK/restarted.log" "$CTL" "$SOCK"
stop_daemon
check "a daemon that stops removes its socket" test ! -e "$SOCK"
"$CTL" -s "$SOCK" stats 2>"$WORK/none.err"
rc=$?
check "no daemon: exit 3 and a hint" \
	bash -c "[ $rc = 3 ] && grep -q 'is sipshardd running' \"\$1\"" _ "$WORK/none.err"
"$CTL" -s "$SOCK" shutdown 2>/dev/null
check "an unknown command is a usage error (exit 2)" test $? = 2
# -t bounds the whole exchange: sipshardctl gave up only after -t seconds
# with no byte, so a socket that answered one byte every 0.25 s kept
# `-t 1 stats` running until the whole answer was in (10 s, exit 0). A
# fake management socket that trickles its answer so, and one whose
# backlog is full (connect waits): each gives up after -t seconds, or -t
# plus --wait for a command that waits for a final status, with exit 3.
cat >"$WORK/fakesock.py" <<'PY'
import os, socket, sys, threading, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
if mode == "backlog":
    s.listen(0)  # one connection queued fills it: the next connect waits
    c = socket.socket(socket.AF_UNIX)
    c.connect(path)
    open(path + ".ready", "w").close()
    time.sleep(120)
s.listen(8)
open(path + ".ready", "w").close()
def serve(c):
    c.recv(4096)
    for b in b'{"ok": true, "stats": {"x": 1}' + b" " * 9 + b"}\n":  # 40 bytes
        c.send(bytes([b]))
        time.sleep(0.25)
    c.close()
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
PY
start_bg python3 "$WORK/fakesock.py" "$WORK/trickle.sock" trickle
start_bg python3 "$WORK/fakesock.py" "$WORK/backlog.sock" backlog
for _ in $(seq 1 50); do
	[ -e "$WORK/trickle.sock.ready" ] && [ -e "$WORK/backlog.sock.ready" ] && break
	sleep 0.1
done
# timed NAME ARGS...: sipshardctl ARGS, stderr in $WORK/NAME.err; prints its
# exit status and the ms it took
timed() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s%N)
	"$CTL" "$@" >/dev/null 2>"$WORK/$name.err"
	rc=$?
	echo "$rc $((($(date +%s%N) - t0) / 1000000))"
}
read -r rc ms <<<"$(timed trickle -s "$WORK/trickle.sock" -t 1 stats)"
check "-t 1 against an answer trickling a byte every 0.25 s: exit 3 after 1 s, not 10 s (took $ms ms, exit $rc)" \
	bash -c "[ $rc = 3 ] && [ $ms -ge 950 ] && [ $ms -lt 2000 ] &&
		grep -q 'trickle.sock: no answer within 1000 ms' \"\$1\"" _ "$WORK/trickle.err"
read -r rc ms <<<"$(timed trickle_wait -s "$WORK/trickle.sock" -t 1 info CID --to caller --wait 1500)"
check "-t 1 --wait 1500 against the trickling answer: exit 3 after 2.5 s (took $ms ms, exit $rc)" \
	bash -c "[ $rc = 3 ] && [ $ms -ge 2450 ] && [ $ms -lt 3500 ] &&
		grep -q 'trickle.sock: no answer within 2500 ms' \"\$1\"" _ "$WORK/trickle_wait.err"
read -r rc ms <<<"$(timed backlog -s "$WORK/backlog.sock" -t 1 stats)"
check "-t 1 against a socket whose backlog is full: exit 3 after 1 s (took $ms ms, exit $rc)" \
	bash -c "[ $rc = 3 ] && [ $ms -ge 950 ] && [ $ms -lt 2000 ] &&
		grep -q 'backlog.sock: no answer within 1000 ms' \"\$1\"" _ "$WORK/backlog.err"
# an info or message the daemon could only refuse is bad usage, told without
# a daemon (exit 2); before, it was sent and refused (1), or no daemon (3)
ctl_rc() {
	"$CTL" -s "$SOCK" "$@" >/dev/null 2>&1
	echo $?
}
big_body=$(head -c 1025 /dev/zero | tr '\0' x)
check "info --body without --type, message without --body or --type, a body over 1024 bytes: exit 2" \
	test "$(ctl_rc info CID --to caller --body hello) $(ctl_rc message CID --to callee --type text/plain) $(ctl_rc message CID --to callee --body hi) $(ctl_rc message CID --to callee --type text/plain --body "$big_body")" = "2 2 2 2"
check "info without a body and message with both are sent (exit 3: no daemon)" \
	test "$(ctl_rc info CID --to caller) $(ctl_rc message CID --to callee --type text/plain --body hi)" = "3 3"
# --check-config checks the command line the service would start with
"$SIPSHARDD" -c "$CFG" --log-level bogus --check-config >/dev/null 2>"$WORK/loglevel.err"
rc=$?
check "--check-config refuses a bad --log-level (exit 2, what was expected)" \
	bash -c "[ $rc = 2 ] && grep -q \"log-level: expected error, warn, info or debug, got 'bogus'\" \"\$1\"" _ "$WORK/loglevel.err"
# and prints the configuration it would run with: --log-level's level, as
# --workers' count (it printed the file's "info")
check "--check-config -l debug -w 3 prints log_level debug and workers 3" \
	test "$("$SIPSHARDD" -c "$CFG" -l debug -w 3 --check-config | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["log_level"], j["workers"])')" = "debug 3"
for f in "$WORK/mgmt.log" "$WORK/restarted.log"; do
	check "no sanitizer report in $(basename "$f")" \
		bash -c "! grep -q 'Sanitizer\|runtime error' \"\$1\"" _ "$f"
done
# examples/CONFIG.md says examples/sipshardd.json sets every key: 11 were
# left out (the effective configuration names every key)
missing=$(python3 - "$SIPSHARDD" <<'PY'
import json, subprocess, sys
def keys(o, p=""):
    out = set()
    if isinstance(o, dict):
        for k, v in o.items():
            q = p + "." + k if p else k
            out |= {q} | keys(v, q)
    elif isinstance(o, list):
        for v in o:
            out |= keys(v, p + "[]")
    return out
ex = "examples/sipshardd.json"
eff = json.loads(subprocess.run([sys.argv[1], "-c", ex, "--check-config"],
                                capture_output=True, check=True, text=True).stdout)
# "target" and "targets" are two spellings of one key
print(" ".join(sorted(k for k in keys(eff) - keys(json.load(open(ex)))
                      if not k.startswith("routes[].target"))))
PY
)
check "examples/sipshardd.json sets every key (missing: ${missing:-none})" test -z "$missing"
# sipshardd --help named 4 of the 13 commands its socket answers, and said
# that a restart drops the calls still setting up (setups.tbl keeps them)
"$SIPSHARDD" --help >"$WORK/help.out"
missing=$(grep -o 'command, "[a-z]*")' user/daemon/daemon.c | cut -d'"' -f2 | sort -u |
	while read -r c; do tr -s ' \n' '  ' <"$WORK/help.out" | grep -q "[ :,]$c[,. ]" || echo "$c"; done)
check "sipshardd --help names every command the socket answers (missing: ${missing:-none})" \
	test -z "$missing"
# and the README's wire format, which named 6 of them
wire=$(sed -n '/The commands and their members:/,/The daemon serves it/p' README.md | tr -s ' \n' '  ')
missing=$(grep -o 'command, "[a-z]*")' user/daemon/daemon.c | cut -d'"' -f2 | sort -u |
	while read -r c; do echo "$wire" | grep -q "\`$c\`" || echo "$c"; done)
check "README's wire format names every command the socket answers (missing: ${missing:-none})" \
	test -z "$missing"
# the README's list of integration tests lacked three of them (cancel.sh,
# transfer.sh, transfer_timeout.sh), and the ports they take
tests_text=$(sed -n '/and the integration tests:/,/run one suite at a time/p' README.md | tr -s ' \n' '  ')
missing=$(for f in tests/integration/*.sh; do
	b=$(basename "$f")
	echo "$tests_text" | grep -q "\`$b\`" || echo "$b"
done)
check "README's list of integration tests names every script (missing: ${missing:-none})" \
	test -z "$missing"
outside=$(grep -ohE '\b1[5-6][0-9]{3}\b' tests/integration/*.sh tests/integration/*.py | sort -un |
	while read -r p; do
		echo "$tests_text" | grep -oE '[0-9]{5}-[0-9]{5}' | awk -F- -v p="$p" \
			'p >= $1 && p <= $2 { f = 1 } END { exit !f }' || echo "$p"
	done)
check "README's port ranges hold every port the integration tests use (outside: ${outside:-none})" \
	test -z "$outside"
check "sipshardd --help: calls setting up go on across a restart; exit statuses given" \
	bash -c '! grep -q "setting up are dropped" "$1" && grep -q "Exit status" "$1"' _ "$WORK/help.out"
# every option a program takes is in its --help: udp_echo's left out -a, -t
# and -h (the long options are read from each source's struct option table,
# the short ones from its getopt string)
missing=$(python3 - <<'PY'
import re, subprocess
progs = {"build/sipshardd": "user/cmd/sipshardd.c", "build/sipshardctl": "user/cmd/sipshardctl.c",
         "build/sipshard-parse": "user/cmd/sipshard_parse.c", "build/sipshard-load": "bench/load/main.c",
         "build/parse_bench": "bench/parse_bench.c", "build/udp_echo": "bench/udp_echo.c",
         "build/steer_bench": "bench/steer_bench.c"}
missing = []
for prog, src in progs.items():
    text = open(src).read()
    longs = re.findall(r'\{"([a-z0-9-]+)",\s*(?:no|required|optional)_argument', text)
    shorts = "".join(re.findall(r'getopt_long\([^"]*"([^"]*)"', text)).replace(":", "")
    r = subprocess.run([prog, "--help"], capture_output=True, text=True)
    out = r.stdout + r.stderr
    missing += ["%s:--%s" % (prog, o) for o in longs if not re.search(r"--%s\b" % re.escape(o), out)]
    missing += ["%s:-%s" % (prog, o) for o in shorts if not re.search(r"(^|[\s,\[])-%s\b" % o, out)]
    if not longs:
        missing.append("%s: no options read from %s" % (prog, src))
print(" ".join(missing))
PY
)
check "every program's --help names each option it takes (missing: ${missing:-none})" test -z "$missing"
