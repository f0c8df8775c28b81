// What every browser test shares: Debian's headless Chromium with a fake camera, a page with
// its console errors, requests and Content-Security-Policy violations recorded, and the small
// waits the tests use.
import { chromium } from 'playwright-core';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SHOTS = 'tests/browser/screenshots';
export const FLAGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // performance.measureUserAgentSpecificMemory() answers at once instead of at the next
  // garbage collection (up to 20 s later).
  '--enable-blink-features=ForceEagerMeasureMemory',
];

// The fake camera plays real handwritten 7s (from the bundled MNIST samples) as a Y4M video.
async function fakeCameraVideo() {
  const digits = await readFile('www/samples/mnist-28.bin');
  const side = 56, frames = [];
  for (let i = 0; i < 40; i++) {
    const start = (7 * 40 + i) * 28 * 28;
    const y = Buffer.alloc(side * side);
    for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) y[r * side + c] = digits[start + (r >> 1) * 28 + (c >> 1)];
    frames.push(Buffer.from('FRAME\n'), y, Buffer.alloc(side * side / 2, 128));
  }
  const path = join(await mkdtemp(join(tmpdir(), 'der-camera-')), 'sevens.y4m');
  await writeFile(path, Buffer.concat([Buffer.from(`YUV4MPEG2 W${side} H${side} F10:1 Ip A1:1 C420jpeg\n`), ...frames]));
  return path;
}
FLAGS.push('--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  `--use-file-for-fake-video-capture=${await fakeCameraVideo()}`);

// Records every Content-Security-Policy violation and every long stall of the page's thread:
// a heartbeat every 20 ms, whose largest gap is the longest the page stopped answering.
function pageProbes() {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI}`));
  window.__heartbeat = { last: performance.now(), worst: 0, reset() { this.last = performance.now(); this.worst = 0; } };
  setInterval(() => {
    const now = performance.now();
    window.__heartbeat.worst = Math.max(window.__heartbeat.worst, now - window.__heartbeat.last);
    window.__heartbeat.last = now;
  }, 20);
}

// Watches one page (a tab): console errors, page errors and requests that leave localhost.
export function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const remote = [];
  page.on('request', (r) => { const u = new URL(r.url()); if (u.hostname !== '127.0.0.1') remote.push(r.url()); });
  return { problems, remote };
}

// `init`: a function run in the page before its own scripts (e.g. to stand in for a browser API).
export async function openPage(url, { viewport = { width: 1280, height: 860 }, init } = {}) {
  const context = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'der-chromium-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS, headless: true, viewport,
  });
  await context.addInitScript(pageProbes);
  if (init) await context.addInitScript(init);
  const page = context.pages()[0] ?? await context.newPage();
  const { problems, remote } = watch(page);
  await page.goto(url);
  return { context, page, problems, remote };
}

// The policy violations the page has seen so far.
export const cspViolations = (page) => page.evaluate(() => window.__csp);

export const notice = (page) => page.evaluate(() => document.querySelector('[data-testid=notice]')?.textContent ?? '');
export const waitNotice = (page, pattern, timeout = 120_000) => page.waitForFunction(
  (source) => new RegExp(source).test(document.querySelector('[data-testid=notice]')?.textContent ?? ''),
  pattern.source, { timeout, polling: 200 });

export const waitForBackend = (page) => page.waitForFunction(
  () => document.querySelector('[data-testid=backend]')?.dataset.kind, null, { timeout: 60_000 });

export async function addClassNamed(page, name) {
  await page.getByTestId('class-name').fill(name);
  await page.getByTestId('add-class').click();
}


// Waits until every change is saved in this browser (no save scheduled or running).
export const allSaved = (page, timeout = 60_000) => page.waitForFunction(() => {
  const status = document.querySelector('[data-testid=save-status]');
  return status?.dataset.pending === 'false' && /Saved in this browser/.test(status.textContent);
}, null, { timeout, polling: 100 });

// Sets the epochs of the next steps in the settings panel (and closes it again).
export async function setEpochs(page, epochs) {
  await page.locator('details.settings summary').click();
  await page.getByTestId('epochs').fill(String(epochs));
  await page.getByTestId('epochs').dispatchEvent('change');
  await page.locator('details.settings summary').click();
}

// The six built-in digit classes (digits 0 and 1 picked for the first step).
export async function trySamples(page) {
  await page.getByTestId('try-samples').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 6);
}
