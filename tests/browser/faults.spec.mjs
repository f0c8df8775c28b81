// Worker faults reach the page as a message that offers the CPU, and the CPU link works.
import assert from 'node:assert/strict';
import { test, notice, waitNotice, cspViolations, allSaved, setEpochs } from './fixtures.mjs';

// A GPU fault (cubecl panics on an invalid shader or a lost device) must reach the page as a
// message that offers the CPU, and the CPU link must work. The default page (WebGPU).
test('a worker fault offers the CPU', { tag: '@webgpu' }, async ({ openPage, site }) => {
  const { page } = await openPage(`${site}?backend=webgpu&simulate=worker-fault`);
  const shown = page.locator('[data-testid=notice].error');
  await shown.waitFor({ timeout: 60_000 });
  const text = await shown.innerText();
  assert.match(text, /The training worker stopped: .*simulated GPU fault/);
  const offer = shown.getByRole('link', { name: 'Continue on the CPU' });
  await offer.click();
  await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.dataset.kind === 'cpu', null, { timeout: 60_000 });
  assert.ok(page.url().endsWith('?backend=cpu'), page.url());
  console.log('[fault] a worker panic reaches the page, which offers and switches to the CPU');
  assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
  await page.context().close();

  // A worker that dies without a Rust panic (a wasm trap, memory exhausted): only the Worker's
  // error event tells the page, which must still say so and offer the CPU.
  const aborted = await openPage(`${site}?backend=webgpu&simulate=worker-abort`);
  const abortNotice = aborted.page.locator('[data-testid=notice].error');
  await abortNotice.waitFor({ timeout: 60_000 });
  assert.match(await abortNotice.innerText(), /The training worker stopped: .*simulated abort: out of memory/);
  await abortNotice.getByRole('link', { name: 'Continue on the CPU' }).waitFor();
  console.log('[fault] a worker that dies without a panic is reported too, with the CPU offered');
});

// A worker fault during a step (a lost GPU device): the page offers the CPU, reloads there with
// the session as it was before the step, and runs the interrupted step again.
test('a fault during a step runs the step again on the CPU', { tag: '@cpu' }, async ({ openPage, site }) => {
  const { page } = await openPage(`${site}?backend=cpu&simulate=fault-in-step`);
  await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.dataset.kind, null, { timeout: 60_000 });
  await setEpochs(page, 12);
  await page.getByTestId('try-samples').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 6);
  await allSaved(page);
  await page.getByTestId('learn').click();
  const offer = page.getByTestId('continue-on-cpu');
  await offer.waitFor({ timeout: 60_000 });
  assert.match(await notice(page), /The training worker stopped: simulated GPU fault/);
  assert.match(await offer.innerText(), /runs the step again/);
  await offer.click();
  await waitNotice(page, /Running the interrupted step again/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 300_000, polling: 500 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  assert.ok(page.url().includes('resume=step'), page.url());
  assert.equal(await page.$$eval('[data-testid=branch]', (b) => b.length), 1);
  console.log(`[fault-in-step] the step restarted on the CPU from the saved session: ${await notice(page)}`);
  assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
});
