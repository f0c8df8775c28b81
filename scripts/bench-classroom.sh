#!/usr/bin/env bash
# The page's defaults against `der bench` on the same images (issue #14): the first 60 training
# images of each Split-MNIST digit, split as the page splits a class (every 7th image kept aside
# for testing, classroom::studio), learned in 5 steps of 2 classes. `der bench` runs the split
# with the defaults and the augmentation the page gives uploaded photos (photo), 3 seeds; the
# page learns the same uploads in Chromium (tests/browser/classroom-bench.spec.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
out=target/classroom-bench
rm -rf "$out/data" && mkdir -p "$out"
python3 - "$data" "$out/data" <<'PY'
import os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
HOLDOUT_EVERY, PER_CLASS = 7, 60   # classroom::studio's holdout_every; the uploads per class
for digit in sorted(os.listdir(f"{src}/train")):
    for i in range(PER_CLASS):
        split = "test" if i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1 else "train"
        os.makedirs(f"{dst}/{split}/{digit}", exist_ok=True)
        shutil.copy(f"{src}/train/{digit}/{i}.png", f"{dst}/{split}/{digit}/{i}.png")
PY
cargo build --release --bin der
target/release/der bench --data "$out/data" --init-classes 2 --increment 2 --augment photo --seeds 3 --json "$out/der-bench.json" | tail -1
CLASSROOM_BENCH=1 npx playwright test tests/browser/classroom-bench.spec.mjs --project=cpu
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
bench, page = json.load(open(f"{out}/der-bench.json")), json.load(open(f"{out}/page.json"))
a = bench["avg_incremental_accuracy"]
print(f"der bench (3 seeds): average incremental {a['mean']:.2f} ± {a['sd']:.2f} %; the page (seed 1993): {page['average_incremental']:.1f} %;"
      f" difference {page['average_incremental'] - a['mean']:+.1f} points")
PY
