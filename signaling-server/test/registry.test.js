import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryRegistry } from '../src/registry.js';

const TOKEN = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);

function setup(idTtlMs = 1000) {
  let t = 1_000_000;
  const clock = { now: () => t, advance: (ms) => (t += ms) };
  const registry = createMemoryRegistry({ idTtlMs, now: clock.now });
  return { registry, clock };
}

test('claim creates a record; lookup sees it online', async (t) => {
  const { registry } = setup();
  t.after(() => registry.close());
  assert.deepEqual(await registry.claim('alice', TOKEN, 's1'), { ok: true, reclaimed: false, previousSocketId: null });
  assert.deepEqual(await registry.lookup('alice'), { id: 'alice', online: true, socketId: 's1', offlineSince: null });
  assert.equal(await registry.lookup('bob'), null);
  assert.equal(await registry.size(), 1);
});

test('every method returns a promise (async interface for a Redis drop-in)', async (t) => {
  const { registry } = setup();
  t.after(() => registry.close());
  for (const p of [registry.claim('x-1', TOKEN, 's'), registry.release('x-1', 's'), registry.lookup('x-1'), registry.size(), registry.sweep(), registry.close()]) {
    assert.ok(p instanceof Promise);
    await p;
  }
});

test('wrong token cannot take an online or offline id', async (t) => {
  const { registry } = setup();
  t.after(() => registry.close());
  await registry.claim('alice', TOKEN, 's1');
  assert.deepEqual(await registry.claim('alice', OTHER, 's2'), { ok: false, code: 'ID_TAKEN' });
  await registry.release('alice', 's1');
  assert.deepEqual(await registry.claim('alice', OTHER, 's2'), { ok: false, code: 'ID_TAKEN' });
  assert.equal((await registry.lookup('alice')).online, false);
});

test('right token reclaims, reporting the previous socket', async (t) => {
  const { registry } = setup();
  t.after(() => registry.close());
  await registry.claim('alice', TOKEN, 's1');
  assert.deepEqual(await registry.claim('alice', TOKEN, 's2'), { ok: true, reclaimed: true, previousSocketId: 's1' });
  // The replaced socket's late disconnect must not take the id offline.
  assert.equal(await registry.release('alice', 's1'), false);
  assert.equal((await registry.lookup('alice')).socketId, 's2');
  assert.equal(await registry.release('alice', 's2'), true);
  assert.deepEqual(await registry.claim('alice', TOKEN, 's3'), { ok: true, reclaimed: true, previousSocketId: null });
});

test('offline ids expire after the TTL, then anyone may claim them', async (t) => {
  const { registry, clock } = setup(1000);
  t.after(() => registry.close());
  await registry.claim('alice', TOKEN, 's1');
  clock.advance(5000);
  assert.ok(await registry.lookup('alice'), 'online ids never expire');
  await registry.release('alice', 's1');
  const rec = await registry.lookup('alice');
  assert.equal(rec.online, false);
  assert.equal(rec.offlineSince, clock.now());
  clock.advance(999);
  assert.ok(await registry.lookup('alice'));
  clock.advance(1);
  assert.equal(await registry.lookup('alice'), null);
  assert.deepEqual(await registry.claim('alice', OTHER, 's2'), { ok: true, reclaimed: false, previousSocketId: null });
});

test('sweep removes only expired offline records', async (t) => {
  const { registry, clock } = setup(1000);
  t.after(() => registry.close());
  await registry.claim('a-1', TOKEN, 's1');
  await registry.claim('a-2', TOKEN, 's2');
  await registry.claim('a-3', TOKEN, 's3');
  await registry.release('a-1', 's1');
  clock.advance(500);
  await registry.release('a-2', 's2');
  clock.advance(600);
  assert.equal(await registry.sweep(), 1);
  assert.equal(await registry.size(), 2);
});

test('sweep timer does not keep the process alive', async () => {
  // If the interval were ref'd this test file would never exit; closing is
  // still the polite thing to do.
  const registry = createMemoryRegistry({ idTtlMs: 10 });
  await registry.claim('abc', TOKEN, 's');
  await registry.close();
});

test('rejects a non-positive TTL', () => {
  assert.throws(() => createMemoryRegistry({ idTtlMs: 0 }));
});
