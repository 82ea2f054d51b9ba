// Unit tests of the in-memory offline queue. Its expiry timers run on
// node:test's mock timers: time passes only in tick(), so nothing here waits
// or depends on how busy the machine is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOfflineQueue } from '../src/queue.js';

const msg = (from, event, callId, n) => ({ event, from, callId, payload: { from, n, callId }, bytes: 10 });

function setup(t, ttlMs = 50, maxPerTarget = 64) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const notes = [];
  const queue = createOfflineQueue({ ttlMs, maxPerTarget, onUndeliverable: (i) => notes.push(i) });
  return { queue, notes };
}

test('drain returns messages in order and cancels expiry', (t) => {
  const { queue, notes } = setup(t, 30);
  queue.push('t', msg('a', 'offer_sdp', 'c1', 1));
  queue.push('t', msg('a', 'send_ice', 'c1', 2));
  queue.push('t', msg('b', 'ringing', undefined, 3));
  assert.equal(queue.size('t'), 3);
  const out = queue.drain('t');
  assert.deepEqual(out.map((m) => m.payload.n), [1, 2, 3]);
  assert.ok(out.every((m) => !('timer' in m) && !('key' in m)));
  assert.equal(queue.size('t'), 0);
  t.mock.timers.tick(60);
  assert.deepEqual(notes, []);
});

test('expiry notifies once per (sender, event, callId), at the TTL and not before', (t) => {
  const { queue, notes } = setup(t, 30);
  queue.push('t', msg('a', 'offer_sdp', 'c1', 1));
  for (let i = 0; i < 5; i++) queue.push('t', msg('a', 'send_ice', 'c1', i));
  queue.push('t', msg('a', 'send_ice', 'c2', 9));
  queue.push('t', msg('b', 'send_ice', 'c1', 9));
  t.mock.timers.tick(29);
  assert.deepEqual(notes, []);
  assert.equal(queue.size('t'), 8);
  t.mock.timers.tick(1);
  const seen = notes.map((n) => `${n.from}/${n.event}/${n.callId}/${n.count}/${n.reason}`).sort();
  assert.deepEqual(seen, [
    'a/offer_sdp/c1/1/timeout',
    'a/send_ice/c1/5/timeout',
    'a/send_ice/c2/1/timeout',
    'b/send_ice/c1/1/timeout',
  ]);
  assert.ok(notes.every((n) => n.targetId === 't'));
  assert.equal(queue.size('t'), 0);
});

test('overflow drops the oldest and reports its group only once', (t) => {
  const { queue, notes } = setup(t, 40, 3);
  queue.push('t', msg('a', 'offer_sdp', 'c', 0));
  for (let i = 1; i <= 4; i++) queue.push('t', msg('a', 'send_ice', 'c', i));
  assert.equal(queue.size('t'), 3);
  // offer (0) and ice 1 were pushed out.
  assert.deepEqual(notes.map((n) => [n.event, n.reason]), [
    ['offer_sdp', 'overflow'],
    ['send_ice', 'overflow'],
  ]);
  assert.deepEqual(queue.drain('t').map((m) => m.payload.n), [2, 3, 4]);
});

test('an overflow-reported group is not reported again on timeout', (t) => {
  const { queue, notes } = setup(t, 30, 2);
  for (let i = 0; i < 3; i++) queue.push('t', msg('a', 'send_ice', 'c', i));
  assert.equal(notes.length, 1);
  t.mock.timers.tick(60);
  assert.equal(notes.length, 1);
  assert.equal(queue.size('t'), 0, 'the rest of the group expired');
});

test('fail() gives up immediately', (t) => {
  const { queue, notes } = setup(t, 10_000);
  queue.push('t', msg('a', 'offer_sdp', 'c', 0));
  queue.push('t', msg('a', 'send_ice', 'c', 1));
  queue.fail('t');
  assert.equal(notes.length, 2);
  assert.equal(queue.size('t'), 0);
  queue.fail('nobody');
});

test('clear() drops silently', (t) => {
  const { queue, notes } = setup(t, 20);
  queue.push('t', msg('a', 'offer_sdp', 'c', 0));
  queue.clear();
  t.mock.timers.tick(40);
  assert.equal(notes.length, 0);
});

test('a throwing callback does not break processing', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let calls = 0;
  const queue = createOfflineQueue({
    ttlMs: 10,
    onUndeliverable: () => {
      calls++;
      throw new Error('x');
    },
  });
  queue.push('t', msg('a', 'offer_sdp', 'c', 0));
  queue.push('u', msg('a', 'offer_sdp', 'c', 0));
  t.mock.timers.tick(10);
  assert.equal(calls, 2);
});

test('byte caps: per target the oldest go; for the whole queue a new message is refused at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const notes = [];
  const queue = createOfflineQueue({ ttlMs: 10_000, maxBytesPerTarget: 2500, maxBytes: 4000, onUndeliverable: (i) => notes.push(i) });
  const big = (from, n) => ({ event: 'offer_sdp', from, callId: `c${n}`, payload: { n }, bytes: 1000 });
  for (let n = 0; n < 3; n++) queue.push('t1', big('a', n));
  assert.equal(queue.size('t1'), 2);
  assert.deepEqual(notes.map((x) => [x.callId, x.reason]), [['c0', 'overflow']]);
  assert.equal(queue.totalBytes, 2 * 1064);
  queue.push('t2', big('b', 7));
  assert.equal(queue.totalBytes, 3 * 1064);
  queue.push('t2', big('b', 8)); // would pass 4000
  assert.deepEqual(notes.at(-1), { targetId: 't2', from: 'b', event: 'offer_sdp', callId: 'c8', count: 1, reason: 'full' });
  assert.equal(queue.size('t2'), 1);
  queue.drain('t1');
  assert.equal(queue.totalBytes, 1064);
  queue.clear();
  assert.equal(queue.totalBytes, 0);
});
