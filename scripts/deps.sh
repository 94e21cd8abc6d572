#!/usr/bin/env bash
# Installs the Debian packages sipshard builds, tests and benchmarks with.
# Idempotent: when everything is present it only runs dpkg queries.
set -euo pipefail

# python3: scripts/demo.sh and the integration tests read statistics and send
# raw datagrams with it (not in a minimal Debian 12)
pkgs=(gcc make clang llvm pkg-config bpftool liburing-dev libbpf-dev libjansson-dev
      libcmocka-dev libosip2-dev nettle-dev sip-tester libclang-rt-14-dev iproute2 procps
      dnsmasq-base python3)
if [ "${1:-}" = "--bench" ]; then
	pkgs+=(kamailio gnuplot-nox linux-perf)
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
