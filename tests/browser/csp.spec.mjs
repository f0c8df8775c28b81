// The Content-Security-Policy: one policy, in index.html (so a static host such as GitHub
// Pages serves it too), in `trunk serve`'s headers and in the test server's; it allows nothing
// beyond the site's own origin. Every other browser test runs under it and asserts that no
// violation was reported; this one checks the policy itself and that it really blocks.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import assert from 'node:assert/strict';
import { POLICY, HEADER_POLICY } from './serve.mjs';
import { test, waitForBackend, cspViolations, setEpochs, trySamples } from './fixtures.mjs';

const directives = (policy) => Object.fromEntries(policy.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]));

test('the Content-Security-Policy: one policy everywhere, and it blocks', { tag: '@cpu' }, async ({ openPage, appUrl, dist }) => {
  // The policy's content.
  const p = directives(POLICY);
  assert.deepEqual(p['default-src'], ["'self'"]);
  assert.deepEqual(p['script-src'], ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(p['worker-src'], ["'self'"]);
  assert.deepEqual(p['connect-src'], ["'self'"]);
  for (const [name, sources] of Object.entries(p)) {
    assert.ok(!sources.includes("'unsafe-eval'") && !sources.includes("'unsafe-inline'"), `${name} allows no eval or inline code`);
    assert.ok(sources.every((s) => s.startsWith("'") || ['blob:', 'data:'].includes(s)), `${name} names no other origin: ${sources}`);
  }
  // The same policy everywhere the site is served from.
  const trunk = (await readFile('Trunk.toml', 'utf8')).match(/"Content-Security-Policy" = "([^"]+)"/)[1];
  assert.equal(trunk, HEADER_POLICY, '`trunk serve` sends the policy of index.html');
  const built = await readFile(`${dist}/index.html`, 'utf8');
  assert.ok(built.includes(POLICY), 'the built site carries the policy');
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(built), 'the built page has no inline script');

  // Another origin (another port on this machine) that records whatever reaches it.
  const reached = [];
  const other = createServer((req, res) => { reached.push(req.url); res.writeHead(200, { 'access-control-allow-origin': '*' }).end('ok'); });
  await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
  const elsewhere = `http://127.0.0.1:${other.address().port}`;
  const { page, problems } = await openPage(appUrl);
  try {
    const response = await page.reload();
    assert.equal(response.headers()['content-security-policy'], HEADER_POLICY);
    await waitForBackend(page);
    // The app under the policy: samples, a step, a prediction, export (the other tests cover
    // every feature under it too).
    await setEpochs(page, 1);
    await trySamples(page);
    await page.getByTestId('learn').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1, null, { timeout: 300_000 });
    await page.getByTestId('predict-kept-aside').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 2, null, { timeout: 60_000 });
    await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    assert.deepEqual(await cspViolations(page), [], 'the app works without a violation');
    assert.deepEqual(problems, [], 'no console errors');

    // Deliberate attempts: each is blocked, reported, and never reaches the other origin.
    const attempts = await page.evaluate(async (elsewhere) => {
      const outcome = {};
      try { await fetch(`${elsewhere}/fetch`); outcome.fetch = 'allowed'; } catch { outcome.fetch = 'blocked'; }
      // From a task of the page's own (code run through DevTools may eval regardless).
      outcome.eval = await new Promise((resolve) => setTimeout(() => {
        try { eval('1 + 1'); resolve('allowed'); } catch { resolve('blocked'); }
      }, 0));
      const script = document.createElement('script');
      script.textContent = 'window.__inline = true;';
      document.head.append(script);
      outcome.inline = window.__inline ? 'allowed' : 'blocked';
      const image = new Image();
      outcome.image = await new Promise((resolve) => { image.onload = () => resolve('allowed'); image.onerror = () => resolve('blocked'); image.src = `${elsewhere}/image.png`; });
      await new Promise((r) => setTimeout(r, 300));
      return outcome;
    }, elsewhere);
    assert.deepEqual(attempts, { fetch: 'blocked', eval: 'blocked', inline: 'blocked', image: 'blocked' });
    const violations = await cspViolations(page);
    for (const directive of ['connect-src', 'script-src', 'img-src']) {
      assert.ok(violations.some((v) => v.startsWith(directive)), `${directive} reported: ${violations}`);
    }
    // The worker runs under the header's policy too.
    const worker = page.workers()[0];
    assert.ok(worker, 'the training worker is running');
    const fromWorker = await worker.evaluate(async (elsewhere) => {
      try { await fetch(`${elsewhere}/from-worker`); return 'allowed'; } catch { return 'blocked'; }
    }, elsewhere);
    assert.equal(fromWorker, 'blocked', 'the worker cannot reach another origin');
    assert.deepEqual(reached, [], 'nothing reached the other origin');
    console.log(`[csp] the app trained, predicted and exported under the policy with no violation; blocked: ${violations.join('; ')}; worker fetch ${fromWorker}`);
  } finally {
    other.close();
  }
});
