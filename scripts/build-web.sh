#!/usr/bin/env bash
# Builds the static site into $1 (default dist/) with cargo + wasm-bindgen, producing the same
# files as `trunk build` with Trunk.toml's settings (filehash off, relative URLs, worker shim),
# plus the threaded worker in $1/threads (scripts/build-worker-threads.sh; SKIP_THREADS=1 leaves
# it out, and the page then keeps to the single-threaded worker).
# `make test` and `make dist` use it so a fresh CI machine need not compile Trunk itself.
set -euo pipefail
out=${1:-dist}
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
wasm_dir="$target_dir/wasm32-unknown-unknown/${WASM_PROFILE:-wasm-release}"
# Each binary is copied as soon as it is built: with a target directory shared between
# checkouts (CARGO_TARGET_DIR), another build may replace the uplifted file before the next step.
built=$(mktemp -d)
trap 'rm -rf "$built"' EXIT
# The page is built without the `train` feature so its bundle does not link Burn.
# (Separate lines: `set -e` does not stop at a failure on the left of `&&`.)
cargo build --profile "${WASM_PROFILE:-wasm-release}" --target wasm32-unknown-unknown --bin app --no-default-features
cp "$wasm_dir/app.wasm" "$built/"
cargo build --profile "${WASM_PROFILE:-wasm-release}" --target wasm32-unknown-unknown --bin worker --features webgpu
cp "$wasm_dir/worker.wasm" "$built/"
rm -rf "$out" && mkdir -p "$out"
flags=(--no-typescript --remove-name-section --remove-producers-section)
wasm-bindgen --target web "${flags[@]}" --out-dir "$out" --out-name app "$built/app.wasm"
wasm-bindgen --target no-modules "${flags[@]}" --out-dir "$out" --out-name worker "$built/worker.wasm"
printf 'importScripts("./worker.js");wasm_bindgen({ module_or_path: "./worker_bg.wasm" });\n' > "$out/worker_loader.js"
cp -r www "$out/www"
# Cross-origin isolation on static hosts that cannot send COOP/COEP (www/coi-config.js).
cp node_modules/coi-serviceworker/coi-serviceworker.min.js "$out/"
[ -n "${SKIP_THREADS:-}" ] || scripts/build-worker-threads.sh "$out/threads"
# index.html without Trunk's links (the page starts itself from www/start-page.js, as with
# Trunk's `inject_scripts = false`).
python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
html = open("index.html").read()
html = re.sub(r'\s*<link data-trunk rel="(copy-dir|copy-file|rust)"[^>]*>', "", html)
open(f"{out}/index.html", "w").write(html)
PY
ls -l "$out"/*.wasm
