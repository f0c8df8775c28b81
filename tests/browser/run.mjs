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

async function trainDemo(label, url, expectKind) {
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
        || document.querySelector('[data-testid=error]'),
      null, { timeout: 300_000, polling: 500 });
    const error = await page.getByTestId('error').count();
    assert.equal(error, 0, error ? await page.getByTestId('error').innerText() : '');
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
    await page.screenshot({ path: `${SHOTS}/foundation-${label}.png`, fullPage: true });
    assert.deepEqual(problems, [], 'no console errors');
    assert.deepEqual(remote, [], 'no request leaves localhost');
    console.log(`[${label}] ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { kind, losses };
  } finally {
    await context.close();
  }
}

const { server, url } = await serve(DIST);
let failed = false;
try {
  const gpu = await trainDemo('default', url, process.env.EXPECT_WEBGPU === '0' ? undefined : 'webgpu');
  const cpu = await trainDemo('cpu', `${url}?backend=cpu`, 'cpu');
  if (gpu.kind === 'webgpu') {
    // Same seed, same CPU-initialised weights: WebGPU must reproduce the CPU's losses.
    gpu.losses.forEach((l, i) => assert.ok(Math.abs(l - cpu.losses[i]) <= 2e-3 * Math.max(1, Math.abs(cpu.losses[i])),
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
