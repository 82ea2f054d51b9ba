// The web client (public/) as HTTP routes. Files are read once at startup:
// there are only a few small ones, and serving from memory means no path
// ever reaches the file system (no traversal to worry about).

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

// Everything the page needs comes from this origin; ws:/wss: for socket.io
// through a TLS proxy; blob: for the recorded-audio download. The CSP is a
// second line of defence should a peer ID ever be rendered unsafely.
const CSP = [
  "default-src 'self'",
  "connect-src 'self' ws: wss:",
  "media-src 'self' blob:",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** @returns {Array<[string, Record<string, import('./http.js').Route>]>} */
export function loadStaticRoutes(dir = PUBLIC_DIR) {
  const routes = [];
  for (const name of readdirSync(dir)) {
    const ext = name.slice(name.lastIndexOf('.'));
    if (!(ext in TYPES)) continue;
    const body = readFileSync(join(dir, name));
    const route = (req, res) => {
      res.writeHead(200, {
        'content-type': TYPES[ext],
        'content-length': body.length,
        // Revalidate on every load: a redeploy must not leave a stale app.js
        // talking an old protocol.
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        ...(ext === '.html' ? { 'content-security-policy': CSP } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    routes.push([`/${name}`, { GET: route }]);
    if (name === 'index.html') routes.push(['/', { GET: route }]);
  }
  return routes;
}
