# DER Studio: `make serve` (the app on http://127.0.0.1:8080) and `make test` (every test)
# each install whatever is missing first. Installs are idempotent and skip what is present.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)

# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3 }' Cargo.lock)
TRUNK_VERSION := 0.22.1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test dist bench bench-browser bench-small bench-classroom choose-defaults bench-speed profile-speed bench-threads bench-startup bench-scale bench-step-time bench-step-time-webgpu profile-threads lint test-native test-browser test-firefox test-trunk build-web \
        setup-toolchain setup-wasm-bindgen setup-trunk setup-chromium setup-firefox setup-node setup-python

serve: setup-toolchain setup-wasm-bindgen setup-trunk setup-node
	cargo fetch
	trunk serve

test: setup-toolchain setup-wasm-bindgen setup-chromium setup-firefox setup-node setup-python
	$(MAKE) lint
	$(MAKE) test-native
	$(MAKE) test-browser

# Formatting, lints (native with every target; the page's and the worker's wasm builds) and the
# modules' layering (scripts/check-layers.py), before anything runs. Clippy shares the release
# profiles of the builds that follow, so their build scripts and proc macros are compiled once.
lint: setup-toolchain
	cargo fmt --check
	python3 scripts/check-layers.py
	cargo clippy --release --all-targets -- -D warnings
	cargo clippy --profile wasm-release --target wasm32-unknown-unknown --bin app --no-default-features -- -D warnings
	cargo clippy --profile wasm-release --target wasm32-unknown-unknown --bin worker --features webgpu -- -D warnings

# The library's tests once more without Burn (the page's build): what the page encodes must
# decode in the worker (protocol.rs's layout test runs on both sides). The ONNX export's test
# (tests/onnx_roundtrip.rs) runs the written model in onnxruntime with setup-python's interpreter.
test-native: setup-python
	DER_PYTHON=$(CURDIR)/target/python/bin/python cargo test --release
	cargo test --release --lib --no-default-features

build-web: setup-toolchain setup-wasm-bindgen setup-node
	scripts/build-web.sh dist

# Every browser spec (tests/browser/*.spec.mjs, playwright.config.mjs) against dist/, on its
# projects: Chromium's webgpu, cpu, threads, engine-webgpu and engine-cpu (then compare,
# WebGPU's losses against the CPU's), and the core loop in Firefox ESR (firefox); scale and
# endurance at 1 epoch a step.
test-browser: build-web setup-chromium setup-firefox
	npx playwright test

# The core loop (samples, a step on the CPU, a prediction, reload, export and import) in
# Debian's Firefox ESR alone, driven over WebDriver BiDi (tests/browser/firefox.spec.mjs).
test-firefox: build-web setup-firefox
	npx playwright test --project=firefox

# The site `make serve` serves (built by Trunk) through the CPU and Content-Security-Policy
# browser tests, and `trunk serve`'s policy header. Not part of
# `make test`: compiling Trunk takes ~20 minutes on a fresh machine.
test-trunk: setup-toolchain setup-wasm-bindgen setup-trunk setup-chromium setup-node
	trunk build --dist target/trunk-dist
	DIST=target/trunk-dist npx playwright test tests/browser/classroom.spec.mjs tests/browser/csp.spec.mjs --project=engine-cpu --project=cpu
	node tests/browser/trunk-serve.mjs

# A static site for any sub-path (GitHub Pages); same files as `trunk build`.
dist: setup-toolchain setup-wasm-bindgen setup-node
	scripts/build-web.sh dist

# Learning quality on Split-MNIST with every training image, on the default settings, for DER,
# DER without pruning, replay and fine-tuning, 3 seeds each (see BENCHMARKS.md; about 40 min).
bench: setup-toolchain
	SIZES=all AUGMENTS=none SEEDS=3 scripts/bench-small-data.sh

# The same at 20, 50, 100 and all images a class, with and without shifts, and its plot
# docs/small-data.svg (several hours on 2 cores: a run whose JSON exists is skipped).
bench-small: setup-toolchain
	scripts/bench-small-data.sh
	python3 scripts/small-data-plot.py target/bench-small/defaults docs/small-data.svg

# The page's defaults against der bench on the same 60 uploaded images a class (BENCHMARKS.md).
bench-classroom: setup-toolchain setup-wasm-bindgen setup-chromium setup-node build-web
	scripts/bench-classroom.sh

# Chooses the default schedule and λs on a validation split (BENCHMARKS.md, "One set of defaults").
choose-defaults: setup-toolchain
	scripts/choose-schedule.sh

# Classroom scale (5,000 images, two steps) and endurance (ten steps) at 20 epochs a step (a
# fixed length, so the figures compare across versions); `make test` runs them at 1 epoch. Figures go to BENCHMARKS.md.
bench-scale: setup-toolchain setup-wasm-bindgen setup-chromium setup-node build-web
	SCALE_EPOCHS=20 npx playwright test tests/browser/scale.spec.mjs --project=cpu

# CPU training in the browser by thread count: the single-threaded worker against the threaded
# worker with 1, 2, 4 and 8 threads (THREADS_LIST), Engine check's speed table (BENCHMARKS.md).
bench-threads: setup-toolchain setup-wasm-bindgen setup-chromium setup-node build-web
	THREADS_BENCH=1 npx playwright test tests/browser/threads-bench.spec.mjs --project=threads

# A classroom step's time (issue #24): the page learns 5 steps of 2 uploaded Split-MNIST digits
# (60 images a class, the defaults) on the single-threaded worker and the threaded one
# (THREADS, default 2), each step timed from Learn to its result, every step's model scored on
# unseen test images; prints a table per worker (BENCHMARKS.md, "A classroom step in seconds").
# STEP_TIME_LABEL names the run (target/step-time/LABEL-worker.json).
bench-step-time: setup-toolchain setup-wasm-bindgen setup-chromium setup-node build-web
	STEP_TIME_BENCH=1 npx playwright test tests/browser/step-time.spec.mjs --project=cpu --project=threads
	python3 scripts/step-time-table.py target/step-time

# The same on ?backend=webgpu. Without a GPU that is SwiftShader, seconds an update: STEPS
# (default 1) of the 5 steps; STEPS=5 is the whole run (1 h 58 min on SwiftShader here, BENCHMARKS.md).
bench-step-time-webgpu: setup-toolchain setup-wasm-bindgen setup-chromium setup-node build-web
	STEP_TIME_BENCH=1 STEPS=$${STEPS:-1} npx playwright test tests/browser/step-time.spec.mjs --project=webgpu
	python3 scripts/step-time-table.py target/step-time

# Where the threaded worker's time goes: Chromium's sampling profiler on every thread while
# the worker measures its training speed (THREADS, default 2), with a worker built keeping its
# function names; prints time by thread and kind of work (BENCHMARKS.md, "Threads in the browser").
profile-threads: setup-toolchain setup-wasm-bindgen setup-chromium setup-node build-web
	rm -rf target/threads-profile/site && mkdir -p target/threads-profile && cp -r dist target/threads-profile/site
	KEEP_NAMES=1 scripts/build-worker-threads.sh target/threads-profile/site/threads
	THREADS_PROFILE=1 DIST=target/threads-profile/site npx playwright test tests/browser/threads-profile.spec.mjs --project=threads

# The page's startup on localhost: first paint, time to interactive (a real click answered),
# the worker ready, bytes per wasm file (BENCHMARKS.md, "Time to interactive").
bench-startup: setup-toolchain setup-wasm-bindgen setup-chromium setup-node build-web
	node scripts/measure-startup.mjs dist --runs 5

# The worker's training and prediction speed against the same network in TensorFlow.js, in
# one Chromium run on one adapter (WebGPU and CPU), with WebGPU calls counted per iteration;
# writes target/bench-browser/peer.md (BENCHMARKS.md, "In the browser against TensorFlow.js").
bench-browser: setup-toolchain setup-wasm-bindgen setup-chromium setup-node build-web
	PEER_BENCH=1 npx playwright test tests/browser/peer-bench.spec.mjs --project=webgpu

# Training-step and prediction speed, Burn against the same network in PyTorch.
bench-speed: setup-toolchain
	scripts/bench-speed.sh

# Where a native training iteration spends its time: perf's top frames at 1 and 5 branches
# (Debian's linux-perf; BENCHMARKS.md, "Where a native iteration goes").
profile-speed: setup-toolchain
	scripts/profile-speed.sh

setup-toolchain:
	@rustup toolchain list | grep -q "^$$(awk -F\" '/channel/{print $$2}' rust-toolchain.toml)" || rustup toolchain install
	@rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@rustup component list --installed | grep -q '^rustfmt' && rustup component list --installed | grep -q '^clippy' || rustup component add rustfmt clippy

# Not `--locked`: wasm-bindgen-cli 0.2.130's own lock file pins a webpki-roots that conflicts
# with its ureq and fails to build (seen on these machines); the exact version is still pinned.
setup-wasm-bindgen:
	@if [ "$$(wasm-bindgen --version 2>/dev/null | awk '{print $$2}')" != "$(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi

setup-trunk:
	@if [ "$$(trunk --version 2>/dev/null | awk '{print $$2}')" != "$(TRUNK_VERSION)" ]; then \
	  echo "installing trunk $(TRUNK_VERSION) (compiles ~600 crates: tens of minutes, once per machine)"; \
	  cargo install trunk --version $(TRUNK_VERSION) --locked; \
	fi

# onnxruntime and numpy for the ONNX export's round-trip test (scripts/onnx-check.py), pinned, in
# a virtual environment under target/; reinstalled when either is missing or another version.
ONNXRUNTIME_VERSION := 1.32.0
NUMPY_VERSION := 2.4.6
setup-python:
	@[ -x target/python/bin/python ] || python3 -m venv target/python
	@target/python/bin/python -c "import sys, numpy, onnxruntime; \
	  sys.exit(onnxruntime.__version__ != '$(ONNXRUNTIME_VERSION)' or numpy.__version__ != '$(NUMPY_VERSION)')" 2>/dev/null || \
	  { echo "installing onnxruntime $(ONNXRUNTIME_VERSION) and numpy $(NUMPY_VERSION) into target/python"; \
	    target/python/bin/python -m pip install --quiet onnxruntime==$(ONNXRUNTIME_VERSION) numpy==$(NUMPY_VERSION); }

# With a CJK font and an emoji font, so class names in Chinese, Japanese or Korean (and emoji)
# render in the screenshots rather than as empty boxes.
setup-chromium:
	@{ command -v chromium >/dev/null && fc-list :lang=zh | grep -q . && fc-list | grep -q "Color Emoji"; } || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium fonts-wqy-zenhei fonts-noto-color-emoji; }

# Debian's Firefox ESR, for the second browser engine's tests (never a downloaded browser).
setup-firefox:
	@command -v firefox-esr >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y firefox-esr; }

# Reinstalls when an installed test package (@playwright/test, @axe-core/playwright) differs from
# package-lock.json's (never a browser: the tests use Debian's chromium).
setup-node:
	@stale=$$(node -e "const lock = require('./package-lock.json').packages; \
	  for (const name of Object.keys(require('./package.json').devDependencies)) { \
	    let have = 'none'; try { have = require('./node_modules/' + name + '/package.json').version } catch (e) {} \
	    if (have !== lock['node_modules/' + name].version) console.log(name + ' ' + have) }"); \
	[ -z "$$stale" ] || { echo "installing the test packages (stale: $$stale)"; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund; }
