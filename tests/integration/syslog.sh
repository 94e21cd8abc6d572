#!/usr/bin/env bash
# log_target "syslog": sipshardd's lines go through syslog(3) to /dev/log,
# tagged sipshardd[PID], facility daemon, the level as priority, and no longer
# to stderr, but for the errors of a start that fails, which go to both. A Unix datagram listener stands in for the system logger: bind-
# mounted over /dev/log in a mount namespace of the daemon's own when the host
# has a /dev/log, else reached through a /dev/log symlink made for the test.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

D_PORT=15760
B_PORT=15780
LOGSOCK=$WORK/log.sock
SYSLOG=$WORK/syslog.txt

python3 - "$LOGSOCK" "$SYSLOG" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], 'ab', buffering=0) as f:
    f.write(b'')
    while True:
        f.write(s.recv(65536).replace(b'\n', b' ') + b'\n')
PY
PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$LOGSOCK" ] && break; sleep 0.1; done

if [ -e /dev/log ]; then
	RUNNER=(unshare -m bash -c 'mount --bind "$0" /dev/log && exec "$@"' "$LOGSOCK")
else
	ln -s "$LOGSOCK" /dev/log
	trap 'cleanup; rm -f /dev/log' EXIT
	RUNNER=()
fi

# wait_syslog PATTERN: waits until a received line matches (grep -E)
wait_syslog() {
	for _ in $(seq 1 50); do
		grep -Eq "$1" "$SYSLOG" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

write_config "$WORK/s.json" ', "management_socket": null, "log_target": "syslog"'
start_bg "${RUNNER[@]}" "$SIPSHARDD" -c "$WORK/s.json" 2>"$WORK/d.log"
DAEMON_PID=${PIDS[-1]}
wait_udp_port "$D_PORT" || not_ok "daemon started"

# <30>: facility daemon (3) * 8 + priority info (6)
check "info lines reach syslog as daemon.info, tagged with the pid" \
	wait_syslog "^<30>.*sipshardd\[$DAEMON_PID\]: info: listening on 127\.0\.0\.1:$D_PORT"
check "and not stderr" bash -c '! grep -q "listening on" "$1"' _ "$WORK/d.log"

cp "$WORK/s.json" "$WORK/good.json"
echo '{ "listen": ' >"$WORK/s.json"
kill -HUP "$DAEMON_PID"
# <27>: daemon.err
check "errors reach syslog as daemon.err" \
	wait_syslog "^<27>.*sipshardd\[$DAEMON_PID\]: error: reload refused"
write_config "$WORK/s.json" ', "management_socket": null, "log_target": "syslog", "tx_buffer_size": 4096'
kill -HUP "$DAEMON_PID"
# <28>: daemon.warning
check "warnings reach syslog as daemon.warning" \
	wait_syslog "^<28>.*sipshardd\[$DAEMON_PID\]: warn: reload: tx_buffer_size changed in $WORK/s.json"
stop_daemon
check "the daemon's stderr stayed empty" test ! -s "$WORK/d.log"

# a start that fails once the configuration is loaded (here: management_socket
# names a directory) exits 1 with the error printed (sipshardd --help), to
# stderr as well as to syslog: with no system logger (no /dev/log) that was
# lost, and stderr was empty
write_config "$WORK/nostart.json" ', "management_socket": "/", "log_target": "syslog"'
timeout 20 "${RUNNER[@]}" "$SIPSHARDD" -c "$WORK/nostart.json" 2>"$WORK/nostart.err" >/dev/null
rc=$?
check "syslog: a start that fails exits 1 and prints its reason on stderr (exit $rc)" \
	bash -c '[ "$1" = 1 ] && grep -q "^sipshardd: error: management_socket /: exists and is not a socket" "$2" &&
		grep -q "^sipshardd: error: cannot start: " "$2"' _ "$rc" "$WORK/nostart.err"
check "syslog: and syslog gets it too, as daemon.err" \
	wait_syslog "^<27>.*sipshardd\[[0-9]+\]: error: management_socket /: exists and is not a socket"
check "syslog: only the errors go to stderr, not the info lines of the start" \
	bash -c '! grep -qv "^sipshardd: error: " "$1"' _ "$WORK/nostart.err"

write_config "$WORK/bad.json" ', "log_target": "journal"'
check "an unknown log_target names the key and the choices" \
	bash -c '! "$1" -c "$2" --check-config 2>"$3" && grep -q "log_target: expected stderr or syslog" "$3"' \
	_ "$SIPSHARDD" "$WORK/bad.json" "$WORK/bad.err"
