#!/usr/bin/env bash
# Times DER Studio's training iteration and prediction natively (Burn, `der speed`) and the
# identical network in PyTorch on the CPU, with the same thread count, and prints the ratios.
# PyTorch comes from PyPI into .venv-bench (once; ~3 GB with its CUDA libraries, unused here).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-$(nproc)}
iterations=${ITERATIONS:-30}
out=target/bench
mkdir -p "$out"
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c 'import torch' 2>/dev/null; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --progress-bar off "torch==2.15.0" numpy
fi
cargo build --release --bin der
echo "== Burn (flex), $threads threads"
RAYON_NUM_THREADS=$threads target/release/der speed --iterations "$iterations" --json "$out/speed-burn.json"
echo "== PyTorch (CPU), $threads threads"
CUDA_VISIBLE_DEVICES= .venv-bench/bin/python bench/torch_step.py --threads "$threads" --iterations "$iterations" --json "$out/speed-torch.json"
python3 - "$out/speed-burn.json" "$out/speed-torch.json" <<'PY'
import json, sys
burn, torch = (json.load(open(p)) for p in sys.argv[1:3])
peer = {(c["case"], c["branches"]): c for c in torch}
print(f"\n| case | branches | Burn ms | PyTorch ms | Burn / PyTorch |\n|---|---|---|---|---|")
for c in burn:
    t = peer.get((c["case"], c["branches"]))
    ratio = f"{c['median_ms'] / t['median_ms']:.2f}" if t else "–"
    print(f"| {c['case']} | {c['branches']} | {c['median_ms']:.1f} | {t['median_ms'] if t else float('nan'):.1f} | {ratio} |")
PY
