// The core classroom loop in Firefox ESR (Debian's stock build, the `firefox` project): the
// sample digits, one DER step on the CPU, a prediction, the session kept across a reload, and
// export, start over and import. Playwright drives the stock build over WebDriver BiDi
// (channel `moz-firefox`); nothing is downloaded. Firefox has no WebGPU here, so the page
// trains on the CPU whatever it is asked.
//
// A screenshot over BiDi makes Playwright add a <style> element from a script it evaluates;
// the site's policy (style-src 'self') refuses it, as it should, and Firefox reports that as
// a page error. Those reports are told apart by their source (an eval, which the site's own
// scripts cannot do under its policy); any other violation or page error fails the test.
//
// Playwright 1.64 fires no `download` event for Firefox's `blob:` downloads (Firefox reports
// them without a navigation), so the export is read where the page makes it: the Blob handed
// to URL.createObjectURL for the download link.
import assert from 'node:assert/strict';
import { test } from '@playwright/test';

const SHOTS = 'tests/browser/screenshots';

// Keeps every Blob the page turns into a URL, by URL, for the test to read; and every
// violation of the site's policy with its source.
function keepBlobs() {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push({ directive: e.violatedDirective, source: e.sourceFile }));
  window.__blobs = new Map();
  const create = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (blob) => {
    const url = create(blob);
    window.__blobs.set(url, blob);
    return url;
  };
  const click = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function () {
    if (this.download) window.__lastDownload = { name: this.download, url: this.href };
    return click.call(this);
  };
}

const rows = (page) => page.locator('[data-testid=accuracy-matrix] tbody tr').count();
const notice = (page) => page.getByTestId('notice').innerText().catch(() => '');
const waitNotice = (page, pattern, timeout = 60_000) => page.waitForFunction(
  (source) => new RegExp(source).test(document.querySelector('[data-testid=notice]')?.textContent ?? ''),
  pattern.source, { timeout });

test('the classroom loop in Firefox ESR: samples, a CPU step, a prediction, reload, export and import', { tag: '@firefox' }, async ({ page, browser }) => {
  test.setTimeout(10 * 60_000);
  const problems = [];
  const driverStyle = /blocked an inline style \(style-src-elem\)/;
  page.on('pageerror', (e) => { if (!driverStyle.test(e.message)) problems.push(`page error: ${e.message}`); });
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.addInitScript(keepBlobs);
  console.log(`[firefox] ${browser.browserType().name()} ${browser.version()}`);

  await page.goto(`${process.env.DER_SITE}?backend=cpu`);
  await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.dataset.kind, null, { timeout: 120_000 });
  assert.equal(await page.getByTestId('backend').getAttribute('data-kind'), 'cpu');
  await page.getByTestId('captions-dismiss').click();

  // A short step: the loop, not the learning, is under test (Chromium's tests measure that).
  await page.getByTestId('tab-settings').click();
  // Typed as a person would (select all, type, leave the field): Playwright's `fill` over
  // BiDi appends to a number field in this Firefox instead of replacing its value.
  for (const [id, value] of [['epochs', 4], ['min-updates', 0]]) {
    const field = page.getByTestId(id);
    await field.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(String(value));
    await page.keyboard.press('Tab');
    assert.equal(await field.inputValue(), String(value), `${id} set`);
  }
  await page.getByTestId('tab-classroom').click();

  await page.getByTestId('try-samples').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 6);
  const started = Date.now();
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 300_000, polling: 500 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  console.log(`[firefox] step 1 learned in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(await page.locator('[data-testid=branch]').count(), 1, 'one branch in the diagram');
  const accuracy = await page.$$eval('[data-testid=accuracy-matrix] tbody tr td', (t) => t.map((x) => parseInt(x.textContent)));
  assert.ok(accuracy.every((a) => a >= 50), `digits 0 and 1 learned: ${accuracy}`);

  await page.getByTestId('predict-kept-aside').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 2, null, { timeout: 60_000 });
  const bars = await page.$$eval('[data-testid=prediction] .bar-number', (b) => b.map((x) => parseInt(x.textContent)));
  const total = bars.reduce((a, b) => a + b, 0);
  assert.ok(total >= 97 && total <= 103, `confidences sum to about 100%: ${bars}`);
  await page.screenshot({ path: `${SHOTS}/firefox-after-step-1.png` });

  // Kept across a reload (IndexedDB, Web Locks).
  await page.waitForFunction(() => {
    const status = document.querySelector('[data-testid=save-status]');
    return status?.dataset.pending === 'false' && /Saved in this browser/.test(status.textContent);
  }, null, { timeout: 60_000, polling: 100 });
  await page.reload();
  await waitNotice(page, /Welcome back/);
  assert.equal(await rows(page), 1, 'the step is back after a reload');

  // Export: the file the download link carries.
  await page.getByTestId('export').click();
  await page.waitForFunction(() => window.__lastDownload);
  const exported = Buffer.from(await page.evaluate(async () => {
    const blob = window.__blobs.get(window.__lastDownload.url);
    return [...new Uint8Array(await blob.arrayBuffer())];
  }));
  assert.equal(await page.evaluate(() => window.__lastDownload.name), 'der-studio-session.derstudio');
  assert.equal(exported.subarray(0, 9).toString(), 'DERSTUDIO');
  console.log(`[firefox] exported session: ${(exported.length / 1e6).toFixed(2)} MB`);

  page.once('dialog', (d) => d.accept());
  await page.getByTestId('start-over').click();
  await waitNotice(page, /new, empty session/);
  assert.equal(await page.locator('[data-testid=class-card]').count(), 0);

  // A file that is not a session is refused and changes nothing; the exported one comes back.
  await page.getByTestId('import').setInputFiles({ name: 'homework.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 not a session') });
  await waitNotice(page, /homework\.pdf.*could not be opened.*not a DER Studio file/);
  assert.equal(await page.locator('[data-testid=class-card]').count(), 0);
  await page.getByTestId('import').setInputFiles({ name: 'lesson.derstudio', mimeType: 'application/octet-stream', buffer: exported });
  await waitNotice(page, /Opened “lesson\.derstudio”/);
  assert.equal(await page.locator('[data-testid=class-card]').count(), 6);
  assert.equal(await rows(page), 1, 'the imported session has its step');
  await page.getByTestId('predict-kept-aside').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 2, null, { timeout: 60_000 });
  await page.screenshot({ path: `${SHOTS}/firefox-imported.png` });
  const violations = await page.evaluate(() => window.__csp);
  const ours = violations.filter((v) => !(v.directive === 'style-src-elem' && / > eval$/.test(decodeURIComponent(v.source))));
  assert.deepEqual(ours, [], 'no violation of the policy by the site itself');
  assert.deepEqual(problems, [], 'no page or console errors');
});
