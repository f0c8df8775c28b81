#!/usr/bin/env bash
# The GPU check for a machine that has one (issue #11; BENCHMARKS.md, "GPU check"):
#   1. native: `der speed --backend wgpu` (Burn's wgpu backend on Vulkan/Metal/DX12; feature
#      `native-gpu`), the first GPU figure, needing no browser;
#   2. browser: `make bench-browser`'s side-by-side table (the worker's WebGPU path against
#      TensorFlow.js's webgpu backend, with the WebGPU calls counted) in Chromium with the
#      flags that give it a real GPU instead of SwiftShader.
# It prints the adapter each part used (name, type, fallback or not) and the tables, and keeps
# them in target/gpu-check/. A part that cannot run here says why and the other still runs.
#   DER_BIN=path/to/der   a `der` built with --features native-gpu (when cargo cannot build here)
#   SKIP_BROWSER=1        the native part only
#   ITERATIONS=N          timed iterations per native case (default 30)
set -uo pipefail
cd "$(dirname "$0")/.."
out=target/gpu-check
mkdir -p "$out"
status=0

echo "== GPU: $(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || echo 'nvidia-smi not found')"

echo "== 1. Native: der speed --backend wgpu"
bin=${DER_BIN:-}
if [ -z "$bin" ] && command -v cargo >/dev/null; then
  if cargo build --release --features native-gpu --bin der; then bin=target/release/der; fi
fi
if [ -n "$bin" ] && [ -x "$bin" ]; then
  # `der speed` prints the adapter wgpu picked, then the table.
  "$bin" speed --backend wgpu --iterations "${ITERATIONS:-30}" --json "$out/native-wgpu.json" 2>&1 | tee "$out/native-wgpu.log" \
    | grep -E "^adapter|^backend|median" || true
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "native wgpu run failed (see $out/native-wgpu.log)"; status=1; }
  if grep -q "type Cpu" "$out/native-wgpu.log"; then echo "WARNING: wgpu used a software adapter (type Cpu), not a GPU"; fi
  echo "-- the same network on the CPU (flex), for scale"
  "$bin" speed --backend flex --iterations "${ITERATIONS:-30}" --json "$out/native-flex.json" | tail -8
else
  echo "skipped: no cargo to build der with --features native-gpu, and no DER_BIN given"
  status=1
fi

if [ -n "${SKIP_BROWSER:-}" ]; then exit $status; fi
echo "== 2. Browser: the worker against TensorFlow.js, real-GPU Chromium flags"
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ] || [ ! -d node_modules/@playwright/test ] || [ ! -f dist/worker_bg.wasm ]; then
  echo "skipped: needs $chromium, node_modules (npm ci) and dist/ (make dist); run 'make bench-browser' setup first"
  exit 1
fi
# Vulkan through ANGLE and WebGPU on the real adapter (on NVIDIA also the driver's graphics
# capabilities in a container: NVIDIA_DRIVER_CAPABILITIES=all).
export CHROMIUM_EXTRA_FLAGS="--use-angle=vulkan --enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan --disable-vulkan-surface --ignore-gpu-blocklist"
PEER_BENCH=1 npx playwright test tests/browser/peer-bench.spec.mjs --project=webgpu 2>&1 | tee "$out/browser.log" | grep -E "^adapter:|passed|failed|Error" || true
if [ -f target/bench-browser/peer.md ]; then
  cp target/bench-browser/peer.md target/bench-browser/peer.json "$out/"
  cat "$out/peer.md"
  grep -q '"fallback": *true\|swiftshader' "$out/peer.json" && echo "WARNING: the browser used a software adapter (SwiftShader), not the GPU"
else
  echo "browser benchmark failed (see $out/browser.log)"
  status=1
fi
exit $status
