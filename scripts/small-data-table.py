#!/usr/bin/env python3
"""The small-data table (markdown) from `der bench --seeds K --json` reports in a folder
(scripts/bench-small-data.sh): average incremental and last accuracy, mean ± sd over the seeds,
and the parameters kept."""
import json, pathlib, re, sys

folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-small")
rows = []
for path in sorted(folder.glob("n*-*.json")):
    n, method, augment = re.match(r"n(\d+|all)-(.+)-(none|shift|photo)\.json", path.name).groups()
    r = json.loads(path.read_text())
    if "runs" not in r:  # one seed: the single-run report
        r = {"seeds": [0], "avg_incremental_accuracy": {"mean": r["avg_incremental_accuracy"] * 100, "sd": 0},
             "last_accuracy": {"mean": r["last_accuracy"] * 100, "sd": 0},
             "params_after": {"mean": r["steps"][-1]["params_after_prune"], "sd": 0}}
    rows.append((10**9 if n == "all" else int(n), augment, method, r))
print("| N per class | augmentation | method | seeds | average incremental (%) | last (%) | parameters after step 5 |")
print("|---|---|---|---|---|---|---|")
for n, augment, method, r in sorted(rows, key=lambda x: (x[0], x[1], x[2])):
    a, l, p = r["avg_incremental_accuracy"], r["last_accuracy"], r["params_after"]
    print(f"| {'all (~800)' if n == 10**9 else n} | {augment} | {method} | {len(r['seeds'])} | {a['mean']:.2f} ± {a['sd']:.2f} | {l['mean']:.2f} ± {l['sd']:.2f} | {p['mean']:,.0f} |")
