// Budgets: token buckets and the flood guard in isolation, the per-ID and
// per-address budgets of src/budgets.js against an injected clock, then
// against a server with the production defaults (its clock injected too, so
// nothing here waits for real time to pass).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createBudgets, isReplyFrame } from '../src/budgets.js';
import { DEFAULTS } from '../src/config.js';
import { createExcessTracker, createFloodGuard, createKeyedBuckets, createTokenBucket } from '../src/rate_limit.js';
import { MAX_PAUSE_MS, readerPauseMs } from '../src/reader_pause.js';
import { DEFAULT_LIMITS, client, connectRegistered, fakeClock, once, openCall, startServer } from './helpers.js';

test('token bucket: burst, then the sustained rate; costs other than 1', () => {
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
  assert.equal(bucket.take(100), true);
  assert.equal(bucket.take(1), false);
  assert.equal(bucket.waitMs(10), 200);
  bucket.charge(10); // debt
  clock.advance(199);
  assert.equal(bucket.has(1), false);
  clock.advance(22);
  assert.equal(bucket.has(1), true);
});

test('keyed buckets: one per key; full ones are forgotten by sweep()', () => {
  const clock = fakeClock();
  const buckets = createKeyedBuckets({ ratePerSec: 1, burst: 2, now: clock.now });
  assert.equal(buckets.take('a'), true);
  assert.equal(buckets.take('a'), true);
  assert.equal(buckets.take('a'), false);
  assert.equal(buckets.take('b'), true);
  assert.equal(buckets.sweep(), 0);
  clock.advance(2000);
  assert.equal(buckets.sweep(), 2);
  assert.equal(buckets.size, 0);
});

test('flood guard: one notice per second, never cut at 2x the rate', () => {
  const clock = fakeClock();
  const guard = createFloodGuard({ ratePerSec: 50, burst: 100, now: clock.now });
  const counts = { ok: 0, drop: 0, notify: 0, disconnect: 0 };
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

test('flood guard with byte rates: a refused frame weighs its bytes, so a byte flood at the message rate is cut too', () => {
  const clock = fakeClock();
  // 50 msgs/s and 64 KiB/s: a 64 KiB frame is worth 50 messages of excess.
  const tracker = createExcessTracker({ admitOne: () => false, ratePerSec: 50, burst: 100, byteRatePerSec: 64 * 1024, now: clock.now });
  let cutAfter = null;
  for (let i = 1; i <= 100 && cutAfter === null; i++) {
    if (tracker.admit(64 * 1024) === 'disconnect') cutAfter = i;
    clock.advance(20); // 50 frames/s: within the message rate
  }
  assert.ok(cutAfter >= 20 && cutAfter <= 22, `cut after ${cutAfter} frames (10 × burst = 1000 message-equivalents)`);
  // Small frames still count one each.
  const small = createExcessTracker({ admitOne: () => false, ratePerSec: 50, burst: 100, byteRatePerSec: 64 * 1024, now: clock.now });
  const verdicts = Array.from({ length: 1001 }, () => small.admit(10));
  assert.equal(verdicts.indexOf('disconnect'), 1000);
});

test('reader pause: the wait for the budget, doubled for each frame refused in a row, jittered upwards, capped', () => {
  assert.equal(readerPauseMs(125, 1, 0), 125, 'first refusal: resumed as soon as the budget admits the frame');
  assert.equal(readerPauseMs(125, 2, 0), 250);
  assert.equal(readerPauseMs(125, 3, 0), 500);
  assert.equal(readerPauseMs(125, 9, 0), MAX_PAUSE_MS);
  assert.equal(readerPauseMs(0, 1, 0), 10, 'never less than 10 ms');
  assert.equal(readerPauseMs(100, 1, 0.999_999) < 150, true);
  assert.equal(readerPauseMs(100, 1, 0.5), 125, 'up to 50 % later, never earlier');
  assert.equal(readerPauseMs(5000, 1, 0), MAX_PAUSE_MS, 'well inside the heartbeat timeout');
  assert.equal(readerPauseMs(10, 1000, 0), MAX_PAUSE_MS, 'many strikes do not overflow');
});

const LIMITS = { ...DEFAULTS, rateLimitPerSec: 10, rateLimitBurst: 20, byteRatePerSec: 1000, byteBurst: 4000, ipRateLimitPerSec: 30, ipRateLimitBurst: 50, ipByteRatePerSec: 100_000, ipByteBurst: 100_000 };
const admitted = (budget, n, bytes = 10) => Array.from({ length: n }, () => budget.admit(bytes)).filter((v) => v === 'ok').length;

test('budgets: an ID\'s buckets survive its reconnects; what was spent before registering is charged to it', () => {
  const clock = fakeClock();
  const budgets = createBudgets(LIMITS, { now: clock.now });
  const first = budgets.connection('192.0.2.1');
  assert.equal(admitted(first, 5), 5); // CONNECT etc. before the ID is known
  first.bindId('alice');
  assert.equal(admitted(first, 30), 15);
  // Reconnect: a fresh connection, the same ID, nothing refilled.
  const second = budgets.connection('192.0.2.1');
  assert.equal(admitted(second, 1), 1, 'its own first frame (CONNECT)');
  second.bindId('alice'); // and is charged for that one frame
  assert.equal(admitted(second, 5), 0);
  clock.advance(1000);
  assert.equal(admitted(second, 30), 9);
  // Another ID is not affected.
  const bob = budgets.connection('192.0.2.2');
  bob.bindId('bob');
  assert.equal(admitted(bob, 30), 20);
});

test('budgets: connections from one address share its budget, whatever their IDs', () => {
  const clock = fakeClock();
  const budgets = createBudgets(LIMITS, { now: clock.now });
  let total = 0;
  for (let i = 0; i < 5; i++) {
    const c = budgets.connection('198.51.100.7');
    c.bindId(`sock-${i}`);
    total += admitted(c, 20);
  }
  assert.equal(total, 50, 'IP_RATE_LIMIT_BURST across all of them');
  const elsewhere = budgets.connection('198.51.100.8');
  elsewhere.bindId('other');
  assert.equal(admitted(elsewhere, 20), 20);
});

test('budgets: sweeping idle buckets never splits an address\'s budget between its connections', () => {
  const clock = fakeClock();
  const budgets = createBudgets(LIMITS, { now: clock.now });
  const first = budgets.connection('198.51.100.20');
  first.bindId('one');
  assert.equal(admitted(first, 1), 1);
  clock.advance(60_000); // every bucket full again: the sweep forgets them
  assert.ok(budgets.sweep() > 0);
  const second = budgets.connection('198.51.100.20');
  second.bindId('two');
  assert.equal(admitted(second, 30), 20, 'its own burst');
  assert.equal(admitted(first, 30), 20, 'the address has 50 in all: 30 left after the second, 20 for the first (its own burst)');
  assert.equal(admitted(budgets.connection('198.51.100.20'), 15), 10, 'and the last 10 for a third');
});

test('budgets: bytes count as well as messages', () => {
  const clock = fakeClock();
  const budgets = createBudgets(LIMITS, { now: clock.now });
  const c = budgets.connection('192.0.2.9');
  c.bindId('big-sender');
  assert.equal(admitted(c, 5, 1500), 2, 'byte burst 4000: two 1500-byte frames');
  assert.equal(c.waitMs(1500), 500, '1000 bytes/s: half a second for the missing 500');
  clock.advance(500);
  assert.equal(admitted(c, 1, 1500), 1);
  // A frame bigger than the whole burst passes when the bucket is full.
  clock.advance(10_000);
  assert.equal(admitted(c, 1, 50_000), 1);
  assert.equal(admitted(c, 1, 10), 0);
});

test('budgets: automatic replies have an allowance of their own (2 × CALLS_PER_TARGET_*), then count as messages', () => {
  const clock = fakeClock();
  const budgets = createBudgets({ ...LIMITS, callsPerTargetBurst: 10, callsPerTargetPerMin: 20 }, { now: clock.now });
  const victim = budgets.connection('192.0.2.10');
  victim.bindId('victim');
  const replies = Array.from({ length: 40 }, () => victim.admit(40, true)).filter((v) => v === 'ok').length;
  assert.equal(replies, 20 + 20, 'the reply allowance, then the ordinary burst');
  assert.equal(admitted(victim, 1), 0);
  // Ordinary messages never spend the reply allowance.
  clock.advance(60_000);
  assert.equal(admitted(victim, 30), 20);
  assert.equal(Array.from({ length: 30 }, () => victim.admit(40, true)).filter((v) => v === 'ok').length, 20);

  // Socket.IO packets as the decoder sees them (no Engine.IO "4" in front).
  for (const frame of ['2["busy",{"targetClientId":"x"}]', '2["ringing","{\\"targetClientId\\":\\"x\\"}"]', '2["call_decline",{}]']) assert.equal(isReplyFrame(frame), true, frame);
  for (const frame of ['2["send_ice",{}]', '2["busyx"]', '21["busy",{}]', '2/admin,["busy",{}]', `2["busy",{"pad":"${'x'.repeat(600)}"}]`, '0']) assert.equal(isReplyFrame(frame), false, frame);
});

async function serverAtDefaults(t, overrides = {}) {
  const clock = fakeClock();
  const { server, url } = await startServer({ ...DEFAULT_LIMITS, ...overrides }, { clock });
  t.after(() => server.close());
  const sockets = [];
  t.after(() => sockets.forEach((s) => s.close()));
  const connect = async (opts) => {
    const c = await connectRegistered(url, opts);
    sockets.push(c.socket);
    return c;
  };
  return { server, url, clock, connect, sockets };
}

// The largest offer a legitimate client sends (bench/sdp_sizes.js): a
// Chromium audio offer after full gathering with 20 long candidates, as the
// seed client sends it. The defaults are sized from it.
const WORST_OFFER_SDP = readFileSync(new URL('./fixtures/chromium_offer_20_candidates.sdp', import.meta.url), 'utf8');
// The longest candidate form Chromium writes (an IPv6 relay candidate).
const LONG_CANDIDATE = WORST_OFFER_SDP.split('\r\n').find((l) => l.includes(' typ relay ')).slice(2);
const frameBytes = (event, payload) => Buffer.byteLength(`42${JSON.stringify([event, payload])}`);

test('a realistic call at the default limits is never rate-limited, with the largest legit offer and long candidates', async (t) => {
  const { clock, connect } = await serverAtDefaults(t);
  const a = await connect();
  const b = await connect();
  for (const s of [a, b]) s.socket.on('server_error', (e) => assert.fail(`unexpected error ${JSON.stringify(e)}`));
  // Three call setups a second apart (a quick redial), each with many
  // candidates (several interfaces, IPv6, TURN over UDP/TCP/TLS) trickled
  // as fast as the socket allows; the offer in the seed client's format (a
  // JSON string holding the description's JSON), the answer as an object.
  for (let call = 0; call < 3; call++) {
    clock.advance(1000);
    const callId = `c${call}`;
    const got = { a: 0, b: 0 };
    const onA = () => got.a++;
    const onB = () => got.b++;
    a.socket.on('send_ice', onA);
    b.socket.on('send_ice', onB);
    const offered = once(b.socket, 'offer_sdp');
    a.socket.emit('offer_sdp', JSON.stringify({ targetClientId: b.id, callId, sdp: JSON.stringify({ type: 'offer', sdp: WORST_OFFER_SDP }) }));
    const ice = (target) => ({ targetClientId: target, callId, candidate: LONG_CANDIDATE, mid: '0', mLineIndex: 0 });
    for (let i = 0; i < 40; i++) a.socket.emit('send_ice', ice(b.id));
    assert.equal(JSON.parse((await offered).sdp).sdp, WORST_OFFER_SDP);
    b.socket.emit('ringing', { targetClientId: a.id, callId });
    b.socket.emit('answer_sdp', { targetClientId: a.id, callId, sdp: { type: 'answer', sdp: WORST_OFFER_SDP } });
    for (let i = 0; i < 40; i++) b.socket.emit('send_ice', ice(a.id));
    a.socket.emit('get_ice_servers', {});
    await once(a.socket, 'answer_sdp');
    a.socket.emit('call_hangup', { targetClientId: b.id, callId });
    await once(b.socket, 'call_hangup');
    // The hang-up follows a's candidates and b's candidates came before its
    // reply to it... b's own: wait for the last one explicitly.
    while (got.a < 40) await once(a.socket, 'send_ice');
    assert.deepEqual(got, { a: 40, b: 40 });
    a.socket.off('send_ice', onA);
    b.socket.off('send_ice', onB);
  }
});

test('MAX_PAYLOAD_BYTES: the default holds the largest legit offer more than twice; one byte more is PAYLOAD_TOO_LARGE', async (t) => {
  const { connect } = await serverAtDefaults(t);
  const a = await connect();
  const b = await connect();
  const seedPayload = JSON.stringify({ targetClientId: b.id, callId: 'c'.repeat(36), sdp: JSON.stringify({ type: 'offer', sdp: WORST_OFFER_SDP }) });
  assert.ok(2 * Buffer.byteLength(seedPayload) <= DEFAULTS.maxPayloadBytes, `${Buffer.byteLength(seedPayload)} B`);
  const callId = await openCall(a, b);
  // An object payload exactly at the limit passes, one byte more does not.
  const overhead = Buffer.byteLength(JSON.stringify({ targetClientId: b.id, callId, sdp: { type: 'offer', sdp: '' } }));
  const payload = (bytes) => ({ targetClientId: b.id, callId, sdp: { type: 'offer', sdp: 'v'.repeat(bytes - overhead) } });
  const relayed = once(b.socket, 'offer_sdp');
  a.socket.emit('offer_sdp', payload(DEFAULTS.maxPayloadBytes));
  assert.equal((await relayed).sdp.sdp.length, DEFAULTS.maxPayloadBytes - overhead);
  const refused = once(a.socket, 'server_error');
  a.socket.emit('offer_sdp', payload(DEFAULTS.maxPayloadBytes + 1));
  assert.equal((await refused).code, 'PAYLOAD_TOO_LARGE');
});

/** Resolve once `socket` has received `n` events named `event` in total (counting from now). */
function count(socket, event) {
  let n = 0;
  const waiters = [];
  socket.on(event, () => {
    n++;
    for (const w of waiters.filter((w) => n >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    get n() {
      return n;
    },
    reach: (target) => (n >= target ? Promise.resolve() : new Promise((resolve) => waiters.push({ n: target, resolve }))),
  };
}

test('over the limit: messages dropped, ONE RATE_LIMITED, the budget refills, the connection stays usable', async (t) => {
  const { clock, connect } = await serverAtDefaults(t);
  const a = await connect();
  const b = await connect();
  const callId = await openCall(a, b);
  const ice = count(b.socket, 'send_ice');
  const errors = [];
  a.socket.on('server_error', (e) => errors.push(e));
  const limited = once(a.socket, 'server_error');
  for (let i = 0; i < 150; i++) a.socket.emit('send_ice', { targetClientId: b.id, callId, candidate: `c${i}` });
  const err = await limited;
  assert.equal(err.code, 'RATE_LIMITED');
  assert.match(err.message, /50 messages\/s \(burst 100\)/);
  assert.ok(err.retryAfterMs > 0, JSON.stringify(err));
  // The burst, less the CONNECT packet and the offer; the clock stands
  // still, so nothing more can pass until it moves.
  await ice.reach(98);
  clock.advance(2000);
  const marker = once(b.socket, 'ringing', 5000);
  a.socket.emit('ringing', { targetClientId: b.id, callId });
  await marker;
  // Candidates still in flight when the clock moved may have passed too.
  assert.ok(ice.n >= 98 && ice.n <= 150, `${ice.n} candidates`);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.ok(a.socket.connected);
});

test('flooding far beyond the limit: RATE_LIMITED, the transport is closed (the client may reconnect); others unaffected', async (t) => {
  const { url, clock, connect } = await serverAtDefaults(t);
  const b = await connect();
  const a = client(url);
  await once(a, 'registered');
  const errors = [];
  a.on('server_error', (e) => errors.push(e));
  let gone = null;
  a.once('disconnect', (reason) => (gone = reason));
  for (let i = 0; i < 5000; i++) a.emit('send_ice', { targetClientId: b.id, candidate: 'x' });
  // Over its budget the connection is not read (src/reader_pause.js) until
  // its pause ends: let the clock run, a second at a time, while it floods.
  for (let i = 0; i < 10_000 && gone === null; i++) {
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(gone, 'transport close');
  assert.match(errors.at(-1).message, /disconnected for flooding/);
  a.close();

  const c = await connect();
  await openCall(c, b);
});

test('reconnecting does not refill a budget: the same ID comes back to an empty bucket', async (t) => {
  const { url, clock, connect } = await serverAtDefaults(t);
  const b = await connect();
  const a = await connect();
  const callId = await openCall(a, b);
  const limited = once(a.socket, 'server_error');
  for (let i = 0; i < 150; i++) a.socket.emit('send_ice', { targetClientId: b.id, callId, candidate: `c${i}` });
  assert.equal((await limited).code, 'RATE_LIMITED');
  a.socket.close();

  const again = client(url, { auth: { id: a.id, token: a.token } });
  t.after(() => again.close());
  await once(again, 'registered');
  const stillLimited = once(again, 'server_error');
  again.emit('send_ice', { targetClientId: b.id, callId, candidate: 'after-reconnect' });
  assert.equal((await stillLimited).code, 'RATE_LIMITED');
  // Time, not reconnecting, refills it.
  clock.advance(1000);
  const relayed = once(b.socket, 'send_ice');
  again.emit('send_ice', { targetClientId: b.id, callId, candidate: 'later' });
  assert.equal((await relayed).candidate, 'later');
});

test('bytes: BYTE_BURST holds four 15 KB offers, the fifth waits for BYTE_RATE_PER_SEC', async (t) => {
  const { clock, connect } = await serverAtDefaults(t);
  const a = await connect();
  const b = await connect();
  const callId = await openCall(a, b);
  let delivered = 0;
  b.socket.on('offer_sdp', () => delivered++);
  const offer = { targetClientId: b.id, callId, sdp: { type: 'offer', sdp: 'v'.repeat(15_000) } };
  // Four fit the 64 KiB burst with what the connection sent before (its
  // CONNECT packet and the first offer); a fifth does not.
  assert.ok(4 * frameBytes('offer_sdp', offer) < DEFAULTS.byteBurst - 200 && 5 * frameBytes('offer_sdp', offer) > DEFAULTS.byteBurst);
  const limited = once(a.socket, 'server_error');
  for (let i = 0; i < 5; i++) a.socket.emit('offer_sdp', offer);
  assert.equal((await limited).code, 'RATE_LIMITED');
  clock.advance(5000);
  const marker = once(b.socket, 'ringing', 5000);
  a.socket.emit('ringing', { targetClientId: b.id, callId });
  await marker;
  assert.equal(delivered, 4);
});

test('bytes: one address\'s IDs share IP_BYTE_BURST, each inside its own BYTE_BURST', async (t) => {
  const { connect } = await serverAtDefaults(t);
  const from = (n) => ({ localAddress: `127.0.11.${n}` });
  const b = await connect(from(1));
  const senders = [];
  for (let i = 0; i < 6; i++) senders.push(await connect(from(2)));
  const calls = [];
  for (const [i, a] of senders.entries()) calls.push(await openCall(a, b, `c${i}`));
  const offers = count(b.socket, 'offer_sdp');
  const limited = Promise.race(senders.map((s) => once(s.socket, 'server_error', 5000)));
  // Three 15 KB offers each: 45 KB, inside every ID's 64 KiB burst; 270 KB
  // from the address, past its 256 KiB.
  const offer = (i) => ({ targetClientId: b.id, callId: calls[i], sdp: { type: 'offer', sdp: 'v'.repeat(15_000) } });
  const bytes = frameBytes('offer_sdp', offer(0));
  assert.ok(3 * bytes < DEFAULTS.byteBurst && 18 * bytes > DEFAULTS.ipByteBurst);
  for (let n = 0; n < 3; n++) for (const [i, a] of senders.entries()) a.socket.emit('offer_sdp', offer(i));
  assert.equal((await limited).code, 'RATE_LIMITED');
  // The address's burst less the connections' first packets and offers
  // (< 1 KB): 17 of the 18. The clock stands still: no more can pass.
  await offers.reach(17);
  const other = await connect(from(3));
  await openCall(other, b, 'x');
  assert.equal(offers.n, 18);
});

test('one address: its connections and IDs share the address\'s message budget', async (t) => {
  const { connect } = await serverAtDefaults(t, { ipRateLimitBurst: 30 });
  const from = (n) => ({ localAddress: `127.0.9.${n}` });
  const b = await connect(from(1));
  const senders = [await connect(from(2)), await connect(from(2)), await connect(from(2))];
  const offers = count(b.socket, 'offer_sdp');
  const limited = Promise.race(senders.map((s) => once(s.socket, 'server_error', 5000)));
  for (const [i, a] of senders.entries()) {
    for (let n = 0; n < 15; n++) a.socket.emit('offer_sdp', { targetClientId: b.id, callId: `c${i}`, sdp: 'v=0' });
  }
  assert.equal((await limited).code, 'RATE_LIMITED');
  // Each sender alone is far inside its own 100-message burst; together they
  // spend the address's 30. The clock stands still: no more can pass.
  await offers.reach(30);
  // Another address is not affected.
  const other = await connect(from(3));
  await openCall(other, b, 'x');
  assert.equal(offers.n, 31);
});

test('MAX_CONNECTIONS_PER_IP open connections per address; the next handshake is refused', async (t) => {
  const { url, connect } = await serverAtDefaults(t, { maxConnectionsPerIp: 3 });
  const from = { localAddress: '127.0.9.4' };
  for (let i = 0; i < 3; i++) await connect(from);
  const refused = client(url, from);
  t.after(() => refused.close());
  await once(refused, 'connect_error');
  // Another address is not affected.
  await connect({ localAddress: '127.0.9.5' });
});

test('IP_CONNECT_BURST new connections per address, then IP_CONNECTS_PER_MIN', async (t) => {
  const { url, clock, connect } = await serverAtDefaults(t, { ipConnectBurst: 3, ipConnectsPerMin: 6 });
  const from = { localAddress: '127.0.9.6' };
  for (let i = 0; i < 3; i++) (await connect(from)).socket.close();
  const refused = client(url, from);
  t.after(() => refused.close());
  await once(refused, 'connect_error');
  clock.advance(10_000); // one more at 6/min
  await connect(from);
});

test('deeply nested payloads: frame closes the connection, JSON string → INVALID_PAYLOAD', async (t) => {
  const { url, connect } = await serverAtDefaults(t);
  const a = await connect();
  const b = await connect();
  const callId = await openCall(a, b);
  let deep = { x: 1 };
  for (let i = 0; i < 40; i++) deep = { d: deep };

  // As a JSON string the frame is flat: validation rejects it, stays open.
  a.socket.emit('offer_sdp', JSON.stringify({ targetClientId: b.id, callId, sdp: { type: 'offer', sdp: 'v', extra: deep } }));
  const err = await once(a.socket, 'server_error');
  assert.deepEqual([err.code, err.event], ['INVALID_PAYLOAD', 'offer_sdp']);
  assert.match(err.message, /deeper than 32/);

  // Up to 32 levels is fine (the payload object itself is level 1).
  let ok = 'leaf';
  for (let i = 0; i < 29; i++) ok = [ok];
  a.socket.emit('offer_sdp', { targetClientId: b.id, callId, sdp: { type: 'offer', sdp: 'v', extra: ok } });
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
  const { connect } = await serverAtDefaults(t);
  const a = await connect();
  const b = await connect();
  // Twice the payload limit serialized, inside the frame limit (4 ×).
  const big = new Array(DEFAULTS.maxPayloadBytes).fill(1);
  a.socket.emit('offer_sdp', { targetClientId: b.id, sdp: { type: 'offer', sdp: 'v', big } });
  const err = await once(a.socket, 'server_error');
  assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
});

// src/frame_gate.js: over WebSocket the budget is spent on the frame as ws
// hands it over; long-polling packets are charged by the decoder. Either
// way each packet is charged exactly once: with a burst of 5 messages, the
// CONNECT packet and 4 events pass (they earn NOT_IN_CALL: no call is open).
for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
  test(`budget per packet, charged once (${transports.join(' → ')}); over WebSocket a refused frame is never decoded`, async (t) => {
    const { server, connect } = await serverAtDefaults(t, { rateLimitBurst: 5 });
    const b = await connect();
    const a = await connect({ transports });
    const conn = server.io.of('/').sockets.get(a.socket.id).conn;
    if (conn.transport.name !== transports.at(-1)) await new Promise((resolve) => conn.once('upgrade', resolve));
    assert.equal(conn.transport.name, transports.at(-1));
    // engine.io's 'message': every packet it decoded from a frame.
    let decoded = 0;
    conn.on('message', () => decoded++);
    const codes = [];
    const limited = new Promise((resolve) =>
      a.socket.on('server_error', (e) => {
        codes.push(e.code);
        if (e.code === 'RATE_LIMITED') resolve();
      }),
    );
    for (let i = 0; i < 20; i++) a.socket.emit('send_ice', { targetClientId: b.id, candidate: `c${i}` });
    await limited;
    assert.deepEqual(codes, ['NOT_IN_CALL', 'NOT_IN_CALL', 'NOT_IN_CALL', 'NOT_IN_CALL', 'RATE_LIMITED']);
    if (transports.at(-1) === 'websocket') assert.equal(decoded, 4, 'only the admitted frames became packets');
    else assert.ok(decoded > 4, `long-polling: refused after decoding (${decoded})`);
  });
}
