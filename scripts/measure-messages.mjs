// Message sizes and post times between the page and the worker for one step of five
// built-in classes (200 images) and its model, on the CPU backend: `node scripts/measure-messages.mjs dist`.
// Prints the page's and the worker's `message …` console lines (BENCHMARKS.md).
import { chromium } from 'playwright-core';
import { serve } from '../tests/browser/serve.mjs';
const root = process.argv[2];
const { server, url } = await serve(root);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox'] });
const page = await browser.newPage();
const lines = [];
page.on('console', (m) => { if (/^message /.test(m.text())) lines.push(m.text()); });
await page.goto(url + '?backend=cpu');
await page.waitForFunction(() => document.querySelector('[data-testid=backend]')?.dataset.kind, null, { timeout: 60000 });
await page.locator('details.settings summary').click();
await page.getByTestId('epochs').fill('1'); await page.getByTestId('epochs').dispatchEvent('change');
await page.getByTestId('try-samples').click();
await page.waitForFunction(() => document.querySelectorAll('[data-testid=class-card]').length === 6);
const picks = page.getByTestId('pick');
const n = await picks.count();
// Five of the six classes: 5 × 40 = 200 images (160 to train, 40 kept aside for the test).
for (let i = 0; i < Math.min(n, 5); i++) if (!(await picks.nth(i).isChecked())) await picks.nth(i).check();
await page.getByTestId('learn').click();
await page.waitForFunction(() => document.querySelectorAll('[data-testid=accuracy-matrix] tbody tr').length === 1 || document.querySelector('[data-testid=notice].error'), null, { timeout: 600000 });
await page.waitForTimeout(1000);
console.log(await page.getByTestId('notice').innerText());
for (const l of lines) console.log(l);
await browser.close(); server.close();
