// `trunk serve` (what `make serve` runs) sends the site's Content-Security-Policy as a header on
// the page and on the worker's script. Run by `make test-trunk` (Trunk is not installed by
// `make test`: it compiles for tens of minutes).
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { HEADER_POLICY } from './serve.mjs';

const port = 8089;
const trunk = spawn('trunk', ['serve', '--dist', 'target/trunk-serve', '--port', String(port)], { stdio: 'ignore' });
let failed = 0;
try {
  let headers;
  for (let i = 0; i < 120 && !headers; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    headers = await fetch(`http://127.0.0.1:${port}/`).then((r) => (r.ok ? r.headers : undefined), () => undefined);
  }
  assert.ok(headers, 'trunk serve answered within two minutes');
  assert.equal(headers.get('content-security-policy'), HEADER_POLICY, 'the page');
  const worker = await fetch(`http://127.0.0.1:${port}/worker_loader.js`);
  assert.equal(worker.headers.get('content-security-policy'), HEADER_POLICY, "the worker's script");
  console.log(`trunk serve sends the policy: ${HEADER_POLICY}`);
} catch (e) {
  failed = 1;
  console.error(e);
} finally {
  trunk.kill();
}
console.log(`trunk-serve: ${1 - failed} passed, ${failed} failed`);
process.exit(failed);
