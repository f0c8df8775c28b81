// The representation as a live diagram (src/web/page/diagram.rs), in the classroom's own step
// (20 epochs, CPU):
// - a new column grows in when a step starts, and its cells follow the channel masks of the
//   progress reports, counted here: at least 5 updates a second;
// - when the step ends, the channels pruning removed fade out, the column narrows and the
//   parameter count ticks down from before to after;
// - locked columns show a lock and never change;
// - hovering or focusing a cell reads its layer, channel and mask;
// - with reduced motion nothing animates, and it all still shows.
// Its screenshots at 1366×768 (loop-step-2-training, loop-step-2-pruned) are the README's.
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitForBackend, trySamples, setEpochs } from './fixtures.mjs';

// Counts, from the page's start: style changes of the live column's cells (one per progress
// report: each report changes them in one task) and of locked columns' cells.
function watchCells() {
  window.__cells = { live: [], locked: 0, reports: 0 };
  // The worker's progress reports, whichever worker runs: postcard writes the variant first,
  // and `FromWorker::StepProgress` is variant 5 (protocol.rs).
  const Native = window.Worker;
  window.Worker = function (...args) {
    const worker = new Native(...args);
    worker.addEventListener('message', (e) => {
      if (e.data instanceof Uint8Array && e.data[0] === 5) window.__cells.reports += 1;
    });
    return worker;
  };
  new MutationObserver((records) => {
    let live = false;
    for (const r of records) {
      const column = r.target.closest?.('[data-testid=branch-live], [data-testid=branch]');
      if (!column || !r.target.classList.contains('cell')) continue;
      if (column.dataset.testid === 'branch-live') live = true;
      else if (column.dataset.frozen === 'true') window.__cells.locked += 1;
    }
    if (live) window.__cells.live.push(performance.now());
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['style'] });
}

const stepDone = (page, steps) => page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
  || document.querySelector('[data-testid=notice].error'), steps, { timeout: 300_000, polling: 100 });

test('the diagram follows the masks live, prunes visibly and keeps locked columns still', { tag: '@cpu' }, async ({ openPage, appUrl, isolated }) => {
  const { page, problems } = await openPage(appUrl, { viewport: { width: 1366, height: 768 }, init: watchCells });
  await waitForBackend(page);
  await page.getByTestId('captions-dismiss').click();
  await trySamples(page);
  await page.getByTestId('notice').getByRole('button', { name: 'Dismiss' }).click();

  await page.getByTestId('learn').click();
  // The new column grows in.
  await page.getByTestId('branch-live').waitFor({ timeout: 30_000 });
  const growing = await page.getByTestId('branch-live').evaluate((c) => c.getAnimations().map((a) => a.animationName));
  assert.deepEqual(growing, ['grow-in'], 'the new column grows in');
  await page.waitForFunction(() => window.__cells.live.length >= 10, null, { timeout: 60_000 });
  await page.screenshot({ path: `${SHOTS}/diagram-training.png` });
  const liveWidth = await page.getByTestId('branch-live').evaluate((c) => c.getBoundingClientRect().width);
  // The cells' mask values over a second of training (early in an epoch the mask scale is small
  // and every mask is near 0.5; they spread as it grows).
  const cellsWhileTraining = [];
  for (let i = 0; i < 8; i++) {
    cellsWhileTraining.push(...await page.$$eval('[data-testid=branch-live] .cell', (c) => c.map((x) => x.style.getPropertyValue('--m'))));
    await page.waitForTimeout(120);
  }
  // Until the training phase ends: then the counted updates are the training's.
  await page.waitForFunction(() => !/Epoch/.test(document.querySelector('[data-testid=progress-label]')?.textContent ?? 'Epoch'), null, { timeout: 300_000, polling: 50 });
  const updates = await page.evaluate(() => window.__cells.live);
  const seconds = (updates.at(-1) - updates[0]) / 1000;
  const rate = (updates.length - 1) / seconds;
  console.log(`[diagram] the live column changed ${updates.length} times in ${seconds.toFixed(1)} s of training: ${rate.toFixed(1)} updates a second`);
  assert.ok(rate >= 5, `the live masks update at least 5 times a second: ${rate.toFixed(1)}`);
  const values = cellsWhileTraining.map(Number);
  assert.ok(cellsWhileTraining.every((m) => m !== '') && values.every((m) => m >= 0 && m <= 1), 'every cell shows a mask value');
  assert.ok(new Set(values).size >= 3, `the cells show the masks changing: ${[...new Set(values)].slice(0, 12)}`);

  // Pruning: removed channels fade while the count ticks down, then the column narrows.
  const ticks = [];
  let removedSeen = 0;
  await stepDone(page, 1);
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  const start = Date.now();
  while (Date.now() - start < 2500) {
    ticks.push(Number((await page.getByTestId('params').innerText()).match(/→ (\d+)/)?.[1]));
    removedSeen = Math.max(removedSeen, await page.locator('[data-testid=branch] .cell.removed').count());
    if (ticks.length === 4) await page.screenshot({ path: `${SHOTS}/diagram-pruning.png` });
    await page.waitForTimeout(40);
  }
  const params = await page.getByTestId('params').innerText();
  const [before, after] = params.match(/(\d+) → (\d+)/).slice(1).map(Number);
  const distinct = [...new Set(ticks)];
  console.log(`[diagram] ${params}; the count showed ${distinct.length} values: ${distinct.join(', ')}; ${removedSeen} channels faded`);
  assert.ok(after < before, `pruning removed parameters: ${params}`);
  assert.ok(removedSeen > 0, 'the removed channels fade out');
  assert.ok(distinct.length >= 3 && distinct.every((v, i) => i === 0 || v < distinct[i - 1]) && distinct.at(-1) === after,
    `the count ticks down to ${after}: ${distinct}`);
  assert.equal(await page.locator('[data-testid=branch] .cell.removed').count(), 0, 'faded channels are gone after the fade');
  const prunedWidth = await page.getByTestId('branch').evaluate((c) => c.getBoundingClientRect().width);
  console.log(`[diagram] column width ${liveWidth.toFixed(0)} px while training, ${prunedWidth.toFixed(0)} px after pruning`);
  assert.ok(prunedWidth < liveWidth, `the column narrows: ${liveWidth} → ${prunedWidth}`);
  await page.screenshot({ path: `${SHOTS}/diagram-pruned.png` });

  // Inspection: pointing at a cell, then the arrow keys.
  await page.locator('[data-testid=branch] .cell').first().hover();
  const pointed = await page.getByTestId('diagram-readout').innerText();
  assert.match(pointed, /^Step 1 \(new\) · stem · channel 1 · mask 1\.00$/);
  await page.getByTestId('diagram').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  const keyed = await page.getByTestId('diagram-readout').innerText();
  assert.match(keyed, /^Step 1 \(new\) · stage 1 block 1 inner · channel 2 · mask 1\.00$/);
  console.log(`[diagram] inspected: "${pointed}", then by keys "${keyed}"`);

  // Step 2: the first column is locked, and stays still while the new one trains.
  await setEpochs(page, 12);
  await page.getByTestId('pick').nth(0).check();
  await page.getByTestId('pick').nth(1).check();
  await page.evaluate(() => { window.__cells.live = []; window.__cells.locked = 0; window.__cells.reports = 0; });
  await page.getByTestId('learn').click();
  await page.getByTestId('branch-live').waitFor({ timeout: 30_000 });
  assert.deepEqual(await page.$$eval('[data-testid=branch]', (b) => b.map((x) => x.dataset.frozen)), ['true'], 'the first column is locked during step 2');
  assert.equal(await page.locator('[data-testid=branch] [aria-label=locked]').count(), 1, 'with a lock');
  // A few updates in (a short step may end with few: the step's end counts too).
  await page.waitForFunction(() => window.__cells.live.length >= 5
    || document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 2, null, { timeout: 60_000, polling: 50 });
  await page.screenshot({ path: `${SHOTS}/loop-step-2-training.png` });
  await stepDone(page, 2);
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  await page.getByTestId('predict-kept-aside').click();
  await page.waitForTimeout(2500); // the fade and the narrowing
  await page.screenshot({ path: `${SHOTS}/loop-step-2-pruned.png` });
  const { live, locked, reports } = await page.evaluate(() => ({ live: window.__cells.live.length, locked: window.__cells.locked, reports: window.__cells.reports }));
  console.log(`[diagram] step 2: ${reports} progress reports; the new column changed ${live} times, the locked column ${locked} times`);
  // Both workers: the step streams its progress to the column, at least 5 reports. How many
  // of them visibly change a cell differs, and no one bound holds for both: every epoch's last
  // batch reports whatever the pace (engine/learner/training.rs), and there the mask scale is
  // s_max, so every mask reads 1.00 or 0.00 alike from epoch to epoch; the other reports come
  // every 100 ms at whatever batch is running, with s anywhere in its climb. On one thread an
  // epoch of step 2 takes a few report intervals, so many reports land mid-epoch (13 visible
  // changes in 27 reports, uncontended, 2026-12-06); on two threads an epoch takes about one
  // interval, nearly every report is an epoch's last, and 1 change in 27 reports was measured.
  // The visible count is held to 5 on one thread; #24 (the mask schedule over the step, not
  // per epoch) is what would make it hold on both.
  assert.ok(reports >= 5, `the step streamed its progress: ${reports} reports`);
  if (!isolated) assert.ok(live >= 5, `the new column moved with the reports: ${live} updates`);
  assert.equal(locked, 0, 'the locked column never changed');
  assert.deepEqual(await page.$$eval('[data-testid=branch]', (b) => b.map((x) => x.dataset.frozen)), ['true', 'false']);
  assert.match(await page.locator(".diagram-legend").innerText(), /a channel.*a column.*locked/s);
  assert.deepEqual(problems, [], 'no console errors');
});

test('with reduced motion the diagram does not animate and still shows every change', { tag: '@cpu' }, async ({ playwright, launchOptions, appUrl }) => {
  const browser = await playwright.chromium.launch(launchOptions);
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, reducedMotion: 'reduce' });
  await context.addInitScript(watchCells);
  const page = await context.newPage();
  await page.goto(appUrl);
  await waitForBackend(page);
  await page.getByTestId('captions-dismiss').click();
  await trySamples(page);
  await page.getByTestId('learn').click();
  await page.getByTestId('branch-live').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => window.__cells.live.length >= 3, null, { timeout: 60_000, polling: 50 });
  const running = await page.evaluate(() => document.getAnimations().map((a) => a.animationName ?? a.transitionProperty));
  assert.deepEqual(running, [], `nothing animates during the step: ${running}`);
  await stepDone(page, 1);
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  // The pruned column at once: no fading cells, the final count.
  assert.equal(await page.locator('.cell.removed').count(), 0, 'no fade');
  const params = await page.getByTestId('params').innerText();
  const [, after] = params.match(/(\d+) → (\d+)/).slice(1).map(Number);
  const kept = await page.locator('[data-testid=branch] .cell').count();
  assert.equal(await page.evaluate(() => document.getAnimations().length), 0, 'no animation after the step');
  console.log(`[diagram] reduced motion: ${params} shown at once, ${kept} channels kept, ${await page.evaluate(() => window.__cells.live.length)} live updates, no animation`);
  assert.ok(after > 0 && kept > 0);
  await page.screenshot({ path: `${SHOTS}/diagram-reduced-motion.png` });
  await browser.close();
});
