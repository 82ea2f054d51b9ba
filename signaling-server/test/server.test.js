import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { CLOSE_GRACE_MS, createSignalingServer } from '../src/server.js';
import { client, memoryLogger, once } from './helpers.js';

test('createSignalingServer exposes the documented shape and listens on port 0', async () => {
  const { logger, records } = memoryLogger();
  const server = createSignalingServer({ port: 0 }, { logger });
  for (const key of ['httpServer', 'io', 'registry', 'listen', 'close']) assert.ok(key in server, key);
  const addr = await server.listen();
  assert.equal(addr.host, '127.0.0.1');
  assert.ok(Number.isInteger(addr.port) && addr.port > 0);
  const listening = records.find((r) => r.msg === 'listening');
  assert.deepEqual({ host: listening.host, port: listening.port }, addr);
  await server.close();
  await server.close(); // idempotent
});

test('close() disconnects clients and stops listening', async () => {
  const server = createSignalingServer({ port: 0 }, { logger: memoryLogger().logger });
  const { port } = await server.listen();
  const c = client(`http://127.0.0.1:${port}`);
  await once(c, 'registered');
  const gone = once(c, 'disconnect');
  await server.close();
  await gone;
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
});

/** A raw TCP client that sends `bytes` and then neither reads nor writes. */
async function stalledClient(port, bytes) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  socket.write(bytes);
  // Long enough for the server to have read it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.pause();
  return socket;
}

// Without the grace these hold close() until the server's header timeout
// (a minute) or ws's close timeout (30 s): a stalled client must not keep
// the IDs of everyone else from being released at shutdown.
for (const [what, bytes] of [
  ['half an HTTP request', 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'],
  [
    'a WebSocket that never answers the close',
    'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  ],
]) {
  test(`close() drops ${what} after the grace and releases the IDs of the rest`, async () => {
    const { logger, records } = memoryLogger();
    const server = createSignalingServer({ port: 0 }, { logger });
    const { port } = await server.listen();
    const c = client(`http://127.0.0.1:${port}`);
    const { id } = await once(c, 'registered');
    const stalled = await stalledClient(port, bytes);
    const dropped = new Promise((resolve) => stalled.once('close', resolve));
    const started = Date.now();
    await server.close();
    const took = Date.now() - started;
    assert.ok(took < CLOSE_GRACE_MS + 5000, `close() took ${took} ms`);
    // Read again, to see the server's end of it.
    stalled.resume();
    await dropped;
    assert.equal((await server.registry.lookup(id))?.online ?? false, false, 'the well-behaved client is offline');
    const warn = records.find((r) => r.msg === 'connections still open after the close grace, dropped');
    assert.equal(warn?.connections, 1);
    c.close();
  });
}

test('listen() rejects when the port is in use', async () => {
  const a = createSignalingServer({ port: 0 }, { logger: memoryLogger().logger });
  const { port } = await a.listen();
  const b = createSignalingServer({ port }, { logger: memoryLogger().logger });
  await assert.rejects(b.listen(), /EADDRINUSE/);
  await a.close();
  await b.close();
});

test('connect, relay and disconnect are logged without tokens or SDP', async () => {
  const { logger, records } = memoryLogger();
  const server = createSignalingServer({ port: 0 }, { logger });
  const { port } = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  const a = client(url);
  const b = client(url);
  const [aReg, bReg] = await Promise.all([once(a, 'registered'), once(b, 'registered')]);
  b.emit('offer_sdp', { targetClientId: aReg.id, sdp: { type: 'offer', sdp: 'v=0 SECRET-SDP' } });
  await once(a, 'offer_sdp');
  b.emit('offer_sdp', 7);
  await once(b, 'server_error');
  a.close();
  b.close();
  await server.close();

  const text = records.map((r) => JSON.stringify(r)).join('\n');
  assert.ok(!text.includes(aReg.token) && !text.includes(bReg.token), 'no tokens in logs');
  assert.ok(!text.includes('SECRET-SDP'), 'no SDP in logs');
  const connect = records.find((r) => r.msg === 'connect' && r.id === aReg.id);
  assert.equal(connect.reclaimed, false);
  assert.equal(typeof connect.socketId, 'string');
  const relay = records.find((r) => r.msg === 'relay');
  assert.deepEqual([relay.event, relay.from, relay.to, typeof relay.bytes], ['offer_sdp', bReg.id, aReg.id, 'number']);
  const err = records.find((r) => r.msg === 'client error');
  assert.deepEqual([err.code, err.event], ['INVALID_PAYLOAD', 'offer_sdp']);
  assert.ok(records.some((r) => r.msg === 'disconnect' && r.id === aReg.id));
});
