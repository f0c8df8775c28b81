// What every browser test shares (playwright.config.mjs launches the browser): the served
// site, Debian's headless Chromium with a fresh profile per page and a fake camera, a page with
// its console errors, requests and Content-Security-Policy violations recorded, and the small
// waits the tests use — as functions of a page and as the `Studio` page object.
import { test as base } from '@playwright/test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SHOTS = 'tests/browser/screenshots';

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

// Split-MNIST digits as classes "Digit 0" … "Digit n-1": the first `perClass` training images of
// each, uploaded one class at a time (the step-time benchmark and the threads profiler).
export async function uploadDigits(page, data, classes, perClass = 60) {
  for (let digit = 0; digit < classes; digit++) {
    await addClassNamed(page, `Digit ${digit}`);
    const files = await Promise.all([...Array(perClass).keys()].map(async (i) => (
      { name: `${i}.png`, mimeType: 'image/png', buffer: await readFile(`${data}/train/${digit}/${i}.png`) })));
    await page.getByTestId('upload').last().setInputFiles(files);
    await page.waitForFunction(([n, count]) => [...document.querySelectorAll('[data-testid=sample-count]')]
      .filter((x) => parseInt(x.textContent) === count).length === n, [digit + 1, perClass], { timeout: 60_000 });
  }
}

// Ticks the first two classes still to learn, presses Learn and waits for step `step`'s row of
// the accuracy matrix (or an error notice); the seconds from Learn to then.
export async function learnNextTwo(page, step, timeout = 30 * 60_000) {
  await page.getByTestId('pick').nth(0).check();
  await page.getByTestId('pick').nth(1).check();
  const t0 = Date.now();
  await page.getByTestId('learn').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
    || document.querySelector('[data-testid=notice].error'), step, { timeout, polling: 200 });
  return (Date.now() - t0) / 1000;
}

// Waits until every change is saved in this browser (no save scheduled or running).
export const allSaved = (page, timeout = 60_000) => page.waitForFunction(() => {
  const status = document.querySelector('[data-testid=save-status]');
  return status?.dataset.pending === 'false' && /Saved in this browser/.test(status.textContent);
}, null, { timeout, polling: 100 });

// Shows one of the page's views: 'classroom', 'results', 'settings' or 'check'.
export const openView = (page, view) => page.getByTestId(`tab-${view}`).click();

// Sets the epochs of the next steps in the settings view (and goes back to the classroom).
// A short schedule for a test: exactly `epochs` passes over the step's images (no floor of
// updates). The default schedule (hundreds of updates a step) is for learning quality.
export async function setEpochs(page, epochs) {
  await openView(page, 'settings');
  for (const [id, value] of [['epochs', epochs], ['min-updates', 0]]) {
    await page.getByTestId(id).fill(String(value));
    await page.getByTestId(id).dispatchEvent('change');
  }
  await openView(page, 'classroom');
}

// The six built-in digit classes (digits 0 and 1 picked for the first step).
export async function trySamples(page) {
  await page.getByTestId('try-samples').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 6);
}

// Engine check → Measure speed (the view must be open): runs the worker's speed measurement
// and returns its table's rows. Throws with the page's notice if the worker reports an error.
export async function measureSpeed(page, timeout = 45 * 60_000) {
  await page.getByTestId('measure-speed').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=speed-table]')?.dataset.done === 'true'
    || document.querySelector('[data-testid=notice].error'), null, { timeout, polling: 1000 });
  if (await page.locator('[data-testid=notice].error').count() > 0) throw new Error(`the speed measurement failed: ${await notice(page)}`);
  return page.$$eval('[data-testid=speed-table] tbody tr', (r) => r.map((x) => ({
    case: x.dataset.case, branches: Number(x.dataset.branches), median_ms: Number(x.dataset.median) })));
}

// The rows of the accuracy matrix, as the cells' text.
export const matrixRows = (page) => page.$$eval('[data-testid=accuracy-matrix] tbody tr',
  (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));

// One opened page (a tab of its own browser): the page, its browser context, and what the page
// reported (console errors, requests leaving localhost). The helpers above, bound to the page.
export class Studio {
  constructor({ context, page, problems, remote }) {
    Object.assign(this, { context, page, problems, remote });
  }
  notice() { return notice(this.page); }
  waitNotice(pattern, timeout) { return waitNotice(this.page, pattern, timeout); }
  waitForBackend() { return waitForBackend(this.page); }
  addClassNamed(name) { return addClassNamed(this.page, name); }
  allSaved(timeout) { return allSaved(this.page, timeout); }
  setEpochs(epochs) { return setEpochs(this.page, epochs); }
  openView(view) { return openView(this.page, view); }
  trySamples() { return trySamples(this.page); }
  cspViolations() { return cspViolations(this.page); }
  matrixRows() { return matrixRows(this.page); }
}

export const test = base.extend({
  // The project's backend (playwright.config.mjs): the page opens on it.
  backend: ['webgpu', { option: true }],

  // Whether the project serves the site cross-origin isolated (the threaded worker).
  isolated: [false, { option: true }],
  // The site as served for this run (global-setup.mjs), under its sub-path /der-studio/: plain,
  // or cross-origin isolated for the `threads` project.
  site: async ({ isolated }, use) => {
    if (!process.env.DER_SITE) throw new Error('no site served: run through `npx playwright test` (global-setup.mjs)');
    await use(isolated ? process.env.DER_SITE_ISOLATED : process.env.DER_SITE);
  },
  // The same site, cross-origin isolated (COOP/COEP).
  isolatedSite: async ({}, use) => use(process.env.DER_SITE_ISOLATED),
  // The built folder being served.
  dist: async ({}, use) => use(process.env.DER_DIST ?? process.env.DIST ?? 'dist'),
  // The page on the project's backend, forced by the URL (on this machine the page's own
  // choice is always the CPU: its only WebGPU adapter is SwiftShader; device-choice.spec.mjs).
  appUrl: async ({ site, backend }, use) => use(`${site}?backend=${backend}`),

  // openPage(url, { viewport, init, setup }): a fresh browser (its own profile, so its own
  // storage) with the page probes, on `url`. `init`: a function run in the page before its own
  // scripts (e.g. to stand in for a browser API). `setup`: an async function of the browser
  // context, run before the page opens (e.g. to route requests). Every browser opened is closed
  // after the test.
  openPage: async ({ playwright, launchOptions, viewport: defaultViewport }, use) => {
    const opened = [];
    await use(async (url, { viewport = defaultViewport, init, setup } = {}) => {
      const profile = await mkdtemp(join(tmpdir(), 'der-chromium-'));
      const context = await playwright.chromium.launchPersistentContext(profile, { ...launchOptions, viewport });
      opened.push({ context, profile });
      await context.addInitScript(pageProbes);
      if (init) await context.addInitScript(init);
      if (setup) await setup(context);
      const page = context.pages()[0] ?? await context.newPage();
      const { problems, remote } = watch(page);
      await page.goto(url);
      return new Studio({ context, page, problems, remote });
    });
    for (const { context, profile } of opened) {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true }).catch(() => {});
    }
  },

  // The page on the project's backend, opened.
  studio: async ({ openPage, appUrl }, use) => use(await openPage(appUrl)),
});
