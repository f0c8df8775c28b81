#!/usr/bin/env bash
# Profiles `der speed` (native, flex, 2 threads) at 1 and 5 branches with perf and prints each
# run's top frames by self time (BENCHMARKS.md, "Where a native iteration goes"). Needs Debian's
# linux-perf (`perf`); the counter used is the kernel's cpu-clock, which works without hardware
# counters. DER=path/to/der profiles another build (e.g. an older commit's) the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}
iterations=${ITERATIONS:-60}
top=${TOP:-12}
der=${DER:-target/release/der}
out=target/profile
mkdir -p "$out"
[ -n "${DER:-}" ] || cargo build --release --bin der
for branches in 1 5; do
  data="$out/$(basename "$der")-b$branches.data"
  RAYON_NUM_THREADS=$threads perf record -q -e cpu-clock -F 1999 -g -o "$data" "$der" speed --branches "$branches" --iterations "$iterations" > /dev/null
  echo "== $branches branch(es): top $top frames by self time ($der)"
  perf report -i "$data" --no-children --sort symbol --stdio -g none 2>/dev/null | python3 -c '
import re, sys
top = int(sys.argv[1])
rows = []
for line in sys.stdin:
    m = re.match(r"\s+([\d.]+)%\s+\[(.)\]\s+(.*?)\s*$", line)
    if not m:
        continue
    pct, where, name = float(m.group(1)), m.group(2), re.split(r"\s{2,}", m.group(3))[0]
    # Generic parameters off; a closure called through `impl FnMut for &F` is a parallel
    # loop body that was inlined there.
    if "FnMut" in name and name.endswith("call_mut"):
        name = "closure body (a parallel loop inlined into it)"
    for _ in range(4):
        name = re.sub(r"<[^<>]*>", "", name)
    rows.append((pct, ("kernel: " if where == "k" else "") + name.strip()))
print("| % self | frame |\n|---|---|")
for pct, name in rows[:top]:
    print(f"| {pct:.1f} | `{name}` |")
kernel = sum(p for p, n in rows if n.startswith("kernel: "))
print(f"| {kernel:.1f} | all kernel frames together (page faults, scheduling) |")
' "$top"
done
