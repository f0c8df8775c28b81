// The browser tests (tests/browser/*.spec.mjs) in Debian's headless Chromium: never a
// downloaded browser. `npx playwright test` runs them all against the site in DIST (default
// dist/, built by `make build-web`); see README.md, "Tests".
import { defineConfig } from '@playwright/test';
import { CHROMIUM, FLAGS } from './tests/browser/chromium.mjs';

// Debian's Firefox ESR (`make test` installs it), driven over WebDriver BiDi: the `moz-firefox`
// channel picks Playwright's BiDi backend, which drives a stock build (nothing downloaded).
const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';

export default defineConfig({
  testDir: 'tests/browser',
  testMatch: '*.spec.mjs',
  outputDir: 'tests/browser/results',
  globalSetup: './tests/browser/global-setup.mjs',
  // One browser at a time: two cores, and SwiftShader's WebGPU shares them with the page.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // A test's own waits are generous (a SwiftShader step takes minutes); this bounds a whole test.
  timeout: 15 * 60_000,
  expect: { timeout: 30_000 },
  reportSlowTests: null,
  reporter: [['list'], ['json', { outputFile: 'tests/browser/results/report.json' }]],
  use: {
    launchOptions: { executablePath: CHROMIUM, args: FLAGS, headless: true },
    viewport: { width: 1280, height: 860 },
    actionTimeout: 60_000,
    // A failing test keeps its trace (actions, DOM snapshots, console, network) and a screenshot.
    // Without the trace's screencast: on two cores it made the tests half as slow again
    // (own-images + reliability: 45 s against 30 s).
    trace: { mode: 'retain-on-failure', screenshots: false },
    screenshot: 'only-on-failure',
  },
  // Both backends, and the CPU twice: a test runs on the projects whose tag it carries
  // (@webgpu, @cpu, @threads, @firefox), written once when it belongs on several; the page it
  // opens follows the project's backend. `cpu` serves the site plainly (the single-threaded worker); `threads`
  // serves it cross-origin isolated, where the CPU trains in the threaded worker
  // (docs/threads.md).
  projects: [
    { name: 'webgpu', grep: /@webgpu/, testIgnore: 'classroom.spec.mjs', use: { backend: 'webgpu' } },
    { name: 'cpu', grep: /@cpu/, testIgnore: 'classroom.spec.mjs', use: { backend: 'cpu' } },
    { name: 'threads', grep: /@cpu|@threads/, use: { backend: 'cpu', isolated: true } },
    // The engine check and classroom flow (classroom.spec.mjs) on each backend, in projects of
    // their own so that `compare` depends on them alone: Playwright runs a dependency whole.
    { name: 'engine-webgpu', testMatch: 'classroom.spec.mjs', grep: /@webgpu/, use: { backend: 'webgpu' } },
    { name: 'engine-cpu', testMatch: 'classroom.spec.mjs', grep: /@cpu/, use: { backend: 'cpu' } },
    // WebGPU's engine-check losses against the CPU's: after both, in every run that includes it
    // (`npx playwright test --project=compare` runs the two and then it).
    { name: 'compare', testMatch: 'compare.spec.mjs', dependencies: ['engine-webgpu', 'engine-cpu'] },
    // The second browser engine: the core loop in Firefox ESR (firefox.spec.mjs).
    {
      name: 'firefox',
      grep: /@firefox/,
      use: {
        browserName: 'firefox',
        channel: 'moz-firefox',
        // Without this pref Firefox's first download opens its panel, which keeps the focus
        // from the page for good.
        launchOptions: { executablePath: FIREFOX, headless: true, firefoxUserPrefs: { 'browser.download.alwaysOpenPanel': false } },
      },
    },
  ],
});
