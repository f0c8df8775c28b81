#!/usr/bin/env bash
# Chooses the classroom step's schedule (updates a step) and sparsity weight λs on Split-MNIST
# without looking at the test images (issue #14): the last 100 training images of each digit are
# the validation split, and each step trains on the first N = 50 of the rest (a classroom-sized
# class), memory 20 a class. A step trains for U updates whatever its size (--epochs 1
# --min-updates U), so the same schedule serves 50 images a class and 800.
#
# Rules: U, fixed before the runs: the smallest U whose DER average incremental accuracy is
# within 0.5 points of the best U's (a classroom waits for every update). λs, fixed after the
# one-seed screen and before the 3-seed runs: the smallest λs of the grid that keeps at most half
# of der-noprune's parameters at that U: the least sparsity pressure that makes a classroom step
# visibly prune (#14), since each step up in λs cost accuracy on the full data set before
# (BENCHMARKS.md). The 3-seed runs (SEEDS=3) confirm the choice against der-noprune.
#   GRID_UPDATES="150 250 500 1000" GRID_LAMBDA="0.1 0.3 0.5" SEEDS=1 scripts/choose-schedule.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
updates=${GRID_UPDATES:-150 250 500 1000}
lambdas=${GRID_LAMBDA:-0.1 0.3 0.5}
seeds=${SEEDS:-1}
n=${N:-50}
out=target/bench/schedule
common=(--data "$data" --validation 100 --train-per-class "$n" --init-classes 2 --increment 2 --memory-per-class 20
        --epochs 1 --seed 1993 --seeds "$seeds" --backend flex)
source scripts/der-bench-runs.sh
for u in $updates; do
  run "der-u$u-l0.1" --method der --min-updates "$u" --lambda-sparsity 0.1
done
for u in $updates; do
  for l in $lambdas; do
    [ "$l" = 0.1 ] || run "der-u$u-l$l" --method der --min-updates "$u" --lambda-sparsity "$l"
  done
  run "der-noprune-u$u" --method der-noprune --min-updates "$u"
  run "replay-u$u" --method replay --min-updates "$u"
done
python3 scripts/schedule-table.py "$out"
