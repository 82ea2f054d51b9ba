// Abuse resistance: token bucket and flood guard in isolation, then against
// a server with the production defaults (50/s, burst 100).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFloodGuard, createTokenBucket } from '../src/rate_limit.js';
import { client, connectRegistered, never, once, sleep, startServer } from './helpers.js';

const DEFAULT_LIMITS = { rateLimitPerSec: 50, rateLimitBurst: 100 };

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('token bucket: burst, then the sustained rate', () => {
  const clock = fakeClock();
  const bucket = createTokenBucket({ ratePerSec: 50, burst: 100, now: clock.now });
  let ok = 0;
  for (let i = 0; i < 150; i++) if (bucket.take()) ok++;
  assert.equal(ok, 100);
  clock.advance(1000);
  ok = 0;
  for (let i = 0; i < 150; i++) if (bucket.take()) ok++;
  assert.equal(ok, 50);
  clock.advance(60_000); // refills up to the burst, not beyond
  ok = 0;
  for (let i = 0; i < 150; i++) if (bucket.take()) ok++;
  assert.equal(ok, 100);
});

test('flood guard: one notice per second, never cut at 2x the rate', () => {
  const clock = fakeClock();
  const guard = createFloodGuard({ ratePerSec: 50, burst: 100, now: clock.now });
  const counts = { ok: 0, drop: 0, notify: 0, disconnect: 0 };
  // 100 msg/s for 60 s, evenly spaced.
  for (let i = 0; i < 6000; i++) {
    counts[guard.admit()]++;
    clock.advance(10);
  }
  assert.equal(counts.disconnect, 0);
  assert.ok(counts.ok >= 3000 && counts.ok <= 3101, JSON.stringify(counts));
  assert.ok(counts.notify >= 58 && counts.notify <= 61, JSON.stringify(counts));
});

test('flood guard: cut after ~10x burst excess (150/s → ~20 s, tight loop → at once)', () => {
  const slow = fakeClock();
  const guard = createFloodGuard({ ratePerSec: 50, burst: 100, now: slow.now });
  let cutAt = null;
  for (let i = 0; i < 150 * 60 && cutAt === null; i++) {
    if (guard.admit() === 'disconnect') cutAt = slow.now();
    slow.advance(1000 / 150);
  }
  assert.ok(cutAt > 15_000 && cutAt < 25_000, `cut at ${cutAt} ms`);
  assert.equal(guard.admit(), 'drop', 'everything after the cut is dropped');

  const burst = fakeClock();
  const g2 = createFloodGuard({ ratePerSec: 50, burst: 100, now: burst.now });
  const verdicts = Array.from({ length: 1200 }, () => g2.admit());
  assert.equal(verdicts.indexOf('disconnect'), 100 + 1000); // burst, then 1000 over
  assert.equal(verdicts.filter((v) => v === 'notify').length, 1);
  assert.equal(g2.takeDropped() >= 1000, true);
});

async function pairAtDefaults(t) {
  const { server, url } = await startServer(DEFAULT_LIMITS);
  t.after(() => server.close());
  const a = await connectRegistered(url);
  const b = await connectRegistered(url);
  t.after(() => {
    a.socket.close();
    b.socket.close();
  });
  return { server, url, a, b };
}

test('a realistic call at the default limits is never rate-limited', async (t) => {
  const { a, b } = await pairAtDefaults(t);
  for (const s of [a, b]) s.socket.on('server_error', (e) => assert.fail(`unexpected error ${JSON.stringify(e)}`));
  // Three call setups a second apart (a quick redial), each with many
  // candidates (several interfaces, IPv6, TURN over UDP/TCP/TLS) trickled
  // as fast as the socket allows.
  for (let call = 0; call < 3; call++) {
    if (call > 0) await sleep(1000);
    const callId = `c${call}`;
    const got = { a: 0, b: 0 };
    a.socket.on('send_ice', () => got.a++);
    b.socket.on('send_ice', () => got.b++);
    a.socket.emit('offer_sdp', { targetClientId: b.id, callId, sdp: { type: 'offer', sdp: 'v=0' } });
    for (let i = 0; i < 40; i++) a.socket.emit('send_ice', { targetClientId: b.id, callId, candidate: `candidate:${i}`, mid: '0', mLineIndex: 0 });
    await once(b.socket, 'offer_sdp');
    b.socket.emit('ringing', { targetClientId: a.id, callId });
    b.socket.emit('answer_sdp', { targetClientId: a.id, callId, sdp: { type: 'answer', sdp: 'v=0' } });
    for (let i = 0; i < 40; i++) b.socket.emit('send_ice', { targetClientId: a.id, callId, candidate: `candidate:${i}`, mid: '0', mLineIndex: 0 });
    a.socket.emit('get_ice_servers', {});
    await once(a.socket, 'answer_sdp');
    a.socket.emit('call_hangup', { targetClientId: b.id, callId });
    await once(b.socket, 'call_hangup');
    await sleep(20);
    assert.deepEqual(got, { a: 40, b: 40 });
    a.socket.off('send_ice');
    b.socket.off('send_ice');
  }
  await never(a.socket, 'server_error', 100);
});

test('over the limit: messages dropped, ONE RATE_LIMITED, connection stays usable', async (t) => {
  const { a, b } = await pairAtDefaults(t);
  let delivered = 0;
  b.socket.on('send_ice', () => delivered++);
  const errors = [];
  a.socket.on('server_error', (e) => errors.push(e));
  for (let i = 0; i < 300; i++) a.socket.emit('send_ice', { targetClientId: b.id, candidate: `c${i}` });
  await sleep(300);
  // The burst (100, less the token the CONNECT packet used) plus what
  // refilled while the loop ran.
  assert.ok(delivered >= 95 && delivered < 130, `delivered ${delivered}`);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].code, 'RATE_LIMITED');
  assert.match(errors[0].message, /50 messages\/s, burst 100/);
  assert.ok(a.socket.connected);

  // The bucket refills: after a pause, normal traffic flows again.
  await sleep(1100);
  a.socket.emit('ringing', { targetClientId: b.id, callId: 'later' });
  assert.deepEqual(await once(b.socket, 'ringing'), { from: a.id, callId: 'later' });
});

test('flooding far beyond the limit → RATE_LIMITED and disconnect; others unaffected', async (t) => {
  const { url, a, b } = await pairAtDefaults(t);
  const errors = [];
  a.socket.on('server_error', (e) => errors.push(e));
  const gone = once(a.socket, 'disconnect', 5000);
  for (let i = 0; i < 5000; i++) a.socket.emit('send_ice', { targetClientId: b.id, candidate: 'x' });
  assert.equal(await gone, 'io server disconnect');
  const last = errors.at(-1);
  assert.equal(last.code, 'RATE_LIMITED');
  assert.match(last.message, /disconnected for flooding/);

  const c = await connectRegistered(url);
  t.after(() => c.socket.close());
  c.socket.emit('ringing', { targetClientId: b.id });
  assert.deepEqual(await once(b.socket, 'ringing'), { from: c.id });
});

test('deeply nested payloads: frame closes the connection, JSON string → INVALID_PAYLOAD', async (t) => {
  const { url, a, b } = await pairAtDefaults(t);
  let deep = { x: 1 };
  for (let i = 0; i < 40; i++) deep = { d: deep };

  // As a JSON string the frame is flat: validation rejects it, stays open.
  a.socket.emit('offer_sdp', JSON.stringify({ targetClientId: b.id, sdp: { type: 'offer', sdp: 'v', extra: deep } }));
  const err = await once(a.socket, 'server_error');
  assert.deepEqual([err.code, err.event], ['INVALID_PAYLOAD', 'offer_sdp']);
  assert.match(err.message, /deeper than 32/);

  // Up to 32 levels is fine (the payload object itself is level 1).
  let ok = 'leaf';
  for (let i = 0; i < 29; i++) ok = [ok];
  a.socket.emit('offer_sdp', { targetClientId: b.id, sdp: { type: 'offer', sdp: 'v', extra: ok } });
  assert.deepEqual((await once(b.socket, 'offer_sdp')).sdp.extra, ok);

  // As an object the nesting is in the socket.io frame: refused before
  // parsing, like any malformed packet.
  const m = client(url);
  await once(m, 'registered');
  const closed = once(m, 'disconnect');
  m.emit('offer_sdp', { targetClientId: b.id, sdp: { type: 'offer', sdp: 'v', extra: deep } });
  assert.match(await closed, /transport close|parse error/);
  m.close();
  assert.ok(a.socket.connected && b.socket.connected);
});

test('a huge array in an object payload is refused without serializing it', async (t) => {
  const { a, b } = await pairAtDefaults(t);
  const big = new Array(60_000).fill(1);
  a.socket.emit('offer_sdp', { targetClientId: b.id, sdp: { type: 'offer', sdp: 'v', big } });
  const err = await once(a.socket, 'server_error');
  assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
});
