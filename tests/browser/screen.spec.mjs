// The classroom screen at the sizes classrooms use: the whole loop (classes with capture, Learn
// with its progress, the representation, live prediction) on one 1366×768 projector screen with
// nothing to scroll, and stacked, usable by touch, on a tablet (768×1024) and a phone (390×844),
// hold-to-record included. Screenshots of each go to tests/browser/screenshots/.
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitForBackend, trySamples, setEpochs } from './fixtures.mjs';

// The loop's landmarks, by test id: what must be on screen at once.
const LOOP = ['class-name', 'try-samples', 'camera-start', 'learn', 'progress', 'diagram', 'classifier', 'predict-kept-aside', 'live'];

// Each landmark's box, the viewport, and how far the page itself scrolls.
const measure = (page, ids) => page.evaluate((ids) => {
  const boxes = {};
  for (const id of ids) {
    const e = document.querySelector(`[data-testid=${id}]`);
    const r = e?.getBoundingClientRect();
    boxes[id] = r ? { x: r.x, y: r.y, right: r.right, bottom: r.bottom, width: r.width, height: r.height } : null;
  }
  const root = document.scrollingElement;
  return { boxes, width: innerWidth, height: innerHeight, scrollWidth: root.scrollWidth, scrollHeight: root.scrollHeight };
}, ids);

async function learnOneStep(page) {
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 180_000, polling: 250 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
}

test('the loop fits one projector screen and stacks on a tablet and a phone', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(appUrl, { viewport: { width: 1366, height: 768 } });
  await waitForBackend(page);
  await page.getByTestId('captions-dismiss').click();
  await setEpochs(page, 2);
  await trySamples(page);
  await learnOneStep(page);
  await page.waitForTimeout(1600); // the pruned channels' fade
  for (const [width, height] of [[1366, 768], [1920, 1080]]) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(300);
    const m = await measure(page, LOOP);
    await page.screenshot({ path: `${SHOTS}/screen-${width}x${height}.png` });
    console.log(`[screen] ${width}×${height}: page ${m.scrollWidth}×${m.scrollHeight}; ${LOOP.map((id) => `${id} ${Math.round(m.boxes[id]?.x)},${Math.round(m.boxes[id]?.y)}`).join(' · ')}`);
    assert.ok(m.scrollHeight <= height && m.scrollWidth <= width, `${width}×${height}: the page itself does not scroll (${m.scrollWidth}×${m.scrollHeight})`);
    for (const id of LOOP) {
      const b = m.boxes[id];
      assert.ok(b && b.width > 0 && b.height > 0, `${width}×${height}: ${id} is shown`);
      assert.ok(b.x >= 0 && b.y >= 0 && b.right <= width && b.bottom <= height, `${width}×${height}: ${id} is on screen: ${JSON.stringify(b)}`);
    }
    // Three columns, left to right: classes, then Learn above the representation, then prediction.
    const { boxes: b } = m;
    assert.ok(b['class-name'].right <= b.learn.x && b.diagram.right <= b.live.x, `${width}×${height}: classes | learn | prediction`);
    assert.ok(b.learn.bottom <= b.diagram.y, `${width}×${height}: Learn above the representation`);
  }

  // Stacked: one column, nothing wider than the screen, in the loop's order.
  for (const [width, height, name] of [[768, 1024, 'tablet'], [390, 844, 'phone']]) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(300);
    const m = await measure(page, LOOP);
    await page.screenshot({ path: `${SHOTS}/screen-${name}-${width}x${height}.png`, fullPage: true });
    console.log(`[screen] ${name} ${width}×${height}: page ${m.scrollWidth}×${m.scrollHeight}; ${LOOP.map((id) => `${id} ${Math.round(m.boxes[id]?.y)}`).join(' · ')}`);
    assert.ok(m.scrollWidth <= width, `${name}: no sideways scrolling (${m.scrollWidth} px wide)`);
    for (const id of LOOP) {
      const b = m.boxes[id];
      assert.ok(b && b.width > 0 && b.x >= 0 && b.right <= width, `${name}: ${id} fits the width: ${JSON.stringify(b)}`);
    }
    const order = ['class-name', 'camera-start', 'learn', 'diagram', 'live'].map((id) => m.boxes[id].y);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), `${name}: classes, camera, Learn, representation, prediction from top to bottom`);
    // Touch targets: the loop's buttons are at least 40 px tall.
    for (const id of ['learn', 'camera-start', 'predict-kept-aside', 'live']) {
      assert.ok(m.boxes[id].height >= 40, `${name}: ${id} is ${m.boxes[id].height} px tall, too small to touch`);
    }
  }
  assert.deepEqual(problems, [], 'no console errors');
});

// On a phone and a tablet, by touch alone: start the camera with a tap and hold the record
// button with a finger (a real touch sequence: touchstart, a held finger, touchend).
for (const [name, width, height] of [['phone', 390, 844], ['tablet', 768, 1024]]) test(`on a ${name}, a held finger records from the camera`, { tag: '@cpu' }, async ({ playwright, launchOptions, appUrl }) => {
  const browser = await playwright.chromium.launch(launchOptions);
  const context = await browser.newContext({ viewport: { width, height }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
  await context.grantPermissions(['camera']);
  const page = await context.newPage();
  await page.goto(appUrl);
  await waitForBackend(page);
  await page.getByTestId('captions-dismiss').tap();
  await page.getByTestId('class-name').tap();
  await page.keyboard.type('Sevens');
  await page.getByTestId('add-class').tap();
  await page.getByTestId('camera-start').tap();
  await page.getByTestId('record').waitFor({ timeout: 30_000 });
  const record = await page.getByTestId('record').boundingBox();
  const at = { x: record.x + record.width / 2, y: record.y + record.height / 2 };
  const cdp = await context.newCDPSession(page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at] });
  await page.waitForFunction(() => /Recording/.test(document.querySelector('[data-testid=record]')?.textContent ?? ''), null, { timeout: 5_000 });
  await page.waitForTimeout(1200);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await page.waitForFunction(() => /Recorded \d+ images/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), null, { timeout: 5_000 });
  const count = parseInt(await page.getByTestId('sample-count').innerText());
  console.log(`[screen] ${name}: a finger held 1.2 s on the record button recorded ${count} images (${await notice(page)})`);
  assert.ok(count >= 5, `a held finger records: ${count} images`);
  await page.screenshot({ path: `${SHOTS}/screen-${name}-recorded.png` });
  await browser.close();
});
