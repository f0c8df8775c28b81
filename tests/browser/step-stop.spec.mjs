// Why a step stopped (#24): with the update floor setting a step's length, the step ends once
// its loss stops falling and the page says so; with a number of epochs it trains them all and
// says that. The sentence sits under Learn and in the Results' schedule line.
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitForBackend, trySamples, openView } from './fixtures.mjs';

async function settings(page, values) {
  await openView(page, 'settings');
  for (const [id, value] of Object.entries(values)) {
    await page.getByTestId(id).fill(String(value));
    await page.getByTestId(id).dispatchEvent('change');
  }
  await openView(page, 'classroom');
}

async function learn(page, step) {
  await page.getByTestId('learn').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
    || document.querySelector('[data-testid=notice].error'), step, { timeout: 600_000, polling: 500 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  const stopped = await page.getByTestId('step-stopped').innerText();
  await openView(page, 'results');
  const schedule = await page.getByTestId('step-schedule').innerText();
  await openView(page, 'classroom');
  return { stopped, updates: Number(schedule.match(/(\d+) updates/)[1]), schedule };
}

test('a step stops once its loss stops falling, and the page says why', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(appUrl, { viewport: { width: 1366, height: 768 } });
  await waitForBackend(page);
  await page.getByTestId('captions-dismiss').click();
  await trySamples(page);
  // The floor sets the length (1 epoch is 6 batches): the rule may end the step early.
  await settings(page, { epochs: 1, 'min-updates': 400 });
  const first = await learn(page, 1);
  console.log(`[step stop] step 1: ${first.stopped} · ${first.schedule}`);
  const learned = first.stopped.match(/^Step 1: Learned: the loss stopped falling after (\d+) updates\./);
  const limit = first.stopped.match(/^Step 1: Stopped at the limit of (\d+) updates; the loss was still falling\./);
  assert.ok(learned || limit, first.stopped);
  assert.equal(Number((learned ?? limit)[1]), first.updates, 'the sentence counts the updates run');
  if (learned) assert.ok(first.updates < 400 && first.updates >= 150, `${first.updates} updates`);
  else assert.equal(first.updates, 400);
  assert.match(first.schedule, /Learned: the loss stopped falling|Stopped at the limit/);
  await page.screenshot({ path: `${SHOTS}/step-stopped.png` });
  // Epochs set the length: all of them run.
  await settings(page, { epochs: 3, 'min-updates': 0 });
  await page.getByTestId('pick').nth(0).check();
  await page.getByTestId('pick').nth(1).check();
  const second = await learn(page, 2);
  console.log(`[step stop] step 2: ${second.stopped}`);
  assert.match(second.stopped, /^Step 2: Trained for the set \d+ updates\./);
  assert.deepEqual(problems, [], 'no console errors');
});
