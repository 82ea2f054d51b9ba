// Cluster mode on a real Redis Cluster (3 masters + 3 replicas, started by
// test/support/redis_cluster.js) with two server processes configured by
// REDIS_CLUSTER_NODES: calls relay across nodes over sharded pub/sub, the
// registry and queue scripts run on one slot each, and when a master dies
// and its replica takes over, relaying resumes and both clients get their
// IDs back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRedisCluster } from '../src/cluster.js';
import { silentLogger } from '../src/log.js';
import { connectRegistered, once, strongToken, waitUntil } from './helpers.js';
import { REDIS_SERVER } from './support/redis.js';
import { startRedisCluster } from './support/redis_cluster.js';
import { startServerProcesses } from './support/server_process.js';

const TOKENS = new Map();
const TOKEN = (c) => {
  if (!TOKENS.has(c)) TOKENS.set(c, strongToken());
  return TOKENS.get(c);
};
const QUEUE_MS = 3000;
const missing = !existsSync(REDIS_SERVER) && `${REDIS_SERVER} is not installed (deploy/setup-debian.sh installs redis-server)`;

let cluster;
let n1;
let n2;
const sockets = [];

const nodeEnv = (nodeId) => ({ REDIS_CLUSTER_NODES: cluster.seeds, NODE_ID: nodeId, OFFLINE_QUEUE_MS: String(QUEUE_MS), LOG_LEVEL: 'info' });

async function connect(node, opts) {
  const c = await connectRegistered(node.url, opts);
  sockets.push(c.socket);
  return c;
}

// The sharded adapter's channel for a socket's own room.
const channelOf = (socketId) => `voicecall:sio#/#${socketId}#`;

async function spublishCalls() {
  let n = 0;
  for (const m of await cluster.masters()) {
    const stats = await cluster.info(m.port, 'commandstats');
    n += Number(/calls=(\d+)/.exec(stats.cmdstat_spublish ?? 'calls=0')[1]);
  }
  return n;
}

/**
 * Offer a call and send `ringing` in it until it arrives (the path may
 * still be failing over; a re-offer inside the live call costs nothing).
 */
async function relayWorks(from, to, callId, ms) {
  const got = [];
  const on = (m) => got.push(m);
  to.socket.on('ringing', on);
  try {
    await waitUntil(() => {
      if (got.some((m) => m.callId === callId)) return true;
      from.socket.emit('offer_sdp', { targetClientId: to.id, callId, sdp: 'v=0' });
      from.socket.emit('ringing', { targetClientId: to.id, callId });
      return false;
    }, ms, 200);
  } finally {
    to.socket.off('ringing', on);
  }
  assert.deepEqual(got.find((m) => m.callId === callId), { from: from.id, callId });
}

before(async () => {
  if (missing) return;
  cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
  [n1, n2] = await startServerProcesses([nodeEnv('c1'), nodeEnv('c2')]);
});

after(async () => {
  for (const s of sockets) s.close();
  await Promise.all([n1, n2].filter(Boolean).map((n) => n.kill('SIGKILL')));
  await cluster?.stop();
});

test('nodes connect to the Redis Cluster with sharded pub/sub', { skip: missing }, () => {
  for (const node of [n1, n2]) {
    assert.ok(node.records.some((r) => r.msg === 'redis connected' && r.redis === 'cluster' && r.pubsub === 'sharded'));
  }
});

test('a call relays across nodes through the Redis Cluster, one SPUBLISH per message to one subscriber', { skip: missing }, async () => {
  const a = await connect(n1, { auth: { id: 'alice-rc', token: TOKEN('a') } });
  const b = await connect(n2, { auth: { id: 'bob-rc', token: TOKEN('b') } });
  // Only b's node subscribes to b's channel, on the shard of its slot.
  const owner = await cluster.masterOfKey(channelOf(b.socket.id));
  assert.deepEqual(await cluster.command(owner.port, ['PUBSUB', 'SHARDNUMSUB', channelOf(b.socket.id)]), [channelOf(b.socket.id), 1]);

  const before = await spublishCalls();
  const callId = 'rc-1';
  a.socket.emit('offer_sdp', { targetClientId: b.id, callId, sdp: { type: 'offer', sdp: 'v=0 offer' } });
  for (let i = 0; i < 5; i++) a.socket.emit('send_ice', { targetClientId: b.id, callId, candidate: `candidate:a${i}`, mid: '0', mLineIndex: 0 });
  assert.deepEqual(await once(b.socket, 'offer_sdp'), { from: a.id, callId, sdp: { type: 'offer', sdp: 'v=0 offer' } });
  await waitUntil(() => b.events.filter((e) => e[0] === 'send_ice').length === 5);
  assert.deepEqual(
    b.events.filter((e) => e[0] === 'send_ice').map((e) => e[1].candidate),
    ['candidate:a0', 'candidate:a1', 'candidate:a2', 'candidate:a3', 'candidate:a4'],
    'in order across nodes',
  );
  const replies = Promise.all([once(a.socket, 'answer_sdp'), once(a.socket, 'send_ice')]);
  b.socket.emit('answer_sdp', { targetClientId: a.id, callId, sdp: { type: 'answer', sdp: 'v=0 answer' } });
  b.socket.emit('send_ice', { targetClientId: a.id, callId, candidate: '' });
  const [answer, ice] = await replies;
  assert.deepEqual(answer, { from: b.id, callId, sdp: { type: 'answer', sdp: 'v=0 answer' } });
  assert.deepEqual(ice, { from: b.id, callId, candidate: '', mid: null });
  a.socket.emit('call_hangup', { targetClientId: b.id, callId });
  assert.deepEqual(await once(b.socket, 'call_hangup'), { from: a.id, callId, reason: 'hangup' });
  // 9 relayed messages, all cross-node: 9 SPUBLISHes (nothing else was
  // published meanwhile).
  assert.equal((await spublishCalls()) - before, 9);
});

test('offline queue and registry on the Redis Cluster: queued on node 2, delivered on node 1; ID_TAKEN across nodes', { skip: missing }, async () => {
  const eve = await connect(n2, { auth: { id: 'eve-rc', token: TOKEN('e') } });
  const taken = await connectRegistered(n1.url, { auth: { id: 'eve-rc', token: TOKEN('x') } }).then(
    () => 'registered',
    () => 'refused',
  );
  assert.equal(taken, 'refused');
  eve.socket.close();
  const caller = await connect(n2);
  // Until eve's release is visible, the offer would go to her dead socket:
  // wait for the queue path the way a client would see it (no error).
  await waitUntil(async () => {
    const owner = await cluster.masterOfKey('voicecall:id:{eve-rc}');
    return (await cluster.command(owner.port, ['HGET', 'voicecall:id:{eve-rc}', 'sock'])) === '';
  });
  caller.socket.emit('offer_sdp', { targetClientId: 'eve-rc', sdp: 'offer', callId: 'q1' });
  caller.socket.emit('send_ice', { targetClientId: 'eve-rc', candidate: 'c1', callId: 'q1' });
  await waitUntil(async () => {
    const owner = await cluster.masterOfKey('voicecall:q:{eve-rc}');
    return (await cluster.command(owner.port, ['LLEN', 'voicecall:q:{eve-rc}'])) === 2;
  });
  const back = await connect(n1, { auth: { id: 'eve-rc', token: TOKEN('e') } });
  await waitUntil(() => back.events.length >= 5);
  assert.deepEqual(back.events.map((e) => e[0]), ['your_id', 'registered', 'ice_servers', 'offer_sdp', 'send_ice']);
  assert.equal(back.registered.reclaimed, true);
});

test('registry on the Redis Cluster: a dead instance\'s IDs (on every shard) are reaped; size() counts across shards', { skip: missing }, async () => {
  const open = (nodeId) => createRedisCluster({ clusterNodes: cluster.seeds.split(','), nodeId, idTtlMs: 60_000, log: silentLogger, prefix: 'reap:' });
  const dead = open('dead');
  const alive = open('alive');
  await Promise.all([dead.connect(), alive.connect()]);
  try {
    const ids = ['r-one', 'r-two', 'r-three', 'r-four', 'r-five', 'r-six'];
    for (const [i, id] of ids.entries()) assert.equal((await dead.registry.claim(id, `token-${id}-xxxxxxxxxx`, `s${i}`)).ok, true);
    const shards = new Set(await Promise.all(ids.map(async (id) => (await cluster.masterOfKey(`reap:id:{${id}}`)).port)));
    assert.ok(shards.size >= 2, 'the IDs spread over several shards');
    assert.equal(await alive.registry.size(), ids.length);
    assert.equal(await alive.registry.reap(dead.instance), ids.length);
    for (const id of ids) assert.equal((await alive.registry.lookup(id)).online, false);
    assert.equal(await alive.registry.reap(dead.instance), 0, 'reaping again finds nothing');
  } finally {
    await Promise.all([dead.close(), alive.close()]);
  }
});

test('a master dies and its replica takes over: relaying resumes and both clients re-register with the same IDs', { skip: missing }, async () => {
  const b = await connect(n2, { auth: { id: 'ben-rc', token: TOKEN('n') } });
  // The master to kill holds b's subscription (relaying to b needs it moved
  // to the promoted replica) and a's ID record (a's reclaim needs it to
  // have been replicated).
  const victim = await cluster.masterOfKey(channelOf(b.socket.id));
  let amy = null;
  for (let i = 0; !amy; i++) if ((await cluster.masterOfKey(`voicecall:id:{amy-${i}}`)).port === victim.port) amy = `amy-${i}`;
  const a = await connect(n1, { auth: { id: amy, token: TOKEN('m') } });
  await relayWorks(a, b, 'pre', 2000);
  const promoted = await cluster.failover(victim.port);
  assert.notEqual(promoted.port, victim.port);

  // The connected clients are untouched; their nodes find the new master
  // and re-subscribe.
  await relayWorks(a, b, 'after-failover', 10_000);
  await relayWorks(b, a, 'after-failover-back', 10_000);
  assert.ok(n2.records.some((r) => r.msg === 'redis cluster topology changed: reconnected'));

  // Both re-register (on the other node each) with their id+token: the
  // records survived on the replicas, so both are reclaims.
  a.socket.close();
  b.socket.close();
  const again = async (node, id, token) => {
    let c = null;
    await waitUntil(async () => {
      c = await connect(node, { auth: { id, token } }).catch(() => null);
      return c !== null;
    }, 10_000, 200);
    return c;
  };
  const a2 = await again(n2, amy, TOKEN('m'));
  const b2 = await again(n1, 'ben-rc', TOKEN('n'));
  assert.deepEqual(a2.registered, { id: amy, token: TOKEN('m'), reclaimed: true });
  assert.deepEqual(b2.registered, { id: 'ben-rc', token: TOKEN('n'), reclaimed: true });
  await relayWorks(a2, b2, 'reregistered', 5000);
  await relayWorks(b2, a2, 'reregistered-back', 5000);
});
