// Presentation mode (`?present`, or the Present button) and the first-run captions:
// - larger type, only the loop (no tabs, no session bar), full screen from the button, the
//   keyboard shortcuts on screen, and the loop still on one 1366×768 screen;
// - the shortcuts themselves: N names a class, L learns, Esc cancels, Space held records,
//   P starts and stops live prediction;
// - the four captions on the diagram on a first visit; dismissed, they stay away after a
//   reload; the help button brings them back.
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitNotice, waitForBackend, trySamples } from './fixtures.mjs';

const onScreen = (page, ids) => page.evaluate((ids) => ids.filter((id) => {
  const r = document.querySelector(`[data-testid=${id}]`)?.getBoundingClientRect();
  return !r || r.width === 0 || r.x < 0 || r.y < 0 || r.right > innerWidth || r.bottom > innerHeight;
}), ids);

test('presentation mode: large type, the loop only, full screen, and the shortcuts', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(`${appUrl}&present`, { viewport: { width: 1366, height: 768 } });
  await waitForBackend(page);
  await page.getByTestId('captions-dismiss').click();
  const look = await page.evaluate(() => ({
    present: document.documentElement.classList.contains('present'),
    fontSize: parseFloat(getComputedStyle(document.documentElement).fontSize),
    tabs: document.querySelector('[role=tablist]').getBoundingClientRect().width,
    session: document.querySelector('[data-testid=session-bar]').getBoundingClientRect().width,
    shortcuts: document.querySelector('[data-testid=shortcuts]').innerText,
  }));
  console.log(`[present] ?present: type ${look.fontSize} px; shortcuts on screen: ${look.shortcuts.replace(/\s+/g, ' ')}`);
  assert.ok(look.present && look.fontSize >= 19, "larger type (the page's own is 16 px)");
  assert.equal(look.tabs + look.session, 0, 'no tabs and no session bar: the loop only');
  for (const key of ['Space', 'L', 'P', 'N', 'Esc']) assert.match(look.shortcuts, new RegExp(`\\b${key}\\b`));

  // N: the name field; typing there is typing, not shortcuts.
  await trySamples(page);
  await page.keyboard.press('n');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'class-name');
  await page.keyboard.type('Pencils');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 7);
  await page.evaluate(() => document.activeElement.blur());
  const missing = await onScreen(page, ['class-name', 'camera-start', 'learn', 'progress', 'diagram', 'classifier']);
  assert.deepEqual(missing, [], 'the loop is on one screen in presentation mode');

  // L learns, Esc cancels; L again learns the step to the end.
  await page.keyboard.press('l');
  await page.getByTestId('branch-live').waitFor({ timeout: 30_000 });
  await page.keyboard.press('Escape');
  await waitNotice(page, /cancelled/);
  await page.keyboard.press('l');
  await page.getByTestId('branch-live').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${SHOTS}/present-training.png` });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 180_000, polling: 250 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));

  // Space held records into the chosen class once the camera is on.
  await page.getByTestId('camera-start').click();
  await page.getByTestId('record').waitFor({ timeout: 30_000 });
  await page.evaluate(() => document.activeElement.blur());
  const before = await page.$$eval('[data-testid=sample-count]', (c) => c.map((x) => parseInt(x.textContent)));
  await page.keyboard.down(' ');
  await page.waitForTimeout(900);
  await page.keyboard.up(' ');
  await waitNotice(page, /Recorded \d+ images/);
  const after = await page.$$eval('[data-testid=sample-count]', (c) => c.map((x) => parseInt(x.textContent)));
  const gained = after.reduce((a, n, i) => a + n - before[i], 0);
  assert.ok(gained >= 4, `Space held recorded ${gained} images`);

  // P starts live prediction from the camera, and P stops it.
  await page.keyboard.press('p');
  await page.getByTestId('live-rate').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  const rate = Number(await page.getByTestId('live-rate').getAttribute('data-rate'));
  assert.ok(rate > 0, `P started live prediction: ${rate}/s`);
  await page.screenshot({ path: `${SHOTS}/present-live.png` });
  await page.keyboard.press('p');
  await page.getByTestId('live-rate').waitFor({ state: 'detached' });
  console.log(`[present] N named a class, L learned, Esc cancelled, Space recorded ${gained} images, P predicted live at ${rate} a second`);

  // The button leaves presentation mode, and enters it again in full screen.
  await page.getByTestId('present').click();
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains('present')), false);
  assert.ok(await page.locator('[role=tablist]').isVisible(), 'the tabs are back');
  await page.getByTestId('present').click();
  await page.waitForFunction(() => document.fullscreenElement === document.documentElement, null, { timeout: 5_000 });
  await page.getByTestId('present').click();
  await page.waitForFunction(() => !document.fullscreenElement && !document.documentElement.classList.contains('present'));
  console.log('[present] the Present button enters full screen and leaves it');
  assert.deepEqual(problems, [], 'no console errors');
});

test('first-run captions explain DER on the diagram, can be dismissed and reopened', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(appUrl, { viewport: { width: 1366, height: 768 } });
  await waitForBackend(page);
  const captions = () => page.$$eval('[data-testid=caption]', (c) => c.map((x) => x.innerText.split('\n')[0]));
  assert.deepEqual(await captions(), ['1 · A new branch per step.', '2 · Old branches are locked.', '3 · Channels are pruned.', '4 · The classifier is re-balanced.']);
  // Anchored: captions 1–3 on the diagram's columns, caption 4 just above the classifier.
  const placed = await page.evaluate(() => {
    const box = (e) => e.getBoundingClientRect();
    const columns = box(document.querySelector('[data-testid=diagram]'));
    const classifier = box(document.querySelector('[data-testid=classifier]'));
    const caps = [...document.querySelectorAll('[data-testid=caption]')].map(box);
    const within = (r, b) => r.x >= b.x - 1 && r.right <= b.right + 1 && r.y >= b.y && r.bottom <= b.bottom;
    return { onColumns: caps.slice(0, 3).every((r) => within(r, columns)),
      onClassifier: caps[3].bottom <= classifier.y && classifier.y - caps[3].bottom < 20 && caps[3].x >= classifier.x - 1 };
  });
  assert.deepEqual(placed, { onColumns: true, onClassifier: true }, 'the captions sit on the parts they explain');
  await page.screenshot({ path: `${SHOTS}/captions.png` });
  await page.getByTestId('captions-dismiss').click();
  assert.equal(await page.locator('[data-testid=caption]').count(), 0, 'dismissed');
  await page.reload();
  await waitForBackend(page);
  assert.equal(await page.locator('[data-testid=caption]').count(), 0, 'still dismissed after a reload');
  await page.getByTestId('help').click();
  assert.equal((await captions()).length, 4, 'the help button reopens them');
  assert.equal(await page.getByTestId('help').getAttribute('aria-pressed'), 'true');
  console.log('[present] four captions on the diagram; dismissed, they stay away after a reload; the help button reopens them');
  assert.deepEqual(problems, [], 'no console errors');
});
