// WebGPU must reproduce the CPU's losses: the engine check (classroom.spec.mjs) runs two real
// DER steps, same seed, parameters drawn on the CPU for both devices, on each project and keeps
// its losses in the results folder as engine-losses-<project>.json. This test is the `compare`
// project, which depends on the `engine-webgpu` and `engine-cpu` projects (playwright.config.mjs),
// so it runs after both whenever it runs; a missing file is a failure, not a skip.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from './fixtures.mjs';

const read = async (dir, project) => {
  const file = join(dir, `engine-losses-${project}.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    assert.fail(`no losses from the ${project} project's engine check in this run (${file}: ${e.message}); ` +
      'run it with: npx playwright test --project=compare');
  }
};

// Measured: the largest relative difference over the ten iterations is about 0.001%
// (BENCHMARKS.md); 0.01% leaves room for rounding in a different adapter, not for a bug.
const TOLERANCE = 1e-4;

test('WebGPU reproduces the CPU losses of the engine check', async ({}, testInfo) => {
  const gpu = await read(testInfo.project.outputDir, 'engine-webgpu');
  const cpu = await read(testInfo.project.outputDir, 'engine-cpu');
  // EXPECT_WEBGPU=0: a browser without WebGPU, where the default page trains on the CPU.
  test.skip(process.env.EXPECT_WEBGPU === '0' && gpu.kind !== 'webgpu', 'this browser has no WebGPU (EXPECT_WEBGPU=0)');
  assert.equal(gpu.kind, 'webgpu', `the default page ran on ${gpu.kind}, not WebGPU`);
  assert.equal(cpu.kind, 'cpu');
  assert.equal(gpu.losses.length, cpu.losses.length);
  assert.ok(gpu.losses.length >= 10, `${gpu.losses.length} iterations`);
  const relative = gpu.losses.map((l, i) => Math.abs(l - cpu.losses[i]) / Math.max(1, Math.abs(cpu.losses[i])));
  relative.forEach((r, i) => assert.ok(r <= TOLERANCE,
    `iteration ${i}: webgpu ${gpu.losses[i]} vs cpu ${cpu.losses[i]} (${(100 * r).toFixed(4)}%)`));
  console.log(`WebGPU and CPU losses match over ${gpu.losses.length} iterations of two DER steps (largest difference ${(100 * Math.max(...relative)).toFixed(4)}%)`);
});
