// How long a classroom step takes (issue #24), the page's own step driven as a class would:
// Split-MNIST digits uploaded as ten classes of 60 images each (the first 60 training images of
// each digit), learned in 5 steps of 2 classes on the default settings, Compare off. Each step
// is timed from Learn to its result. Then every step's model (the rewind slider: the model as
// it was after step k) answers unseen images: the first TEST_PER_CLASS images of the test split
// of every class it had learned, uploaded one by one. Runs in the `cpu` project (the
// single-threaded worker), the `threads` project (the threaded worker, ?threads=THREADS) and the
// `webgpu` project (?backend=webgpu: SwiftShader on a machine without a GPU, where an update
// takes seconds, so `make bench-step-time-webgpu` runs the first STEPS steps).
// A benchmark, not a test: `make bench-step-time` runs it (STEP_TIME_BENCH=1) and prints the
// table (scripts/step-time-table.py); `make test` skips it.
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitForBackend, openView, uploadDigits, learnNextTwo } from './fixtures.mjs';

const DATA = process.env.STEP_TIME_DATA ?? '../shared/data/split-mnist';
const PER_CLASS = 60;
const TEST_PER_CLASS = Number(process.env.TEST_PER_CLASS ?? 20);
const THREADS = Number(process.env.THREADS ?? 2);
const STEPS = Number(process.env.STEPS ?? 5);

const png = async (path) => ({ name: path.split('/').pop(), mimeType: 'image/png', buffer: await readFile(path) });
// The test split's images of a class, in the order of their numbers (the names are not 0..n).
const testImages = async (digit) => (await readdir(`${DATA}/test/${digit}`))
  .sort((a, b) => parseInt(a) - parseInt(b)).map((name) => `${DATA}/test/${digit}/${name}`);

test('five classroom steps of 60 uploaded images a class, timed, and scored on unseen images', { tag: ['@cpu', '@webgpu'] }, async ({ openPage, appUrl, isolated, backend }) => {
  test.skip(!process.env.STEP_TIME_BENCH, 'a benchmark: make bench-step-time');
  test.setTimeout(360 * 60_000);
  const worker = backend === 'webgpu' ? 'webgpu' : isolated ? `threads-${THREADS}` : 'single-threaded';
  const { page } = await openPage(isolated ? `${appUrl}&threads=${THREADS}` : appUrl, { viewport: { width: 1366, height: 900 } });
  await waitForBackend(page);
  const badge = await page.getByTestId('backend').innerText();
  await uploadDigits(page, DATA, 10, PER_CLASS);
  const steps = [];
  for (let step = 1; step <= STEPS; step++) {
    const seconds = await learnNextTwo(page, step, (backend === 'webgpu' ? 180 : 30) * 60_000);
    assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
    await openView(page, 'results');
    const schedule = await page.getByTestId('step-schedule').innerText();
    const keptAside = await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.map((x) => parseFloat(x.querySelector('td:last-child').textContent)));
    await openView(page, 'classroom');
    const updates = Number(schedule.match(/(\d+) updates/)[1]);
    const stopped = (await page.getByTestId('step-stopped').count()) ? await page.getByTestId('step-stopped').innerText() : '';
    const branches = await page.$$eval('[data-testid=branch]', (b) => b.length);
    steps.push({ step, seconds, updates, branches, kept_aside: keptAside.at(-1), stopped });
    console.log(`[step time, ${worker}] step ${step}: ${seconds.toFixed(1)} s, ${updates} updates, ${branches} branches, ${keptAside.at(-1)}% on kept-aside images${stopped ? ` · ${stopped}` : ''}`);
  }
  // Every step's model on unseen images of the classes it had learned.
  for (let step = 1; step <= STEPS; step++) {
    // The slider appears from the second step on; after one step the model is step 1's.
    if (STEPS > 1) {
      await page.getByTestId('rewind-step').fill(String(step));
      await page.getByTestId('rewind-step').dispatchEvent('input');
    }
    let right = 0, all = 0;
    for (let digit = 0; digit < 2 * step; digit++) {
      const images = await testImages(digit);
      for (let i = 0; i < TEST_PER_CLASS; i++) {
        const before = Number(await page.getByTestId('prediction').getAttribute('data-answered') ?? 0);
        await page.getByTestId('predict-upload').setInputFiles(await png(images[i]));
        await page.waitForFunction((n) => Number(document.querySelector('[data-testid=prediction]')?.dataset.answered) > n, before, { timeout: 60_000, polling: 20 });
        const said = await page.getByTestId('prediction-said').innerText();
        right += said.includes(`Digit ${digit} (`) ? 1 : 0;
        all += 1;
      }
    }
    steps[step - 1].unseen = (100 * right) / all;
    steps[step - 1].unseen_images = all;
    console.log(`[step time, ${worker}] the model after step ${step}: ${right} of ${all} unseen images right`);
  }
  // Where the model looked (#25), timed with the last step's branches at 32 × 32: three maps.
  const occlusion = [];
  for (let i = 0; i < 3; i++) {
    const before = Number(await page.getByTestId('prediction').getAttribute('data-answered') ?? 0);
    await page.getByTestId('predict-upload').setInputFiles(await png((await testImages(i))[TEST_PER_CLASS]));
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=prediction]')?.dataset.answered) > n, before, { timeout: 60_000, polling: 20 });
    await page.getByTestId('where-looked').click();
    await page.getByTestId('occlusion').waitFor({ timeout: 60_000 });
    occlusion.push(Number(await page.getByTestId('occlusion').getAttribute('data-millis')));
  }
  console.log(`[step time, ${worker}] occlusion map, ${steps.at(-1).branches} branches, 32×32, 49 covered images: ${occlusion.join(', ')} ms`);
  await page.screenshot({ path: `${SHOTS}/step-time-${worker}.png` });
  await mkdir('target/step-time', { recursive: true });
  const label = process.env.STEP_TIME_LABEL ?? 'now';
  await writeFile(`target/step-time/${label}-${worker}.json`, JSON.stringify({ worker, badge, per_class: PER_CLASS, test_per_class: TEST_PER_CLASS, steps, occlusion_ms: occlusion }, null, 1));
});
