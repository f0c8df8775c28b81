#!/usr/bin/env bash
# Classroom-sized learning quality (issue #14): Split-MNIST, 5 steps of 2 classes, with the
# first N training images of each class, for each method, with and without augmentation, over
# K seeds; the test split is the whole one. Memory 20 per class (all images when N < 20).
# Prints a markdown table of mean ± sd (scripts/small-data-table.py) and keeps every JSON in
# target/bench-small/.
#   SIZES="20 50 100" METHODS="der der-noprune replay finetune" AUGMENTS="none shift" SEEDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
sizes=${SIZES:-20 50 100}
methods=${METHODS:-der der-noprune replay finetune}
augments=${AUGMENTS:-none shift}
seeds=${SEEDS:-3}
cargo build --release --bin der
mkdir -p target/bench-small
cp target/release/der target/bench-small/der
for n in $sizes; do
  per_class=$(( n < 20 ? n : 20 ))
  for augment in $augments; do
    for method in $methods; do
      out="target/bench-small/n$n-$method-$augment.json"
      [ -s "$out" ] && continue
      target/bench-small/der bench --data "$data" --init-classes 2 --increment 2 --memory-per-class "$per_class" \
        --epochs 10 --seed 1993 --seeds "$seeds" --method "$method" --augment "$augment" \
        --train-per-class "$n" --json "$out" | tail -1
    done
  done
done
python3 scripts/small-data-table.py target/bench-small
