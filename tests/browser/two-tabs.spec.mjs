// Two tabs on the same saved session:
// - The second tab opens read-only with an offer to take over; it writes nothing.
// - Taking over: the first tab is told and stops saving; the second reads what the first saved
//   last, then saves. Nothing either tab does is interleaved in the store.
import assert from 'node:assert/strict';
import { test, SHOTS, watch, waitForBackend, addClassNamed, cspViolations } from './fixtures.mjs';

const classNames = (page) => page.$$eval('[data-testid=class-title]', (e) => e.map((x) => x.textContent));
const saveStatus = (page) => page.getByTestId('save-status').innerText();

// The class names in the session stored in IndexedDB, read straight from the store (the
// session's meta record lists them as JSON near its start).
const storedNames = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('der-studio', 1);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const get = open.result.transaction('sessions').objectStore('sessions').get('session');
    get.onsuccess = () => {
      const text = new TextDecoder().decode(get.result ?? new Uint8Array());
      resolve([...text.matchAll(/"name":"([^"]+)"/g)].map((m) => m[1]));
    };
  };
}));

async function waitStored(page, names) {
  for (let i = 0; i < 100; i++) {
    if (JSON.stringify(await storedNames(page)) === JSON.stringify(names)) return;
    await page.waitForTimeout(200);
  }
  assert.deepEqual(await storedNames(page), names, 'saved in time');
}

test('two tabs: the second is read-only until it takes over', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { context, page: first, problems } = await openPage(appUrl);
  await waitForBackend(first);
  await addClassNamed(first, 'Apples');
  await waitStored(first, ['Apples']);

  // A second tab on the same site: read-only, says why, offers to take over.
  const second = await context.newPage();
  const secondWatch = watch(second);
  await second.goto(appUrl);
  await waitForBackend(second);
  await second.getByTestId('other-tab').waitFor({ timeout: 30_000 });
  assert.match(await second.getByTestId('other-tab').innerText(), /open in another tab.*read-only/s);
  await second.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 1, null, { timeout: 30_000 });
  assert.deepEqual(await classNames(second), ['Apples'], 'the second tab shows the saved session');
  assert.equal(await saveStatus(second), 'Not saved in this tab');
  assert.equal(await second.getByTestId('learn').isDisabled(), true, 'Learn is off in the read-only tab');
  await addClassNamed(second, 'Typed in the second tab');
  await second.waitForTimeout(1500);
  assert.deepEqual(await storedNames(first), ['Apples'], 'the read-only tab wrote nothing');
  await second.screenshot({ path: `${SHOTS}/two-tabs-second.png` });

  // The first tab goes on saving.
  await addClassNamed(first, 'Bananas');
  await waitStored(first, ['Apples', 'Bananas']);

  // The second tab takes over: it reads the first tab's latest save, then owns the session.
  await second.getByTestId('take-over').click();
  await second.waitForFunction(() => /This tab now has the session/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), null, { timeout: 30_000 });
  assert.deepEqual(await classNames(second), ['Apples', 'Bananas'], 'the new owner continues from the last save');
  assert.equal(await second.getByTestId('other-tab').count(), 0);
  await first.getByTestId('other-tab').waitFor({ timeout: 10_000 });
  assert.match(await first.getByTestId('other-tab').innerText(), /taken over by another tab/);
  assert.equal(await saveStatus(first), 'Not saved in this tab');
  await first.screenshot({ path: `${SHOTS}/two-tabs-taken-over.png` });

  // Now only the second tab writes.
  await addClassNamed(first, 'Lost in the old tab');
  await addClassNamed(second, 'Cherries');
  await waitStored(second, ['Apples', 'Bananas', 'Cherries']);
  await second.waitForTimeout(1500);
  assert.deepEqual(await storedNames(second), ['Apples', 'Bananas', 'Cherries'], 'the old tab no longer writes');

  // The first tab can take it back, and then continues from the second tab's save.
  await first.getByTestId('take-over').click();
  await first.waitForFunction(() => /This tab now has the session/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), null, { timeout: 30_000 });
  assert.deepEqual(await classNames(first), ['Apples', 'Bananas', 'Cherries']);
  await second.getByTestId('other-tab').waitFor({ timeout: 10_000 });
  console.log('[two-tabs] the second tab opened read-only, took over from the last save, and the first tab stopped writing until it took the session back');
  for (const page of [first, second]) assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
  assert.deepEqual([...problems, ...secondWatch.problems], [], 'no console errors');
});
