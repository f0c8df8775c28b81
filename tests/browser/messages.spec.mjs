// The page and the worker talk in bytes: every message, both ways, is a Uint8Array whose buffer
// is transferred (moved, not copied), and a step's images and its model file cross as about one
// byte per pixel value or model byte. Every request is answered: a prediction asked before
// anything is learned gets a message saying so, not silence, and so does a request the browser
// refuses to post.
import assert from 'node:assert/strict';
import { test, notice, waitNotice, waitForBackend, setEpochs, trySamples } from './fixtures.mjs';

// Runs in the page before its scripts: records each message's type, size and whether its
// buffer was transferred, as the page posts it and as the worker's arrive.
function recordMessages() {
  window.__messages = [];
  const Native = window.Worker;
  window.Worker = function (...args) {
    const worker = new Native(...args);
    window.__worker = worker;
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (data, transfer) => {
      // A post the browser refuses, once, when the test asks for it.
      if (window.__refuseNextPost) {
        window.__refuseNextPost = false;
        throw new DOMException('The object could not be cloned.', 'DataCloneError');
      }
      window.__messages.push({ to: 'worker', type: data?.constructor?.name, bytes: data?.byteLength ?? String(data).length });
      post(data, transfer);
      window.__messages.at(-1).moved = data?.byteLength === 0; // a transferred buffer is detached
    };
    worker.addEventListener('message', (e) => window.__messages.push({ to: 'page', type: e.data?.constructor?.name, bytes: e.data?.byteLength ?? String(e.data).length }));
    return worker;
  };
}

test('messages cross as transferred bytes, and every request is answered', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(appUrl, { init: recordMessages });
  await waitForBackend(page);
  await trySamples(page);

  // Before any step the page offers no prediction; the worker still answers one, here posted
  // by hand: postcard's `ToWorker::Predict` (variant 4) of a 3-byte image with label 0, asked
  // of the latest model (`step: None`, the last byte).
  await page.evaluate(() => { const predict = new Uint8Array([4, 3, 1, 2, 3, 0, 0]); window.__worker.postMessage(predict, [predict.buffer]); });
  await waitNotice(page, /Nothing has been learned yet/);

  await setEpochs(page, 1);
  const picks = page.getByTestId('pick');
  for (let i = 0; i < await picks.count(); i++) await picks.nth(i).check();
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 300_000, polling: 500 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));

  const messages = await page.evaluate(() => window.__messages);
  const types = [...new Set(messages.map((m) => m.type))];
  assert.deepEqual(types, ['Uint8Array'], `every message is bytes: ${JSON.stringify(types)}`);
  assert.ok(messages.filter((m) => m.to === 'worker').every((m) => m.moved), 'the page transfers its buffers');
  // The Learn message: six classes × 40 images of 32 × 32 × 3 bytes, plus settings and framing.
  const largest = Math.max(...messages.filter((m) => m.to === 'worker').map((m) => m.bytes ?? 0));
  const recorded = await page.evaluate(() => window.__messages.filter((m) => m.to === 'worker').map((m) => m.bytes));
  console.log(`[messages] ${messages.length} messages; page → worker sizes as posted ${JSON.stringify(recorded)}`);
  assert.ok(largest > 240 * 3072 && largest < 240 * 3072 * 1.02, `the Learn message is about a byte per pixel: ${largest}`);
  const fromWorker = messages.filter((m) => m.to === 'page').map((m) => m.bytes);
  const model = Math.max(...fromWorker);
  console.log(`[messages] worker → page: largest ${model} B (the model file or the step's results)`);

  // A request the browser refuses to post is answered too, with its reason, and loses nothing:
  // the same question asked again is answered by the model.
  await page.evaluate(() => { window.__refuseNextPost = true; });
  await page.getByTestId('predict-kept-aside').click();
  await waitNotice(page, /The predict request could not reach the training worker \(.*could not be cloned.*\); nothing changed, try again\./);
  console.log(`[messages] a refused post: "${await notice(page)}"`);
  await page.getByTestId('predict-kept-aside').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length >= 2, null, { timeout: 60_000 });
  assert.deepEqual(problems, [], 'no console errors');
});
