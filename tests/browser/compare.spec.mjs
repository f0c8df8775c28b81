// WebGPU must reproduce the CPU's losses: the engine check (classroom.spec.mjs) runs two real
// DER steps, same seed, parameters drawn on the CPU for both devices, on each project and keeps
// its losses in the results folder. This test (run once, after both: the cpu project runs after
// the webgpu one, and compare after classroom) holds them side by side; it is skipped when
// either project's engine check did not run or did not pass in this run.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';

const read = (dir, backend) => readFile(join(dir, `engine-losses-${backend}.json`), 'utf8').then(JSON.parse, () => undefined);

test('WebGPU reproduces the CPU losses of the engine check', { tag: '@cpu' }, async ({}, testInfo) => {
  const gpu = await read(testInfo.project.outputDir, 'webgpu');
  const cpu = await read(testInfo.project.outputDir, 'cpu');
  test.skip(!gpu || !cpu, 'needs both projects\' engine checks from this run (npx playwright test tests/browser/classroom.spec.mjs tests/browser/compare.spec.mjs)');
  test.skip(gpu.kind !== 'webgpu', `the default page ran on ${gpu.kind}, not WebGPU`);
  // The first loss (forward only) agrees to float precision; rounding differences then grow a
  // little through ten updates with mask scales up to 100.
  assert.ok(Math.abs(gpu.losses[0] - cpu.losses[0]) <= 1e-4, `first loss: webgpu ${gpu.losses[0]} vs cpu ${cpu.losses[0]}`);
  assert.equal(gpu.losses.length, cpu.losses.length);
  const worst = Math.max(...gpu.losses.map((l, i) => Math.abs(l - cpu.losses[i]) / Math.max(1, Math.abs(cpu.losses[i]))));
  gpu.losses.forEach((l, i) => assert.ok(Math.abs(l - cpu.losses[i]) <= 1e-2 * Math.max(1, Math.abs(cpu.losses[i])),
    `iteration ${i}: webgpu ${l} vs cpu ${cpu.losses[i]}`));
  console.log(`WebGPU and CPU losses match over ${gpu.losses.length} iterations of two DER steps (largest difference ${(100 * worst).toFixed(3)}%)`);
});
