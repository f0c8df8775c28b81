#!/usr/bin/env bash
# The learning-quality benchmark of BENCHMARKS.md: Split-MNIST, 5 steps of 2 classes, memory
# 200, 10 epochs, seed 1993, for DER, DER without pruning and fine-tuning.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
cargo build --release --bin der
mkdir -p target/bench
# A private copy: rebuilding the crate while this runs must not swap the binary under it.
cp target/release/der target/bench/der
for method in der der-noprune finetune; do
  target/bench/der bench --data "$data" --init-classes 2 --increment 2 --memory 200 --epochs 10 \
    --seed 1993 --method "$method" --backend flex --json "target/bench/split-mnist-$method.json" \
    | tee "target/bench/split-mnist-$method.txt"
done
