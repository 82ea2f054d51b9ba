// The Redis registry and offline queue against a real redis-server, in
// process: the same contract as the memory versions, plus atomicity across
// instances.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedisCluster } from '../src/cluster.js';
import { silentLogger } from '../src/log.js';
import { waitUntil } from './helpers.js';
import { startRedis } from './support/redis.js';

let redis;
const clusters = [];

async function cluster(nodeId, prefix) {
  const c = createRedisCluster({ url: redis.url, nodeId, idTtlMs: 60_000, log: silentLogger, prefix });
  await c.connect();
  clusters.push(c);
  return c;
}

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.all(clusters.map((c) => c.close()));
  await redis?.stop();
});

test('claim is atomic across instances: one winner among concurrent claims', async () => {
  const [x, y] = await Promise.all([cluster('x', 'race:'), cluster('y', 'race:')]);
  const attempts = Array.from({ length: 20 }, (_, i) =>
    (i % 2 ? x : y).registry.claim('contested', `token-number-${String(i).padStart(4, '0')}`, `sock${i}`),
  );
  const results = await Promise.all(attempts);
  assert.equal(results.filter((r) => r.ok).length, 1);
  assert.ok(results.filter((r) => !r.ok).every((r) => r.code === 'ID_TAKEN'));
});

test('registry contract: reclaim, release only by the holder, TTL on release', async () => {
  const { registry } = await cluster('z', 'reg:');
  const token = 'tok_abcdefghijklmnop';
  assert.deepEqual(await registry.claim('ann', token, 's1'), { ok: true, reclaimed: false, previousSocketId: null });
  assert.deepEqual(await registry.claim('ann', token, 's2'), { ok: true, reclaimed: true, previousSocketId: 's1' });
  assert.deepEqual(await registry.claim('ann', 'tok_wrongwrongwrong', 's3'), { ok: false, code: 'ID_TAKEN' });
  assert.equal(await registry.release('ann', 's1'), false, 'replaced session cannot release');
  assert.equal((await registry.lookup('ann')).socketId, 's2');
  const before = Date.now();
  assert.equal(await registry.release('ann', 's2'), true);
  const rec = await registry.lookup('ann');
  assert.equal(rec.online, false);
  assert.ok(rec.offlineSince >= before);
  assert.equal(await registry.lookup('nobody'), null);
  assert.equal(await registry.size(), 1);
});

test('queue contract: order, cap of 64 with one overflow report, fail() per group', async () => {
  const c = await cluster('q', 'queue:');
  const undeliverable = [];
  const queue = c.createQueue({ ttlMs: 60_000, maxPerTarget: 64, onUndeliverable: (i) => undeliverable.push(i) });
  after(() => queue.clear());
  for (let i = 0; i < 70; i++) {
    await queue.push('tgt', { event: 'send_ice', from: 'src', callId: 'k', payload: { from: 'src', candidate: `c${i}` }, bytes: 10 });
  }
  assert.equal(await queue.size('tgt'), 64);
  assert.deepEqual(undeliverable.map((u) => [u.event, u.reason, u.count]), [['send_ice', 'overflow', 1]]);
  const drained = await queue.drain('tgt');
  assert.deepEqual(drained.map((m) => m.payload.candidate), Array.from({ length: 64 }, (_, i) => `c${i + 6}`));
  assert.equal(await queue.size('tgt'), 0);

  undeliverable.length = 0;
  await queue.push('t2', { event: 'offer_sdp', from: 'a', callId: 'x', payload: {}, bytes: 1 });
  await queue.push('t2', { event: 'send_ice', from: 'a', callId: 'x', payload: {}, bytes: 1 });
  await queue.push('t2', { event: 'send_ice', from: 'a', callId: 'x', payload: {}, bytes: 1 });
  await queue.fail('t2');
  assert.deepEqual(undeliverable.map((u) => [u.event, u.count, u.reason]).sort(), [['offer_sdp', 1, 'timeout'], ['send_ice', 2, 'timeout']]);
});

test('queue timeout removes the whole group and reports it once', async () => {
  const c = await cluster('qt', 'qt:');
  const undeliverable = [];
  const queue = c.createQueue({ ttlMs: 150, onUndeliverable: (i) => undeliverable.push(i) });
  await queue.push('t', { event: 'send_ice', from: 'a', callId: 'x', payload: {}, bytes: 1 });
  await queue.push('t', { event: 'send_ice', from: 'a', callId: 'x', payload: {}, bytes: 1 });
  await queue.push('t', { event: 'ringing', from: 'b', payload: {}, bytes: 1 });
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(undeliverable.map((u) => [u.from, u.event, u.count]).sort(), [['a', 'send_ice', 2], ['b', 'ringing', 1]]);
  assert.equal(await queue.size('t'), 0);
});

test('queue bytes: the per-target byte cap drops the oldest; the node\'s cap refuses at once', async () => {
  const c = await cluster('qb', 'qbytes:');
  const undeliverable = [];
  const queue = c.createQueue({ ttlMs: 60_000, maxBytesPerTarget: 2500, maxBytes: 4000, onUndeliverable: (i) => undeliverable.push(i) });
  after(() => queue.clear());
  const kb = 'k'.repeat(1000);
  for (let i = 0; i < 3; i++) await queue.push('t', { event: 'offer_sdp', from: 'a', callId: `c${i}`, payload: { sdp: kb }, bytes: 1000 });
  assert.equal(await queue.size('t'), 2);
  assert.deepEqual(undeliverable.map((u) => [u.callId, u.reason]), [['c0', 'overflow']]);
  await queue.push('u', { event: 'offer_sdp', from: 'a', callId: 'd0', payload: { sdp: kb }, bytes: 1000 });
  assert.deepEqual(undeliverable.at(-1), { targetId: 'u', from: 'a', event: 'offer_sdp', callId: 'd0', count: 1, reason: 'full' });
  assert.equal(await queue.size('u'), 0);
  assert.deepEqual((await queue.drain('t')).map((m) => m.callId), ['c1', 'c2']);
});

test('limiter: one token bucket per key, shared by every node', async () => {
  const [x, y] = await Promise.all([cluster('lx', 'lim:'), cluster('ly', 'lim:')]);
  const params = { ratePerSec: 0.001, burst: 3 };
  const results = [];
  for (let i = 0; i < 6; i++) results.push(await (i % 2 ? x : y).limiter.take('calls:target', params, 'victim'));
  assert.deepEqual(results, [true, true, true, false, false, false]);
  assert.equal(await x.limiter.take('calls:target', params, 'someone-else'), true);
});

test('call store: the call policy over Redis, seen the same way from two nodes', async () => {
  const { createCallPolicy } = await import('../src/calls.js');
  const { DEFAULTS } = await import('../src/config.js');
  const [x, y] = await Promise.all([cluster('cx', 'calls:'), cluster('cy', 'calls:')]);
  const policy = (c) => createCallPolicy({ store: c.callStore, limiter: c.limiter, config: DEFAULTS });
  const [px, py] = [policy(x), policy(y)];
  const admit = (p, event, from, to, callId) => p.admit({ event, from, to, callId, ip: '192.0.2.1' }).catch((e) => e.code);
  assert.equal(await admit(py, 'send_ice', 'bob', 'alice', 'k'), 'NOT_IN_CALL');
  assert.deepEqual(await admit(px, 'offer_sdp', 'alice', 'bob', 'k'), { relay: true });
  assert.deepEqual(await admit(py, 'ringing', 'bob', 'alice', 'k'), { relay: true });
  assert.deepEqual(await admit(py, 'answer_sdp', 'bob', 'alice', 'k'), { relay: true });
  assert.deepEqual(await admit(px, 'send_ice', 'alice', 'bob', undefined), { relay: true });
  assert.deepEqual(await admit(py, 'call_hangup', 'bob', 'alice', 'k'), { relay: true });
  assert.deepEqual(await admit(px, 'send_ice', 'alice', 'bob', 'k'), { relay: false }, 'trailing the hang-up');
});

test('registry bound in Redis: never-reclaimed offline IDs are forgotten first; then REGISTRY_FULL', async () => {
  const { createRedisRegistry } = await import('../src/redis_registry.js');
  const c = await cluster('rb', 'bound:');
  // A second registry on the same connection, with a small bound.
  const registry = createRedisRegistry({ redis: c.redisClient, instance: 'rb-small', idTtlMs: 60_000, maxIds: 2, prefix: 'bound:' });
  const tok = (ch) => ch.repeat(32);
  assert.equal((await registry.claim('once-a', tok('a'), 's1')).ok, true);
  assert.equal((await registry.claim('kept-b', tok('b'), 's2')).ok, true);
  await registry.release('kept-b', 's2');
  assert.equal((await registry.claim('kept-b', tok('b'), 's2b')).reclaimed, true);
  await registry.release('kept-b', 's2b');
  await registry.release('once-a', 's1');
  assert.equal((await registry.claim('new-c', tok('c'), 's3')).ok, true, 'once-a made room');
  assert.equal(await registry.lookup('once-a'), null);
  assert.ok(await registry.lookup('kept-b'));
  assert.deepEqual(await registry.claim('new-d', tok('d'), 's4'), { ok: false, code: 'REGISTRY_FULL' });
  assert.equal(await registry.lookup('new-d'), null, 'the refused claim left nothing behind');
  assert.equal((await registry.claim('kept-b', tok('b'), 's5')).reclaimed, true, 'existing IDs still work');
});

test('a node reaps a dead node only after its own heartbeats succeeded for a whole alive TTL', async () => {
  const presence = { heartbeatMs: 50, aliveTtlMs: 600, reapIntervalMs: 50 };
  const prefix = 'presence-test:';
  // A node that died holding an online ID: listed, no alive key.
  const { registry: seed } = await cluster('seed', prefix);
  await seed.claim('zed', 'tok_zzzzzzzzzzzzzzzz', 'dead-sock');
  const rc = clusters.at(-1).connection.command;
  await rc.sAdd(`${prefix}{presence}:instances`, 'ghost:1');
  await rc.hSet(`${prefix}id:{zed}`, 'inst', 'ghost:1');
  await rc.sAdd(`${prefix}inst:ghost:1:ids`, 'zed');

  const started = Date.now();
  const node = createRedisCluster({ url: redis.url, nodeId: 'reaper', idTtlMs: 60_000, log: silentLogger, prefix, presence });
  clusters.push(node);
  await node.connect();
  await waitUntil(async () => (await node.registry.lookup('zed')).online === false, 5000, 10);
  // Not at start (the Redis might just have come back), only once a whole
  // TTL of its own beats went through.
  assert.ok(Date.now() - started >= presence.aliveTtlMs, `reaped after ${Date.now() - started} ms`);
  // The instance leaves the list only after its IDs were handled: wait for
  // that rather than racing the reaper's last command.
  await waitUntil(async () => (await rc.sIsMember(`${prefix}{presence}:instances`, 'ghost:1')) === false, 5000, 10);
});

