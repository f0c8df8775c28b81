// The page's default settings against `der bench` on the same images (issue #14's browser
// target): Split-MNIST digits uploaded as ten classes of 60 images each (the first 60 training
// images of each digit), learned in 5 steps of 2 classes on the defaults, Compare off. The page
// keeps every 7th image of a class aside and scores each step on them; scripts/bench-classroom.sh
// runs `der bench` on exactly that split (target/classroom-bench/data) and compares.
// A benchmark, not a test: `make bench-classroom` runs it (CLASSROOM_BENCH=1); `make test` skips it.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitForBackend, addClassNamed, openView } from './fixtures.mjs';

const DATA = process.env.CLASSROOM_DATA ?? '../shared/data/split-mnist';
const PER_CLASS = 60;

test('the page on its defaults, 60 uploaded images a class, five steps', { tag: '@cpu' }, async ({ studio }) => {
  test.skip(!process.env.CLASSROOM_BENCH, 'a benchmark: make bench-classroom');
  test.setTimeout(90 * 60_000);
  const { page } = studio;
  await waitForBackend(page);
  for (let digit = 0; digit < 10; digit++) {
    await addClassNamed(page, `Digit ${digit}`);
    const files = await Promise.all([...Array(PER_CLASS).keys()].map(async (i) => ({
      name: `${i}.png`, mimeType: 'image/png', buffer: await readFile(`${DATA}/train/${digit}/${i}.png`) })));
    // The newest card is the last; its upload takes the files in this order.
    await page.getByTestId('upload').last().setInputFiles(files);
    await page.waitForFunction((n) => [...document.querySelectorAll('[data-testid=sample-count]')].map((x) => parseInt(x.textContent)).filter((c) => c === 60).length === n,
      digit + 1, { timeout: 60_000 });
  }
  const steps = [];
  for (let step = 1; step <= 5; step++) {
    // The unlearned cards are the only ones with a checkbox: the next two digits.
    await page.getByTestId('pick').nth(0).check();
    await page.getByTestId('pick').nth(1).check();
    const t0 = Date.now();
    await page.getByTestId('learn').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
      || document.querySelector('[data-testid=notice].error'), step, { timeout: 30 * 60_000, polling: 1000 });
    assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
    const seconds = (Date.now() - t0) / 1000;
    await openView(page, 'results');
    const schedule = await page.getByTestId('step-schedule').innerText();
    const seen = await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.map((x) => parseFloat(x.querySelector('td:last-child').textContent)));
    await openView(page, 'classroom');
    const params = await page.getByTestId('params').innerText();
    steps.push({ step, seconds, seen: seen.at(-1), schedule, params });
    console.log(`[classroom bench] step ${step}: ${seen.at(-1)}% on every kept-aside image so far, ${seconds.toFixed(0)} s · ${schedule} · ${params}`);
  }
  await openView(page, 'results');
  const summary = await page.locator('.summary').first().innerText();
  const average = parseFloat(summary.match(/Average incremental accuracy ([\d.]+)%/)[1]);
  const rows = await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));
  await page.screenshot({ path: `${SHOTS}/classroom-bench-results.png`, fullPage: true });
  console.log(`[classroom bench] average incremental accuracy ${average}% · matrix ${JSON.stringify(rows)}`);
  await mkdir('target/classroom-bench', { recursive: true });
  await writeFile('target/classroom-bench/page.json', JSON.stringify({ per_class: PER_CLASS, average_incremental: average, steps, matrix: rows }, null, 1));
});
