#!/bin/sh
# listen "[::]" is documented as dual-stack (examples/CONFIG.md, routes[].target):
# it must take IPv4 peers whatever net.ipv6.bindv6only says. Runs in a network
# namespace of its own (the sysctl is per namespace; the host's is untouched),
# with bindv6only=1 as some hosts set it, and sends an IPv4 OPTIONS.
# Exit status 0 when it is answered. Usage (root, from the clone's top):
#   repro/v6/dual_bindv6only.sh
exec unshare -n sh -c '
ip link set lo up && sysctl -qw net.ipv6.bindv6only=1 || exit 2
W=$(mktemp -d /tmp/a5-v6only.XXXXXX)
cat >"$W/c.json" <<JSON
{ "listen": "[::]:31060", "advertise": "127.0.0.1", "workers": 2, "run_dir": "$W",
  "persist_dialogs": false,
  "capacity": {"dialogs_per_shard": 64, "transactions_per_shard": 64, "setups": 16},
  "routes": [ { "target": "127.0.0.1:31062" } ] }
JSON
build/sipshardd -c "$W/c.json" 2>"$W/d.log" & D=$!
sleep 0.8
python3 - <<PY
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 31061)); s.settimeout(1.5)
s.sendto(b"OPTIONS sip:127.0.0.1:31060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:31061;branch=z9hG4bKv6only\r\n"
         b"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\n"
         b"Call-ID: v6only@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", ("127.0.0.1", 31060))
try:
    print("IPv4 OPTIONS to [::]:31060 with bindv6only=1:", s.recv(65535).split(b"\r\n")[0].decode())
except socket.timeout:
    print("IPv4 OPTIONS to [::]:31060 with bindv6only=1: no answer"); sys.exit(1)
PY
rc=$?
kill -INT $D; wait $D; rm -rf "$W"; exit $rc'
