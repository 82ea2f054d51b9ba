// Plain HTTP routes served next to socket.io (which handles /socket.io/*
// itself before these run). A route table keyed by path keeps adding the
// web client at "/" a one-line change.

import { timingSafeEqual } from 'node:crypto';

/** @typedef {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void} Route */

export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * @param {Map<string, Record<string, Route>>} routes pathname → { METHOD: handler }
 * @param {ReturnType<import('./log.js').createLogger>} log
 */
export function createRequestHandler(routes, log) {
  return function handleRequest(req, res) {
    let pathname;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return sendJson(res, 400, { error: 'bad request' });
    }
    const methods = routes.get(pathname);
    if (!methods) return sendJson(res, 404, { error: 'not found' });
    const route = methods[req.method] ?? (req.method === 'HEAD' ? methods.GET : undefined);
    if (!route) {
      return sendJson(res, 405, { error: 'method not allowed' }, { allow: Object.keys(methods).join(', ') });
    }
    try {
      route(req, res);
    } catch (err) {
      log.error({ err, path: pathname }, 'http handler failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  };
}

/** GET /healthz → {"status":"ok","clients":N,"uptime":seconds} */
export function healthRoute(getStats) {
  return (req, res) => {
    const { clients, uptime } = getStats();
    sendJson(res, 200, { status: 'ok', clients, uptime });
  };
}

/**
 * GET /metrics → Prometheus text exposition format. With a token, only for
 * `Authorization: Bearer <token>`; anything else gets 401 before any work.
 * @param {string|null} [token]
 */
export function metricsRoute(metrics, log, token = null) {
  const expected = token ? Buffer.from(`Bearer ${token}`) : null;
  return (req, res) => {
    if (expected) {
      const given = Buffer.from(String(req.headers.authorization ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="metrics"' });
      }
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, {
          'content-type': metrics.contentType,
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err) => {
        log.error({ err }, 'metrics failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      },
    );
  };
}
