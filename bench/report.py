#!/usr/bin/env python3
"""Turns the comparison suite's per-run JSON (sipshard-load --json) into one
results.json, a markdown table and gnuplot plots (PNG and SVG). It reports
every per-run file it finds in DIR: compare.sh removes those of earlier runs
before it measures, so that they are this run's only.

    bench/report.py DIR
"""
import json
import os
import subprocess
import sys


def load(d, name):
    p = os.path.join(d, name + ".json")
    return json.load(open(p)) if os.path.exists(p) else None


def fig(run, *keys, default=0):
    cur = run
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            return default
        cur = cur[k]
    return cur


def main():
    d = sys.argv[1]
    systems = ["echo", "sipshard-1w-bpf", "sipshard-2w-bpf", "sipshard-2w-nobpf",
               "sipshard-2w-bpf-trunk", "kamailio-dialog", "kamailio-nodialog"]
    rows = []
    for s in systems:
        r = load(d, s)
        if not r:
            continue
        rate = fig(r, "requests", "per_second")
        done = fig(r, "requests", "completed")
        cpu = fig(r, "sut", "cpu_s")
        calls = fig(r, "params", "calls") or 1
        # memory the established calls added: PSS (proportional set size, so
        # shared memory counts once over a system's processes) with every call
        # up, minus PSS before the first call (fixed tables, rings, code excluded)
        pss_up = fig(r, "sut", "pss_kb_calls_up")
        pss = (pss_up - fig(r, "sut", "pss_kb_before_calls")) * 1024 if pss_up else None
        rows.append({
            "system": s, "requests_per_s": rate,
            "p50_us": fig(r, "latency_us", "p50"), "p99_us": fig(r, "latency_us", "p99"),
            "cpu_s_per_100k": (cpu / done * 100000) if done else None,
            "pss_bytes_per_call": (pss / calls) if s != "echo" and pss is not None else None,
            "errors": fig(r, "errors", "total"),
        })
    by = {r["system"]: r for r in rows}
    ceiling = fig(by, "echo", "requests_per_s") or None
    kam = fig(by, "kamailio-dialog", "requests_per_s") or None
    for r in rows:
        r["vs_ceiling"] = r["requests_per_s"] / ceiling if ceiling else None
        r["vs_kamailio_dialog"] = r["requests_per_s"] / kam if kam else None
    # the scaling series: tables on small pages (scale-N) and on huge pages
    # (scale-huge-N), each point measured side by side in the same run
    scale = []
    for n in (1000, 10000, 100000, 1000000):
        for pages, name in (("small", "scale-%d" % n), ("huge", "scale-huge-%d" % n)):
            r = load(d, name)
            if not r:
                continue
            pss_up = fig(r, "sut", "pss_kb_calls_up")
            pss = (pss_up - fig(r, "sut", "pss_kb_before_calls")) * 1024 / n if pss_up else None
            scale.append({"calls": n, "pages": pages,
                          "requests_per_s": fig(r, "requests", "per_second"),
                          "p99_us": fig(r, "latency_us", "p99"), "pss_bytes_per_call": pss,
                          "errors": fig(r, "errors", "total")})
    out = {"systems": rows, "scaling": scale, "machine": os.uname().nodename,
           "cpus": os.cpu_count()}
    json.dump(out, open(os.path.join(d, "results.json"), "w"), indent=1)

    def f(x, fmt):
        return fmt % x if isinstance(x, (int, float)) else "-"

    lines = ["| system | in-dialog req/s | p50 us | p99 us | CPU s / 100k req | PSS bytes / call | x ceiling | x Kamailio (dialog) | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["system"], f(r["requests_per_s"], "%.0f"), f(r["p50_us"], "%.0f"),
            f(r["p99_us"], "%.0f"), f(r["cpu_s_per_100k"], "%.2f"),
            f(r["pss_bytes_per_call"], "%.0f"), f(r["vs_ceiling"], "%.2f"),
            f(r["vs_kamailio_dialog"], "%.2f"), r["errors"]))
    if scale:
        lines += ["", "| established calls | tables on | req/s | p99 us | PSS bytes / call | x small pages | errors |",
                  "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
        small = {s["calls"]: s["requests_per_s"] for s in scale if s["pages"] == "small"}
        for s in scale:
            base = small.get(s["calls"])
            lines.append("| %d | %s pages | %.0f | %.0f | %s | %s | %s |" % (
                s["calls"], s["pages"], s["requests_per_s"], s["p99_us"],
                f(s["pss_bytes_per_call"], "%.0f"),
                f(s["requests_per_s"] / base if base else None, "%.2f"), s["errors"]))
    open(os.path.join(d, "table.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))

    dat = os.path.join(d, "throughput.dat")
    with open(dat, "w") as fh:
        for i, r in enumerate(rows):
            fh.write('%d "%s" %f\n' % (i, r["system"], r["requests_per_s"]))
    sdat = {}
    for pages in ("small", "huge"):
        sdat[pages] = os.path.join(d, "scaling-%s.dat" % pages)
        with open(sdat[pages], "w") as fh:
            for s in scale:
                if s["pages"] == pages:
                    fh.write("%d %f\n" % (s["calls"], s["requests_per_s"]))
    plots = ["'%s' using 1:2 with linespoints title 'sipshardd, 2 workers, tables on %s pages'"
             % (sdat[p], p) for p in ("small", "huge")
             if any(s["pages"] == p for s in scale)]
    for term, ext in (("pngcairo size 900,500", "png"), ("svg size 900,500", "svg")):
        script = """
set terminal %s
set output '%s/throughput.%s'
set style fill solid
set boxwidth 0.6
set ylabel 'in-dialog requests/s'
set xtics rotate by -30
plot '%s' using 1:3:xtic(2) with boxes notitle
set output '%s/scaling.%s'
set logscale x
set xrange [500:2000000]
set format x '%%.0s%%c'
set xlabel 'established calls'
set ylabel 'in-dialog requests/s'
set yrange [0:*]
set key left bottom
plot %s
""" % (term, d, ext, dat, d, ext, ", ".join(plots) or "NaN notitle")
        subprocess.run(["gnuplot"], input=script.encode(), check=False)


if __name__ == "__main__":
    main()
