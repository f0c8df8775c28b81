// A tiny static server for the built site, mounted under a sub-path so every test also checks
// that the site works where a hosted page lives (e.g. GitHub Pages' /der-studio/).
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.css': 'text/css', '.png': 'image/png', '.json': 'application/json',
  '.svg': 'image/svg+xml', '.bin': 'application/octet-stream',
};

// The site's Content-Security-Policy: index.html's meta tag, plus what only a header can say.
// Sent with every response (as `trunk serve` does, Trunk.toml), so it covers the worker too.
export const POLICY = readFileSync('index.html', 'utf8').match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)[1];
export const HEADER_POLICY = `${POLICY}; frame-ancestors 'none'`;

// `isolated`: also send the cross-origin isolation headers (COOP/COEP), which the site allows
// (it loads nothing from elsewhere) and which unlock the browser's own memory measurement.
export async function serve(root, prefix = '/der-studio/', port = 0, { isolated = false } = {}) {
  const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (!url.pathname.startsWith(prefix)) { res.writeHead(404).end('outside the site'); return; }
    let path = normalize(join(root, decodeURIComponent(url.pathname.slice(prefix.length))));
    if (!path.startsWith(normalize(root))) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(path)).isDirectory()) path = join(path, 'index.html');
      const body = await readFile(path);
      res.writeHead(200, {
        'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'content-security-policy': HEADER_POLICY, ...isolation,
      }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}${prefix}` };
}
