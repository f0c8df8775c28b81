// No layout jumps while a step trains: the cumulative layout shift (the browser's own
// `layout-shift` entries, those not caused by input) between pressing Learn and the step's
// results stays below 0.1, the "good" bound of Core Web Vitals. A teacher at a projector must
// not lose the place they point at while the progress, the loss curve and the results appear.
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitForBackend, trySamples, setEpochs } from './fixtures.mjs';

function observeLayoutShift() {
  window.__shift = { total: 0, entries: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      window.__shift.total += e.value;
      window.__shift.entries.push({ value: e.value, at: e.startTime, nodes: e.sources?.map((s) => s.node?.dataset?.testid ?? s.node?.nodeName) ?? [] });
    }
  }).observe({ type: 'layout-shift', buffered: true });
}

test('a step trains without layout jumps (CLS < 0.1)', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(appUrl, { init: observeLayoutShift });
  await waitForBackend(page);
  // A step of 20 epochs: the progress, the loss curve and the results all appear.
  await setEpochs(page, 20);
  await trySamples(page);
  await page.waitForTimeout(500);
  await page.evaluate(() => { window.__shift.total = 0; window.__shift.entries = []; });
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 180_000, polling: 250 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  await page.waitForTimeout(500);
  const shift = await page.evaluate(() => window.__shift);
  console.log(`[layout] cumulative layout shift during a step: ${shift.total.toFixed(4)} over ${shift.entries.length} shifts ${JSON.stringify(shift.entries.slice(0, 8))}`);
  await page.screenshot({ path: `${SHOTS}/layout-after-step.png` });
  assert.ok(shift.total < 0.1, `cumulative layout shift ${shift.total.toFixed(3)} during a step`);
  assert.deepEqual(problems, [], 'no console errors');
});
