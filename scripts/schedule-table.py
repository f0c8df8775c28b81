#!/usr/bin/env python3
"""The schedule table (markdown) from scripts/choose-schedule.sh's reports: validation average
incremental and last accuracy (mean ± sd over the seeds) and the parameters kept, per run."""
import json, pathlib, re, sys

folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench/schedule")

def figures(r):
    if "runs" in r:
        return r["avg_incremental_accuracy"], r["last_accuracy"], r["params_after"], len(r["seeds"])
    one = lambda v: {"mean": v, "sd": 0.0}
    return one(r["avg_incremental_accuracy"] * 100), one(r["last_accuracy"] * 100), one(r["steps"][-1]["params_after_prune"]), 1

rows = []
for path in folder.glob("*.json"):
    m = re.match(r"(der|der-noprune|replay)-u(\d+)(?:-l([\d.]+))?\.json", path.name)
    if m:
        rows.append((int(m[2]), m[1], float(m[3]) if m[3] else None, figures(json.loads(path.read_text()))))
print("| updates a step | method | λs | seeds | validation avg incremental (%) | last (%) | parameters after step 5 |")
print("|---|---|---|---|---|---|---|")
for u, method, l, (a, last, p, k) in sorted(rows, key=lambda r: (r[0], r[1], r[2] or 0)):
    print(f"| {u} | {method} | {'' if l is None else l} | {k} | {a['mean']:.2f} ± {a['sd']:.2f} | {last['mean']:.2f} ± {last['sd']:.2f} | {p['mean']:,.0f} |")
