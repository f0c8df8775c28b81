// Classroom scale and endurance, on the CPU backend.
// - classroomScale: a 5,000-image session (4,800 uploads generated from the real MNIST fixture
//   images, 200 camera frames) across 10 classes, two steps learned, then a reload. The page
//   must keep answering (heartbeat), memory must stay within budget, autosave must keep up, and
//   the reload must bring everything back.
// - endurance: ten steps in a row on small data, memory measured after each one.
// Reduced in `make test` (1 epoch a step); `make bench-scale` runs the same tests with the
// classroom's own epochs (SCALE_EPOCHS=20) and prints the figures for BENCHMARKS.md.
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { test, SHOTS, waitForBackend, addClassNamed, cspViolations, allSaved, setEpochs, openView } from './fixtures.mjs';

const MB = 1e6;
const EPOCHS = process.env.SCALE_EPOCHS ?? '1';
// Each test's bound: 20 minutes at 1 epoch a step, more with the classroom's epochs.
test.describe.configure({ timeout: Math.max(1, Number(EPOCHS) / 4) * 20 * 60_000 });
// No trace: its DOM snapshots run on the page's thread (5,000 thumbnails) and would count in the
// stalls and the heap these tests measure. A failure still leaves its screenshot.
test.use({ trace: 'off' });
// Budgets, stated before measuring and asserted (BENCHMARKS.md has what was measured).
// 5,000 images at 32 × 32 are 15.4 MB of pixels; the page holds them, one session being encoded
// (another copy) and the encoded file (a third), so about 4× the pixels plus the app itself.
// The worker's budget was 384 MB until the first measurement (412 MB) found BatchNorm's
// recalibration recording an autodiff graph; with that fixed it holds under 100 MB, and the
// budget is now 256 MB.
const BUDGET = { pageWasm: 160 * MB, pageHeap: 96 * MB, workerWasm: 256 * MB, stored: 64 * MB };

// Real MNIST digits 0–5 from the fixtures, 30 of each.
async function fixtureDigits() {
  const digits = [];
  for (let d = 0; d < 6; d++) {
    digits.push(await Promise.all([...Array(30).keys()].map(async (i) => [...await readFile(`tests/fixtures/mnist6/train/${d}/${i}.png`)])));
  }
  return digits;
}

// In the page: `perClass` PNG files for each of `classes` classes, made from the real digits.
// Class k shows digit k mod 6; classes 6 and up are tinted (a coloured pen), and every image is
// shifted by up to 3 pixels so no two are the same. Kept in window.__files[k].
async function makeImages(page, classes, perClass) {
  const digits = await fixtureDigits();
  await page.evaluate(async ({ digits, classes, perClass }) => {
    const bitmaps = await Promise.all(digits.map((list) => Promise.all(list.map((bytes) =>
      createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/png' }))))));
    const tints = ['#ff4040', '#40c040', '#4080ff', '#ffc000', '#c040ff', '#00c0c0'];
    window.__files = [];
    for (let k = 0; k < classes; k++) {
      const files = [];
      for (let i = 0; i < perClass; i++) {
        const canvas = new OffscreenCanvas(32, 32);
        const g = canvas.getContext('2d');
        g.fillStyle = '#000';
        g.fillRect(0, 0, 32, 32);
        g.drawImage(bitmaps[k % 6][i % 30], (i % 7) - 3, ((3 * i) % 7) - 3, 32, 32);
        if (k >= 6) {
          g.globalCompositeOperation = 'multiply';
          g.fillStyle = tints[(k - 6) % tints.length];
          g.fillRect(0, 0, 32, 32);
        }
        const blob = await canvas.convertToBlob({ type: 'image/png' });
        files.push(new File([blob], `class${k}-${i}.png`, { type: 'image/png' }));
      }
      window.__files.push(files);
    }
  }, { digits, classes, perClass });
}

// Feeds window.__files[k] through class card `card`'s upload input, as a file picker does.
async function upload(page, card, k) {
  await page.evaluate(({ card, k }) => {
    const input = document.querySelectorAll('[data-testid=upload]')[card];
    const transfer = new DataTransfer();
    for (const file of window.__files[k]) transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, { card, k });
}

const counts = (page) => page.$$eval('[data-testid=sample-count]', (e) => e.map((x) => parseInt(x.textContent)));
const stall = (page) => page.evaluate(() => window.__heartbeat.worst);
const resetStall = (page) => page.evaluate(() => window.__heartbeat.reset());

// Clicks Learn and waits for the step; returns how long the click's own work (copying the
// step's images and posting them to the worker) held the page's thread.
async function learn(page, rows, timeout = 600_000) {
  const clickMillis = await page.evaluate(() => {
    const t = performance.now();
    document.querySelector('[data-testid=learn]').click();
    return performance.now() - t;
  });
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
    || document.querySelector('[data-testid=notice].error'), rows, { timeout, polling: 250 });
  const error = await page.locator('[data-testid=notice].error').count();
  assert.equal(error, 0, error ? await page.getByTestId('notice').innerText() : '');
  return clickMillis;
}

// Memory now: the page's JavaScript heap after a garbage collection (through the DevTools
// protocol), the page's and the worker's wasm memory (the app reports them), the last session
// saved and what the browser counts as stored for the site.
async function memory(page, cdp) {
  await openView(page, 'check');
  await page.getByTestId('measure-memory').click();
  // On a cross-origin isolated page the browser's own measure comes too, except, often, with
  // the threaded worker: its idle pool threads wait in Atomics.wait and may never answer it (the
  // page gives up after 10 s).
  await page.waitForFunction(() => {
    const figures = document.querySelector('[data-testid=memory-usage]')?.dataset;
    return figures?.workerWasm && figures.browserState !== 'measuring';
  }, null, { timeout: 60_000 });
  const state = await page.$eval('[data-testid=memory-usage]', (e) => e.dataset.browserState);
  const threaded = /\d+ threads/.test(await page.getByTestId('backend').textContent());
  // Isolated, the browser measures; not isolated, it is not offered. With the threaded worker
  // no bound can require the browser's answer: performance.measureUserAgentSpecificMemory()
  // resolves only once every worker of the page has reported, and the pool's idle threads are
  // blocked in Atomics.wait, outside their event loop, until rayon hands them work; whether
  // they wake inside the page's 10 s depends on scheduling (the git history records both
  // outcomes; on 2026-12-06 it did not answer). The bound that holds for both workers is
  // withinBudget's on the app's own figures: the pool's threads share the worker's one
  // WebAssembly.Memory, so `workerWasm` is every thread's Rust heap together, held to the same
  // budget as the single-threaded worker's.
  const expected = await page.evaluate(() => crossOriginIsolated) ? (threaded ? ['measured', 'no-answer'] : ['measured']) : ['unavailable'];
  assert.ok(expected.includes(state), `the browser measure: ${state}, expected ${expected.join(' or ')}`);
  const live = await cdp.send('Runtime.getHeapUsage');
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const figures = await page.$eval('[data-testid=memory-usage]', (e) => ({
    pageWasm: Number(e.dataset.pageWasm), workerWasm: Number(e.dataset.workerWasm), saved: Number(e.dataset.saved || 0),
    pageLive: Number(e.dataset.pageLive), workerLive: Number(e.dataset.workerLive),
    browser: e.dataset.browser ? Number(e.dataset.browser) : undefined }));
  const stored = await page.evaluate(async () => (await navigator.storage.estimate()).usage);
  await openView(page, 'classroom');
  return { pageHeap: heap.usedSize, pageHeapBeforeGc: live.usedSize, ...figures, stored };
}
const show = (m) => `page heap ${(m.pageHeap / MB).toFixed(1)} MB (${(m.pageHeapBeforeGc / MB).toFixed(1)} MB before collection), page wasm ${(m.pageWasm / MB).toFixed(1)} MB (${(m.pageLive / MB).toFixed(1)} MB in use), `
  + `worker wasm ${(m.workerWasm / MB).toFixed(1)} MB (${(m.workerLive / MB).toFixed(1)} MB in use), saved ${(m.saved / MB).toFixed(2)} MB, stored ${(m.stored / MB).toFixed(1)} MB`
  + (m.browser === undefined ? '' : `; the browser's own measure of page and worker ${(m.browser / MB).toFixed(1)} MB`);

function withinBudget(m, what) {
  if (m.browser !== undefined) {
    const all = BUDGET.pageWasm + BUDGET.pageHeap + BUDGET.workerWasm;
    assert.ok(m.browser <= all, `${what}: the browser measures ${(m.browser / MB).toFixed(1)} MB, over the ${all / MB} MB of the page's and worker's budgets`);
  }
  for (const key of Object.keys(BUDGET)) {
    // The heap is held to its budget before a garbage collection too (what the tab really uses).
    const value = key === 'pageHeap' ? Math.max(m.pageHeap, m.pageHeapBeforeGc) : m[key];
    assert.ok(value <= BUDGET[key], `${what}: ${key} ${(value / MB).toFixed(1)} MB is over its budget of ${BUDGET[key] / MB} MB`);
  }
}

// Polls the save status while `work` runs: every save's size and duration.
async function watchSaves(page, work) {
  const saves = new Map();
  let done = false;
  const poll = (async () => {
    while (!done) {
      const s = await page.$eval('[data-testid=save-status]', (e) => [e.dataset.bytes, e.dataset.millis, e.dataset.written]).catch(() => []);
      if (s[0]) saves.set(`${s[0]}/${s[1]}`, { bytes: Number(s[0]), millis: Number(s[1]), written: Number(s[2]) });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try { return { result: await work(), saves }; } finally { done = true; await poll; }
}

test('classroom scale: 5,000 images in 10 classes, two steps, a reload', { tag: '@cpu' }, async ({ openPage, isolatedSite, isolated }) => {
  const CLASSES = 10, UPLOADED = 480, CAMERA = 200, TOTAL = CLASSES * UPLOADED + CAMERA;
  const started = Date.now();
  // Served cross-origin isolated: the browser's own memory measure comes too. The `cpu` project
  // keeps the single-threaded worker there (?threads=0), the `threads` project trains on threads.
  const { context, page, problems } = await openPage(`${isolatedSite}?backend=cpu${isolated ? '' : '&threads=0'}`);
  const cdp = await context.newCDPSession(page);
  await waitForBackend(page);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'served cross-origin isolated');
  await setEpochs(page, EPOCHS);
  for (let k = 0; k < CLASSES; k++) await addClassNamed(page, `Class ${k + 1}`);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=class-card]').length === n, CLASSES);
  await makeImages(page, CLASSES, UPLOADED);

  // 4,800 images through the upload path, one class after another.
  await resetStall(page);
  const t0 = Date.now();
  const { saves: uploadSaves } = await watchSaves(page, async () => {
    for (let k = 0; k < CLASSES; k++) {
      await upload(page, k, k);
      await page.waitForFunction(({ k, n }) => parseInt(document.querySelectorAll('[data-testid=sample-count]')[k]?.textContent) === n,
        { k, n: UPLOADED }, { timeout: 300_000, polling: 200 });
    }
  });
  const uploadSeconds = (Date.now() - t0) / 1000;
  const uploadStall = await stall(page);
  const saves = [...uploadSaves.values()];
  console.log(`[scale] ${CLASSES * UPLOADED} uploads in ${uploadSeconds.toFixed(1)} s; longest stall ${uploadStall.toFixed(0)} ms; `
    + `${saves.length} autosaves meanwhile, slowest ${Math.max(0, ...saves.map((s) => s.millis))} ms, largest write ${(Math.max(0, ...saves.map((s) => s.written)) / MB).toFixed(2)} MB`);
  assert.ok(saves.length >= Math.min(3, Math.floor(uploadSeconds / 4)), `autosave keeps up while images arrive: ${saves.length} saves in ${uploadSeconds.toFixed(0)} s`);

  // 200 more through the camera (the fake camera plays real sevens) into the last class.
  await page.getByTestId('camera-start').click();
  await page.getByTestId('record').waitFor({ timeout: 30_000 });
  await page.getByTestId('camera-class').selectOption({ label: `Class ${CLASSES}` });
  await resetStall(page);
  await page.getByTestId('record').hover();
  await page.mouse.down();
  await page.waitForFunction(({ k, n }) => parseInt(document.querySelectorAll('[data-testid=sample-count]')[k]?.textContent) >= n,
    { k: CLASSES - 1, n: UPLOADED + CAMERA }, { timeout: 120_000, polling: 100 });
  await page.mouse.up();
  const cameraStall = await stall(page);
  await page.getByTestId('camera-stop').click();
  const afterCamera = await counts(page);
  const total = afterCamera.reduce((a, b) => a + b, 0);
  assert.ok(total >= TOTAL && total <= TOTAL + 5, `${TOTAL} images: ${afterCamera}`);
  console.log(`[scale] ${total} images in ${CLASSES} classes (${afterCamera.join(', ')}); longest stall while recording ${cameraStall.toFixed(0)} ms`);
  assert.ok(uploadStall < 200 && cameraStall < 200, `the page keeps answering: stalls ${uploadStall.toFixed(0)} / ${cameraStall.toFixed(0)} ms`);

  // Autosave catches up with all of it.
  const tSaved = Date.now();
  await allSaved(page);
  assert.ok(Number(await page.getByTestId('save-status').getAttribute('data-bytes')) >= total * 3 * 32 * 32, 'the save holds every image');
  const saved = await page.$eval('[data-testid=save-status]', (e) => ({ bytes: Number(e.dataset.bytes), millis: Number(e.dataset.millis), written: Number(e.dataset.written) }));
  console.log(`[scale] session of ${(saved.bytes / MB).toFixed(1)} MB saved ${((Date.now() - tSaved) / 1000).toFixed(1)} s after the last image; the last save wrote ${(saved.written / MB).toFixed(2)} MB in ${saved.millis} ms`);
  const added = await memory(page, cdp);
  console.log(`[scale] memory after adding ${total} images: ${show(added)}`);
  withinBudget(added, 'after adding the images');

  // The bound: a class holds at most 2,000 images. 1,920 more offered to class 8 (480 there
  // already): 1,520 join it, the rest are refused with one message, and nothing is lost.
  await page.evaluate(() => { window.__files.push(window.__files.slice(0, 4).flat()); });
  await upload(page, 7, CLASSES);
  await page.waitForFunction(() => /already has 2000 images/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), null, { timeout: 120_000 });
  const bounded = await counts(page);
  assert.equal(bounded[7], 2000, `the class is filled to its bound: ${bounded}`);
  assert.deepEqual(bounded.filter((_, i) => i !== 7), afterCamera.filter((_, i) => i !== 7), 'the other classes are unchanged');
  const boundNotice = await page.getByTestId('notice').innerText();
  assert.match(boundNotice, /Added 1520 images.*most one class can hold.*not added/s);
  console.log(`[scale] class bound: ${boundNotice}`);

  // Two steps on the CPU: classes 1–2, then 3–4.
  const stepStalls = [];
  for (const step of [1, 2]) {
    await page.getByTestId('pick').nth(0).check();
    await page.getByTestId('pick').nth(1).check();
    await resetStall(page);
    const t = Date.now();
    const click = await learn(page, step);
    stepStalls.push(await stall(page));
    console.log(`[scale] step ${step} learned in ${((Date.now() - t) / 1000).toFixed(1)} s (${EPOCHS} epoch(s)); longest stall ${stepStalls.at(-1).toFixed(0)} ms (Learn's click ${click.toFixed(0)} ms)`);
  }
  assert.ok(Math.max(...stepStalls) < 200, `the page keeps answering while training: ${stepStalls.map((s) => s.toFixed(0))} ms`);
  await allSaved(page);
  const trained = await memory(page, cdp);
  console.log(`[scale] memory after two steps: ${show(trained)}`);
  withinBudget(trained, 'after two steps');
  const rows = await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));
  console.log(`[scale] accuracy matrix ${JSON.stringify(rows)}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${SHOTS}/scale-two-steps.png` });

  // Reload: every image, both steps and the model come back.
  await allSaved(page);
  const before = await counts(page);
  const tReload = Date.now();
  await page.reload();
  await page.waitForFunction(() => /Welcome back/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), null, { timeout: 120_000 });
  const restoreSeconds = (Date.now() - tReload) / 1000;
  assert.deepEqual(await counts(page), before, 'every image is back');
  assert.equal(await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.length), 2);
  assert.deepEqual(await page.$$eval('[data-testid=branch]', (b) => b.map((x) => x.dataset.frozen)), ['true', 'false']);
  await page.getByTestId('predict-kept-aside').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 4, null, { timeout: 60_000 });
  const restored = await memory(page, cdp);
  console.log(`[scale] reload restored ${before.reduce((a, b) => a + b, 0)} images, 2 steps and the model in ${restoreSeconds.toFixed(1)} s; memory ${show(restored)}`);
  withinBudget(restored, 'after the reload');
  assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
  assert.deepEqual(problems, [], 'no console errors');
  console.log(`[scale] ok in ${((Date.now() - started) / 1000).toFixed(0)} s`);
});

// Ten steps in a row: one class a step after a first step of two, 24 images a class. Then the
// same last step once more in a fresh browser that imports the session saved before it: what
// that fresh worker needs is what the model and the samples explain, so the long-running
// worker must not hold much more (a leak grows with every step; the model grows with the
// branches, and the fresh worker has those too).
test('endurance: ten steps in a row, memory after each', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const STEPS = Number(process.env.ENDURANCE_STEPS ?? 10);
  const { context, page, problems } = await openPage(appUrl);
  let beforeLast;
  const curve = [];
  const cdp = await context.newCDPSession(page);
  await waitForBackend(page);
  await setEpochs(page, EPOCHS);
  const classes = STEPS + 1;
  for (let k = 0; k < classes; k++) await addClassNamed(page, `Class ${k + 1}`);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=class-card]').length === n, classes);
  await makeImages(page, classes, 24);
  for (let k = 0; k < classes; k++) {
    await upload(page, k, k);
    await page.waitForFunction(({ k }) => parseInt(document.querySelectorAll('[data-testid=sample-count]')[k]?.textContent) === 24, { k });
  }
  for (let step = 1; step <= STEPS; step++) {
    if (step === STEPS) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
      beforeLast = await readFile(await download.path());
    }
    await page.getByTestId('pick').nth(0).check();
    if (step === 1) await page.getByTestId('pick').nth(1).check();
    const t = Date.now();
    await learn(page, step);
    const seconds = (Date.now() - t) / 1000;
    await allSaved(page);
    const m = await memory(page, cdp);
    curve.push({ step, seconds, ...m });
    console.log(`[endurance] step ${step} in ${seconds.toFixed(1)} s: ${show(m)}`);
  }
  assert.equal(await page.$$eval('[data-testid=branch]', (b) => b.length), STEPS, `${STEPS} branches`);
  await page.screenshot({ path: `${SHOTS}/endurance-ten-steps.png` });
  assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
  assert.deepEqual(problems, [], 'no console errors');
  await context.close();
  console.log(`[endurance] curve (step, worker wasm, worker in use, page wasm, page in use, page heap, session; MB) ${JSON.stringify(curve.map((c) => [c.step, ...[c.workerWasm, c.workerLive, c.pageWasm, c.pageLive, c.pageHeap].map((v) => +(v / MB).toFixed(1)), +(c.saved / MB).toFixed(2)]))}`);

  // The last step again, in a fresh browser from the session saved before it.
  const fresh = await openPage(appUrl);
  const freshCdp = await fresh.context.newCDPSession(fresh.page);
  await waitForBackend(fresh.page);
  await fresh.page.getByTestId('import').setInputFiles({ name: 'before-last.derstudio', mimeType: 'application/octet-stream', buffer: beforeLast });
  await fresh.page.waitForFunction(() => /Opened/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), null, { timeout: 60_000 });
  await fresh.page.getByTestId('pick').nth(0).check();
  await learn(fresh.page, STEPS);
  const once = await memory(fresh.page, freshCdp);
  const last = curve.at(-1);
  console.log(`[endurance] the last step alone, in a fresh browser: ${show(once)}`);
  // What each side holds now (its allocator's count) must be what the fresh browser holds
  // after the same step, give or take a quarter and 4 MB: a leak grows with every step. The
  // wasm memories (high-water marks, moved by the largest message of the moment) and the
  // heap are held to the budgets and reported.
  const bound = (m) => 1.25 * m + 4 * MB;
  for (const key of ['workerLive', 'pageLive', 'pageHeap']) {
    console.log(`[endurance] ${key}: after ${STEPS} steps in a row ${(last[key] / MB).toFixed(1)} MB, the last step alone ${(once[key] / MB).toFixed(1)} MB (bound ${(bound(once[key]) / MB).toFixed(1)} MB)`);
    assert.ok(last[key] <= bound(once[key]), `${key} after ${STEPS} steps (${(last[key] / MB).toFixed(1)} MB) is more than the model and samples explain (${(bound(once[key]) / MB).toFixed(1)} MB)`);
  }
  for (const m of curve) withinBudget(m, `after step ${m.step}`);
  assert.deepEqual(fresh.problems, [], 'no console errors');
});
