// Serves the built site (DIST, default dist/) for the whole run with the test server of
// serve.mjs: under the sub-path /der-studio/ and with the site's Content-Security-Policy header,
// once plain and once cross-origin isolated (COOP/COEP; the scale test reads the browser's own
// memory measure there). The URLs reach the tests' fixtures through the environment.
import { existsSync } from 'node:fs';
import { serve } from './serve.mjs';

export default async function globalSetup() {
  const dist = process.env.DIST ?? 'dist';
  if (!existsSync(`${dist}/index.html`)) throw new Error(`no built site in ${dist}/ (make build-web, or set DIST)`);
  const plain = await serve(dist);
  const isolated = await serve(dist, '/der-studio/', 0, { isolated: true });
  process.env.DER_SITE = plain.url;
  process.env.DER_SITE_ISOLATED = isolated.url;
  process.env.DER_DIST = dist;
  console.log(`serving ${dist}/ at ${plain.url} (and cross-origin isolated at ${isolated.url})`);
  return async () => {
    plain.server.close();
    isolated.server.close();
  };
}
