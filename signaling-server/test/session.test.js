// Connection lifecycle: registration, custom IDs, reclaim, hijack attempts,
// session replacement, unknown events, internal errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GENERATED_ID_RE, TOKEN_RE } from '../src/ids.js';
import { createMemoryRegistry } from '../src/registry.js';
import { createLogger } from '../src/log.js';
import { client, connectRegistered, fakeClock, never, once, recorder, startServer, strongToken, waitOffline } from './helpers.js';

/** A logger whose records a test can wait for. */
function logWaiter() {
  const records = [];
  const waiters = [];
  const logger = createLogger({
    level: 'debug',
    stream: {
      write(line) {
        const r = JSON.parse(line);
        records.push(r);
        for (const w of waiters.filter((w) => w.pred(r))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(r);
        }
      },
    },
  });
  const next = (pred) => {
    const seen = records.find(pred);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pred, resolve }));
  };
  return { logger, records, next };
}

const TOKEN = strongToken();
const OTHER = strongToken();

/** `from` offers `to` a call; resolves with what `to` received. */
async function offerReaches(from, to, toId) {
  const got = once(to, 'offer_sdp');
  from.emit('offer_sdp', { targetClientId: toId, sdp: 'v=0', callId: 'probe' });
  return got;
}

/** Both error events arrive, with the same payload; returns it. */
async function expectError(socket, code, ms) {
  const [a, b] = await Promise.all([once(socket, 'server_error', ms), once(socket, 'error', ms)]);
  assert.deepEqual(a, b);
  assert.equal(a.code, code, JSON.stringify(a));
  assert.equal(typeof a.message, 'string');
  assert.ok(a.message.length > 0);
  return a;
}

/** Connect with `auth`; expect error `code` first, then a server disconnect. */
async function expectRejected(url, auth, code, transports = ['websocket']) {
  const socket = client(url, { auth, transports });
  const events = recorder(socket);
  const disconnected = new Promise((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
  const err = await expectError(socket, code);
  assert.equal(await disconnected, 'io server disconnect');
  // The error must be the first thing received, and no id was handed out.
  assert.equal(events[0][0], 'server_error');
  assert.ok(!events.some(([e]) => e === 'your_id' || e === 'registered'));
  socket.close();
  return err;
}

for (const transports of [['websocket'], ['polling']]) {
  test(`connect without auth: your_id (plain string) then registered [${transports}]`, async (t) => {
    const { server, url } = await startServer();
    t.after(() => server.close());
    const { socket, events, id, registered } = await connectRegistered(url, { transports });
    assert.equal(typeof id, 'string');
    assert.match(id, GENERATED_ID_RE);
    assert.deepEqual(Object.keys(registered).sort(), ['id', 'reclaimed', 'token']);
    assert.equal(registered.id, id);
    assert.equal(registered.reclaimed, false);
    assert.match(registered.token, TOKEN_RE);
    assert.equal(registered.token.length, 43);
    assert.deepEqual(events.map((e) => e[0]), ['your_id', 'registered', 'ice_servers']);
    assert.deepEqual(events[0], ['your_id', id], 'your_id has exactly one string argument');
    // socket.io clients learn the server-side socket id, so they must match.
    assert.deepEqual(await server.registry.lookup(id), { id, online: true, socketId: socket.id, offlineSince: null });
    socket.close();
  });
}

test('every connection gets a distinct id', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const clients = await Promise.all(Array.from({ length: 10 }, () => connectRegistered(url)));
  assert.equal(new Set(clients.map((c) => c.id)).size, 10);
  for (const c of clients) c.socket.close();
});

test('claim a custom id with a token; with no token one is generated', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const a = await connectRegistered(url, { auth: { id: 'alice', token: TOKEN } });
  assert.equal(a.id, 'alice');
  assert.deepEqual(a.registered, { id: 'alice', token: TOKEN, reclaimed: false });
  const b = await connectRegistered(url, { auth: { id: 'bob-2' } });
  assert.equal(b.id, 'bob-2');
  assert.match(b.token, TOKEN_RE);
  a.socket.close();
  b.socket.close();
});

test('a token without an id gets a generated id bound to that token', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const a = await connectRegistered(url, { auth: { token: TOKEN } });
  assert.match(a.id, GENERATED_ID_RE);
  assert.equal(a.token, TOKEN);
  a.socket.close();
  await waitOffline(server, a.id);
  const again = await connectRegistered(url, { auth: { id: a.id, token: TOKEN } });
  assert.equal(again.registered.reclaimed, true);
  again.socket.close();
});

test('null id/token in auth (serde None) are treated as absent', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const a = await connectRegistered(url, { auth: { id: null, token: null } });
  assert.match(a.id, GENERATED_ID_RE);
  a.socket.close();
});

test('reclaim after disconnect keeps the id (generated and custom)', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const first = await connectRegistered(url);
  first.socket.close();
  await waitOffline(server, first.id);
  const second = await connectRegistered(url, { auth: { id: first.id, token: first.token } });
  assert.deepEqual(second.registered, { id: first.id, token: first.token, reclaimed: true });
  assert.deepEqual(second.events[0], ['your_id', first.id]);
  second.socket.close();

  const c1 = await connectRegistered(url, { auth: { id: 'carol', token: TOKEN } });
  c1.socket.close();
  await waitOffline(server, 'carol');
  const c2 = await connectRegistered(url, { auth: { id: 'carol', token: TOKEN } });
  assert.equal(c2.registered.reclaimed, true);
  c2.socket.close();
});

for (const transports of [['websocket'], ['polling']]) {
  test(`hijack attempt on an online id gets ID_TAKEN, is disconnected, owner unaffected [${transports}]`, async (t) => {
    const { server, url } = await startServer();
    t.after(() => server.close());
    const owner = await connectRegistered(url, { auth: { id: 'owner', token: TOKEN } });
    const ownerDisconnect = never(owner.socket, 'disconnect', 300);
    const ownerErrors = never(owner.socket, 'server_error', 300);

    const noToken = await expectRejected(url, { id: 'owner' }, 'ID_TAKEN', transports);
    assert.match(noToken.message, /owner/);
    assert.equal(noToken.event, undefined);
    await expectRejected(url, { id: 'owner', token: OTHER }, 'ID_TAKEN', transports);

    await ownerDisconnect;
    await ownerErrors;
    assert.ok(owner.socket.connected);
    assert.equal((await server.registry.lookup('owner')).online, true);
    // The owner still receives relays.
    const peer = await connectRegistered(url);
    assert.equal((await offerReaches(peer.socket, owner.socket, 'owner')).from, peer.id);
    owner.socket.close();
    peer.socket.close();
  });
}

test('an offline id stays reserved for its token within the TTL', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const owner = await connectRegistered(url, { auth: { id: 'dave', token: TOKEN } });
  owner.socket.close();
  await waitOffline(server, 'dave');
  await expectRejected(url, { id: 'dave' }, 'ID_TAKEN');
  await expectRejected(url, { id: 'dave', token: OTHER }, 'ID_TAKEN');
  assert.equal((await server.registry.lookup('dave')).online, false);
});

test('after ID_TTL_SECONDS an offline id is free again', async (t) => {
  const clock = fakeClock();
  const { server, url } = await startServer({ idTtlSeconds: 3600 }, { clock });
  t.after(() => server.close());
  const owner = await connectRegistered(url, { auth: { id: 'erin', token: TOKEN } });
  owner.socket.close();
  await waitOffline(server, 'erin');
  clock.advance(3600 * 1000 - 1);
  await expectRejected(url, { id: 'erin', token: OTHER }, 'ID_TAKEN');
  clock.advance(1);
  const other = await connectRegistered(url, { auth: { id: 'erin', token: OTHER } });
  assert.deepEqual(other.registered, { id: 'erin', token: OTHER, reclaimed: false });
  other.socket.close();
});

test('SESSION_REPLACED: reconnecting with the token while the old socket is online', async (t) => {
  const logs = logWaiter();
  const { server, url } = await startServer({}, { logger: logs.logger });
  t.after(() => server.close());
  const old = await connectRegistered(url, { auth: { id: 'frank', token: TOKEN } });
  const oldSocketId = old.socket.id; // the client forgets it on disconnect
  const oldDisconnected = new Promise((resolve) => old.socket.on('disconnect', resolve));
  const replacedErr = expectError(old.socket, 'SESSION_REPLACED');

  const fresh = await connectRegistered(url, { auth: { id: 'frank', token: TOKEN } });
  assert.deepEqual(fresh.registered, { id: 'frank', token: TOKEN, reclaimed: true });
  await replacedErr;
  assert.equal(await oldDisconnected, 'io server disconnect');
  // The old socket's disconnect must not mark the new session offline.
  const released = await logs.next((r) => r.msg === 'disconnect' && r.socketId === oldSocketId);
  assert.equal(released.released, false);
  const rec = await server.registry.lookup('frank');
  assert.equal(rec.online, true);
  assert.equal(rec.socketId, fresh.socket.id);

  const peer = await connectRegistered(url);
  assert.equal((await offerReaches(peer.socket, fresh.socket, 'frank')).from, peer.id);
  fresh.socket.close();
  peer.socket.close();
});

test('malformed id or token in auth → INVALID_ID / INVALID_TOKEN then disconnect', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  for (const id of ['A', 'Alice', 'ab', '-abc', 'abc-', 'a'.repeat(33), 'a_b', 42, true, { x: 1 }]) {
    await expectRejected(url, { id }, 'INVALID_ID');
  }
  for (const token of ['short', 'x'.repeat(129), 'has space in it!!!!', 1234567890123456, ['x']]) {
    await expectRejected(url, { id: 'valid-id', token }, 'INVALID_TOKEN');
    await expectRejected(url, { token }, 'INVALID_TOKEN');
  }
  // Nothing was registered by the rejected attempts.
  assert.equal(await server.registry.lookup('valid-id'), null);
  assert.equal(await server.registry.size(), 0);
  // Polling transport too.
  await expectRejected(url, { id: 'Bad' }, 'INVALID_ID', ['polling']);
});

test('unknown events get UNKNOWN_EVENT and the connection stays usable', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const a = await connectRegistered(url);
  const b = await connectRegistered(url);
  a.socket.emit('make_coffee', { targetClientId: b.id });
  const err = await expectError(a.socket, 'UNKNOWN_EVENT');
  assert.equal(err.event, 'make_coffee');
  assert.match(err.message, /make_coffee/);
  a.socket.emit('__proto__', {});
  assert.equal((await expectError(a.socket, 'UNKNOWN_EVENT')).event, '__proto__');
  a.socket.emit('your_id'); // zero-arg, server-only event name
  await expectError(a.socket, 'UNKNOWN_EVENT');
  assert.equal((await offerReaches(a.socket, b.socket, b.id)).from, a.id);
  a.socket.close();
  b.socket.close();
});

test('events sent before registration finishes are handled after it, in order', async (t) => {
  const inner = createMemoryRegistry({ idTtlMs: 60_000 });
  // Claims of "sender" wait until the test has sent its events.
  let open;
  const gate = new Promise((resolve) => (open = resolve));
  const slow = { ...inner, claim: async (id, ...rest) => (id === 'sender' && (await gate), inner.claim(id, ...rest)) };
  const { server, url } = await startServer({}, { registry: slow });
  t.after(async () => {
    await server.close();
    await inner.close();
  });
  const a = await connectRegistered(url, { auth: { id: 'target', token: TOKEN } });
  const b = client(url, { auth: { id: 'sender', token: OTHER } });
  // Emitted while the server is still claiming "sender".
  b.emit('offer_sdp', { targetClientId: 'target', sdp: 'o' });
  for (let i = 0; i < 20; i++) b.emit('send_ice', { targetClientId: 'target', candidate: `c${i}` });
  b.once('connect', () => open());
  const got = [];
  await new Promise((resolve) => {
    a.socket.onAny((event, payload) => {
      got.push([event, payload.from, payload.candidate]);
      if (got.length === 21) resolve();
    });
  });
  assert.deepEqual(got[0], ['offer_sdp', 'sender', undefined]);
  assert.deepEqual(got.slice(1).map((g) => g[2]), Array.from({ length: 20 }, (_, i) => `c${i}`));
  assert.ok(got.every((g) => g[1] === 'sender'));
  a.socket.close();
  b.close();
});

test('a throwing registry yields INTERNAL for that socket only; the server keeps serving', async (t) => {
  const inner = createMemoryRegistry({ idTtlMs: 60_000 });
  const faulty = {
    ...inner,
    lookup: async (id) => {
      if (id === 'explode') throw new Error('simulated backend failure');
      return inner.lookup(id);
    },
    claim: async (id, ...rest) => {
      if (id === 'cannot-claim') throw new Error('simulated claim failure');
      return inner.claim(id, ...rest);
    },
  };
  const { server, url } = await startServer({}, { registry: faulty });
  t.after(async () => {
    await server.close();
    await inner.close();
  });
  const a = await connectRegistered(url);
  const b = await connectRegistered(url);
  const bQuiet = never(b.socket, 'server_error', 300);

  a.socket.emit('offer_sdp', { targetClientId: 'explode', sdp: 'x', callId: 'c1' });
  const err = await expectError(a.socket, 'INTERNAL');
  assert.equal(err.event, 'offer_sdp');
  assert.ok(!err.message.includes('simulated'), 'internal details are not leaked');
  await bQuiet;

  // Same socket keeps working afterwards.
  assert.equal((await offerReaches(a.socket, b.socket, b.id)).from, a.id);

  // A failure during registration: INTERNAL, then the transport is closed
  // (no usable id; a client library reconnects by itself).
  const c = client(url, { auth: { id: 'cannot-claim' } });
  const cDisc = once(c, 'disconnect');
  await expectError(c, 'INTERNAL');
  assert.equal(await cDisc, 'transport close');
  c.close();

  // And new clients are still served.
  const d = await connectRegistered(url);
  assert.equal((await offerReaches(d.socket, a.socket, a.id)).from, d.id);
  for (const s of [a.socket, b.socket, d.socket]) s.close();
});
