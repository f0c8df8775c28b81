// Explaining the model (#25), on the CPU over three steps of the built-in digits:
// - which step recognised a kept-aside image (bars per step, the diagram's columns lit);
// - where it looked (an occlusion map, timed);
// - the images behind a number (accuracy matrix and confusion cells, by keyboard too), whose
//   right answers give back the number in the cell;
// - rewinding to the model after step 1 (two classes) and back;
// - the ONNX export, loaded by ONNX Runtime when the project's Python has it (make setup-python);
// - axe on each of these states, and screenshots looked at by a person.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { test, SHOTS, notice, waitForBackend, trySamples, setEpochs, openView } from './fixtures.mjs';

async function axe(page, state) {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  for (const v of violations) console.log(`[explain] axe ${state}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`), [], `${state}: serious or critical axe violations`);
}

async function learn(page, step) {
  await page.getByTestId('learn').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === n
    || document.querySelector('[data-testid=notice].error'), step, { timeout: 600_000, polling: 500 });
  assert.equal(await page.locator('[data-testid=notice].error').count(), 0, await notice(page));
}

const bars = (page) => page.$$eval('[data-testid=prediction] .bar-row', (r) => r.length);

test('a prediction explained by step, where it looked, the images behind a number, rewind, ONNX', { tag: '@cpu' }, async ({ openPage, appUrl }) => {
  const { page, problems } = await openPage(appUrl, { viewport: { width: 1366, height: 900 } });
  await waitForBackend(page);
  await page.getByTestId('captions-dismiss').click();
  await setEpochs(page, 3);
  await trySamples(page);
  await learn(page, 1);
  for (const step of [2, 3]) {
    await page.getByTestId('pick').nth(0).check();
    await page.getByTestId('pick').nth(1).check();
    await learn(page, step);
  }

  // Which step recognised it: one bar per branch, by keyboard.
  await page.getByTestId('predict-kept-aside').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('contributions').waitFor({ timeout: 60_000 });
  const terms = await page.$$eval('[data-testid=contribution]', (r) => r.map((x) => ({ step: Number(x.dataset.step), value: Number(x.dataset.value) })));
  assert.deepEqual(terms.map((t) => t.step), [1, 2, 3]);
  const strongest = Number(await page.getByTestId('contributions').getAttribute('data-strongest'));
  const best = terms.reduce((a, b) => (b.value > a.value ? b : a)).step;
  assert.equal(strongest, best, `the sentence names the largest term: ${JSON.stringify(terms)}`);
  // The diagram lights the same columns: every column shows its share, the strongest outlined.
  const columns = await page.$$eval('[data-testid=branch]', (c) => c.map((x) => ({ step: Number(x.dataset.step), evidence: x.dataset.evidence, strongest: x.classList.contains('strongest') })));
  assert.equal(columns.length, 3);
  assert.ok(columns.every((c) => c.evidence !== ''), JSON.stringify(columns));
  assert.deepEqual(columns.filter((c) => c.strongest).map((c) => c.step), [strongest]);
  const said = await page.getByTestId('contributions').innerText();
  console.log(`[explain] terms per step ${JSON.stringify(terms.map((t) => t.value))}; ${said.split('\n').find((l) => l.startsWith('Most'))}`);
  await page.screenshot({ path: `${SHOTS}/explain-prediction.png` });

  // Where it looked: 49 covered images at 32 × 32, timed by the worker.
  await page.getByTestId('where-looked').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('occlusion').waitFor({ timeout: 60_000 });
  const millis = Number(await page.getByTestId('occlusion').getAttribute('data-millis'));
  const images = Number(await page.getByTestId('occlusion').getAttribute('data-images'));
  assert.equal(images, 49);
  const red = await page.$eval('[data-testid=occlusion] canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > d[i + 1] + 60) n++;
    return { n, side: c.width };
  });
  assert.equal(red.side, 32);
  assert.ok(red.n > 0, 'some of the image is red');
  console.log(`[explain] occlusion map, 3 branches, 32×32, CPU worker: ${images} images in ${millis} ms; ${red.n} of 1024 pixels red`);
  await page.getByTestId('occlusion').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/explain-occlusion.png` });
  await axe(page, 'explained prediction with its occlusion map');

  // Rewind to step 1 by keyboard: two classes, one branch; then back to the current model.
  await page.getByTestId('rewind-step').focus();
  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 2, null, { timeout: 60_000 });
  assert.match(await page.getByTestId('rewind-note').innerText(), /after step 1/);
  assert.equal(await page.getByTestId('contributions').count(), 0, 'one branch: nothing to split');
  await page.screenshot({ path: `${SHOTS}/explain-rewound.png` });
  await axe(page, 'rewound to step 1');
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction] .bar-row').length === 6, null, { timeout: 60_000 });
  assert.equal(await bars(page), 6);
  assert.match(await page.getByTestId('rewind-note').innerText(), /current model/);

  // The images behind a number: each accuracy cell's right answers give its percentage back,
  // for the current model (row 3) and the model after step 1 (row 1, rewound in the worker).
  await openView(page, 'results');
  const matrix = await page.$$eval('[data-testid=accuracy-cell]', (c) => c.map((x) => ({ row: x.dataset.row, column: x.dataset.column, text: x.textContent })));
  for (const [row, column] of [['3', '1'], ['1', '1'], ['2', '2']]) {
    const cell = matrix.find((c) => c.row === row && c.column === column);
    await page.locator(`[data-testid=accuracy-cell][data-row="${row}"][data-column="${column}"]`).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((key) => document.querySelector('[data-testid=cell-images]')?.dataset.key === key
      && document.querySelector('[data-testid=cell-summary]'), `accuracy-${row - 1}-${column - 1}`, { timeout: 60_000 });
    const [right, all] = (await page.getByTestId('cell-summary').innerText()).match(/(\d+) of (\d+)/).slice(1).map(Number);
    assert.equal(await page.getByTestId('cell-image').count(), all);
    assert.equal(`${Math.round((100 * right) / all)}%`, cell.text, `row ${row}, column ${column}: ${right}/${all} against ${cell.text}`);
    assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H3', 'focus moves to the images');
    console.log(`[explain] accuracy after step ${row} on step ${column}'s classes: ${cell.text} = ${right} of ${all} images answered right`);
  }
  await page.getByTestId('cell-images').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/explain-cell-images.png` });
  // A confusion cell: as many images as its count, every one answered as its column.
  const cells = await page.$$eval('[data-testid=confusion-cell]', (c) => c.map((x) => ({ truth: x.dataset.truth, answered: x.dataset.answered, n: Number(x.textContent) })));
  const wrong = cells.find((c) => c.truth !== c.answered && c.n > 0) ?? cells.find((c) => c.n > 0);
  await page.locator(`[data-testid=confusion-cell][data-truth="${wrong.truth}"][data-answered="${wrong.answered}"]`).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((key) => document.querySelector('[data-testid=cell-images]')?.dataset.key === key
    && document.querySelector('[data-testid=cell-summary]'), `confusion-${wrong.truth}-${wrong.answered}`, { timeout: 60_000 });
  assert.equal(await page.getByTestId('cell-image').count(), wrong.n);
  const right = await page.$$eval('[data-testid=cell-image]', (l) => l.map((x) => x.dataset.right));
  assert.ok(right.every((r) => r === String(wrong.truth === wrong.answered)), JSON.stringify(right));
  console.log(`[explain] confusion cell (truth ${wrong.truth}, answered ${wrong.answered}): ${wrong.n} images shown`);
  await axe(page, 'results with the images of a cell');
  await page.getByTestId('cell-close').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.getByTestId('cell-images').count(), 0, 'Close closes the images');

  // ONNX: the file and its JSON, offline, in the browser (Results: Use this model in other tools).
  await page.getByTestId('export-onnx').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/explain-export.png` });
  await page.getByTestId('export-onnx').focus();
  const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  assert.equal(download.suggestedFilename(), 'der-studio-model.onnx');
  const path = join(tmpdir(), `der-studio-model-${process.pid}.onnx`);
  await download.saveAs(path);
  const onnx = await readFile(path);
  assert.ok(onnx.length > 10_000, `${onnx.length} bytes`);
  await page.getByTestId('export-onnx-json').focus();
  const [json] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  const description = JSON.parse(await readFile(await json.path(), 'utf8'));
  assert.equal(description.output.classes.length, 6);
  assert.deepEqual(description.input.shape, ['batch', 3, 32, 32]);
  const python = 'target/python/bin/python';
  if (existsSync(python)) {
    const out = execFileSync(python, ['-c', `
import json, sys, numpy as np, onnxruntime as ort
s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])
meta = json.loads(s.get_modelmeta().custom_metadata_map['der_studio'])
y = s.run(None, {'image': np.zeros((2, 3, 32, 32), np.float32)})[0]
print(y.shape, len(meta['output']['classes']))
assert y.shape == (2, 6) and np.isfinite(y).all()
`, path]).toString().trim();
    console.log(`[explain] ONNX Runtime loaded the page's export (${onnx.length} bytes): output shape and classes ${out}`);
  } else {
    console.log('[explain] ONNX Runtime not installed here (make setup-python): the export was checked for size and its JSON only');
  }
  assert.deepEqual(problems, [], 'no console errors');
});
