#!/usr/bin/env bash
# Builds the threaded training worker into $1 (default dist/threads): the CPU path on a rayon
# pool of Web Workers over shared memory (feature `threads`; docs/threads.md). Shared memory
# needs std rebuilt with atomics, so this one build uses a pinned nightly with build-std, in a
# target directory of its own (its flags differ from every other build's).
set -euo pipefail
out=${1:-dist/threads}
cd "$(dirname "$0")/.."
toolchain=${THREADS_TOOLCHAIN:-nightly-2026-05-19}
profile=${WASM_PROFILE:-wasm-release}
if ! rustup run "$toolchain" rustc --version > /dev/null 2>&1 || [ ! -d "$(rustup run "$toolchain" rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  # No wasm32 standard library component: build-std compiles it from rust-src.
  echo "installing the pinned nightly $toolchain with rust-src (once per machine, about a minute): the threaded worker needs build-std (docs/threads.md)" >&2
  rustup toolchain install "$toolchain" --profile minimal --component rust-src
fi
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/wasm-threads
# RUSTFLAGS replaces .cargo/config.toml's flags for the target: repeat SIMD128 and getrandom's
# backend. The memory must be shared and imported, with the thread-local storage symbols
# exported for wasm-bindgen (this nightly's rustc does not add these link arguments itself),
# and up to wasm32's 4 GiB like the single-threaded worker's.
link='-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296 -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base'
RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 --cfg getrandom_backend=\"wasm_js\" $link" \
  cargo "+$toolchain" build -Z build-std=std,panic_abort --profile "$profile" --target wasm32-unknown-unknown \
    --bin worker --no-default-features --features threads --target-dir "$target_dir"
built=$(mktemp -d)
trap 'rm -rf "$built"' EXIT
cp "$target_dir/wasm32-unknown-unknown/$profile/worker.wasm" "$built/worker.wasm"
rm -rf "$out" && mkdir -p "$out"
# `web`: wasm-bindgen-rayon's helper script is a module. `--split-linked-modules`: js-sys's
# Atomics.waitAsync fallback becomes a file here, not a blob: URL the site's policy refuses.
# KEEP_NAMES=1 keeps the function names, for a profiler (`make profile-threads`).
names=--remove-name-section
[ -z "${KEEP_NAMES:-}" ] || names=
wasm-bindgen --target web --split-linked-modules --no-typescript $names --remove-producers-section \
  --out-dir "$out" --out-name worker "$built/worker.wasm"
# The pool's helper script imports the package by a bundler's directory path ('../../..');
# without a bundler it must name the file.
helpers=$(echo "$out"/snippets/wasm-bindgen-rayon-*/src/workerHelpers.js)
sed -i "s#import('../../..')#import('../../../worker.js')#" "$helpers"
grep -q "import('../../../worker.js')" "$helpers" || { echo "wasm-bindgen-rayon's workerHelpers.js changed: check its import" >&2; exit 1; }
# The module worker's entry: loading the wasm runs the worker's main, which starts the pool.
# A failed start becomes an uncaught error, which the page's Worker sees as its error event.
printf 'import init from "./worker.js";\ninit().catch((e) => setTimeout(() => { throw e; }));\n' > "$out/loader.js"
ls -l "$out"/*.wasm
