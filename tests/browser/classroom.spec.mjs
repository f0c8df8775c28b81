// End-to-end: the page loads from a sub-path, shows its backend, and the worker trains DER's
// network with a falling loss (the page's Engine check), then the classroom flow with the
// built-in digits. Written once for both projects: on WebGPU (SwiftShader here: minutes per
// classroom step) one full DER step; on the CPU two steps, live prediction, Cancel, and the
// session kept across a reload, export and import. The engine check's losses are kept for
// compare.spec.mjs (WebGPU must reproduce the CPU's).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test, SHOTS, notice, waitNotice, allSaved, setEpochs, openView } from './fixtures.mjs';

test.describe.configure({ timeout: 20 * 60_000 });

test('engine check, then the classroom with the sample digits', { tag: ['@webgpu', '@cpu'] }, async ({ studio, backend }, testInfo) => {
  // Today's labels in the log (BENCHMARKS.md quotes them): `default` is the page as it opens.
  const label = backend === 'cpu' ? 'cpu' : 'default';
  const expectKind = backend === 'cpu' ? 'cpu' : process.env.EXPECT_WEBGPU === '0' ? undefined : 'webgpu';
  // SwiftShader emulates the GPU on the CPU (minutes per classroom step), so the WebGPU run
  // learns one full DER step; the CPU run learns two.
  const classroomSteps = backend === 'cpu' ? 2 : 1;
  const { kind, losses } = await trainDemo(label, studio, expectKind, classroomSteps);
  await mkdir(testInfo.project.outputDir, { recursive: true });
  await writeFile(join(testInfo.project.outputDir, `engine-losses-${testInfo.project.name}.json`), JSON.stringify({ kind, losses }));
});

async function trainDemo(label, { page, problems, remote }, expectKind, classroomSteps) {
  const started = Date.now();
  const badge = page.getByTestId('backend');
  await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.dataset.kind, null, { timeout: 60_000 });
  const kind = await badge.getAttribute('data-kind');
  const badgeText = (await badge.innerText()).replace(/\s+/g, ' ');
  console.log(`[${label}] backend: ${badgeText}`);
  if (expectKind) assert.equal(kind, expectKind, `backend for ${label}`);
  // Navigation to an interactive page: the page's own timeline, from navigation start to
  // the moment the worker reported its backend (the Learn button works from then on).
  const interactive = await page.evaluate(() => performance.now());
  console.log(`[${label}] interactive (backend ready) ${interactive.toFixed(0)} ms after navigation start`);

  // The page's thread must keep answering while the worker trains. (Counting heartbeats
  // instead failed whenever the check finished in under 600 ms.) SwiftShader's WebGPU shares
  // the two cores with the page, so the bound is generous; the CPU scale test holds 200 ms.
  await page.evaluate(() => window.__heartbeat.reset());
  await openView(page, 'check');
  await page.getByTestId('train-demo').click();
  await page.waitForFunction(
    () => /ms per iteration/.test(document.querySelector('[data-testid=demo-summary]')?.textContent ?? '')
      || document.querySelector('[data-testid=notice].error'),
    null, { timeout: 300_000, polling: 500 });
  const error = await page.locator('[data-testid=notice].error').count();
  assert.equal(error, 0, error ? await page.getByTestId('notice').innerText() : '');
  const stalled = await page.evaluate(() => window.__heartbeat.worst);
  const steps = await page.$$eval('[data-testid=demo-steps] li', (items) => items.map((li) => ({
    loss: Number(li.dataset.loss), millis: Number(li.dataset.millis), step: Number(li.dataset.step), epoch: Number(li.dataset.epoch),
  })));
  const losses = steps.map((s) => s.loss);
  console.log(`[${label}] engine check (two DER steps): ${await page.getByTestId('demo-summary').innerText()}`);
  console.log(`[${label}] losses ${losses.map((l) => l.toFixed(4)).join(' ')}`);
  const steady = steps.filter((s, i) => i > 0 && steps[i - 1].step === s.step);
  console.log(`[${label}] ms/iteration first ${steps[0].millis.toFixed(0)}, steady ${(steady.reduce((a, s) => a + s.millis, 0) / steady.length).toFixed(0)}`);
  // Step 1: 32 images in batches of 16 for 2 epochs; step 2: 32 images plus 8 exemplars.
  assert.deepEqual([0, 1].map((d) => steps.filter((s) => s.step === d).length), [4, 6]);
  assert.ok(losses.every(Number.isFinite), 'finite losses');
  // The mask scale anneals within each epoch, so learning shows between epoch means.
  for (const d of [0, 1]) {
    const mean = (e) => { const l = steps.filter((s) => s.step === d && s.epoch === e).map((s) => s.loss); return l.reduce((a, b) => a + b, 0) / l.length; };
    assert.ok(mean(1) < mean(0) * 0.85, `DER step ${d + 1}: the loss should fall from epoch 1 (${mean(0)}) to epoch 2 (${mean(1)})`);
  }
  console.log(`[${label}] longest stall of the page during the engine check: ${stalled.toFixed(0)} ms`);
  assert.ok(stalled < 1000, `the page must stay responsive while training: it stalled ${stalled.toFixed(0)} ms`);
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${label}-engine-check.png`, fullPage: true });
  if (kind === 'cpu') await measureSpeed(label, page);
  await openView(page, 'classroom');
  if (classroomSteps > 0) await classroom(label, page, classroomSteps);
  assert.deepEqual(problems, [], 'no console errors');
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no Content-Security-Policy violation');
  assert.deepEqual(remote, [], 'no request leaves localhost');
  console.log(`[${label}] ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { kind, losses };
}

// The worker's speed benchmark (the same code as `der speed`): training iterations with 1, 3
// and 5 branches and one-image prediction, printed for BENCHMARKS.md.
async function measureSpeed(label, page) {
  await page.getByTestId('measure-speed').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=speed-table]')?.dataset.done === 'true'
    || document.querySelector('[data-testid=notice].error'), null, { timeout: 600_000, polling: 500 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
  const rows = await page.$$eval('[data-testid=speed-table] tbody tr', (r) => r.map((x) => ({
    case: x.dataset.case, branches: Number(x.dataset.branches), median: Number(x.dataset.median) })));
  assert.equal(rows.length, 6);
  assert.ok(rows.every((r) => Number.isFinite(r.median) && r.median > 0), JSON.stringify(rows));
  for (const r of rows) console.log(`[${label}] speed: ${r.case}, ${r.branches} branches: ${r.median.toFixed(1)} ms`);
  const predict = rows.at(-1);
  console.log(`[${label}] live prediction with ${predict.branches} branches: ${(1000 / predict.median).toFixed(0)} per second`);
}

// The classroom flow with the built-in digits: two steps, then the representation and the
// accuracy matrix must show DER at work.
async function classroom(label, page, steps) {
  const learnStep = async (step) => {
    const t0 = Date.now();
    await page.getByTestId('learn').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
      || document.querySelector('[data-testid=notice].error'), step, { timeout: 600_000, polling: 500 });
    const failed = await page.locator('[data-testid=notice].error').count();
    assert.equal(failed, 0, failed ? await page.getByTestId('notice').innerText() : '');
    console.log(`[${label}] classroom step ${step} learned in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };
  // SwiftShader: a short step (2 epochs) is enough to prove a full DER step runs on WebGPU.
  // The CPU's two steps: 20 epochs each, for DER and both baselines.
  await setEpochs(page, steps === 1 ? 2 : 20);
  await page.getByTestId('try-samples').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 6);
  const counts = await page.$$eval('[data-testid=sample-count]', (e) => e.map((x) => parseInt(x.textContent)));
  assert.deepEqual(counts, [40, 40, 40, 40, 40, 40]);
  await page.screenshot({ path: `${SHOTS}/${label}-classes.png`, fullPage: true });
  // With two steps, naive fine-tuning and replay learn the same steps beside DER: fine-tuning
  // shows forgetting, replay what DER's expansion adds beyond a memory.
  if (steps === 2) await page.getByTestId('compare').selectOption('both');
  await learnStep(1);
  await page.screenshot({ path: `${SHOTS}/${label}-after-step-1.png`, fullPage: true });
  if (steps === 1) {
    const branches = await page.$$eval('[data-testid=branch]', (b) => b.length);
    assert.equal(branches, 1);
    return;
  }
  const picks = page.getByTestId('pick');
  await picks.nth(0).check(); // digit 2 (the learned cards have no checkbox)
  await picks.nth(1).check(); // digit 3
  await learnStep(2);
  const frozen = await page.$$eval('[data-testid=branch]', (b) => b.map((x) => x.dataset.frozen));
  assert.deepEqual(frozen, ['true', 'false'], 'two branches, the first locked');
  const params = await page.getByTestId('params').innerText();
  const [before, after] = params.match(/(\d+) → (\d+)/).slice(1).map(Number);
  assert.ok(after < before, `pruning removes parameters: ${params}`);
  const rows = await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));
  console.log(`[${label}] accuracy matrix ${JSON.stringify(rows)}; ${params}`);
  assert.equal(rows.length, 2);
  const oldAfterStep2 = parseInt(rows[1][0]);
  assert.ok(oldAfterStep2 >= 60, `old digits still recognised after step 2: ${oldAfterStep2}%`);
  const comparison = await page.$$eval('[data-testid=comparison] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => parseInt(t.textContent))));
  const columns = await page.$$eval('[data-testid=comparison] thead th[data-baseline]', (h) => h.map((x) => x.dataset.baseline));
  console.log(`[${label}] all classes seen, DER vs ${columns.join(' vs ')}: ${JSON.stringify(comparison)}`);
  assert.deepEqual(columns, ['finetune', 'replay'], 'both baselines learned beside DER');
  assert.equal(comparison.length, 2);
  assert.ok(comparison.every((row) => row.length === 3 && row.every(Number.isFinite)), JSON.stringify(comparison));
  assert.ok(comparison[1][1] < comparison[1][0], `fine-tuning forgets more than DER: ${JSON.stringify(comparison)}`);
  // Replay keeps the same memory as DER, so it forgets far less than fine-tuning.
  assert.ok(comparison[1][2] > comparison[1][1], `replay remembers more than fine-tuning: ${JSON.stringify(comparison)}`);
  assert.match(await page.getByTestId('comparison-summary').innerText(), /Forgetting, in points: DER [\d.]+ · fine-tuning [\d.]+ · replay [\d.]+/);
  assert.match(await page.getByTestId('comparison-methods').innerText(), /Replay: one network, trained on the new images and the same kept old images/);
  for (const b of ['finetune', 'replay']) assert.match(await page.getByTestId(`versus-${b}`).innerText(), /% on every class, forgetting/);
  // Ask the model about a kept-aside image: one confidence bar per class learned.
  await page.getByTestId('predict-kept-aside').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 4, null, { timeout: 60_000 });
  const bars = await page.$$eval('[data-testid=prediction] .bar-number', (b) => b.map((x) => parseInt(x.textContent)));
  const total = bars.reduce((a, b) => a + b, 0);
  assert.ok(total >= 97 && total <= 103, `confidences sum to about 100%: ${bars}`);
  await page.screenshot({ path: `${SHOTS}/${label}-after-step-2.png` });
  await openView(page, 'results');
  const schedule = await page.getByTestId('step-schedule').innerText();
  console.log(`[${label}] ${schedule}`);
  assert.match(schedule, /augmentation: shifts, \d+ s/, 'digits are shifted, never mirrored');
  await page.screenshot({ path: `${SHOTS}/${label}-results.png`, fullPage: true });
  await openView(page, 'classroom');

  // Live prediction from the camera: each answer asks for the next frame.
  await page.getByTestId('camera-start').click();
  await page.getByTestId('camera-stop').waitFor({ timeout: 30_000 });
  await page.getByTestId('live').click();
  await page.waitForTimeout(3000);
  const rate = Number(await page.getByTestId('live-rate').getAttribute('data-rate'));
  assert.ok(rate > 0, `live predictions arrive: ${rate}/s`);
  console.log(`[${label}] live prediction from the camera, 2 branches: ${rate.toFixed(1)} per second`);
  await page.screenshot({ path: `${SHOTS}/${label}-live.png`, fullPage: true });
  await page.getByTestId('live').click();
  await page.getByTestId('camera-stop').click();

  // Cancel a third step while it trains: the model stays as it was after step 2.
  await picks.nth(0).check(); // digit 4
  await picks.nth(1).check(); // digit 5
  await page.getByTestId('learn').click();
  await page.waitForFunction(() => /Epoch/.test(document.querySelector('.progress-label')?.textContent ?? ''), null, { timeout: 120_000 });
  await page.waitForTimeout(1500);
  await page.locator('[data-testid=progress]').screenshot({ path: `${SHOTS}/${label}-training.png` });
  await page.getByTestId('cancel').click();
  await page.waitForFunction(() => /cancelled/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''), null, { timeout: 120_000 });
  assert.equal(await page.$$eval('[data-testid=branch]', (b) => b.length), 2, 'no third branch after Cancel');
  assert.equal(await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.length), 2);
  assert.equal(await page.getByTestId('learn').isEnabled(), true, 'ready to learn again');
  console.log(`[${label}] Cancel during step 3 left the two-step model intact`);

  await persistence(label, page);
}

// The two-step model is fully there: both branches (first locked), both matrix rows, and the
// worker's model answers with one bar per learned class.
async function assertTwoStepModel(label, page, what) {
  assert.deepEqual(await page.$$eval('[data-testid=branch]', (b) => b.map((x) => x.dataset.frozen)), ['true', 'false'], what);
  assert.equal(await page.$$eval('[data-testid=accuracy-matrix] tbody tr', (r) => r.length), 2, what);
  assert.equal(await page.$$eval('[data-testid=class-card]', (c) => c.length), 6, what);
  assert.equal(await page.$$eval('[data-testid=comparison] tbody tr', (r) => r.length), 2, `${what}: the comparison too`);
  assert.deepEqual(await page.$$eval('[data-testid=comparison] thead th[data-baseline]', (h) => h.map((x) => x.dataset.baseline)),
    ['finetune', 'replay'], `${what}: both baselines`);
  await page.getByTestId('predict-kept-aside').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 4, null, { timeout: 60_000 });
  console.log(`[${label}] ${what}: two branches, accuracy matrix and a working model`);
}

// Reload restores the session; export, start over and import round-trip it; a file that is not
// a session is refused without touching the current one.
async function persistence(label, page) {
  await allSaved(page);
  await page.reload();
  await waitNotice(page, /Welcome back/);
  await assertTwoStepModel(label, page, 'after a reload');
  await page.screenshot({ path: `${SHOTS}/${label}-restored.png`, fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const exported = await readFile(await download.path());
  assert.equal(exported.subarray(0, 9).toString(), 'DERSTUDIO');
  console.log(`[${label}] exported session: ${(exported.length / 1e6).toFixed(2)} MB`);

  page.once('dialog', (d) => d.accept());
  await page.getByTestId('start-over').click();
  await waitNotice(page, /new, empty session/);
  assert.equal(await page.$$eval('[data-testid=class-card]', (c) => c.length), 0);

  await page.getByTestId('import').setInputFiles({ name: 'homework.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 not a session') });
  await waitNotice(page, /homework\.pdf.*could not be opened.*not a DER Studio file/);
  const truncated = exported.subarray(0, Math.floor(exported.length / 2));
  await page.getByTestId('import').setInputFiles({ name: 'half.derstudio', mimeType: 'application/octet-stream', buffer: truncated });
  await waitNotice(page, /half\.derstudio.*cut short/);
  assert.equal(await page.$$eval('[data-testid=class-card]', (c) => c.length), 0, 'a refused file changes nothing');

  await page.getByTestId('import').setInputFiles({ name: 'lesson.derstudio', mimeType: 'application/octet-stream', buffer: exported });
  await waitNotice(page, /Opened “lesson\.derstudio”/);
  await assertTwoStepModel(label, page, 'after export, start over and import');
}
