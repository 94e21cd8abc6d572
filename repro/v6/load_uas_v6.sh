#!/bin/sh
# sipshard-load's uas never sends to --target, yet "--role uas --local [::1]:PORT"
# alone was refused ("must be of the same address family as --target": the
# IPv4 default of a flag the uas does not use); so was a uac given only an
# IPv6 --target. Exit status 0 when both start. Usage (from the clone's top):
#   repro/v6/load_uas_v6.sh
rc=0
timeout 2 build/sipshard-load --role uas --local '[::1]:31070' --duration 1 \
	--max-calls 64 --pending 64 >/tmp/a5-load-uas.out 2>&1
[ $? -eq 0 ] || { echo "uas on [::1]: $(tail -1 /tmp/a5-load-uas.out)"; rc=1; }
timeout 5 build/sipshard-load --role uac --target '[::1]:31071' --calls 1 --duration 0 --t1-ms 10 \
	>/tmp/a5-load-uac.out 2>&1
grep -q "same address family" /tmp/a5-load-uac.out &&
	{ echo "uac to [::1]: $(grep 'same address family' /tmp/a5-load-uac.out)"; rc=1; }
[ $rc -eq 0 ] && echo "both start with an IPv6 address alone"
rm -f /tmp/a5-load-uas.out /tmp/a5-load-uac.out
exit $rc
