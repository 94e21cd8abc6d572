#!/bin/sh
# sipshardd --help must list every command the management socket answers
# (as sipshardctl --help does) and must not contradict CONFIG.md/README on
# what a restart keeps (calls still setting up survive it: setups.tbl).
cd "$(dirname "$0")/.." || exit 2
help=$(./build/sipshardd --help) || exit 2
rc=0
for cmd in stats targets registrations disable enable config reload drain dialogs bye info message refer; do
	echo "$help" | tr -s ' \n' '  ' | grep -q "[ :,]$cmd[,. ]" || { echo "FAIL: --help does not name command $cmd"; rc=1; }
done
echo "$help" | tr -s ' \n' '  ' | grep -q "calls still setting up are dropped" &&
	{ echo "FAIL: --help says calls still setting up are dropped (setups.tbl keeps them)"; rc=1; }
echo "$help" | grep -q "Exit status" || { echo "FAIL: --help gives no exit statuses"; rc=1; }
[ $rc = 0 ] && echo PASS
exit $rc
