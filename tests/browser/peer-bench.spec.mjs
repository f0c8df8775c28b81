// The browser benchmark against TensorFlow.js (issue #11): the worker's own speed measurement
// (Engine check → Measure speed, the code of `der speed`) and the same network and iteration in
// TensorFlow.js 4.22 (bench/tfjs/peer.js), in one Chromium run on one adapter: WebGPU against
// TF.js `webgpu`, and the CPU path (`flex` in wasm) against TF.js `cpu`. With the WebGPU calls
// of each side counted per iteration (tests/browser/gpu-counter.js, wrapped around the API
// before either engine starts; the app itself never has it).
// A benchmark, not a test: `make bench-browser` runs it (PEER_BENCH=1) and writes
// target/bench-browser/peer.json and peer.md; `make test` skips it.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { test, waitForBackend, openView, measureSpeed } from './fixtures.mjs';

const OUT = 'target/bench-browser';
// TF.js's CPU backend takes seconds per iteration: fewer iterations there (after 1 warm-up).
const TFJS_CPU_ITERATIONS = Number(process.env.PEER_TFJS_CPU_ITERATIONS ?? 2);
const HOOK = await readFile('tests/browser/gpu-counter.js', 'utf8');

// The TF.js page, served from the repository under the site's origin (nothing fetched from elsewhere).
const PEER_FILES = {
  'index.html': ['text/html', '<!doctype html><meta charset="utf-8"><title>TF.js peer</title>'
    + '<script src="tf.min.js"></script><script src="tf-backend-webgpu.min.js"></script><script src="peer.js"></script>'],
  'tf.min.js': ['text/javascript', 'node_modules/@tensorflow/tfjs/dist/tf.min.js'],
  'tf-backend-webgpu.min.js': ['text/javascript', 'node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js'],
  'peer.js': ['text/javascript', 'bench/tfjs/peer.js'],
};

async function routePeer(context, site) {
  await context.route(`${site}peer/*`, async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop();
    const [type, source] = PEER_FILES[name] ?? [];
    if (!type) return route.fulfill({ status: 404 });
    const body = name.endsWith('.html') ? source : await readFile(source);
    return route.fulfill({ status: 200, contentType: type, body });
  });
}

// The worker's loader script with the counting hook in front of it.
async function hookWorker(context) {
  await context.route('**/worker_loader.js', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: `${HOOK}\n${await response.text()}` });
  });
}

// The page listens to the worker's marks (gpu-counter.js broadcasts them).
function listenToWorkerCounts() {
  window.__workerMarks = [];
  new BroadcastChannel('der-gpu-counts').onmessage = (e) => window.__workerMarks.push(e.data);
}

const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - a[k]]));
const scale = (c, f) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v * f]));

// Cuts the worker's marks into its speed cases: a case runs from the previous mark that ended
// something (the request received, or the previous case posted) to its own `speed-measured`.
// Its first iteration ends at its first read-back(s); the rest is steady state.
function workerCaseCounts(marks, iterationsPerCase) {
  const results = [];
  let start = null;
  let readbacks = [];
  for (const m of marks) {
    if (m.kind === 'received') { start = m; readbacks = []; continue; }
    if (m.kind === 'readback') { readbacks.push(m); continue; }
    if (m.kind === 'posted speed-measured' && start) {
      const perIteration = Math.max(1, Math.round(readbacks.length / iterationsPerCase));
      const firstEnd = readbacks[perIteration - 1] ?? m;
      results.push({ first: diff(start.counts, firstEnd.counts), steady: scale(diff(firstEnd.counts, m.counts), 1 / Math.max(1, iterationsPerCase - 1)) });
      start = m;
      readbacks = [];
    }
  }
  return results;
}

async function adapterInfo(page) {
  return page.evaluate(async () => {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info ?? {};
    return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
      fallback: adapter.isFallbackAdapter ?? info.isFallbackAdapter ?? null, subgroups: adapter.features.has('subgroups') };
  });
}

// The worker's speed table on `backend` in a page `open` opens, with the worker's WebGPU
// counts per case.
async function derSpeed(open, site, backend) {
  const studio = await open(`${site}?backend=${backend}`, { init: listenToWorkerCounts });
  const { page } = studio;
  await waitForBackend(page);
  const kind = await page.getByTestId('backend').getAttribute('data-kind');
  assert.equal(kind, backend, 'the page trains on the device asked for');
  await openView(page, 'check');
  await page.evaluate(() => { window.__workerMarks.length = 0; });
  const rows = await measureSpeed(page);
  // The page asks for 3 timed iterations on WebGPU and 10 on the CPU, after 1 warm-up.
  const iterations = backend === 'webgpu' ? 3 + 1 : 10 + 1;
  const marks = await page.evaluate(() => window.__workerMarks);
  const counts = backend === 'webgpu' ? workerCaseCounts(marks, iterations) : [];
  return { studio, rows: rows.map((r, i) => ({ ...r, counts: counts[i] ?? null })) };
}

async function tfjsSpeed(context, site, backend, iterations) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript({ content: HOOK });
  await page.goto(`${site}peer/index.html`);
  await page.waitForFunction(() => typeof window.peerBench === 'function');
  const result = await page.evaluate(([b, n]) => window.peerBench(b, { iterations: n, warmup: 1 }), [backend, iterations]);
  assert.deepEqual(errors, []);
  await page.close();
  return result;
}

const fmt = (v, digits = 1) => (v === undefined || v === null ? '—' : Number(v).toFixed(digits));
const countCells = (c) => (c && c.steady.dispatches > 0 ? [fmt(c.steady.dispatches, 0), fmt(c.steady.submits, 0), fmt(c.steady.readbacks, 1),
  `${fmt(c.first.pipelines, 0)} / ${fmt(c.steady.pipelines, 1)}`, fmt(c.steady.bytesWritten / 1024, 1)] : ['—', '—', '—', '—', '—']);

function table(device, ours, theirs, engineName) {
  const lines = [
    `| ${device}: case | branches | DER Studio (ms) | ${engineName} (ms) | ratio | dispatches / iter (ours · TF.js) | submits / iter | read-backs / iter | pipelines first iter / later | KiB written / iter |`,
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [i, r] of ours.entries()) {
    const t = theirs.cases[i];
    const a = countCells(r.counts), b = countCells(t?.counts);
    lines.push(`| ${r.case} | ${r.branches} | ${fmt(r.median_ms)} | ${fmt(t?.median_ms)} | ${t ? fmt(r.median_ms / t.median_ms, 2) : '—'}× | `
      + `${a[0]} · ${b[0]} | ${a[1]} · ${b[1]} | ${a[2]} · ${b[2]} | ${a[3]} · ${b[3]} | ${a[4]} · ${b[4]} |`);
  }
  return lines.join('\n');
}

test('DER Studio against TensorFlow.js in one Chromium run, on one adapter', { tag: '@webgpu' }, async ({ openPage, site }) => {
  test.skip(!process.env.PEER_BENCH, 'a benchmark: make bench-browser');
  test.setTimeout(120 * 60_000);
  await mkdir(OUT, { recursive: true });
  const startedAt = new Date().toISOString();

  // WebGPU: the worker's table first, then TF.js in a page of the same browser.
  const setup = async (context) => { await hookWorker(context); await routePeer(context, site); };
  const gpu = await derSpeed((url, o) => openPage(url, { ...o, setup }), site, 'webgpu');
  const { context } = gpu.studio;
  const adapter = await adapterInfo(gpu.studio.page);
  console.log(`adapter: ${JSON.stringify(adapter)}`);
  const version = await gpu.studio.page.evaluate(() => navigator.userAgent);
  const tfGpu = await tfjsSpeed(context, site, 'webgpu', 3);

  // CPU: `flex` in wasm against TF.js `cpu`, in another tab of the same browser
  // (PEER_DEVICES=webgpu skips it).
  const devices = (process.env.PEER_DEVICES ?? 'webgpu cpu').split(/\s+/);
  const cpu = !devices.includes('cpu') ? { rows: [] } : await derSpeed(async (url, o) => {
    const page = await context.newPage();
    if (o?.init) await page.addInitScript(o.init);
    await page.goto(url);
    return { context, page };
  }, site, 'cpu');
  const tfCpu = !devices.includes('cpu') ? { cases: [], version: '' } : await tfjsSpeed(context, site, 'cpu', TFJS_CPU_ITERATIONS);

  const result = { startedAt, browser: version, adapter, webgpu: { ours: gpu.rows, tfjs: tfGpu }, cpu: { ours: cpu.rows, tfjs: tfCpu } };
  await writeFile(`${OUT}/peer.json`, JSON.stringify(result, null, 2));
  const md = [
    `Measured ${startedAt} · ${version}`,
    `Adapter: ${adapter ? `${adapter.vendor} ${adapter.architecture} ${adapter.description ?? ''} (fallback: ${adapter.fallback}, subgroups: ${adapter.subgroups})` : 'none'}`,
    '',
    table('WebGPU', gpu.rows, tfGpu, `TF.js ${tfGpu.version} webgpu`),
    '',
    table('CPU', cpu.rows, tfCpu, `TF.js ${tfCpu.version} cpu`),
  ].join('\n');
  await writeFile(`${OUT}/peer.md`, `${md}\n`);
  console.log(md);
  // Hook wiring: the worker's WebGPU calls were counted (a case without dispatches would mean
  // the hook missed the engine, and the table would say nothing).
  assert.ok(gpu.rows.every((r) => r.counts && r.counts.steady.dispatches > 0), JSON.stringify(gpu.rows));
  assert.ok(tfGpu.cases.every((c) => c.counts && c.counts.steady.dispatches > 0), JSON.stringify(tfGpu.cases));
});
