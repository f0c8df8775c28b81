#!/usr/bin/env bash
# Chooses how the learning rate falls in a classroom step that may stop early (issue #24), on
# Split-MNIST's validation split as scripts/choose-mask-period.sh chose the mask period (the last
# 100 training images of each digit are the validation images, 50 training images a class,
# 5 steps of 2 digits, photo augmentation, s over 50 updates, stopping rule on).
# The two candidates: a cosine over the step's longest length (500 updates: a step that stops
# at 150 stops at 80% of its rate), or a cosine restarted with each 50-update cycle (every
# cycle, so every possible stop, ends at a rate near 0). Also the schedule before #24 (s per
# epoch, 500 updates, no stopping) for reference.
# Rule, fixed before the runs: the higher average incremental accuracy over 3 seeds wins if it
# is higher by more than the two runs' larger standard deviation; otherwise the one that runs
# fewer updates.
#   SEEDS=3 scripts/choose-learning-rate-schedule.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
seeds=${SEEDS:-3}
out=target/bench/learning-rate-schedule
common=(--data "$data" --validation 100 --train-per-class 50 --init-classes 2 --increment 2 --memory-per-class 20
        --epochs 1 --min-updates 500 --augment photo --seed 1993 --seeds "$seeds" --backend flex)
source scripts/der-bench-runs.sh
run "over-the-step-s$seeds" --mask-period 50
run "per-cycle-s$seeds" --mask-period 50 --learning-rate-per-cycle
run "before-24-s$seeds" --mask-period 0 --no-early-stop
python3 scripts/der-bench-table.py "$out" "learning rate"
