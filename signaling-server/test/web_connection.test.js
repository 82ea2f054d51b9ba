// The web client's server connection (public/connection.js) against a real
// server, with socket.io-client as the browser's io(): the ID is remembered
// with its token and presented on every connect, and the client is back with
// the same ID after the server kicks it ("io server disconnect", which
// Socket.IO does not retry by itself) or goes away; another tab taking the ID
// is final until the person takes it back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import { BACKOFF, afterServerError, backoffDelay, createConnection, loadIdentity } from '../public/connection.js';
import { connectRegistered, startServer } from './helpers.js';

let server;
let url;
let port;
const open = [];

before(async () => {
  ({ server, url, port } = await startServer());
});

after(async () => {
  for (const c of open) c.close();
  await server.close();
});

function memoryStorage(initial = {}) {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  };
}

/** A connection whose callbacks are queues a test can wait on. */
function connect(storage, { key = 'id' } = {}) {
  const seen = { status: [], registered: [], errors: [] };
  const waiters = [];
  const note = (kind, value) => {
    seen[kind].push(value);
    for (const w of [...waiters]) if (w.kind === kind && w.pred(value)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(value);
    }
  };
  const connection = createConnection({
    io,
    url,
    storage,
    key,
    // The shortest backoff, so the test waits for events and not for luck.
    random: () => 0,
    socketOptions: { transports: ['websocket'], forceNew: true },
    on: {
      status: (s) => note('status', s),
      registered: (r) => note('registered', r),
      serverError: (e) => note('errors', e),
    },
  });
  open.push(connection);
  const next = (kind, pred = () => true, ms = 5000) => {
    const had = seen[kind].find(pred);
    if (had) return Promise.resolve(had);
    return new Promise((resolve, reject) => {
      const w = { kind, pred, resolve };
      waiters.push(w);
      setTimeout(() => reject(new Error(`no ${kind} in ${ms} ms: ${JSON.stringify(seen)}`)), ms).unref();
    });
  };
  return { connection, seen, next, reset: () => Object.values(seen).forEach((list) => list.splice(0)) };
}

const socketOf = async (id) => server.io.of('/').sockets.get((await server.registry.lookup(id)).socketId);

test('the first connect stores the ID and token; the next page load presents them and gets the same ID', async () => {
  const storage = memoryStorage();
  const first = connect(storage);
  const { id } = await first.next('registered');
  const stored = loadIdentity(storage, 'id');
  assert.equal(stored.id, id);
  assert.match(stored.token, /^[A-Za-z0-9_-]{43}$/);
  first.connection.close();

  const again = connect(storage);
  const reg = await again.next('registered');
  assert.deepEqual(reg, { id, reclaimed: true, previousId: null });
  again.connection.close();
});

test('kicked by the server (io server disconnect): reconnects by itself with the same ID', async () => {
  const c = connect(memoryStorage());
  const { id } = await c.next('registered');
  c.reset();
  (await socketOf(id)).disconnect(true);
  const status = await c.next('status', (s) => s.server === 'reconnecting');
  assert.equal(status.attempt, 1);
  const reg = await c.next('registered');
  assert.deepEqual(reg, { id, reclaimed: true, previousId: null });
  assert.equal((await c.next('status', (s) => s.server === 'online')).attempt, 0);
  c.connection.close();
});

test('the server goes away and comes back on the same port: the same ID', async () => {
  const storage = memoryStorage();
  const c = connect(storage);
  const { id } = await c.next('registered');
  c.reset();
  await server.close();
  await c.next('status', (s) => s.server === 'reconnecting');
  ({ server, url } = await startServer({ port }));
  // A new server has never seen the ID: the stored token registers it again.
  const reg = await c.next('registered', () => true, 15_000);
  assert.equal(reg.id, id);
  assert.equal(loadIdentity(storage, 'id').id, id);
  c.connection.close();
});

test('another tab takes the ID: offline for good, until this one takes it back', async () => {
  const storage = memoryStorage();
  const c = connect(storage);
  const { id } = await c.next('registered');
  c.reset();
  const { token } = loadIdentity(storage, 'id');
  const other = await connectRegistered(url, { auth: { id, token } });
  assert.equal(other.registered.reclaimed, true);
  const status = await c.next('status', (s) => s.server === 'offline');
  assert.equal(status.canReclaim, true);
  assert.match(status.detail, /another tab/);
  assert.equal(c.seen.errors[0].code, 'SESSION_REPLACED');
  assert.equal(c.connection.connected, false);

  c.connection.reconnect();
  assert.equal((await c.next('registered')).id, id);
  other.socket.close();
  c.connection.close();
});

test('a remembered ID that someone else holds now: a new ID, and the old one is named', async () => {
  const holder = await connectRegistered(url);
  const storage = memoryStorage({ id: JSON.stringify({ id: holder.id, token: randomBytes(32).toString('base64url') }) });
  const c = connect(storage);
  const reg = await c.next('registered');
  assert.notEqual(reg.id, holder.id);
  assert.equal(reg.previousId, holder.id);
  assert.equal(c.seen.errors[0].code, 'ID_TAKEN');
  assert.equal(loadIdentity(storage, 'id').id, reg.id);
  holder.socket.close();
  c.connection.close();
});

test('unreadable storage starts afresh', () => {
  assert.deepEqual(loadIdentity(memoryStorage({ id: '{not json' }), 'id'), {});
  assert.deepEqual(loadIdentity(memoryStorage({ id: '{"id":1,"token":"x"}' }), 'id'), {});
  assert.deepEqual(loadIdentity(memoryStorage(), 'id'), {});
  assert.deepEqual(loadIdentity({ getItem: () => { throw new Error('disabled'); } }, 'id'), {});
});

test('which errors end or reset the session; the backoff doubles up to its cap with ±50 % jitter', () => {
  assert.equal(afterServerError({ code: 'SESSION_REPLACED' }), 'replaced');
  assert.equal(afterServerError({ code: 'ID_TAKEN' }), 'new-identity');
  assert.equal(afterServerError({ code: 'INVALID_TOKEN' }), 'new-identity');
  assert.equal(afterServerError({ code: 'INVALID_ID', event: 'offer_sdp' }), null);
  assert.equal(afterServerError({ code: 'RATE_LIMITED' }), null);
  assert.equal(afterServerError({ code: 'INTERNAL' }), null);
  assert.equal(backoffDelay(1, () => 0.5), BACKOFF.firstMs);
  assert.equal(backoffDelay(2, () => 0.5), 2 * BACKOFF.firstMs);
  assert.equal(backoffDelay(1, () => 0), BACKOFF.firstMs / 2);
  assert.equal(backoffDelay(30, () => 0.5), BACKOFF.maxMs);
  assert.ok(backoffDelay(30, () => 0.999) < 1.5 * BACKOFF.maxMs);
});
