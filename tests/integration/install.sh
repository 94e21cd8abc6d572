#!/usr/bin/env bash
# make install and the systemd unit: the programs land where the unit expects
# them and run from there, the unit's commands take the example configuration,
# and systemd finds nothing wrong in the unit.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/common.bash

DEST=$WORK/root
make --no-print-directory -s install DESTDIR="$DEST" >"$WORK/install.log" 2>&1
check "make install DESTDIR=... succeeds" test $? = 0
for p in sipshardd sipshardctl sipshard-parse sipshard-load; do
	check "$p installed to /usr/local/bin and runs (--help)" \
		bash -c '"$1" --help >/dev/null' _ "$DEST/usr/local/bin/$p"
done
unit=examples/sipshardd.service
check "the unit starts the installed daemon" \
	grep -q '^ExecStart=/usr/local/bin/sipshardd -c /etc/sipshard/sipshardd.json$' "$unit"
check "the example configuration passes the unit's --check-config" \
	bash -c '"$1" -c examples/sipshardd.json --check-config >/dev/null' _ "$DEST/usr/local/bin/sipshardd"
drain=$(json_get examples/sipshardd.json 'j["timers"]["drain_s"]')
stop=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
check "TimeoutStopSec ($stop s) outlasts the example's drain_s ($drain s)" test "$stop" -gt "$drain"
mount_unit=examples/run-sipshard.mount
check "the mount unit gives root's default run_dir (/run/sipshard) a tmpfs with huge=advise" \
	bash -c 'grep -q "^Where=/run/sipshard$" "$1" && grep -q "^Type=tmpfs$" "$1" &&
		grep -q "^Options=.*huge=advise" "$1"' _ "$mount_unit"
check "the service starts after that mount (RequiresMountsFor, in [Unit])" \
	bash -c 'sed -n "/^\[Unit\]/,/^\[/p" "$1" | grep -q "^RequiresMountsFor=/run/sipshard$"' _ "$unit"
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/bin/|$DEST/usr/local/bin/|g" "$unit" >"$WORK/sipshardd.service"
	systemd-analyze verify "$WORK/sipshardd.service" >"$WORK/verify.log" 2>&1
	# what it says of this unit; a machine without a running systemd may add
	# lines about itself, which are not the unit's problems
	check "systemd-analyze verify finds nothing wrong in the unit" \
		bash -c '! grep -q "^sipshardd.service:" "$1"' _ "$WORK/verify.log"
	if [ -s "$WORK/verify.log" ]; then sed 's/^/#   /' "$WORK/verify.log"; fi
	systemd-analyze verify examples/run-sipshard.mount >"$WORK/verify-mount.log" 2>&1
	check "systemd-analyze verify finds nothing wrong in the run_dir mount unit" \
		bash -c '! grep -q "^run-sipshard.mount:" "$1"' _ "$WORK/verify-mount.log"
	if [ -s "$WORK/verify-mount.log" ]; then sed 's/^/#   /' "$WORK/verify-mount.log"; fi
else
	echo "# systemd-analyze is not installed: the unit was not verified (no check counted)"
fi
