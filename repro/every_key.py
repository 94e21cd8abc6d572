#!/usr/bin/env python3
"""FIX-4 reproducer: examples/CONFIG.md says examples/sipshardd.json "sets
every key". List the keys the effective configuration has (sipshardd
--check-config of the example) that the example leaves out. Exit 1 if any."""
import json, subprocess, sys

def keys(o, p=""):
    out = set()
    if isinstance(o, dict):
        for k, v in o.items():
            q = f"{p}.{k}" if p else k
            out.add(q)
            out |= keys(v, q)
    elif isinstance(o, list):
        for v in o:
            out |= keys(v, p + "[]")
    return out

ex = "examples/sipshardd.json"
eff = json.loads(subprocess.run(["build/sipshardd", "-c", ex, "--check-config"],
                                capture_output=True, check=True, text=True).stdout)
written = keys(json.load(open(ex)))
# "target" and "targets" are two spellings of one key; advertise is derived
missing = sorted(k for k in keys(eff) - written
                 if not k.startswith("routes[].targets") and not k.startswith("routes[].target"))
for k in missing:
    print("not in the example:", k)
sys.exit(1 if missing else 0)
