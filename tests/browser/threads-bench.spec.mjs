// How training on the CPU scales with threads in the browser (#15): the worker's own speed
// measurement (Engine check → Measure speed, the code of `der speed`) in the single-threaded
// worker and in the threaded worker with pools of 1, 2 and 4 threads (THREADS_LIST), one
// Chromium run. A benchmark, not a test: `make bench-threads` runs it (THREADS_BENCH=1) and
// writes target/bench-browser/threads.json and threads.md; `make test` skips it.
import { writeFile, mkdir } from 'node:fs/promises';
import { test, waitForBackend, openView, measureSpeed } from './fixtures.mjs';

const OUT = 'target/bench-browser';
const POOLS = (process.env.THREADS_LIST ?? '1,2,4,8').split(',').map(Number);

async function speedTable(openPage, url) {
  const { page, context } = await openPage(url);
  await waitForBackend(page);
  const badge = await page.getByTestId('backend').textContent();
  await openView(page, 'check');
  const rows = await measureSpeed(page);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  await context.close();
  return { badge, rows, cores };
}

test('CPU training speed by thread count, in the browser', { tag: '@threads' }, async ({ openPage, isolatedSite, site }) => {
  test.skip(!process.env.THREADS_BENCH, 'a benchmark: make bench-threads');
  test.setTimeout(120 * 60_000);
  const runs = [{ label: 'single-threaded worker', threads: 1, ...await speedTable(openPage, `${process.env.DER_SITE}?backend=cpu`) }];
  for (const n of POOLS) {
    runs.push({ label: `threaded worker, ${n} thread${n > 1 ? 's' : ''}`, threads: n, ...await speedTable(openPage, `${isolatedSite}?backend=cpu&threads=${n}`) });
  }
  for (const r of runs) console.log(`${r.label}: ${r.badge}`);
  const cases = runs[0].rows.map((row) => `${row.case} (${row.branches})`);
  const base = runs[0].rows;
  let md = `| worker | ${cases.join(' | ')} |\n|---|${cases.map(() => '---').join('|')}|\n`;
  for (const r of runs) {
    md += `| ${r.label} | ${r.rows.map((row, i) => `${row.median_ms.toFixed(1)} ms (${(base[i].median_ms / row.median_ms).toFixed(2)}×)`).join(' | ')} |\n`;
  }
  md += `\nms per training iteration or prediction (median), and the speed-up over the single-threaded worker; navigator.hardwareConcurrency ${runs[0].cores}.\n`;
  console.log(md);
  await mkdir(OUT, { recursive: true });
  await writeFile(`${OUT}/threads.json`, JSON.stringify({ date: new Date().toISOString(), runs }, null, 2));
  await writeFile(`${OUT}/threads.md`, md);
});
