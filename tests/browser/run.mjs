// End-to-end tests in Debian's headless Chromium: the page loads from a sub-path, shows its
// backend, and the worker trains DER's network with a falling loss — once on WebGPU
// (SwiftShader here) and once forced to the CPU; both must give the same losses.
import { chromium } from 'playwright-core';
import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { serve } from './serve.mjs';

const DIST = process.env.DIST ?? 'dist';
const SHOTS = 'tests/browser/screenshots';
const FLAGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

async function openPage(url) {
  const context = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'der-chromium-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS, headless: true,
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const remote = [];
  page.on('request', (r) => { const u = new URL(r.url()); if (u.hostname !== '127.0.0.1') remote.push(r.url()); });
  await page.goto(url);
  return { context, page, problems, remote };
}

// The classroom flow with the built-in digits: two steps, then the representation and the
// accuracy matrix must show DER at work.
async function classroom(label, page, steps) {
  const learnStep = async (step) => {
    const t0 = Date.now();
    await page.getByTestId('learn').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
      || document.querySelector('[data-testid=notice].error'), step, { timeout: 600_000, polling: 500 });
    const failed = await page.locator('[data-testid=notice].error').count();
    assert.equal(failed, 0, failed ? await page.getByTestId('notice').innerText() : '');
    console.log(`[${label}] classroom step ${step} learned in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };
  if (steps === 1) {
    // SwiftShader: a short step (2 epochs) is enough to prove a full DER step runs on WebGPU.
    await page.locator('details.settings summary').click();
    await page.getByTestId('epochs').fill('2');
    await page.getByTestId('epochs').dispatchEvent('change');
  }
  await page.getByTestId('try-samples').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 6);
  const counts = await page.$$eval('[data-testid=sample-count]', (e) => e.map((x) => parseInt(x.textContent)));
  assert.deepEqual(counts, [40, 40, 40, 40, 40, 40]);
  await page.screenshot({ path: `${SHOTS}/${label}-classes.png`, fullPage: true });
  await learnStep(1);
  await page.screenshot({ path: `${SHOTS}/${label}-after-step-1.png`, fullPage: true });
  if (steps === 1) {
    const branches = await page.$$eval('[data-testid=branch]', (b) => b.length);
    assert.equal(branches, 1);
    return;
  }
  const picks = page.getByTestId('pick');
  await picks.nth(0).check(); // digit 2 (the learned cards have no checkbox)
  await picks.nth(1).check(); // digit 3
  await learnStep(2);
  const frozen = await page.$$eval('[data-testid=branch]', (b) => b.map((x) => x.dataset.frozen));
  assert.deepEqual(frozen, ['true', 'false'], 'two branches, the first locked');
  const params = await page.getByTestId('params').innerText();
  const [before, after] = params.match(/(\d+) → (\d+)/).slice(1).map(Number);
  assert.ok(after < before, `pruning removes parameters: ${params}`);
  const rows = await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));
  console.log(`[${label}] accuracy matrix ${JSON.stringify(rows)}; ${params}`);
  assert.equal(rows.length, 2);
  const oldAfterStep2 = parseInt(rows[1][0]);
  assert.ok(oldAfterStep2 >= 60, `old digits still recognised after step 2: ${oldAfterStep2}%`);
  // Ask the model about a kept-aside image: one confidence bar per class learned.
  await page.getByTestId('predict-kept-aside').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 4, null, { timeout: 60_000 });
  const bars = await page.$$eval('[data-testid=prediction] .bar-number', (b) => b.map((x) => parseInt(x.textContent)));
  const total = bars.reduce((a, b) => a + b, 0);
  assert.ok(total >= 97 && total <= 103, `confidences sum to about 100%: ${bars}`);
  await page.screenshot({ path: `${SHOTS}/${label}-after-step-2.png`, fullPage: true });

  // Cancel a third step while it trains: the model stays as it was after step 2.
  await picks.nth(0).check(); // digit 4
  await picks.nth(1).check(); // digit 5
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => /Epoch/.test(document.querySelector('.progress-label')?.textContent ?? ''), null, { timeout: 120_000 });
  await page.getByTestId('cancel').click();
  await page.waitForFunction(() => /cancelled/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), null, { timeout: 120_000 });
  assert.equal(await page.$$eval('[data-testid=branch]', (b) => b.length), 2, 'no third branch after Cancel');
  assert.equal(await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.length), 2);
  assert.equal(await page.getByTestId('learn').isEnabled(), true, 'ready to learn again');
  console.log(`[${label}] Cancel during step 3 left the two-step model intact`);
}

async function trainDemo(label, url, expectKind, classroomSteps) {
  const started = Date.now();
  const { context, page, problems, remote } = await openPage(url);
  try {
    const badge = page.getByTestId('backend');
    await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.dataset.kind, null, { timeout: 60_000 });
    const kind = await badge.getAttribute('data-kind');
    const badgeText = (await badge.innerText()).replace(/\s+/g, ' ');
    console.log(`[${label}] backend: ${badgeText}`);
    if (expectKind) assert.equal(kind, expectKind, `backend for ${label}`);

    const beatBefore = Number(await page.getByTestId('heartbeat').innerText());
    await page.getByTestId('train-demo').click();
    await page.waitForFunction(
      () => /ms per step/.test(document.querySelector('[data-testid=demo-summary]')?.textContent ?? '')
        || document.querySelector('[data-testid=notice].error'),
      null, { timeout: 300_000, polling: 500 });
    const error = await page.locator('[data-testid=notice].error').count();
    assert.equal(error, 0, error ? await page.getByTestId('notice').innerText() : '');
    const beatAfter = Number(await page.getByTestId('heartbeat').innerText());
    const steps = await page.$$eval('[data-testid=demo-steps] li', (items) =>
      items.map((li) => ({ loss: Number(li.dataset.loss), millis: Number(li.dataset.millis) })));
    const losses = steps.map((s) => s.loss);
    console.log(`[${label}] losses ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    console.log(`[${label}] ms/step first ${steps[0].millis.toFixed(0)}, steady ${(steps.slice(1).reduce((a, s) => a + s.millis, 0) / (steps.length - 1)).toFixed(0)}`);
    assert.equal(steps.length, 10);
    assert.ok(losses.every(Number.isFinite), 'finite losses');
    assert.ok(losses.at(-1) < losses[0] * 0.8, `loss should fall: ${losses}`);
    assert.ok(beatAfter > beatBefore + 5, `the page must stay responsive while training (${beatBefore} → ${beatAfter})`);
    await mkdir(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}/${label}-engine-check.png`, fullPage: true });
    await classroom(label, page, classroomSteps);
    assert.deepEqual(problems, [], 'no console errors');
    assert.deepEqual(remote, [], 'no request leaves localhost');
    console.log(`[${label}] ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { kind, losses };
  } finally {
    await context.close();
  }
}

// A GPU fault (cubecl panics on an invalid shader or a lost device) must reach the page as a
// message that offers the CPU, and the CPU link must work.
async function workerFault(url) {
  const { context, page } = await openPage(`${url}?simulate=worker-fault`);
  try {
    const notice = page.locator('[data-testid=notice].error');
    await notice.waitFor({ timeout: 60_000 });
    const text = await notice.innerText();
    assert.match(text, /The training worker stopped: .*simulated GPU fault/);
    const offer = notice.getByRole('link', { name: 'Continue on the CPU' });
    await offer.click();
    await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.dataset.kind === 'cpu', null, { timeout: 60_000 });
    assert.ok(page.url().endsWith('?backend=cpu'), page.url());
    console.log('[fault] a worker panic reaches the page, which offers and switches to the CPU');
  } finally {
    await context.close();
  }
}

const { server, url } = await serve(DIST);
let failed = false;
try {
  // Quick runs while developing: ONLY=fault or ONLY=cpu.
  if (process.env.ONLY === 'fault') { await workerFault(url); process.exit(0); }
  if (process.env.ONLY === 'cpu') { await trainDemo('cpu', `${url}?backend=cpu`, 'cpu', 2); process.exit(0); }
  // SwiftShader emulates the GPU on the CPU (minutes per classroom step), so the WebGPU run
  // learns one full DER step; the CPU run learns two.
  const gpu = await trainDemo('default', url, process.env.EXPECT_WEBGPU === '0' ? undefined : 'webgpu', 1);
  const cpu = await trainDemo('cpu', `${url}?backend=cpu`, 'cpu', 2);
  await workerFault(url);
  if (gpu.kind === 'webgpu') {
    // Same seed, same CPU-initialised weights: WebGPU must reproduce the CPU's losses. The
    // first loss (forward only) agrees to float precision; rounding differences then grow a
    // little through ten updates with mask scales up to 100, hence 1% after that.
    assert.ok(Math.abs(gpu.losses[0] - cpu.losses[0]) <= 1e-4, `first loss: webgpu ${gpu.losses[0]} vs cpu ${cpu.losses[0]}`);
    gpu.losses.forEach((l, i) => assert.ok(Math.abs(l - cpu.losses[i]) <= 1e-2 * Math.max(1, Math.abs(cpu.losses[i])),
      `step ${i}: webgpu ${l} vs cpu ${cpu.losses[i]}`));
    console.log('WebGPU and CPU losses match');
  }
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  server.close();
}
process.exit(failed ? 1 : 0);
