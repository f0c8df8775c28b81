#!/usr/bin/env python3
"""Prints the step-time benchmark's tables (tests/browser/step-time.spec.mjs) as Markdown:
one row per step for each worker and label found in target/step-time/*.json."""
import glob
import json
import sys

paths = sorted(glob.glob(sys.argv[1] + "/*.json" if len(sys.argv) > 1 else "target/step-time/*.json"))
for path in paths:
    run = json.load(open(path))
    label = path.rsplit("/", 1)[-1][: -len(".json")]
    print(f"\n**{label}** ({run['badge'].splitlines()[0]}; {run['per_class']} uploaded images a class, "
          f"unseen: {run['test_per_class']} test images a class learned)\n")
    print("| step | seconds | updates | branches | kept-aside accuracy | unseen accuracy | why it stopped |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for s in run["steps"]:
        unseen = f"{s['unseen']:.1f}% of {s['unseen_images']}" if "unseen" in s else "—"
        print(f"| {s['step']} | {s['seconds']:.1f} | {s['updates']} | {s['branches']} | {s['kept_aside']:.0f}% | {unseen} | {s.get('stopped') or '—'} |")
    total = sum(s["seconds"] for s in run["steps"])
    first, last = run["steps"][0], run["steps"][-1]
    # A run of fewer steps (STEPS=N on WebGPU) compares its own last step, named as such.
    ratio = f"; step {last['step']} / step 1 = {last['seconds'] / first['seconds']:.2f}" if len(run["steps"]) > 1 else ""
    print(f"\nTotal {total:.0f} s{ratio}.")
