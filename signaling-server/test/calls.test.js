// The call rules (src/calls.js) against an injected clock: only offers open
// a call, and only as a budgeted call request; everything else needs a live
// call; ended calls linger quietly. (The automatic replies' allowance is
// tested in abuse.test.js and rate_limit.test.js.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINGER_MS, createCallPolicy, createMemoryCallStore } from '../src/calls.js';
import { DEFAULTS } from '../src/config.js';
import { createMemoryLimiter } from '../src/limiter.js';

function setup(overrides = {}) {
  let t = 1_700_000_000_000;
  const clock = { now: () => t, advance: (ms) => (t += ms) };
  const config = { ...DEFAULTS, ...overrides };
  const limiter = createMemoryLimiter({ now: clock.now });
  const store = createMemoryCallStore({ now: clock.now });
  const calls = createCallPolicy({ store, limiter, config, now: clock.now });
  const admit = (event, from, to, callId, ip = '192.0.2.1') => calls.admit({ event, from, to, callId, ip });
  return { calls, admit, clock, store };
}

// admit() answers synchronously with the memory store (throwing at once),
// and with a promise for Redis: this takes both.
async function code(call) {
  try {
    await call();
    return 'ok';
  } catch (err) {
    return err.code;
  }
}

test('without an offer nothing but a hang-up is relayed: NOT_IN_CALL', async () => {
  const { admit } = setup();
  for (const event of ['answer_sdp', 'send_ice', 'ringing', 'busy', 'call_decline']) {
    assert.equal(await code(() => admit(event, 'mallory', 'alice', 'c1')), 'NOT_IN_CALL', event);
    assert.equal(await code(() => admit(event, 'mallory', 'alice', undefined)), 'NOT_IN_CALL', event);
  }
  // A hang-up for a call the server never saw (it restarted) still goes out.
  assert.deepEqual(await admit('call_hangup', 'bob', 'alice', 'c0'), { relay: true });
});

test('an offer opens the call for both directions and every call event', async () => {
  const { admit } = setup();
  assert.deepEqual(await admit('offer_sdp', 'alice', 'bob', 'c1'), { relay: true });
  assert.deepEqual(await admit('send_ice', 'alice', 'bob', 'c1'), { relay: true });
  assert.deepEqual(await admit('ringing', 'bob', 'alice', 'c1'), { relay: true });
  assert.deepEqual(await admit('ringing', 'bob', 'alice', 'c1'), { relay: true });
  assert.deepEqual(await admit('answer_sdp', 'bob', 'alice', 'c1'), { relay: true });
  assert.deepEqual(await admit('send_ice', 'bob', 'alice', 'c1'), { relay: true });
  // An ICE restart: a re-offer inside the call is not a new request.
  assert.deepEqual(await admit('offer_sdp', 'alice', 'bob', 'c1'), { relay: true });
  // Another callId between the same two is another call.
  assert.equal(await code(() => admit('send_ice', 'alice', 'bob', 'other')), 'NOT_IN_CALL');
  assert.deepEqual(await admit('call_hangup', 'alice', 'bob', 'c1'), { relay: true });
});

test('busy, decline and hang-up end the call; trailing messages are dropped quietly, then NOT_IN_CALL', async () => {
  for (const end of ['busy', 'call_decline', 'call_hangup']) {
    const { admit, clock } = setup();
    await admit('offer_sdp', 'alice', 'bob', 'c1');
    const from = end === 'call_hangup' ? 'alice' : 'bob';
    assert.equal((await admit(end, from, from === 'alice' ? 'bob' : 'alice', 'c1')).relay, true);
    assert.deepEqual(await admit('send_ice', 'bob', 'alice', 'c1'), { relay: false }, `${end}: in flight`);
    assert.deepEqual(await admit('call_hangup', 'bob', 'alice', 'c1'), { relay: false }, `${end}: both hang up`);
    clock.advance(LINGER_MS + 1);
    assert.equal(await code(() => admit('send_ice', 'bob', 'alice', 'c1')), 'NOT_IN_CALL', end);
    // A new offer with the same callId is a new call.
    assert.equal((await admit('offer_sdp', 'alice', 'bob', 'c1')).relay, true);
  }
});

test('old clients without callId: their messages belong to the pair\'s call; a callId-less call matches any callId', async () => {
  const { admit } = setup();
  await admit('offer_sdp', 'seed-a', 'new-b', undefined);
  assert.equal((await admit('answer_sdp', 'new-b', 'seed-a', 'whatever')).relay, true);
  assert.equal((await admit('send_ice', 'seed-a', 'new-b', undefined)).relay, true);

  const other = setup();
  await other.admit('offer_sdp', 'new-a', 'seed-b', 'c7');
  assert.equal((await other.admit('answer_sdp', 'seed-b', 'new-a', undefined)).relay, true);
  assert.equal((await other.admit('send_ice', 'seed-b', 'new-a', undefined)).relay, true);
});

test('an unanswered request expires after CALL_RING_SECONDS, an answered call after CALL_IDLE_SECONDS of silence', async () => {
  const { admit, clock } = setup({ callRingSeconds: 60, callIdleSeconds: 600 });
  await admit('offer_sdp', 'alice', 'bob', 'ring');
  clock.advance(60_001);
  assert.equal(await code(() => admit('ringing', 'bob', 'alice', 'ring')), 'NOT_IN_CALL');

  await admit('offer_sdp', 'alice', 'bob', 'talk');
  await admit('answer_sdp', 'bob', 'alice', 'talk');
  clock.advance(599_000);
  // Signaling keeps it alive (only written once half the window has passed).
  assert.equal((await admit('send_ice', 'alice', 'bob', 'talk')).relay, true);
  clock.advance(599_000);
  assert.equal((await admit('send_ice', 'bob', 'alice', 'talk')).relay, true);
  clock.advance(600_001);
  assert.equal(await code(() => admit('send_ice', 'alice', 'bob', 'talk')), 'NOT_IN_CALL');
  // A re-offer after that opens it again (as a request).
  assert.equal((await admit('offer_sdp', 'alice', 'bob', 'talk')).relay, true);
});

test('call requests per callee: CALLS_PER_TARGET_BURST, then CALLS_PER_TARGET_PER_MIN, whoever calls', async () => {
  const { admit, clock } = setup({ callsPerTargetBurst: 3, callsPerTargetPerMin: 6 });
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await code(() => admit('offer_sdp', `caller-${i}`, 'victim', 'c', `198.51.100.${i}`)));
  assert.deepEqual(results, ['ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
  // Re-offers in calls already open are not requests.
  assert.equal(await code(() => admit('offer_sdp', 'caller-0', 'victim', 'c')), 'ok');
  clock.advance(10_000); // one token at 6/min
  assert.equal(await code(() => admit('offer_sdp', 'caller-9', 'victim', 'c')), 'ok');
  assert.equal(await code(() => admit('offer_sdp', 'caller-8', 'victim', 'c')), 'RATE_LIMITED');
  // Other callees are unaffected.
  assert.equal(await code(() => admit('offer_sdp', 'caller-8', 'someone-else', 'c')), 'ok');
});

test('call requests per caller and per caller address; stray hang-ups spend the same budgets', async () => {
  const perSender = setup({ callsPerSenderBurst: 2, callsPerSenderPerMin: 1 });
  const a = [];
  for (let i = 0; i < 3; i++) a.push(await code(() => perSender.admit('offer_sdp', 'spammer', `target-${i}`, 'c')));
  assert.deepEqual(a, ['ok', 'ok', 'RATE_LIMITED']);
  assert.equal(await code(() => perSender.admit('call_hangup', 'spammer', 'target-9', 'c')), 'RATE_LIMITED');

  const perIp = setup({ callsPerIpBurst: 2, callsPerIpPerMin: 1 });
  const b = [];
  for (let i = 0; i < 3; i++) b.push(await code(() => perIp.admit('offer_sdp', `sender-${i}`, `target-${i}`, 'c', '203.0.113.9')));
  assert.deepEqual(b, ['ok', 'ok', 'RATE_LIMITED']);
  assert.equal(await code(() => perIp.admit('offer_sdp', 'sender-9', 'target-9', 'c', '203.0.113.10')), 'ok');
});

test('the answer does not depend on whether the target exists: the policy never looks it up', async () => {
  // The store is keyed by the pair only; a target nobody registered gets
  // exactly the same verdicts as any other.
  const { admit } = setup();
  assert.equal(await code(() => admit('send_ice', 'probe', 'nobody-at-all', 'x')), 'NOT_IN_CALL');
  assert.equal(await code(() => admit('send_ice', 'probe', 'alice', 'x')), 'NOT_IN_CALL');
  assert.equal((await admit('offer_sdp', 'probe', 'nobody-at-all', 'x')).relay, true);
});

test('the memory store forgets pairs whose calls are over, and keeps at most 16 calls per pair', async () => {
  const { admit, clock, store } = setup({ callRingSeconds: 30, callsPerTargetBurst: 100, callsPerSenderBurst: 100 });
  for (let i = 0; i < 20; i++) await admit('offer_sdp', 'alice', 'bob', `c${i}`);
  assert.equal(store.get('alice', 'bob').size, 16);
  assert.equal(store.size, 1);
  clock.advance(30_000 + LINGER_MS + 1);
  assert.equal(store.sweep(), 1);
  assert.equal(store.size, 0);
});
