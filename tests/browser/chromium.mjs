// Debian's headless Chromium as every browser test runs it (playwright.config.mjs): WebGPU on
// (SwiftShader where there is no GPU) and a fake camera that plays real handwritten 7s.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// The fake camera plays real handwritten 7s (from the bundled MNIST samples) as a Y4M video.
// Written once per machine (the config is loaded by the runner and by each of its workers).
function fakeCameraVideo() {
  const dir = join(tmpdir(), 'der-studio-camera');
  const path = join(dir, 'sevens.y4m');
  if (existsSync(path)) return path;
  const digits = readFileSync('www/samples/mnist-28.bin');
  const side = 56, frames = [];
  for (let i = 0; i < 40; i++) {
    const start = (7 * 40 + i) * 28 * 28;
    const y = Buffer.alloc(side * side);
    for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) y[r * side + c] = digits[start + (r >> 1) * 28 + (c >> 1)];
    frames.push(Buffer.from('FRAME\n'), y, Buffer.alloc(side * side / 2, 128));
  }
  mkdirSync(dir, { recursive: true });
  const partial = `${path}.${process.pid}`;
  writeFileSync(partial, Buffer.concat([Buffer.from(`YUV4MPEG2 W${side} H${side} F10:1 Ip A1:1 C420jpeg\n`), ...frames]));
  renameSync(partial, path);
  return path;
}

export const FLAGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // performance.measureUserAgentSpecificMemory() answers at once instead of at the next
  // garbage collection (up to 20 s later).
  '--enable-blink-features=ForceEagerMeasureMemory',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  `--use-file-for-fake-video-capture=${fakeCameraVideo()}`,
  // More flags from the environment, e.g. a real GPU's (scripts/gpu-check.sh).
  ...(process.env.CHROMIUM_EXTRA_FLAGS ?? '').split(/\s+/).filter(Boolean),
];
