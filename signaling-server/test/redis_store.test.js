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
  assert.equal(await rc.sIsMember(`${prefix}{presence}:instances`, 'ghost:1'), false);
});

