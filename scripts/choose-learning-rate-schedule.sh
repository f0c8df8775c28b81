#!/usr/bin/env bash
# Chooses how the learning rate falls in a classroom step that may stop early (issue #24), on
# Split-MNIST's validation split as scripts/choose-mask-period.sh chose the mask period (the last
# 100 training images of each digit are the validation images, 50 training images a class,
# 5 steps of 2 digits, photo augmentation, s over 50 updates, stopping rule on).
# The two candidates: a cosine over the step's longest length (500 updates: a step that stops
# at 150 stops at 80% of its rate), or a cosine restarted with each 50-update cycle (every
# cycle, so every possible stop, ends at a rate near 0).
# Rule, fixed before the runs: the higher average incremental accuracy over 3 seeds wins if it
# is higher by more than the two runs' larger standard deviation; otherwise the one that runs
# fewer updates.
#   SEEDS=3 scripts/choose-learning-rate-schedule.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
seeds=${SEEDS:-3}
out=target/bench/learning-rate-schedule
cargo build --release --bin der
mkdir -p "$out"
cp target/release/der "$out/der"
common=(--data "$data" --validation 100 --train-per-class 50 --init-classes 2 --increment 2 --memory-per-class 20
        --epochs 1 --min-updates 500 --mask-period 50 --augment photo --seed 1993 --seeds "$seeds" --backend flex)
run() {
  local name=$1; shift
  [ -s "$out/$name.json" ] && { echo "$name: kept from an earlier run"; return; }
  "$out/der" bench "${common[@]}" "$@" --json "$out/$name.json.part" | tail -1
  mv "$out/$name.json.part" "$out/$name.json"
}
run "over-the-step-s$seeds"
run "per-cycle-s$seeds" --learning-rate-per-cycle
python3 - "$out" <<'PY'
import glob, json, sys
print("| learning rate | average incremental (validation) | last | updates per step (each seed) | training s per run |")
print("|---|---:|---:|---|---:|")
for path in sorted(glob.glob(f"{sys.argv[1]}/*.json")):
    r = json.load(open(path))
    if "runs" not in r:  # one seed: a single report
        r = {"runs": [r], "avg_incremental_accuracy": {"mean": r["avg_incremental_accuracy"], "sd": 0.0},
             "last_accuracy": {"mean": r["last_accuracy"], "sd": 0.0}}
    avg, last = r["avg_incremental_accuracy"], r["last_accuracy"]
    updates = ["/".join(str(s.get("updates", "?")) for s in run["steps"]) for run in r["runs"]]
    seconds = sum(s["train_seconds"] for run in r["runs"] for s in run["steps"]) / len(r["runs"])
    print(f"| {path.rsplit('/', 1)[-1][:-5]} | {avg['mean']:.2f} ± {avg['sd']:.2f} | {last['mean']:.2f} ± {last['sd']:.2f} | {'; '.join(updates)} | {seconds:.0f} |")
PY
