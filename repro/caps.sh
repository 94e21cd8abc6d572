#!/bin/bash
# FIX-1 reproducer: README says CAP_BPF and CAP_NET_ADMIN are enough to attach
# the steering program. Start sipshardd (root uid, bounding set cut to the
# named capabilities) on port 32500 and show what the log says about steering.
# Fails (exit 1) when the documented set does not attach, or when the log does
# not tell the operator which capability is missing.
cd "$(dirname "$0")/.."
run=/work/audit-8/run-caps; mkdir -p $run; chmod 700 $run
cat > $run/c.json <<J
{ "listen": "127.0.0.1:32500", "workers": 2, "run_dir": "$run", "management_socket": null,
  "capacity": {"setups": 64}, "routes": [ { "target": "127.0.0.1:32501" } ] }
J
st=0
for caps in "bpf,+net_admin" "bpf,+perfmon"; do
	log=$(timeout -s INT 3 setpriv --inh-caps=-all --bounding-set=-all,+$caps -- \
		build/sipshardd -c $run/c.json --discard-dialogs 2>&1 | grep -E '^sipshardd: (warn|info: BPF)')
	echo "caps $caps: $log"
done
# the README's claim
doc=$(grep -o 'or with CAP_[A-Z_]* and CAP_[A-Z_]*' README.md)
echo "README: $doc"
case "$doc" in *PERFMON*) ;; *) echo "FAIL: README names a set that does not attach"; st=1 ;; esac
log=$(timeout -s INT 3 setpriv --inh-caps=-all --bounding-set=-all,+bpf,+net_admin -- \
	build/sipshardd -c $run/c.json --discard-dialogs 2>&1 | grep -E '^sipshardd: warn')
case "$log" in *CAP_PERFMON*) ;; *) echo "FAIL: the warning does not name CAP_PERFMON"; st=1 ;; esac
rm -rf $run
exit $st
