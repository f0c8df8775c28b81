// Training on every core (docs/threads.md): on a cross-origin isolated page the CPU trains in
// the threaded worker, and the badge says on how many threads; everywhere else, or when that
// worker cannot start, the single-threaded worker trains as before; a static host that cannot
// send the headers gets them from coi-serviceworker. (The whole @cpu suite also runs on the
// isolated site, in the `threads` project.)
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, waitForBackend, notice } from './fixtures.mjs';

const badge = async (page) => {
  await waitForBackend(page);
  return {
    kind: await page.getByTestId('backend').getAttribute('data-kind'),
    text: await page.getByTestId('backend').textContent(),
    reason: await page.getByTestId('backend-reason').textContent(),
  };
};
// What the page asks for with no ?threads: one per core, at most 8.
const perCore = (page) => page.evaluate(() => Math.min(8, Math.max(1, navigator.hardwareConcurrency)));
const threadsIn = (text) => Number(/(\d+) threads?/.exec(text)?.[1]);

test('an isolated page trains on the CPU with a thread per core, and says so', { tag: '@threads' }, async ({ openPage, isolatedSite }) => {
  const { page, problems } = await openPage(`${isolatedSite}?backend=cpu`);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  const shown = await badge(page);
  assert.equal(shown.kind, 'cpu');
  assert.equal(threadsIn(shown.text), await perCore(page), shown.text);
  assert.match(shown.reason, /\?backend=cpu/);
  // ?threads=N sizes the pool (how training scales is measured so: make bench-threads).
  const three = await openPage(`${isolatedSite}?backend=cpu&threads=3`);
  assert.equal(threadsIn((await badge(three.page)).text), 3);
  assert.deepEqual(problems, []);
});

test('the automatic choice hands the CPU to the threaded worker and keeps the reason it chose', { tag: '@threads' }, async ({ openPage, isolatedSite }) => {
  // Here the only WebGPU adapter is SwiftShader: the regular worker chooses the CPU and says
  // why, then the threaded worker trains.
  const { page, problems } = await openPage(isolatedSite);
  const shown = await badge(page);
  assert.equal(shown.kind, 'cpu');
  assert.equal(threadsIn(shown.text), await perCore(page), shown.text);
  assert.match(shown.reason, /software renderer/);
  assert.deepEqual(problems, []);
});

test('without isolation, with ?threads=0, or without the threaded worker, one thread trains', { tag: '@threads' }, async ({ openPage, isolatedSite }) => {
  const plain = await openPage(`${process.env.DER_SITE}?backend=cpu`);
  assert.equal(await plain.page.evaluate(() => crossOriginIsolated), false);
  assert.equal(threadsIn((await badge(plain.page)).text), 1);

  const asked = await openPage(`${isolatedSite}?backend=cpu&threads=0`);
  assert.equal(threadsIn((await badge(asked.page)).text), 1);

  // The threaded worker's files missing (a host that lost them): it gives way, and nothing
  // the page sent it is lost (the device choice still answers; no error is shown).
  const missing = await openPage(`${isolatedSite}?backend=cpu`, {
    setup: (context) => context.route('**/threads/**', (route) => route.fulfill({ status: 404, body: 'gone' })),
  });
  const shown = await badge(missing.page);
  assert.equal(shown.kind, 'cpu');
  assert.equal(threadsIn(shown.text), 1, shown.text);
  assert.equal(await missing.page.locator('[data-testid=notice].error').count(), 0, await notice(missing.page));
});

test('a static host without the headers is isolated by coi-serviceworker, and trains on threads', { tag: '@threads' }, async ({ playwright, launchOptions }) => {
  // The plain site under a name that is not this computer's own (www/coi-config.js keeps the
  // service worker off on 127.0.0.1), treated as secure as a real https host would be.
  const plain = new URL(process.env.DER_SITE);
  const host = `http://der-studio.test:${plain.port}`;
  const profile = await mkdtemp(join(tmpdir(), 'der-chromium-'));
  const context = await playwright.chromium.launchPersistentContext(profile, {
    ...launchOptions,
    args: [...launchOptions.args, '--host-resolver-rules=MAP der-studio.test 127.0.0.1', `--unsafely-treat-insecure-origin-as-secure=${host}`],
  });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${host}${plain.pathname}?backend=cpu`);
    // The service worker installs, reloads the page once, and the reloaded page is isolated.
    await page.waitForFunction(() => window.crossOriginIsolated === true, null, { timeout: 30_000, polling: 200 });
    const shown = await badge(page);
    assert.equal(threadsIn(shown.text), await perCore(page), shown.text);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
