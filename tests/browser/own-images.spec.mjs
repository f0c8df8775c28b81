// The classroom flow with the user's own images: two classes from uploaded photos (real MNIST
// PNGs) learned in step 1, then a class recorded with the camera (the fake camera plays real
// sevens) and one more uploaded class learned in step 2. Settings that cannot work are refused
// before anything trains.
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitNotice, waitForBackend, addClassNamed, cspViolations, openView, setEpochs } from './fixtures.mjs';

test('own classes from uploads and the camera, at 24 × 24', { tag: '@cpu' }, async ({ studio }) => {
  const { page, problems } = studio;
  await waitForBackend(page);
  const addClass = (name) => addClassNamed(page, name);
  const photos = async (digit, count) => Promise.all([...Array(count).keys()].map(async (i) => ({
    name: `${digit}-${i}.png`, mimeType: 'image/png', buffer: await readFile(`tests/fixtures/mnist6/train/${digit}/${i}.png`) })));
  const learn = async (rows) => {
    await page.getByTestId('learn').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
      || document.querySelector('[data-testid=notice].error'), rows, { timeout: 300_000, polling: 500 });
    assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  };
  // At 24 × 24 pixels: the whole path (uploads, camera, training, prediction) follows the setting.
  await openView(page, 'settings');
  await page.getByTestId('input-size').selectOption('24');
  await openView(page, 'classroom');
  await addClass('Zeros');
  await addClass('Ones');
  await page.getByTestId('upload').nth(0).setInputFiles(await photos(0, 30));
  await waitNotice(page, /Added 30 images/);
  await page.getByTestId('upload').nth(1).setInputFiles(await photos(1, 30));
  await waitNotice(page, /Added 30 images/);
  await page.getByTestId('pick').nth(0).check();
  await page.getByTestId('pick').nth(1).check();
  // Settings that cannot work are refused before anything trains, saying what would work.
  const setting = async (id, value) => {
    const input = page.locator(`#view-settings [data-testid=${id}]`);
    await input.fill(String(value));
    await input.dispatchEvent('change');
  };
  const refused = async (pattern) => {
    await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('[data-testid=settings-problem]')?.textContent ?? ''), pattern.source);
    await openView(page, 'classroom');
    await page.getByTestId('learn').click();
    await waitNotice(page, pattern);
    assert.equal(await page.locator('[data-testid=notice].error').count(), 1);
    console.log(`[settings] refused before training: ${await notice(page)}`);
    await openView(page, 'settings');
  };
  await openView(page, 'settings');
  await setting('width', 100);
  await refused(/backbone width of 100 cannot be used: choose a width from 2 to 64/);
  await setting('width', 8);
  await page.getByTestId('settings-problem').waitFor({ state: 'detached' });
  // Own images get the photo augmentation unless the user chooses another.
  const auto = await page.locator('[data-testid=augmentation] option[value=auto]').innerText();
  assert.match(auto, /now: shifts, mirroring, light/, auto);
  await openView(page, 'classroom');
  assert.equal(await page.$$eval('[data-testid=branch]', (b) => b.length), 0, 'nothing trained');
  await setEpochs(page, 20);
  await learn(1);
  await openView(page, 'results');
  const schedule = await page.getByTestId('step-schedule').innerText();
  console.log(`[own images] ${schedule}`);
  assert.match(schedule, /augmentation: shifts, mirroring, light/, 'the step trained on augmented photos');
  await openView(page, 'classroom');

  await addClass('Sevens (camera)');
  await addClass('Twos');
  await page.getByTestId('camera-start').click();
  await page.getByTestId('record').waitFor({ timeout: 30_000 });
  await page.getByTestId('camera-class').selectOption({ label: 'Sevens (camera)' });
  await page.getByTestId('record').hover();
  await page.mouse.down();
  await page.waitForTimeout(4000);
  await page.mouse.up();
  await waitNotice(page, /Recorded \d+ images/);
  await page.getByTestId('camera-stop').click();
  await page.getByTestId('upload').nth(1).setInputFiles(await photos(2, 30)); // the unlearned cards: sevens, twos
  await waitNotice(page, /Added 30 images/);
  await page.getByTestId('pick').nth(0).check();
  await page.getByTestId('pick').nth(1).check();
  await openView(page, 'settings');
  await setting('memory', 0);
  await refused(/memory of 0 images per class keeps nothing of the old classes: keep at least 1 per class/);
  await setting('memory', 20);
  await setting('batch-size', 500);
  await refused(/batch size \(500\) is larger than this step's \d+ training images: use a batch size of at most \d+/);
  await setting('batch-size', 32);
  await page.getByTestId('settings-problem').waitFor({ state: 'detached' });
  // The user's choice overrides the one by source: step 2 trains on the images as they are.
  await page.getByTestId('augmentation').selectOption('none');
  await openView(page, 'classroom');
  assert.equal(await page.$$eval('[data-testid=branch]', (b) => b.length), 1, 'the refused steps trained nothing');
  await learn(2);
  await openView(page, 'results');
  assert.match(await page.getByTestId('step-schedule').innerText(), /^Step 2: .*no augmentation/);
  await openView(page, 'classroom');
  assert.deepEqual(await page.$$eval('[data-testid=branch]', (b) => b.map((x) => x.dataset.frozen)), ['true', 'false']);
  const rows = await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));
  assert.ok(await page.$$eval('canvas.thumb', (c) => c.every((x) => x.width === 24)), 'images at 24 × 24');
  console.log(`[own-classes] 24×24, uploads then camera: accuracy matrix ${JSON.stringify(rows)}; ${await page.getByTestId('params').innerText()}`);
  await page.screenshot({ path: `${SHOTS}/own-classes.png`, fullPage: true });
  assert.deepEqual(problems, [], 'no console errors');
  assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
});
