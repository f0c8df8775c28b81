#!/usr/bin/env bash
# Classroom-sized learning quality (issue #14): Split-MNIST, 5 steps of 2 classes, with the
# first N training images of each class ("all": every one, about 800), for each method, with and
# without augmentation, over K seeds, on the engine's (= the page's) default settings; the test
# split is the whole one. Memory 20 per class (all images when N < 20).
# Prints a markdown table of mean ± sd (scripts/small-data-table.py) and keeps every JSON in
# target/bench-small/defaults/.
#   SIZES="20 50 100 all" METHODS="der der-noprune replay finetune" AUGMENTS="none shift" SEEDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/split-mnist}
sizes=${SIZES:-20 50 100 all}
methods=${METHODS:-der der-noprune replay finetune}
augments=${AUGMENTS:-none shift}
seeds=${SEEDS:-3}
out=target/bench-small/defaults
cargo build --release --bin der
mkdir -p "$out"
# A private copy: rebuilding the crate while this runs must not swap the binary under it.
cp target/release/der "$out/der.$$"
for n in $sizes; do
  if [ "$n" = all ]; then limit=(); per_class=20; else limit=(--train-per-class "$n"); per_class=$(( n < 20 ? n : 20 )); fi
  for augment in $augments; do
    for method in $methods; do
      json="$out/n$n-$method-$augment.json"
      # A run whose report exists is not repeated (delete it to run again).
      [ -s "$json" ] && continue
      "$out/der.$$" bench --data "$data" --init-classes 2 --increment 2 --memory-per-class "$per_class" \
        --seed 1993 --seeds "$seeds" --method "$method" --augment "$augment" "${limit[@]}" --json "$json.part" | tail -1
      mv "$json.part" "$json"
    done
  done
done
rm -f "$out/der.$$"
python3 scripts/small-data-table.py "$out"
