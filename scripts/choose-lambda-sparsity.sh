#!/usr/bin/env bash
# Chooses DER's sparsity weight λs on Split-MNIST without looking at the test images: the last
# 100 training images of each digit are held out as a validation split (`der bench --validation`),
# and each λs of the grid, plus DER without pruning, learns the benchmark's 5 steps on the rest.
#
# Rule, fixed before the runs: the largest λs of the grid (the smallest model) whose validation
# average incremental accuracy is at most 0.5 points below DER without pruning's. (The pruning
# budget of the benchmark is 1 point on the test split; half of it is kept as a margin.)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
grid=${GRID:-0.1 0.2 0.3 0.5}
out=target/bench/validation
cargo build --release --bin der
mkdir -p "$out"
# A private copy: rebuilding the crate while this runs must not swap the binary under it.
cp target/release/der "$out/der"
common=(--data "$data" --validation 100 --init-classes 2 --increment 2 --memory 200 --epochs 10 --seed 1993 --backend flex)
# A run whose report exists is not repeated (delete $out to start again).
run() {
  local name=$1; shift
  [ -s "$out/$name.json" ] && { echo "$name: kept from an earlier run ($out/$name.json)"; return; }
  "$out/der" bench "${common[@]}" "$@" --json "$out/$name.json.part" | tee "$out/$name.txt"
  mv "$out/$name.json.part" "$out/$name.json"
}
run der-noprune --method der-noprune
for l in $grid; do
  run "der-$l" --method der --lambda-sparsity "$l"
done
python3 - "$out" $grid <<'PY'
import json, sys
out, grid = sys.argv[1], sys.argv[2:]
ref = json.load(open(f"{out}/der-noprune.json"))
print(f"der-noprune: validation avg incremental {100*ref['avg_incremental_accuracy']:.3f}%, "
      f"{ref['steps'][-1]['params_after_prune']} parameters")
chosen = None
for l in grid:
    r = json.load(open(f"{out}/der-{l}.json"))
    loss = 100 * (ref['avg_incremental_accuracy'] - r['avg_incremental_accuracy'])
    ok = loss <= 0.5
    print(f"λs {l}: validation avg incremental {100*r['avg_incremental_accuracy']:.3f}% "
          f"(last {100*r['last_accuracy']:.2f}%), {loss:.3f} points below no pruning, "
          f"{r['steps'][-1]['params_after_prune']} parameters{'' if ok else '  (over the 0.5-point budget)'}")
    if ok:
        chosen = l
print(f"chosen λs: {chosen}")
PY
