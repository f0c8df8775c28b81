#!/usr/bin/env python3
"""One row per `der bench --json` report in a folder: the choose-*.sh scripts' table.

    python3 scripts/der-bench-table.py target/bench/mask-period "s annealed over"
"""
import glob
import json
import sys

folder, first_column = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "run"
print(f"| {first_column} | average incremental (validation) | last | updates per step (each seed) | training s per run |")
print("|---|---:|---:|---|---:|")
for path in sorted(glob.glob(f"{folder}/*.json")):
    r = json.load(open(path))
    if "runs" not in r:  # one seed: a single report, its accuracies as fractions
        r = {"runs": [r], "avg_incremental_accuracy": {"mean": 100 * r["avg_incremental_accuracy"], "sd": 0.0},
             "last_accuracy": {"mean": 100 * r["last_accuracy"], "sd": 0.0}}
    avg, last = r["avg_incremental_accuracy"], r["last_accuracy"]
    updates = ["/".join(str(s.get("updates", "?")) for s in run["steps"]) for run in r["runs"]]
    seconds = sum(s["train_seconds"] for run in r["runs"] for s in run["steps"]) / len(r["runs"])
    name = path.rsplit("/", 1)[-1][: -len(".json")]
    print(f"| {name} | {avg['mean']:.2f} ± {avg['sd']:.2f} | {last['mean']:.2f} ± {last['sd']:.2f} "
          f"| {'; '.join(updates)} | {seconds:.0f} |")
