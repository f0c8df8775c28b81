// Live prediction keeps asking the worker while it learns: a step started while predictions are
// in flight must build on the model the page shows (the earlier branch locked, the earlier row of
// the accuracy matrix unchanged), and a session restored meanwhile must replace the model the
// worker predicts with. WebGPU only (SwiftShader here: each iteration takes seconds, so the
// worker is busy with predictions between them); one epoch a step keeps it to a few minutes.
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitNotice, waitForBackend, setEpochs, trySamples, matrixRows, cspViolations } from './fixtures.mjs';

test.describe.configure({ timeout: 10 * 60_000 });

// Clicks Learn and waits for `rows` rows of the accuracy matrix (or an error).
async function learn(page, rows) {
  const t0 = Date.now();
  await page.getByTestId('learn').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
    || document.querySelector('[data-testid=notice].error'), rows, { timeout: 360_000, polling: 500 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  return (Date.now() - t0) / 1000;
}

const liveRate = async (page) => Number(await page.getByTestId('live-rate').getAttribute('data-rate'));

test('a step learned while live prediction runs builds on the earlier step', { tag: '@webgpu' }, async ({ studio }) => {
  const { page, problems } = studio;
  await waitForBackend(page);
  assert.equal(await page.getByTestId('backend').getAttribute('data-kind'), 'webgpu', 'the default page trains on WebGPU');
  await setEpochs(page, 1);
  await trySamples(page);
  console.log(`[worker-race] step 1 learned in ${(await learn(page, 1)).toFixed(1)} s`);
  const afterStep1 = await matrixRows(page);
  assert.equal(afterStep1.length, 1);
  // Kept for the restore below.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const step1Session = await readFile(await download.path());

  // Live prediction from the fake camera (it shows 7s): each answer asks for the next frame, so
  // a prediction is in flight nearly all the time.
  await page.getByTestId('camera-start').click();
  await page.getByTestId('camera-stop').waitFor({ timeout: 30_000 });
  await page.getByTestId('live').click();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=live-rate]')?.dataset.rate) > 0, null, { timeout: 60_000, polling: 250 });
  console.log(`[worker-race] live prediction with 1 branch: ${(await liveRate(page)).toFixed(1)} per second`);

  // Step 2 while the predictions go on.
  await page.getByTestId('pick').nth(0).check(); // digit 2 (the learned cards have no checkbox)
  await page.getByTestId('pick').nth(1).check(); // digit 3
  console.log(`[worker-race] step 2 learned during live prediction in ${(await learn(page, 2)).toFixed(1)} s`);
  const frozen = await page.$$eval('[data-testid=branch]', (b) => b.map((x) => x.dataset.frozen));
  const afterStep2 = await matrixRows(page);
  console.log(`[worker-race] branches (frozen) ${JSON.stringify(frozen)}; accuracy matrix after step 1 ${JSON.stringify(afterStep1)}, after step 2 ${JSON.stringify(afterStep2)}`);
  assert.deepEqual(frozen, ['true', 'false'], 'two branches, the first locked: step 2 built on step 1');
  assert.equal(afterStep2.length, 2);
  // Step 1's row as it was after step 1; the new column (the classes of step 2) is blank in it.
  assert.deepEqual(afterStep2[0], [...afterStep1[0].slice(0, -1), '', afterStep1[0].at(-1)], "step 1's row is what it was after step 1");
  assert.ok(afterStep2[1][0]?.trim(), `step 2's row has its first cell: ${JSON.stringify(afterStep2[1])}`);
  // What remains in the worker is the step that finished during the predictions: live
  // prediction goes on with the new model's four classes (an old learner put back by a
  // prediction would answer with two).
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 4
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 120_000, polling: 250 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  await page.screenshot({ path: `${SHOTS}/worker-race-step-2.png`, fullPage: true });

  // Restore (Import of the session exported after step 1) while live prediction still runs:
  // the page and the worker are back at one branch, and the worker predicts with that model.
  await page.getByTestId('import').setInputFiles({ name: 'step-1.derstudio', mimeType: 'application/octet-stream', buffer: step1Session });
  await waitNotice(page, /Opened “step-1\.derstudio”/);
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  assert.equal(await page.$$eval('[data-testid=branch]', (b) => b.length), 1, 'one branch after the restore');
  assert.deepEqual(await matrixRows(page), afterStep1, 'the accuracy matrix of step 1 after the restore');
  await page.getByTestId('predict-kept-aside').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 2
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 60_000 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  console.log('[worker-race] a session restored during live prediction replaced the model the worker predicts with');

  assert.deepEqual(problems, [], 'no console errors');
  assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
});
