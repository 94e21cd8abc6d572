#!/bin/bash
# FIX-5 reproducer: `make demo` (scripts/demo.sh) and `make test` (tests/run.sh
# and tests/integration/*.sh) run python3, but scripts/deps.sh, which the README
# says installs what a fresh Debian 12 lacks, does not install it (a
# debian:12 image has no python3). Exit 1 when a command the two newcomer
# commands run is not in deps.sh's list (checked: python3).
cd "$(dirname "$0")/.."
st=0
uses=$(grep -l 'python3' scripts/demo.sh tests/integration/*.sh | wc -l)
pkgs=$(sed -n '/^pkgs=(/,/)/p' scripts/deps.sh | tr -s ' ()\t' '\n\n\n\n')
echo "files of make demo / make test that run python3: $uses"
echo "$pkgs" | grep -qx python3 || { echo "FAIL: scripts/deps.sh does not install python3"; st=1; }
exit $st
