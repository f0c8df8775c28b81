#!/usr/bin/env bash
# Chooses how the mask scale s is annealed in a classroom step (issue #24), on Split-MNIST's
# validation split as the other defaults were (scripts/choose-schedule.sh): the last 100
# training images of each digit are the validation images, each step trains on the first 50 of
# the rest, 5 steps of 2 digits, augmentation as uploads get it (photo), stopping rule on.
# The grid: s annealed over 25, 50 or 100 updates, or once per epoch (0, the paper's: with 50
# images a class, 4 batches). Also the schedule before #24 (once per epoch, 500 updates, no
# stopping) for reference.
# Rule, fixed before the runs: the period with the best average incremental accuracy on the
# validation images; a period within 0.5 points of it that runs fewer updates wins (a classroom
# waits for every update). SEEDS=1 screens; the chosen period and the old schedule then run 3.
#   GRID="25 50 100 0" SEEDS=1 scripts/choose-mask-period.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
grid=${GRID:-25 50 100 0}
seeds=${SEEDS:-1}
out=target/bench/mask-period
common=(--data "$data" --validation 100 --train-per-class 50 --init-classes 2 --increment 2 --memory-per-class 20
        --epochs 1 --min-updates 500 --augment photo --seed 1993 --seeds "$seeds" --backend flex)
source scripts/der-bench-runs.sh
for p in $grid; do
  run "period$p-stop-s$seeds" --mask-period "$p"
done
run "before-s$seeds" --mask-period 0 --no-early-stop
python3 scripts/der-bench-table.py "$out" "run"
