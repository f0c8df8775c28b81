// Accessibility of the classroom screen:
// - the whole loop by keyboard alone (no click anywhere): add classes, upload, record from the
//   camera, pick classes, learn, cancel, learn again, ask the model, export; every control
//   reached with Tab;
// - axe-core (npm @axe-core/playwright) on the empty page, during a step, after two steps
//   (every view), and in presentation mode: no serious or critical violation.
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import AxeBuilder from '@axe-core/playwright';
import { test, SHOTS, notice, waitNotice, waitForBackend, trySamples, setEpochs, openView } from './fixtures.mjs';

const photos = async (digit, count) => Promise.all([...Array(count).keys()].map(async (i) => ({
  name: `${digit}-${i}.png`, mimeType: 'image/png', buffer: await readFile(`tests/fixtures/mnist6/train/${digit}/${i}.png`) })));

// Presses Tab until the focused element is the `nth` element with test id `id`; fails after
// `limit` presses (the control cannot be reached by keyboard).
async function tabTo(page, id, nth = 0, limit = 60) {
  for (let presses = 0; presses < limit; presses++) {
    const there = await page.evaluate(({ id, nth }) => document.activeElement === document.querySelectorAll(`[data-testid=${id}]`)[nth], { id, nth });
    if (there) return presses;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${id} (#${nth}) is not reachable with Tab`);
}

const stepRows = (page) => page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.length);

test('the whole loop works by keyboard alone', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(appUrl, { viewport: { width: 1366, height: 768 } });
  await waitForBackend(page);
  const used = [];
  const reach = async (id, nth) => { used.push(`${id}: ${await tabTo(page, id, nth)} Tabs`); };

  await reach('captions-dismiss');
  await page.keyboard.press('Enter');
  // N goes to the name field; Enter adds the class and leaves the field ready for the next.
  await page.keyboard.press('n');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'class-name');
  for (const name of ['Zeros', 'Ones']) {
    await page.keyboard.type(name);
    await page.keyboard.press('Enter');
  }
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 2);
  // Upload: the focused file input opens the file chooser from the keyboard.
  for (const [nth, digit] of [[0, 0], [1, 1]]) {
    await reach('upload', nth);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
    await chooser.setFiles(await photos(digit, 24));
    await waitNotice(page, /Added 24 images/);
  }
  // Record: start the camera, choose the class with the arrow keys, hold Space on the button.
  await reach('camera-start');
  await page.keyboard.press('Enter');
  await page.getByTestId('record').waitFor({ timeout: 30_000 });
  await reach('camera-class');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.getByTestId('camera-class').evaluate((s) => s.selectedOptions[0].textContent), 'Ones');
  await reach('record');
  await page.keyboard.down(' ');
  await page.waitForTimeout(900);
  await page.keyboard.up(' ');
  await waitNotice(page, /Recorded \d+ images/);
  const recorded = Number((await notice(page)).match(/Recorded (\d+)/)[1]);
  assert.ok(recorded >= 4, `Space held on the record button records: ${recorded}`);
  await reach('camera-stop');
  await page.keyboard.press('Enter');
  // Pick both classes with Space.
  for (const nth of [0, 1]) {
    await reach('pick', nth);
    await page.keyboard.press('Space');
  }
  assert.deepEqual(await page.$$eval('[data-testid=pick]', (p) => p.map((x) => x.checked)), [true, true]);
  // Learn, cancel with Esc, learn again with Enter on the button.
  await reach('learn');
  await page.keyboard.press('Enter');
  await page.getByTestId('branch-live').waitFor({ timeout: 30_000 });
  await page.keyboard.press('Escape');
  await waitNotice(page, /cancelled/);
  assert.equal(await stepRows(page), 0, 'Esc cancelled the step');
  await reach('learn');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 180_000, polling: 250 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  // Ask the model about a kept-aside image.
  await reach('predict-kept-aside');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 2, null, { timeout: 60_000 });
  // Export: a download, from the keyboard.
  await reach('export');
  const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  assert.match(download.suggestedFilename(), /\.derstudio$/);
  // The other views are tabs: arrow keys move between them.
  await reach('tab-classroom');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'tab-results');
  assert.equal(await page.locator('#view-results').isVisible(), true, 'the results view shows');
  await page.keyboard.press('ArrowLeft');
  console.log(`[a11y] by keyboard alone: ${recorded} images recorded, a step cancelled with Esc, one learned, a prediction, an export (${download.suggestedFilename()}); ${used.join(', ')}`);
  await page.screenshot({ path: `${SHOTS}/a11y-keyboard.png` });
  assert.deepEqual(problems, [], 'no console errors');
});

// Serious and critical violations fail; every violation is printed.
async function axe(page, state) {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  for (const v of violations) console.log(`[a11y] ${state}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`), [], `${state}: serious or critical axe violations`);
  console.log(`[a11y] ${state}: ${violations.length} violations, none serious or critical`);
}

test('axe finds no serious or critical violation: empty, during a step, after two steps, presenting', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(appUrl, { viewport: { width: 1366, height: 768 } });
  await waitForBackend(page);
  await axe(page, 'empty page (first-run captions open)');
  await page.getByTestId('captions-dismiss').click();
  await trySamples(page);
  await page.getByTestId('learn').click();
  await page.getByTestId('branch-live').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(600);
  await axe(page, 'during a step');
  // Status changes are announced: the phase in a polite live region (not every report), the
  // step's result in the notice (a status), a refusal as an alert.
  assert.equal(await page.getByTestId('progress-phase').getAttribute('aria-live'), 'polite');
  assert.equal(await page.getByTestId('progress-phase').innerText(), 'Training the new branch.');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1, null, { timeout: 180_000 });
  assert.equal(await page.getByTestId('notice').getAttribute('role'), 'status');
  assert.match(await notice(page), /Step 1 learned/);
  await page.getByTestId('learn').click(); // nothing picked: refused
  await waitNotice(page, /Pick at least one new class/);
  assert.equal(await page.getByTestId('notice').getAttribute('role'), 'alert');
  console.log(`[a11y] announced: the phase ("Training the new branch."), the result (status), a refusal (alert: ${await notice(page)})`);
  await setEpochs(page, 4);
  await page.getByTestId('pick').nth(0).check();
  await page.getByTestId('pick').nth(1).check();
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 2
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 180_000 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  await page.getByTestId('predict-kept-aside').click();
  await axe(page, 'after two steps (classroom)');
  for (const view of ['results', 'settings', 'check']) {
    await openView(page, view);
    await axe(page, `after two steps (${view})`);
  }
  await openView(page, 'classroom');
  await page.getByTestId('present').click();
  await page.waitForFunction(() => document.documentElement.classList.contains('present'));
  await axe(page, 'presentation mode');
  assert.deepEqual(problems, [], 'no console errors');
});
