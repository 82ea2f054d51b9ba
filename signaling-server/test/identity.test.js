// Who may hold which ID: token strength, wrong-token back-off, new IDs per
// address, the registry's bound and what it forgets first, and the client
// address in the logs. Clocks are injected; nothing waits for time to pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthGuard, isStrongToken } from '../src/auth_guard.js';
import { DEFAULTS } from '../src/config.js';
import { createMemoryRegistry } from '../src/registry.js';
import { client, connectRegistered, fakeClock, memoryLogger, once, startServer, strongToken, waitOffline } from './helpers.js';

test('token strength: weak and patterned tokens are refused, random ones of 128+ bits pass', () => {
  for (const weak of ['a'.repeat(16), 'a'.repeat(64), `tok_${'x'.repeat(28)}`, 'tok_legit_aaaaaaaaaaaaaaaa', 'correcthorsebatterystaple', 'secret-token-123456', '0123456789abcdef0123', 'abcdabcdabcdabcdabcdabcdabcdabcd']) {
    assert.equal(isStrongToken(weak), false, weak);
  }
  const random = (bytes, enc, len) => Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 73 + 41) % 256)).toString(enc).slice(0, len);
  assert.equal(isStrongToken(strongToken()), true);
  assert.equal(isStrongToken(random(16, 'hex', 32)), true, '128-bit hex');
  for (let i = 0; i < 200; i++) assert.equal(isStrongToken(strongToken()), true, 'every server-issued token');
});

/** Connect with `auth`; resolves with the first server_error and the disconnect reason. */
async function refused(url, auth, opts = {}) {
  const socket = client(url, { auth, ...opts });
  const [err, reason] = await Promise.all([once(socket, 'server_error'), once(socket, 'disconnect')]);
  socket.close();
  return { err, reason };
}

test('a new ID with a weak token is refused (INVALID_TOKEN, final); with none or a strong one it is registered', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  for (const auth of [{ id: 'weakling', token: 'a'.repeat(16) }, { token: `tok_${'x'.repeat(28)}` }]) {
    const { err, reason } = await refused(url, auth);
    assert.equal(err.code, 'INVALID_TOKEN');
    assert.match(err.message, /too weak/);
    assert.equal(reason, 'io server disconnect');
  }
  assert.equal(await server.registry.lookup('weakling'), null);
  const issued = await connectRegistered(url, { auth: { id: 'weakling' } });
  assert.ok(isStrongToken(issued.token));
  const mine = strongToken();
  const chosen = await connectRegistered(url, { auth: { id: 'strong-one', token: mine } });
  assert.equal(chosen.token, mine);
  issued.socket.close();
  chosen.socket.close();
});

test('auth guard: wrong tokens per (ID, address) and per address back off; others are not locked out', () => {
  const clock = fakeClock();
  const guard = createAuthGuard({ ...DEFAULTS, authFailuresPerIdBurst: 3, authFailuresPerIdPerMin: 6, authFailuresPerIpBurst: 5, authFailuresPerIpPerMin: 6 }, { now: clock.now });
  for (let i = 0; i < 3; i++) {
    assert.equal(guard.waitMs('alice', 'evil'), 0);
    guard.failed('alice', 'evil');
  }
  assert.equal(guard.waitMs('alice', 'evil'), 10_000, 'one more guess in 10 s at 6/min');
  assert.equal(guard.waitMs('alice', 'owner'), 0, 'the owner elsewhere is not locked out');
  guard.failed('bob', 'evil');
  guard.failed('carol', 'evil');
  assert.ok(guard.waitMs('dave', 'evil') > 0, 'the address as a whole is out of guesses');
  clock.advance(10_000);
  assert.equal(guard.waitMs('dave', 'evil'), 0);
});

test('wrong-token guesses: ID_TAKEN until the budget is spent, then RATE_LIMITED before any check, for that address only', async (t) => {
  const clock = fakeClock();
  const { logger, records } = memoryLogger();
  const { server, url } = await startServer({ authFailuresPerIdBurst: 3, authFailuresPerIdPerMin: 6 }, { clock, logger });
  t.after(() => server.close());
  const owner = await connectRegistered(url, { auth: { id: 'target' } });
  owner.socket.close();
  await waitOffline(server, 'target');
  const evil = { localAddress: '127.0.5.66' };
  for (let i = 0; i < 3; i++) assert.equal((await refused(url, { id: 'target', token: strongToken() }, evil)).err.code, 'ID_TAKEN');
  const limited = await refused(url, { id: 'target', token: owner.token }, evil);
  assert.equal(limited.err.code, 'RATE_LIMITED', 'even the right token: nothing is checked');
  assert.equal(limited.reason, 'transport close', 'for now, not for good');
  assert.equal(limited.err.retryAfterMs, 10_000);
  // The owner, from its own address, gets its ID back.
  const back = await connectRegistered(url, { auth: { id: 'target', token: owner.token } });
  assert.equal(back.registered.reclaimed, true);
  back.socket.close();
  // Each refusal was logged with the address (and throttled: see log_throttle.test.js).
  assert.ok(records.some((r) => r.msg === 'connection rejected' && r.code === 'ID_TAKEN' && r.ip === '127.0.5.66'));
});

test('new IDs per address: IP_REGISTRATION_BURST, then IP_REGISTRATIONS_PER_HOUR; reclaims are not counted', async (t) => {
  const clock = fakeClock();
  const { server, url } = await startServer({ ipRegistrationBurst: 2, ipRegistrationsPerHour: 60 }, { clock });
  t.after(() => server.close());
  const from = { localAddress: '127.0.5.7' };
  const first = await connectRegistered(url, from);
  const second = await connectRegistered(url, { ...from, auth: { id: 'custom-two' } });
  const { err, reason } = await refused(url, {}, from);
  assert.equal(err.code, 'RATE_LIMITED');
  assert.match(err.message, /new ids/);
  assert.equal(reason, 'transport close');
  assert.equal(err.retryAfterMs, 60_000);
  // Reclaiming an existing ID is not a new one.
  first.socket.close();
  await waitOffline(server, first.id);
  const again = await connectRegistered(url, { ...from, auth: { id: first.id, token: first.token } });
  assert.equal(again.registered.reclaimed, true);
  // Other addresses are not affected; time refills it.
  (await connectRegistered(url, { localAddress: '127.0.5.8' })).socket.close();
  clock.advance(60_000);
  (await connectRegistered(url, from)).socket.close();
  second.socket.close();
  again.socket.close();
});

test('registry bound: MAX_IDS records; never-reclaimed offline IDs are forgotten first, oldest first', async () => {
  let t = 0;
  const registry = createMemoryRegistry({ idTtlMs: 1e9, maxIds: 3, now: () => t });
  const tok = (c) => c.repeat(32);
  await registry.claim('once-a', tok('a'), 's1');
  await registry.claim('kept-b', tok('b'), 's2');
  await registry.claim('once-c', tok('c'), 's3');
  // kept-b proves its owner keeps the token: reclaimed once.
  t = 1;
  await registry.release('kept-b', 's2');
  await registry.claim('kept-b', tok('b'), 's2b');
  await registry.release('kept-b', 's2b');
  t = 2;
  await registry.release('once-c', 's3');
  t = 3;
  await registry.release('once-a', 's1');
  // Full: a new ID pushes out the oldest never-reclaimed offline one (once-c).
  assert.equal((await registry.claim('new-d', tok('d'), 's4')).ok, true);
  assert.equal(await registry.lookup('once-c'), null);
  assert.ok(await registry.lookup('once-a'));
  assert.ok(await registry.lookup('kept-b'));
  assert.equal((await registry.claim('new-e', tok('e'), 's5')).ok, true);
  assert.equal(await registry.lookup('once-a'), null);
  // Left: kept-b (reclaimed, offline), new-d and new-e (online): nothing may go.
  assert.deepEqual(await registry.claim('new-f', tok('f'), 's6'), { ok: false, code: 'REGISTRY_FULL' });
  // Existing IDs keep working.
  assert.equal((await registry.claim('kept-b', tok('b'), 's7')).reclaimed, true);
  assert.equal(await registry.size(), 3);
  await registry.close();
});

test('REGISTRY_FULL reaches the client as a passing refusal; existing IDs still come back', async (t) => {
  const { server, url } = await startServer({ maxIds: 2 });
  t.after(() => server.close());
  const a = await connectRegistered(url);
  const b = await connectRegistered(url);
  const { err, reason } = await refused(url, {});
  assert.equal(err.code, 'REGISTRY_FULL');
  assert.equal(reason, 'transport close');
  b.socket.close();
  await waitOffline(server, b.id);
  const back = await connectRegistered(url, { auth: { id: b.id, token: b.token } });
  assert.equal(back.registered.reclaimed, true);
  a.socket.close();
  back.socket.close();
});

test('the connect record carries the client address', async (t) => {
  const { logger, records } = memoryLogger();
  const { server, url } = await startServer({}, { logger });
  t.after(() => server.close());
  const c = await connectRegistered(url, { localAddress: '127.0.5.9' });
  c.socket.close();
  const rec = records.find((r) => r.msg === 'connect' && r.id === c.id);
  assert.equal(rec.ip, '127.0.5.9');
});
