// Bad input and storage faults, on the CPU (no training needed): each gets a clear message and
// nothing already there is lost.
import { readFile } from 'node:fs/promises';
import { execSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitNotice, waitForBackend, addClassNamed, cspViolations, allSaved, openView } from './fixtures.mjs';

// A PNG that declares 100 000 × 100 000 pixels (a decompression bomb): valid signature, IHDR
// and CRCs, and a small compressed body.
function bombPng() {
  const table = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(100_000, 0); ihdr.writeUInt32BE(100_000, 4); ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 << 20))), chunk('IEND', Buffer.alloc(0))]);
}

test('bad input, the camera and storage faults each get a clear message', { tag: '@cpu' }, async ({ studio }) => {
  const { page, problems } = studio;
  await waitForBackend(page);
  const addClass = (name) => addClassNamed(page, name);
  await addClass('Mixed bag');
  const good = await readFile('tests/fixtures/mnist6/train/0/0.png');
  await page.getByTestId('upload').setInputFiles([
    { name: 'zero.png', mimeType: 'image/png', buffer: good },
    { name: 'report.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj <<>> endobj\n') },
    { name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) },
    { name: 'cut.png', mimeType: 'image/png', buffer: good.subarray(0, 60) },
    { name: 'bomb.png', mimeType: 'image/png', buffer: bombPng() },
    { name: 'one.png', mimeType: 'image/png', buffer: await readFile('tests/fixtures/mnist6/train/1/0.png') },
  ]);
  await waitNotice(page, /Added 2 images/, 60_000);
  const text = await notice(page);
  for (const name of ['report.pdf', 'empty.png', 'cut.png', 'bomb.png']) assert.ok(text.includes(name), `${name} named in: ${text}`);
  assert.match(text, /bomb\.png.*100000 × 100000/);
  assert.deepEqual(await page.$$eval('[data-testid=sample-count]', (e) => e.map((x) => parseInt(x.textContent))), [2]);
  console.log(`[reliability] uploads: ${text}`);
  await page.screenshot({ path: `${SHOTS}/reliability-uploads.png`, fullPage: true });

  // Drag and drop onto a class card, and renaming.
  const dataTransfer = await page.evaluateHandle((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' }));
    return dt;
  }, [...await readFile('tests/fixtures/mnist6/train/2/0.png')]);
  await page.getByTestId('class-card').nth(0).dispatchEvent('drop', { dataTransfer });
  await waitNotice(page, /Added 1 images/);
  assert.deepEqual(await page.$$eval('[data-testid=sample-count]', (e) => e.map((x) => parseInt(x.textContent))), [3]);
  page.once('dialog', (d) => d.accept('Grab bag'));
  await page.getByTestId('class-title').nth(0).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=class-title]')?.textContent === 'Grab bag');
  console.log('[reliability] a dropped image joins its class; the class is renamed');

  // The image size setting resamples every image already there.
  await openView(page, 'settings');
  await page.getByTestId('input-size').selectOption('16');
  await openView(page, 'classroom');
  await page.waitForFunction(() => [...document.querySelectorAll('canvas.thumb')].every((c) => c.width === 16));
  assert.deepEqual(await page.$$eval('[data-testid=sample-count]', (e) => e.map((x) => parseInt(x.textContent))), [3]);
  console.log('[reliability] image size 16: the three images were resampled');

  await addClass('   ');
  await waitNotice(page, /needs a name/);
  await addClass('GRAB BAG');
  await waitNotice(page, /already a class/);
  await addClass('x'.repeat(41));
  await waitNotice(page, /at most 40 characters/);
  await addClass('猫と犬 🐈');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 2);
  // The name renders rather than as empty boxes: the machine has a Japanese and an emoji font
  // (`make setup-chromium` installs them), and the browser uses them for it.
  assert.match(execSync('fc-list :lang=ja family').toString(), /\S/, 'a Japanese font is installed');
  assert.match(execSync('fc-list : family').toString(), /Color Emoji/, 'an emoji font is installed');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '[data-testid=class-card]:nth-child(2) [data-testid=class-title]' });
  const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
  console.log(`[reliability] “猫と犬 🐈” is drawn with ${fonts.map((f) => `${f.familyName} (${f.glyphCount} glyphs)`).join(', ')}`);
  assert.ok(fonts.some((f) => /WenQuanYi|Noto Sans CJK|Droid Sans Fallback/.test(f.familyName)), 'a CJK font draws the name');
  assert.ok(fonts.some((f) => /Emoji/.test(f.familyName)), 'an emoji font draws the cat');

  await page.getByTestId('pick').nth(0).check();
  await page.getByTestId('learn').click();
  await waitNotice(page, /at least two classes/);
  await page.getByTestId('pick').nth(1).check();
  await page.getByTestId('learn').click();
  await waitNotice(page, /has 3 samples|no samples yet/);
  assert.equal(await page.$$eval('[data-testid=branch]', (b) => b.length), 0, 'nothing trained');
  console.log(`[reliability] class and step rules give messages: ${await notice(page)}`);

  // The camera: hold to record into a class, then the camera is unplugged mid-recording.
  await page.getByTestId('camera-start').click();
  await page.getByTestId('record').waitFor({ timeout: 30_000 });
  await page.getByTestId('camera-class').selectOption({ label: '猫と犬 🐈' });
  const record = page.getByTestId('record');
  await record.hover();
  await page.mouse.down();
  await page.waitForTimeout(1500);
  await page.mouse.up();
  await waitNotice(page, /Recorded \d+ images/);
  const recorded = Number((await notice(page)).match(/Recorded (\d+)/)[1]);
  const counts = await page.$$eval('[data-testid=sample-count]', (e) => e.map((x) => parseInt(x.textContent)));
  assert.ok(recorded >= 8 && recorded <= 20, `about 10 frames a second: ${recorded}`);
  assert.deepEqual(counts, [3, recorded]);
  await page.screenshot({ path: `${SHOTS}/reliability-camera.png`, fullPage: true });
  // The captured frames are the sevens the camera shows: bright strokes on a dark ground.
  await record.hover();
  await page.mouse.down();
  await page.waitForTimeout(500);
  await page.evaluate(() => document.querySelector('[data-testid=camera-preview]').srcObject.getVideoTracks()[0].dispatchEvent(new Event('ended')));
  await waitNotice(page, /camera stopped.*captured so far are kept/);
  await page.mouse.up();
  const after = await page.$$eval('[data-testid=sample-count]', (e) => e.map((x) => parseInt(x.textContent)));
  assert.ok(after[1] > recorded, `images captured before the camera stopped are kept: ${after}`);
  assert.equal(await page.getByTestId('camera-start').count(), 1, 'the camera can be started again');
  console.log(`[reliability] camera: ${recorded} images in 1.5 s; unplugged: ${await notice(page)}`);

  // A denied camera: a message, nothing lost.
  await page.evaluate(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  await page.getByTestId('camera-start').click();
  await waitNotice(page, /camera is blocked/);

  // Storage full: the write fails, the page says so, and the session stays usable.
  await allSaved(page);
  await page.evaluate(() => {
    IDBObjectStore.prototype.put = function () { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
  });
  await addClass('Added while full');
  await page.waitForFunction(() => /storage for this site is full/.test(document.querySelector('[data-testid=save-status]')?.textContent ?? ''), null, { timeout: 30_000 }).catch(async (e) => { throw new Error(`save status: ${await page.getByTestId('save-status').innerText()}`); });
  assert.equal(await page.$$eval('[data-testid=class-card]', (c) => c.length), 3, 'the class is kept in the page');
  await page.screenshot({ path: `${SHOTS}/reliability-storage-full.png`, fullPage: true });
  console.log(`[reliability] storage full: ${await page.getByTestId('save-status').innerText()}`);

  // The store's records: `write` ({ key: bytes }) replaces them all; returns the keys after.
  const store = (write) => page.evaluate((write) => new Promise((resolve, reject) => {
    const open = indexedDB.open('der-studio', 1);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('sessions', 'readwrite');
      const records = tx.objectStore('sessions');
      if (write) {
        records.clear();
        for (const [key, bytes] of Object.entries(write)) records.put(new Uint8Array(bytes), key);
      }
      const keys = records.getAllKeys();
      tx.oncomplete = () => resolve(keys.result);
      tx.onerror = () => reject(tx.error);
    };
  }), write);

  // A session saved whole by an earlier version (one record, "current") is read, then kept
  // in parts (the meta, and one record per class's images).
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 2, null, { timeout: 60_000 });
  await allSaved(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  await store({ current: [...await readFile(await download.path())] });
  await page.reload();
  await waitNotice(page, /Welcome back.*2 classes/);
  await allSaved(page);
  const migrated = await store();
  assert.ok(migrated.includes('session') && !migrated.includes('current') && migrated.filter((k) => k.startsWith('images/')).length === 2,
    `kept in parts after the first save: ${migrated}`);
  console.log(`[reliability] a one-record session from an earlier version was read and is now kept as ${migrated.join(', ')}`);

  // A session saved by a newer DER Studio: refused with a message and kept aside, not lost.
  await store({ ...Object.fromEntries(migrated.map((k) => [k, []])), session: [...new TextEncoder().encode('DERSTUDIO'), 9, 0, 0, 0, 0, 0] });
  await page.reload();
  await waitNotice(page, /newer DER Studio.*kept aside/);
  const kept = await page.evaluate(() => new Promise((resolve) => {
    const open = indexedDB.open('der-studio', 1);
    open.onsuccess = () => {
      const get = open.result.transaction('sessions').objectStore('sessions').get('unreadable');
      get.onsuccess = () => resolve(get.result?.length ?? 0);
    };
  }));
  assert.equal(kept, 15, 'the unreadable session is kept aside');
  console.log(`[reliability] newer-format session: ${await notice(page)}`);
  assert.deepEqual(problems.filter((p) => !/QuotaExceeded|quota/i.test(p)), [], 'no console errors');
  assert.deepEqual(await cspViolations(page), [], 'no Content-Security-Policy violation');
});
