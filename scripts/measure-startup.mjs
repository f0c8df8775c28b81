// The page's startup on localhost, measured in Debian's headless Chromium as the browser tests
// run it (tests/browser/chromium.mjs): N fresh page loads, each in a fresh browser with its own
// profile (so no HTTP cache and no cached wasm code), and the medians of
//
// - `firstContentfulPaint`: the browser's first contentful paint. The document's body is empty
//   until the page's wasm mounts the app (index.html), so this is the first paint of the app UI.
// - `interactive` (time to interactive): the app's controls are painted and the main thread is
//   free, checked with a real answer. As soon as the page's first control, the view tabs in the
//   header (src/web/page/views.rs), is in the DOM, the "Results" tab gets a real mouse click
//   (through Chromium's input queue, as a user's), and the page has answered when that tab
//   shows as selected (aria-selected="true", its panel no longer hidden). A long task (the main
//   thread busy 50 ms or more, PerformanceObserver 'longtask') that starts before the answer
//   is one the click could have waited behind. `interactive` = the latest of the first
//   contentful paint, the controls' arrival in the DOM and the end of the last long task that
//   started before the answer; if the click still waited more than 100 ms for its answer (busy
//   without long tasks), the answer itself. Reported beside it: the click's input time, input
//   delay and answer (these include the tool's own round trip, a few tens of ms, which is why
//   they are not the definition), the long animation frames (long tasks plus the rendering
//   they set off), and the total blocking time.
// - `samplesShown`: the first thing a teacher presses (the page's hint: "Start here: add a class,
//   or try the sample classes"): back on the Classroom tab, "Try sample classes" is clicked and
//   the time is when its six class cards are on the page (it fetches www/samples/mnist-28.bin and
//   decodes 240 images; none of it waits for the worker).
// - `workerReady`: the worker has loaded its wasm, chosen its device and told the page
//   (FromWorker::BackendReady, src/web/page/messages.rs): the footer's badge
//   `[data-testid=backend]` gets its `data-kind` ("cpu" or "webgpu") and stops saying
//   "Starting the training worker…" — what enables Learn (src/web/page/step.rs) and what the tests
//   wait for (waitForBackend). Beside it: when the page constructed the Worker, when the
//   worker fetched worker_bg.wasm (the worker's own resource timing), and its first message
//   (FromWorker::Loaded: wasm instantiated, start() run; src/web/worker/mod.rs).
// - the bytes transferred for app_bg.wasm (the page's resource timing) and worker_bg.wasm (the
//   worker's), and whether the wasm was compiled while streaming (served as application/wasm, no
//   instantiateStreaming fallback warning on the console).
//
// All times are milliseconds from the start of the navigation (the page's performance.now()).
// The test server sends files uncompressed, so the bytes are the raw sizes; the gzip size is
// printed beside them for reference.
//
//   node scripts/measure-startup.mjs [dist] [--runs N] [--backend cpu|webgpu] [--isolated]
//        [--no-samples] [--worker-delay-ms MS] [--timeout-ms MS] [--out FILE]
//
// dist: the built site (default: $DIST or dist). --runs: page loads (default: $RUNS or 5).
// --backend: add ?backend=… (default none: the page's own choice, as a teacher opens it).
// --isolated: serve with COOP/COEP. --worker-delay-ms: the server holds worker_loader.js back
// for MS ms, which is what spawning the worker that much later would do (an experiment, no
// rebuild). Writes JSON to target/startup/startup.json (--out) and prints a markdown table.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg, cpus, getPriority } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// ---- arguments ----
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
};
const runs = Number(option('--runs', process.env.RUNS ?? 5));
const backend = option('--backend', process.env.BACKEND ?? '');
const workerDelay = Number(option('--worker-delay-ms', 0));
const outOption = option('--out', null);
const isolated = flag('--isolated');
const samples = !flag('--no-samples');
const timeout = Number(option('--timeout-ms', 180_000));
if (args.some((a) => a.startsWith('--'))) throw new Error(`unknown option in ${args.join(' ')}`);
const dist = resolve(args[0] ?? process.env.DIST ?? 'dist');
if (!existsSync(join(dist, 'index.html'))) throw new Error(`no built site in ${dist} (scripts/build-web.sh dist)`);

// serve.mjs and chromium.mjs read files relative to the repository root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const out = resolve(outOption ?? 'target/startup/startup.json');
const { serve } = await import('../tests/browser/serve.mjs');
const { CHROMIUM, FLAGS } = await import('../tests/browser/chromium.mjs');
const { chromium } = await import('playwright-core');

// ---- what runs in the page, before its own scripts ----
function probe() {
  const m = (window.__startup = { marks: {}, longtasks: [], paints: {}, badge: [], worker: { messages: [] }, clicks: [], events: [] });
  const now = () => performance.now();
  const mark = (k, t = now()) => { if (!(k in m.marks)) m.marks[k] = t; };
  // A setTimeout queued from requestAnimationFrame runs once that frame is painted.
  const afterPaint = (k) => requestAnimationFrame(() => setTimeout(() => mark(k)));
  const observe = (type, f, extra = {}) => {
    try { new PerformanceObserver((list) => list.getEntries().forEach(f)).observe({ type, buffered: true, ...extra }); } catch { /* not supported */ }
  };
  observe('longtask', (e) => m.longtasks.push({ start: e.startTime, end: e.startTime + e.duration }));
  // Long animation frames: long tasks plus the rendering (style, layout, paint) they set off.
  m.loafs = [];
  observe('long-animation-frame', (e) => m.loafs.push({ start: e.startTime, end: e.startTime + e.duration, blocking: e.blockingDuration }));
  observe('paint', (e) => { m.paints[e.name] = e.startTime; });
  observe('largest-contentful-paint', (e) => { m.paints.lcp = e.startTime; });
  // Event Timing: input timestamp, handlers' start and end, and the next paint (start + duration).
  const event = (e) => /^(pointerdown|click)$/.test(e.name) && m.events.push({ name: e.name, entryType: e.entryType, start: e.startTime, processingStart: e.processingStart, processingEnd: e.processingEnd, paint: e.startTime + e.duration, target: e.target?.dataset?.testid ?? null });
  observe('event', event, { durationThreshold: 16 });
  observe('first-input', event);
  // Clicks as the page receives them (capture phase, before the page's own handlers).
  addEventListener('click', (e) => m.clicks.push({ testid: e.target?.closest?.('[data-testid]')?.dataset.testid ?? null, input: e.timeStamp, handled: now(), trusted: e.isTrusted }), true);
  // The worker: when the page constructs it, and when its messages arrive (the first is Loaded).
  const PageWorker = window.Worker;
  window.Worker = class extends PageWorker {
    constructor(url, options) {
      mark('workerConstructed');
      super(url, options);
      m.worker.url = String(url);
      this.addEventListener('message', (e) => {
        const t = now();
        m.worker.messages.push({ t, bytes: e.data?.byteLength ?? null });
        mark('workerFirstMessage', t);
      });
      this.addEventListener('error', (e) => { m.worker.error = e.message ?? 'error'; });
    }
  };
  const check = () => {
    const t = now();
    if (document.querySelector('header.top h1')) mark('uiInDom', t);
    const results = document.getElementById('tab-results');
    if (results && document.querySelector('[data-testid=try-samples]')) mark('controlsInDom', t);
    if (results?.getAttribute('aria-selected') === 'true' && !document.getElementById('view-results')?.hidden && !('tabAnswered' in m.marks)) {
      mark('tabAnswered', t);
      afterPaint('tabAnsweredPainted');
    }
    const cards = document.querySelectorAll('[data-testid=class-card]').length;
    if (cards >= 1) mark('firstCard', t);
    if (cards >= 6 && !('samplesShown' in m.marks)) {
      mark('samplesShown', t);
      afterPaint('samplesShownPainted');
    }
    const badge = document.querySelector('[data-testid=backend]');
    if (badge) {
      const text = badge.firstChild?.textContent ?? badge.textContent;
      if (m.badge.at(-1)?.text !== text) m.badge.push({ t, text, kind: badge.dataset.kind ?? '' });
      if (badge.dataset.kind) mark('workerReady', t);
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}

// ---- one page load ----
async function load(url, index) {
  const profile = await mkdtemp(join(tmpdir(), 'der-startup-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, args: FLAGS, headless: true, viewport: { width: 1280, height: 860 },
  });
  const result = { run: index + 1, problems: [], responses: {} };
  try {
    await context.addInitScript(probe);
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(timeout);
    page.on('console', (m) => {
      if (m.type() === 'error' || /instantiateStreaming/.test(m.text())) result.problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => result.problems.push(`page error: ${e.message}`));
    // Dedicated workers' requests show up on the page.
    page.on('requestfinished', async (request) => {
      const name = new URL(request.url()).pathname.split('/').pop();
      if (!/\.(wasm|js)$/.test(name)) return;
      const [response, sizes] = await Promise.all([request.response(), request.sizes().catch(() => null)]);
      result.responses[name] = {
        status: response?.status(), contentType: (await response?.allHeaders().catch(() => ({})))?.['content-type'] ?? null,
        bodyBytes: sizes?.responseBodySize ?? null, headerBytes: sizes?.responseHeadersSize ?? null,
      };
    });
    const workers = [];
    page.on('worker', (w) => workers.push(w));

    await page.goto(url, { waitUntil: 'commit' });
    // The first control, clicked as soon as it is in the DOM: the page says where it is, and a
    // real mouse click goes there through the browser's input queue (no actionability waits,
    // which would add a few frames of the tool's own to the time).
    const at = await page.evaluate(() => new Promise((found) => {
      const look = () => {
        const box = document.getElementById('tab-results')?.getBoundingClientRect();
        if (!box?.width) return false;
        found({ x: box.x + box.width / 2, y: box.y + box.height / 2 });
        return true;
      };
      if (!look()) new MutationObserver((_, o) => { if (look()) o.disconnect(); }).observe(document, { subtree: true, childList: true });
    }));
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction(() => 'tabAnsweredPainted' in window.__startup.marks, null, { polling: 50 });
    if (samples) {
      await page.click('#tab-classroom', { noWaitAfter: true });
      await page.click('[data-testid=try-samples]', { noWaitAfter: true });
      await page.evaluate(() => { window.__startup.marks.samplesClickSent = performance.now(); });
      await page.waitForFunction(() => 'samplesShownPainted' in window.__startup.marks, null, { polling: 50 });
    }
    await page.waitForFunction(() => 'workerReady' in window.__startup.marks, null, { polling: 100 });
    // A moment more, for the work the worker's answer sets off on the page.
    await page.waitForTimeout(1500);

    const inPage = await page.evaluate(() => ({
      ...window.__startup, origin: performance.timeOrigin, userAgent: navigator.userAgent,
      resources: performance.getEntriesByType('resource').map((e) => ({ name: e.name, start: e.startTime, responseEnd: e.responseEnd, transferSize: e.transferSize, encodedBodySize: e.encodedBodySize, decodedBodySize: e.decodedBodySize })),
    }));
    const worker = workers[0] ? await workers[0].evaluate(() => ({
      origin: performance.timeOrigin,
      resources: performance.getEntriesByType('resource').map((e) => ({ name: e.name, start: e.startTime, responseEnd: e.responseEnd, transferSize: e.transferSize, encodedBodySize: e.encodedBodySize, decodedBodySize: e.decodedBodySize })),
    })).catch((e) => ({ error: String(e) })) : { error: 'no worker seen' };
    Object.assign(result, summarize(inPage, worker));
    result.raw = { page: inPage, worker };
  } catch (e) {
    result.problems.push(`run failed: ${e.message.split('\n')[0]}`);
  } finally {
    await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true }).catch(() => {});
  }
  return result;
}

const round = (x) => (x == null || Number.isNaN(x) ? null : Math.round(x));
const file = (entries, name) => entries?.find((e) => new URL(e.name).pathname.endsWith(`/${name}`));

// The metrics of one load, from what the page and the worker recorded.
function summarize(p, w) {
  const m = p.marks;
  const tabClick = p.clicks.find((c) => c.testid === 'tab-results');
  const samplesClick = p.clicks.find((c) => c.testid === 'try-samples');
  const answered = m.tabAnswered;
  const before = p.longtasks.filter((t) => t.start < answered);
  const lastBefore = before.length ? Math.max(...before.map((t) => t.end)) : null;
  const loafsBefore = p.loafs.filter((t) => t.start < answered);
  const fcp = p.paints['first-contentful-paint'];
  const tabInput = tabClick?.input;
  // Painted, and the main thread free; a click that waited more than 100 ms for its answer
  // (busy without long tasks) moves it to the answer.
  let interactive = Math.max(fcp ?? 0, m.controlsInDom ?? 0, lastBefore ?? 0);
  if (tabInput != null && answered - tabInput > 100) interactive = Math.max(interactive, answered);
  const blocking = (tasks) => tasks.reduce((s, t) => s + Math.max(0, t.end - t.start - 50), 0);
  // The worker's clock starts when its global scope is created: move its times onto the page's.
  const shift = w.origin != null ? w.origin - p.origin : null;
  const wasm = file(w.resources, 'worker_bg.wasm');
  const appWasm = file(p.resources, 'app_bg.wasm');
  const inWorker = (t) => (t == null || shift == null ? null : t + shift);
  return {
    metrics: {
      firstContentfulPaint: round(p.paints['first-contentful-paint']),
      uiInDom: round(m.uiInDom),
      controlsInDom: round(m.controlsInDom),
      tabClickInput: round(tabClick?.input),
      tabClickInputDelay: round(tabClick ? tabClick.handled - tabClick.input : null),
      tabClickInputToAnswer: round(tabInput != null ? answered - tabInput : null),
      tabAnswered: round(answered),
      tabAnsweredPainted: round(m.tabAnsweredPainted),
      lastLongTaskEndBeforeAnswer: round(lastBefore),
      lastLongFrameEndBeforeAnswer: round(loafsBefore.length ? Math.max(...loafsBefore.map((t) => t.end)) : null),
      interactive: round(interactive),
      longTasksBeforeInteractive: before.length,
      blockingTimeBeforeInteractive: round(blocking(before)),
      samplesClickInput: round(samplesClick?.input),
      samplesShown: round(m.samplesShown),
      samplesClickToShown: round(samplesClick && m.samplesShown ? m.samplesShown - samplesClick.input : null),
      appWasmResponseEnd: round(appWasm?.responseEnd),
      workerConstructed: round(m.workerConstructed),
      workerScopeCreated: round(shift),
      workerWasmFetchStart: round(inWorker(wasm?.start)),
      workerWasmResponseEnd: round(inWorker(wasm?.responseEnd)),
      workerLoaded: round(m.workerFirstMessage),
      workerReady: round(m.workerReady),
      longTasks: p.longtasks.length,
      longTasksTotalMs: round(p.longtasks.reduce((s, t) => s + t.end - t.start, 0)),
      longestTaskMs: round(Math.max(0, ...p.longtasks.map((t) => t.end - t.start))),
      blockingTimeTotal: round(blocking(p.longtasks)),
      lastLongTaskEnd: round(p.longtasks.length ? Math.max(...p.longtasks.map((t) => t.end)) : null),
      appWasmTransferBytes: appWasm?.transferSize ?? null,
      appWasmBodyBytes: appWasm?.encodedBodySize ?? null,
      workerWasmTransferBytes: wasm?.transferSize ?? null,
      workerWasmBodyBytes: wasm?.encodedBodySize ?? null,
    },
    badge: p.badge.map((b) => ({ t: round(b.t), text: b.text, kind: b.kind })),
    longtasks: p.longtasks.map((t) => ({ start: round(t.start), end: round(t.end) })),
    longAnimationFrames: p.loafs.map((t) => ({ start: round(t.start), end: round(t.end), blocking: round(t.blocking) })),
    userAgent: p.userAgent,
    workerError: p.worker.error ?? w.error ?? null,
  };
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

// ---- the runs ----
const site = await serve(dist, '/der-studio/', 0, { isolated });
if (workerDelay > 0) {
  // Holds the worker's loader back: the worker starts that much later, as if spawned later.
  const [handler] = site.server.listeners('request');
  site.server.removeAllListeners('request');
  site.server.on('request', (req, res) => (req.url.includes('worker_loader.js') ? setTimeout(() => handler(req, res), workerDelay) : handler(req, res)));
}
const url = `${site.url}${backend ? `?backend=${backend}` : ''}`;
const load0 = loadavg();
console.error(`measuring ${runs} fresh loads of ${url} (${dist}), load average ${load0.map((x) => x.toFixed(2)).join(' ')}, nice ${getPriority()}`);
const results = [];
for (let i = 0; i < runs; i++) {
  const r = await load(url, i);
  const s = r.metrics;
  console.error(`run ${i + 1}: ${s ? `FCP ${s.firstContentfulPaint} ms, interactive ${s.interactive} ms, worker ready ${s.workerReady} ms` : 'failed'}${r.problems.length ? `; ${r.problems.join('; ')}` : ''}`);
  results.push(r);
}
site.server.close();

const names = Object.keys(results.find((r) => r.metrics)?.metrics ?? {});
const medians = Object.fromEntries(names.map((n) => [n, median(results.map((r) => r.metrics?.[n]))]));
const gzipBytes = (name) => gzipSync(readFileSync(join(dist, name))).length;
const sizes = Object.fromEntries(['app_bg.wasm', 'worker_bg.wasm'].map((n) => [n, { raw: statSync(join(dist, n)).size, gzip: gzipBytes(n) }]));
const served = results.find((r) => r.responses?.['worker_bg.wasm'])?.responses ?? {};
const streaming = ['app_bg.wasm', 'worker_bg.wasm'].every((n) => served[n]?.contentType === 'application/wasm')
  && !results.some((r) => r.problems.some((p) => /instantiateStreaming/.test(p)));

const report = {
  date: new Date().toISOString(),
  url, dist, runs, backend: backend || 'page choice', isolated, samples, workerDelayMs: workerDelay,
  chromium: results.find((r) => r.userAgent)?.userAgent ?? CHROMIUM, flags: FLAGS,
  machine: { cpus: cpus().length, loadAverageBefore: load0, loadAverageAfter: loadavg(), nice: getPriority() },
  definitions: {
    times: 'ms from the start of the navigation (performance.now() of the page)',
    firstContentfulPaint: 'first contentful paint; the body is empty until the app mounts, so the first paint of the app UI',
    interactive: 'max(first contentful paint, controls in the DOM, end of the last long task that started before the answer), where answer = the moment the Results tab, clicked with a real mouse click as soon as it is in the DOM, shows as selected; at least the answer when the click waited over 100 ms for it',
    samplesShown: 'six class cards on the page after "Try sample classes" (clicked right after the tab answered)',
    workerLoaded: "the worker's first message (FromWorker::Loaded: its wasm is instantiated)",
    workerReady: 'the footer badge [data-testid=backend] has its data-kind (FromWorker::BackendReady handled; Learn enabled)',
  },
  wasmFiles: sizes, served, streaming,
  medians,
  results: results.map(({ raw, ...r }) => r),
  raw: results.map((r) => r.raw ?? null),
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);

// ---- the table ----
const ok = results.filter((r) => r.metrics);
const fmt = (v, unit) => (v == null ? '–' : unit === 'B' ? `${(v / 1e6).toFixed(2)} MB` : `${Math.round(v)}`);
const rows = [
  ['First contentful paint (app UI)', 'firstContentfulPaint', 'ms'],
  ['Controls in the DOM (tabs, Try sample classes)', 'controlsInDom', 'ms'],
  ['Click on the Results tab: input', 'tabClickInput', 'ms'],
  ['… its input delay', 'tabClickInputDelay', 'ms'],
  ['… input to answer', 'tabClickInputToAnswer', 'ms'],
  ['… answered (tab selected)', 'tabAnswered', 'ms'],
  ['… answer painted', 'tabAnsweredPainted', 'ms'],
  ['End of the last long task before the answer', 'lastLongTaskEndBeforeAnswer', 'ms'],
  ['End of the last long animation frame before the answer', 'lastLongFrameEndBeforeAnswer', 'ms'],
  ['**Interactive**', 'interactive', 'ms'],
  ['Total blocking time before interactive', 'blockingTimeBeforeInteractive', 'ms'],
  ['Try sample classes: click → 6 cards', 'samplesClickToShown', 'ms'],
  ['Six sample classes shown', 'samplesShown', 'ms'],
  ['app_bg.wasm response end', 'appWasmResponseEnd', 'ms'],
  ['Worker constructed by the page', 'workerConstructed', 'ms'],
  ['Worker global scope created', 'workerScopeCreated', 'ms'],
  ['worker_bg.wasm fetch start', 'workerWasmFetchStart', 'ms'],
  ['worker_bg.wasm response end', 'workerWasmResponseEnd', 'ms'],
  ['Worker loaded (first message)', 'workerLoaded', 'ms'],
  ['**Worker ready** (badge data-kind)', 'workerReady', 'ms'],
  ['Long tasks (count, whole load)', 'longTasks', ''],
  ['Long tasks total', 'longTasksTotalMs', 'ms'],
  ['Longest task', 'longestTaskMs', 'ms'],
  ['End of the last long task (until ready + 1.5 s)', 'lastLongTaskEnd', 'ms'],
  ['app_bg.wasm transferred', 'appWasmTransferBytes', 'B'],
  ['worker_bg.wasm transferred', 'workerWasmTransferBytes', 'B'],
];
console.log(`\nStartup of ${url} — ${ok.length} of ${runs} fresh loads, ${report.chromium.match(/HeadlessChrome\/[\d.]+/)?.[0] ?? 'Chromium'}, ${cpus().length} CPUs, load average ${load0[0].toFixed(2)} → ${report.machine.loadAverageAfter[0].toFixed(2)}${workerDelay ? `, worker_loader.js held back ${workerDelay} ms` : ''}. Times in ms from navigation start.\n`);
console.log(`| Metric | Median | Min | Max | Runs |\n|---|---:|---:|---:|---|`);
for (const [label, key, unit] of rows) {
  const v = ok.map((r) => r.metrics[key]).filter((x) => typeof x === 'number');
  if (!v.length) { console.log(`| ${label} | – | – | – | |`); continue; }
  console.log(`| ${label} | ${fmt(medians[key], unit)} | ${fmt(Math.min(...v), unit)} | ${fmt(Math.max(...v), unit)} | ${unit === 'B' ? '' : v.join(', ')} |`);
}
console.log(`\nwasm files: app_bg.wasm ${(sizes['app_bg.wasm'].raw / 1e6).toFixed(2)} MB (gzip ${(sizes['app_bg.wasm'].gzip / 1e6).toFixed(2)} MB), worker_bg.wasm ${(sizes['worker_bg.wasm'].raw / 1e6).toFixed(2)} MB (gzip ${(sizes['worker_bg.wasm'].gzip / 1e6).toFixed(2)} MB); the test server sends them uncompressed as ${served['worker_bg.wasm']?.contentType ?? '?'}: streaming compilation ${streaming ? 'yes' : 'NO'}.`);
const problems = [...new Set(results.flatMap((r) => r.problems))];
if (problems.length) console.log(`problems: ${problems.join(' | ')}`);
console.log(`JSON: ${out}`);
