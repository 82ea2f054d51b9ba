import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRegistered, startServer, waitUntil } from './helpers.js';

test('GET /healthz reports status, connected clients and uptime', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());

  let res = await fetch(`${url}/healthz`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  let body = await res.json();
  assert.deepEqual(Object.keys(body).sort(), ['clients', 'status', 'uptime']);
  assert.equal(body.status, 'ok');
  assert.equal(body.clients, 0);
  assert.ok(Number.isInteger(body.uptime) && body.uptime >= 0);

  const a = await connectRegistered(url);
  const b = await connectRegistered(url);
  body = await (await fetch(`${url}/healthz`)).json();
  assert.equal(body.clients, 2);

  a.socket.close();
  await waitUntil(async () => (await (await fetch(`${url}/healthz`)).json()).clients === 1);
  b.socket.close();
});

test('HEAD /healthz works; other paths 404, other methods 405', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());

  assert.equal((await fetch(`${url}/healthz`, { method: 'HEAD' })).status, 200);
  assert.equal((await fetch(`${url}/healthz?x=1`)).status, 200);
  for (const path of ['/healthz/', '/nope', '/public/index.html', '/../package.json']) {
    const res = await fetch(`${url}${path}`);
    assert.equal(res.status, 404, path);
    await res.arrayBuffer();
  }
  const res = await fetch(`${url}/healthz`, { method: 'POST' });
  assert.equal(res.status, 405);
  assert.match(res.headers.get('allow'), /GET/);
});
