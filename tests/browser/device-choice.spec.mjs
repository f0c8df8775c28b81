// Which device trains when the URL does not say: the worker measures a hardware WebGPU adapter
// against the CPU, and never picks a software adapter by itself. This machine's only adapter is
// SwiftShader (a software renderer, ~37× slower than the CPU path), so the default page must
// train on the CPU and say why; `?backend=webgpu` still forces WebGPU.
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitForBackend, setEpochs, trySamples, matrixRows, openView } from './fixtures.mjs';

const badgeText = async (page) => (await page.getByTestId('backend').innerText()).replace(/\s+/g, ' ');

test('the default page skips a software adapter and trains on the CPU, saying why', { tag: '@cpu' }, async ({ openPage, site }) => {
  const { page, problems } = await openPage(site);
  await waitForBackend(page);
  assert.equal(await page.getByTestId('backend').getAttribute('data-kind'), 'cpu', await badgeText(page));
  const reason = await page.getByTestId('backend-reason').innerText();
  assert.match(reason, /only WebGPU adapter here is a software renderer.*slower than the CPU.*\?backend=webgpu/, reason);
  console.log(`[device] default page: ${await badgeText(page)}`);
  await page.screenshot({ path: `${SHOTS}/device-choice-default.png` });

  await setEpochs(page, 1);
  await trySamples(page);
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 120_000, polling: 250 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  assert.equal((await matrixRows(page)).length, 1);
  assert.equal(await page.getByTestId('backend').getAttribute('data-kind'), 'cpu', 'the step trained on the CPU');
  assert.deepEqual(problems, [], 'no console errors');

  const forced = await openPage(`${site}?backend=webgpu`);
  await waitForBackend(forced.page);
  assert.equal(await forced.page.getByTestId('backend').getAttribute('data-kind'), 'webgpu', await badgeText(forced.page));
  assert.match(await forced.page.getByTestId('backend-reason').innerText(), /WebGPU requested with \?backend=webgpu/);
  console.log(`[device] ?backend=webgpu: ${await badgeText(forced.page)}`);
});

// The measuring path, which only a hardware adapter takes: the test hook has the worker time
// SwiftShader as if it were a GPU. Both devices train a few real updates of the page's network;
// the faster one is chosen and the badge shows both figures (SwiftShader loses here).
test('on a GPU the worker times both devices and trains on the faster', { tag: '@webgpu' }, async ({ openPage, site }) => {
  const { page, problems } = await openPage(`${site}?simulate=hardware-adapter`);
  await page.waitForFunction(() => /Measuring this computer/.test(document.querySelector('[data-testid=backend]')?.textContent ?? ''), null, { timeout: 60_000, polling: 100 });
  await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.dataset.kind, null, { timeout: 240_000, polling: 500 });
  const reason = await page.getByTestId('backend-reason').innerText();
  console.log(`[device] measured: ${await badgeText(page)}`);
  const [, gpu, cpu, chosen] = reason.match(/WebGPU (\d+) ms · CPU (\d+) ms per update → (WebGPU|CPU)/) ?? [];
  assert.ok(chosen, `the badge shows both figures and the choice: ${reason}`);
  assert.equal(chosen, Number(gpu) < Number(cpu) ? 'WebGPU' : 'CPU', 'the faster device is chosen');
  assert.equal(await page.getByTestId('backend').getAttribute('data-kind'), chosen === 'WebGPU' ? 'webgpu' : 'cpu');
  assert.deepEqual(problems, [], 'no console errors');
});

// Before the first step, a new network shape (here the width) asks the worker to choose again,
// on that network: a second Init carries it (postcard: Init, Auto, batch 32, width 16, 32×32).
test('a new network shape before the first step asks the worker to choose again', { tag: '@cpu' }, async ({ openPage, site }) => {
  // The Inits the training worker got: on an isolated page the regular worker may hand a CPU
  // choice to the threaded worker, which then gets the Init again; only the last worker counts.
  const recordInits = () => {
    window.__inits = [];
    const Native = window.Worker;
    window.Worker = function (...args) {
      window.__inits = [];
      const worker = new Native(...args);
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (data, transfer) => {
        if (data?.[0] === 0) window.__inits.push(Array.from(data));
        post(data, transfer);
      };
      return worker;
    };
  };
  const { page, problems } = await openPage(site, { init: recordInits });
  await waitForBackend(page);
  assert.deepEqual(await page.evaluate(() => window.__inits), [[0, 0, 32, 8, 32, 0, 0]], 'the first Init: the default network');
  await openView(page, 'settings');
  await page.getByTestId('width').fill('16');
  await page.getByTestId('width').dispatchEvent('change');
  await openView(page, 'classroom');
  await page.waitForFunction(() => window.__inits.length === 2, null, { timeout: 30_000 });
  assert.deepEqual((await page.evaluate(() => window.__inits))[1], [0, 0, 32, 16, 32, 0, 0], 'the second Init: width 16');
  await waitForBackend(page);
  assert.equal(await page.getByTestId('backend').getAttribute('data-kind'), 'cpu');
  assert.deepEqual(problems, [], 'no console errors');
});
