// What the page says about the browser's storage: persistence is asked for once there is a step
// to keep; when refused, the page says to Export; when the quota is reached, it says how much is
// used and what to do.
import assert from 'node:assert/strict';
import { test, SHOTS, waitForBackend, addClassNamed, cspViolations, setEpochs, trySamples } from './fixtures.mjs';

const saveStatus = (page) => page.getByTestId('save-status').innerText();

// The browser refuses persistent storage: after the first step the page says to Export. Then
// the quota runs out: the page says how much is used and what to do, and keeps the work.
test('storage: persistence refused or granted, and the quota reached', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const refuse = () => {
    navigator.storage.persist = () => Promise.resolve(false);
    navigator.storage.persisted = () => Promise.resolve(false);
  };
  const { context, page, problems } = await openPage(appUrl, { init: refuse });
  await waitForBackend(page);
  await setEpochs(page, 1);
  await trySamples(page);
  assert.equal(await page.getByTestId('storage-kept').count(), 0, 'nothing asked before there is a step to keep');
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1, null, { timeout: 300_000 });
  const kept = page.getByTestId('storage-kept');
  await kept.waitFor({ timeout: 10_000 });
  assert.equal(await kept.getAttribute('data-persistent'), 'false');
  assert.match(await kept.innerText(), /may clear saved work.*Export after each step/);
  console.log(`[storage] persistence refused: ${await kept.innerText()}`);

  // The quota is reached.
  await page.evaluate(() => {
    IDBObjectStore.prototype.put = function () { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
    navigator.storage.estimate = () => Promise.resolve({ usage: 52_000_000, quota: 52_400_000 });
  });
  await addClassNamed(page, 'After the quota');
  await page.waitForFunction(() => /storage for this site is full/.test(document.querySelector('[data-testid=save-status]')?.textContent ?? ''), null, { timeout: 30_000 });
  const status = await saveStatus(page);
  assert.match(status, /52\.0 MB of 52\.4 MB used/);
  assert.match(status, /Export the session/);
  assert.equal(await page.$$eval('[data-testid=class-card]', (c) => c.length), 7, 'the new class is kept in the page');
  console.log(`[storage] quota reached: ${status}`);
  await page.screenshot({ path: `${SHOTS}/storage-quota.png` });
  assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
  assert.deepEqual(problems.filter((p) => !/QuotaExceeded|quota/i.test(p)), [], 'no console errors');
  await context.close();

  // Where the browser grants it, the page says the work is kept.
  const granted = await openPage(appUrl, {
    init: () => { navigator.storage.persist = () => Promise.resolve(true); navigator.storage.persisted = () => Promise.resolve(false); },
  });
  await waitForBackend(granted.page);
  await setEpochs(granted.page, 1);
  await trySamples(granted.page);
  await granted.page.getByTestId('learn').click();
  const keptGranted = granted.page.getByTestId('storage-kept');
  await keptGranted.waitFor({ timeout: 300_000 });
  assert.equal(await keptGranted.getAttribute('data-persistent'), 'true');
  console.log(`[storage] persistence granted: ${await keptGranted.innerText()}`);
});
