#!/usr/bin/env python3
"""soak_verdict.py - the verdict of a bench/soak.sh run, from what the run wrote.

Owns the rules (bench/soak.sh's header lists them); does not run anything. Kept
apart from the script so that tests/integration/soak.sh can give it samples of a
daemon that leaks and see it refuse them.

Inputs: --tsv, the samples (s, vm_data_kib, rss_anon_kib, rss_shmem_kib, fds,
threads, cpu_ticks, calls_active, rx, rx_bad, answered_4xx; a header line naming
them first); --uac,
sipshard-load's JSON; --after, the sample taken once the uac ended its calls
(tab-separated, as a line of the TSV). Writes --out (JSON: the samples, the
growth, the uac's figures, the failures, "verdict"), prints the summary and
"soak: PASS" or "soak: FAIL: REASONS", and exits 0 or 1.
"""
import argparse
import json
import sys

# a leak of one small allocation per request or per call passes this in minutes
VM_DATA_GROWTH_MAX_KIB = 1024


def number(v):
    return int(v) if v.strip().lstrip("-").isdigit() else None


def load_samples(path):
    """The header's column names, and the samples under load (those whose first
    column is a number of seconds), each a dict keyed by those names; a column
    the daemon's files did not give ('-') is None."""
    lines = [line.rstrip("\n").split("\t") for line in open(path)]
    names = lines[0]
    return names, [{k: number(v) for k, v in zip(names, r)} for r in lines[1:] if r and r[0].isdigit()]


def cpu_per_k(a, b):
    """The daemon's CPU (ms) per 1000 datagrams received between samples a and b
    (clock ticks of 10 ms), or None."""
    if None in (a.get("cpu_ticks"), b.get("cpu_ticks"), a.get("rx"), b.get("rx")):
        return None
    rx = b["rx"] - a["rx"]
    return round((b["cpu_ticks"] - a["cpu_ticks"]) * 10.0 * 1000 / rx, 2) if rx > 0 else None


def judge(a):
    fail = []
    try:
        names, samples = load_samples(a.tsv)
    except (OSError, ValueError, IndexError) as e:
        names, samples = [], []
        fail.append("the samples could not be read: %s" % e)
    try:
        uac = json.load(open(a.uac))
    except (OSError, ValueError):
        uac = {}
        fail.append("the uac wrote no figures (exit %s)" % a.uac_rc)
    errors = uac.get("errors", {}).get("total")
    if uac and errors != 0:
        fail.append("the uac counted %s errors" % errors)
    calls_left = dict(zip(names, a.after.split("\t"))).get("calls_active", "no statistics")
    if calls_left != "0":
        fail.append("calls still up after the uac ended its calls: %s" % calls_left)
    if a.alive != 1:
        fail.append("the daemon was no longer running at the end")
    if a.daemon_rc != 0:
        fail.append("the daemon exited %d on SIGTERM" % a.daemon_rc)
    if a.sanitizer_reports:
        fail.append("%d sanitizer reports" % a.sanitizer_reports)

    growth = anon_growth = cpu_early = cpu_late = None
    if len(samples) < 4:
        fail.append("only %d samples: too few for a verdict on memory" % len(samples))
    else:
        # from the first sample a quarter into the run: what a warm-up touches
        # first (pools, tables) lies before it
        base = next(s for s in samples if s["s"] >= a.seconds / 4 or s is samples[-2])
        last = samples[-1]
        memory = ("vm_data_kib", "rss_anon_kib")
        if any(s[k] is None for s in (base, last) for k in memory):
            fail.append("a sample lacks the daemon's memory (its /proc files were gone)")
        else:
            anon_growth = last["rss_anon_kib"] - base["rss_anon_kib"]
            if not a.sanitized:
                growth = last["vm_data_kib"] - base["vm_data_kib"]
            if growth is not None and growth > VM_DATA_GROWTH_MAX_KIB:
                fail.append("VmData grew %d KiB from %d s to %d s" % (growth, base["s"], last["s"]))
        # the CPU per datagram in the second quarter and in the last: reported
        # (the host moves it by up to half from one hour to the next), not judged
        n = len(samples)
        cpu_early = cpu_per_k(samples[n // 4], samples[n // 2])
        cpu_late = cpu_per_k(samples[3 * n // 4], samples[-1])
        for key in ("fds", "threads"):
            seen = sorted({s[key] for s in samples[1:] if s[key] is not None})
            if len(seen) > 1:
                fail.append("%s changed during the run: %s" % (key, seen))

    result = {
        "seconds": a.seconds,
        "samples": samples,
        "vm_data_growth_kib": growth,
        "rss_anon_growth_kib": anon_growth,
        "cpu_ms_per_1000_datagrams": {"second_quarter": cpu_early, "last_quarter": cpu_late},
        "uac": {
            "calls_replaced": uac.get("calls", {}).get("mix_completed"),
            "requests": uac.get("requests", {}).get("mix_completed"),
            "requests_per_second": uac.get("requests", {}).get("per_second"),
            "errors": uac.get("errors"),
        },
        "failures": fail,
        "verdict": "FAIL" if fail else "PASS",
    }
    return result


def main():
    ap = argparse.ArgumentParser(description="the verdict of a bench/soak.sh run")
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--uac", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--uac-rc", type=int, required=True)
    ap.add_argument("--daemon-rc", type=int, required=True)
    ap.add_argument("--alive", type=int, required=True)
    ap.add_argument("--sanitizer-reports", type=int, required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--sanitized", type=int, default=0)
    a = ap.parse_args()
    r = judge(a)
    with open(a.out, "w") as f:
        json.dump(r, f, indent=1)
    if a.sanitized:
        print("# VmData not judged: a sanitizer's allocator holds freed memory; its reports "
              "(AddressSanitizer's leak check at the daemon's exit) are the judge: %d" %
              a.sanitizer_reports)
    print("# %s in-dialog requests answered, %s calls replaced, uac errors %s; after the first "
          "quarter VmData grew %s KiB, RssAnon %s KiB" %
          (r["uac"]["requests"], r["uac"]["calls_replaced"], (r["uac"]["errors"] or {}).get("total"),
           r["vm_data_growth_kib"], r["rss_anon_growth_kib"]))
    cpu = r["cpu_ms_per_1000_datagrams"]
    print("# the daemon's CPU per 1000 datagrams received: %s ms in the second quarter, %s ms in "
          "the last" % (cpu["second_quarter"], cpu["last_quarter"]))
    print("soak: PASS" if not r["failures"] else "soak: FAIL: " + "; ".join(r["failures"]))
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
