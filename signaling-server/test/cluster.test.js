// Cluster mode: a real redis-server and two server processes (src/index.js
// with REDIS_URL). Clients on different nodes call each other, IDs are
// unique cluster-wide, the offline queue follows a client to another node,
// and a SIGKILLed node's clients carry on elsewhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import { client, connectRegistered, never, once, openCall, recorder, sleep, strongToken, waitUntil } from './helpers.js';
import { startRedis } from './support/redis.js';
import { startServerProcess, startServerProcesses } from './support/server_process.js';

const TOKENS = new Map();
const TOKEN = (c) => {
  if (!TOKENS.has(c)) TOKENS.set(c, strongToken());
  return TOKENS.get(c);
};
const QUEUE_MS = 1500;

let redis;
let n1;
let n2;
let rc; // direct Redis access for inspecting state
const sockets = [];

const nodeEnv = (nodeId) => ({ REDIS_URL: redis.url, NODE_ID: nodeId, OFFLINE_QUEUE_MS: String(QUEUE_MS), LOG_LEVEL: 'info' });
const startNode = (nodeId) => startServerProcess(nodeEnv(nodeId));

async function connect(node, opts) {
  const c = await connectRegistered(node.url, opts);
  sockets.push(c.socket);
  return c;
}

before(async () => {
  redis = await startRedis();
  [n1, n2] = await startServerProcesses([nodeEnv('n1'), nodeEnv('n2')]);
  rc = createClient({ url: redis.url });
  await rc.connect();
});

after(async () => {
  for (const s of sockets) s.close();
  await Promise.all([n1, n2].filter(Boolean).map((n) => n.kill('SIGKILL')));
  await rc?.quit();
  await redis?.stop();
});

test('nodes log their NODE_ID and connect to Redis', () => {
  for (const [node, id] of [[n1, 'n1'], [n2, 'n2']]) {
    assert.ok(node.records.some((r) => r.msg === 'redis connected' && r.node === id));
    assert.ok(node.records.every((r) => r.node === id), 'every record carries node');
  }
});

test('a client on node 1 and a client on node 2 exchange offer/answer/ICE/hangup', async () => {
  const a = await connect(n1);
  const b = await connect(n2);
  const callId = 'x-node-1';
  a.socket.emit('offer_sdp', { targetClientId: b.id, callId, sdp: { type: 'offer', sdp: 'v=0 offer' } });
  for (let i = 0; i < 5; i++) a.socket.emit('send_ice', { targetClientId: b.id, callId, candidate: `candidate:a${i}`, mid: '0', mLineIndex: 0 });
  assert.deepEqual(await once(b.socket, 'offer_sdp'), { from: a.id, callId, sdp: { type: 'offer', sdp: 'v=0 offer' } });
  await waitUntil(() => b.events.filter((e) => e[0] === 'send_ice').length === 5);
  assert.deepEqual(
    b.events.filter((e) => e[0] === 'send_ice').map((e) => e[1].candidate),
    ['candidate:a0', 'candidate:a1', 'candidate:a2', 'candidate:a3', 'candidate:a4'],
    'in order across nodes',
  );

  // Listen for all three first: they may arrive in one batch.
  const replies = Promise.all([once(a.socket, 'ringing'), once(a.socket, 'answer_sdp'), once(a.socket, 'send_ice')]);
  b.socket.emit('ringing', { targetClientId: a.id, callId });
  b.socket.emit('answer_sdp', JSON.stringify({ targetClientId: a.id, callId, sdp: '{"type":"answer","sdp":"v=0 answer"}' }));
  b.socket.emit('send_ice', { targetClientId: a.id, callId, candidate: '' });
  const [ringing, answer, ice] = await replies;
  assert.deepEqual(ringing, { from: b.id, callId });
  assert.deepEqual(answer, { from: b.id, callId, sdp: '{"type":"answer","sdp":"v=0 answer"}' });
  assert.deepEqual(ice, { from: b.id, callId, candidate: '', mid: null });

  a.socket.emit('call_hangup', { targetClientId: b.id, callId });
  assert.deepEqual(await once(b.socket, 'call_hangup'), { from: a.id, callId, reason: 'hangup' });
});

test('an ID claimed on node 1 cannot be hijacked on node 2; tokens are stored hashed', async () => {
  await connect(n1, { auth: { id: 'carol', token: TOKEN('c') } });
  for (const auth of [{ id: 'carol' }, { id: 'carol', token: TOKEN('m') }]) {
    const m = client(n2.url, { auth });
    const [err, reason] = await Promise.all([once(m, 'server_error'), once(m, 'disconnect')]);
    assert.equal(err.code, 'ID_TAKEN');
    assert.equal(reason, 'io server disconnect');
    m.close();
  }
  const rec = await rc.hGetAll('voicecall:id:{carol}');
  assert.equal(rec.tok, createHash('sha256').update(TOKEN('c')).digest('hex'));
  assert.ok(!JSON.stringify(rec).includes(TOKEN('c')));
});

test('reclaiming with the token on another node replaces the old session there', async () => {
  const old = await connect(n1, { auth: { id: 'dora', token: TOKEN('d') } });
  const replaced = once(old.socket, 'server_error', 3000);
  const gone = once(old.socket, 'disconnect', 3000);
  const fresh = await connect(n2, { auth: { id: 'dora', token: TOKEN('d') } });
  assert.equal(fresh.registered.reclaimed, true);
  assert.equal((await replaced).code, 'SESSION_REPLACED');
  assert.equal(await gone, 'io server disconnect');
  // The old node's late release must not take the ID offline.
  await sleep(200);
  assert.equal((await rc.hGet('voicecall:id:{dora}', 'sock')) !== '', true);
  const b = await connect(n1);
  await openCall(b, { ...fresh, id: 'dora' });
});

test('PEER_NOT_FOUND works cluster-wide (after OFFLINE_QUEUE_MS, like an offline ID)', async () => {
  const a = await connect(n2);
  const started = Date.now();
  a.socket.emit('offer_sdp', { targetClientId: 'nobody-anywhere', sdp: 'x', callId: 'p1' });
  const err = await once(a.socket, 'server_error', QUEUE_MS + 2000);
  assert.deepEqual([err.code, err.targetClientId, err.callId], ['PEER_NOT_FOUND', 'nobody-anywhere', 'p1']);
  assert.ok(Date.now() - started >= QUEUE_MS - 50);
});

test('calls are known cluster-wide: set up through one node, continued through the other; nothing outside one', async () => {
  const a = await connect(n1);
  const b = await connect(n2);
  // No call yet: an answer is refused on either node.
  b.socket.emit('answer_sdp', { targetClientId: a.id, sdp: 'x', callId: 'k1' });
  assert.equal((await once(b.socket, 'server_error')).code, 'NOT_IN_CALL');
  await openCall(a, b, 'k1');
  const answered = once(a.socket, 'answer_sdp');
  b.socket.emit('answer_sdp', { targetClientId: a.id, sdp: 'x', callId: 'k1' });
  assert.equal((await answered).from, b.id);
  // The call lives in Redis, one hash per pair of IDs.
  const flags = await rc.hGetAll(`voicecall:call:${[a.id, b.id].sort().join(' ')}`);
  assert.equal(flags['k1|c'], a.id);
  assert.equal(flags['k1|a'], '1');
  const hungUp = once(b.socket, 'call_hangup');
  a.socket.emit('call_hangup', { targetClientId: b.id, callId: 'k1' });
  await hungUp;
  b.socket.emit('send_ice', { targetClientId: a.id, candidate: 'late', callId: 'k1' });
  await never(a.socket, 'send_ice', 300);
});

test('offline queue: queued on node 2, delivered when the target comes back on node 1', async () => {
  const eve = await connect(n2, { auth: { id: 'eve', token: TOKEN('e') } });
  eve.socket.close();
  await waitUntil(async () => (await rc.hGet('voicecall:id:{eve}', 'sock')) === '');
  const caller = await connect(n2);
  const quiet = never(caller.socket, 'server_error', 300);
  caller.socket.emit('offer_sdp', { targetClientId: 'eve', sdp: 'offer', callId: 'q1' });
  caller.socket.emit('send_ice', { targetClientId: 'eve', candidate: 'c1', callId: 'q1' });
  await quiet;
  const back = await connect(n1, { auth: { id: 'eve', token: TOKEN('e') } });
  await waitUntil(() => back.events.length >= 5);
  assert.deepEqual(back.events.map((e) => e[0]), ['your_id', 'registered', 'ice_servers', 'offer_sdp', 'send_ice']);
  assert.deepEqual(back.events[3][1], { from: caller.id, sdp: 'offer', callId: 'q1' });
  assert.equal(back.registered.reclaimed, true);
  // Delivered, so the queuing node's timer must not report it.
  await never(caller.socket, 'server_error', QUEUE_MS + 300);
});

test('offline queue timeout on another node → one PEER_NOT_FOUND per group to the sender', async () => {
  const gone = await connect(n1, { auth: { id: 'gina', token: TOKEN('g') } });
  gone.socket.close();
  await waitUntil(async () => (await rc.hGet('voicecall:id:{gina}', 'sock')) === '');
  const caller = await connect(n2);
  const errors = [];
  caller.socket.on('server_error', (e) => errors.push(e));
  caller.socket.emit('offer_sdp', { targetClientId: 'gina', sdp: 'o', callId: 'g1' });
  for (let i = 0; i < 3; i++) caller.socket.emit('send_ice', { targetClientId: 'gina', candidate: `c${i}`, callId: 'g1' });
  await sleep(QUEUE_MS - 500);
  assert.equal(errors.length, 0);
  await waitUntil(() => errors.length === 2, QUEUE_MS + 1000);
  assert.deepEqual(errors.map((e) => [e.code, e.event, e.callId]).sort(), [
    ['PEER_NOT_FOUND', 'offer_sdp', 'g1'],
    ['PEER_NOT_FOUND', 'send_ice', 'g1'],
  ]);
});

test('SIGKILL node 1: its client reconnects to node 2 (same id+token, reclaimed) and messages get through; the dead node is reaped', async () => {
  const victim = await connect(n1, { auth: { id: 'victor', token: TOKEN('v') } });
  // Stays on the dead node and never comes back.
  await connect(n1, { auth: { id: 'frank', token: TOKEN('f') } });
  const peer = await connect(n2);
  // A call in progress between them, known through Redis.
  await openCall(peer, victim, 'before-crash');
  const lost = once(victim.socket, 'disconnect', 5000);
  await n1.kill('SIGKILL');
  await lost;

  const again = await connect(n2, { auth: { id: 'victor', token: TOKEN('v') } });
  assert.deepEqual(again.registered, { id: 'victor', token: TOKEN('v'), reclaimed: true });
  peer.socket.emit('offer_sdp', { targetClientId: 'victor', sdp: { type: 'offer', sdp: 'v=0' }, callId: 'after-crash' });
  assert.deepEqual(await once(again.socket, 'offer_sdp'), { from: peer.id, sdp: { type: 'offer', sdp: 'v=0' }, callId: 'after-crash' });
  again.socket.emit('answer_sdp', { targetClientId: peer.id, sdp: { type: 'answer', sdp: 'v=0' }, callId: 'after-crash' });
  assert.equal((await once(peer.socket, 'answer_sdp')).from, 'victor');

  // frank's node is gone: within the presence timeout node 2 marks its IDs
  // offline, so messages to frank are queued and then reported instead of
  // vanishing into a dead socket.
  await waitUntil(async () => (await rc.hGet('voicecall:id:{frank}', 'sock')) === '', 20_000, 200);
  assert.ok(n2.records.some((r) => r.msg === 'reaped ids of a dead node' && r.ids >= 1));
  assert.ok((await rc.pTTL('voicecall:id:{frank}')) > 0, 'the reaped ID now has its TTL');
  peer.socket.emit('offer_sdp', { targetClientId: 'frank', callId: 'f1', sdp: 'v=0' });
  const err = await once(peer.socket, 'server_error', QUEUE_MS + 1000);
  assert.deepEqual([err.code, err.event], ['PEER_NOT_FOUND', 'offer_sdp']);

  // The ID survived its node: frank reclaims it on a restarted node 1.
  n1 = await startNode('n1');
  const frank = await connect(n1, { auth: { id: 'frank', token: TOKEN('f') } });
  assert.equal(frank.registered.reclaimed, true);
});

test('SIGTERM: a node shuts down cleanly and takes its IDs offline in Redis', async () => {
  const c = await connect(n1, { auth: { id: 'tess', token: TOKEN('t') } });
  const events = recorder(c.socket);
  const [code] = await n1.kill('SIGTERM');
  assert.equal(code, 0);
  assert.ok(events.some((e) => e[0] === 'disconnect') || !c.socket.connected);
  assert.equal(await rc.hGet('voicecall:id:{tess}', 'sock'), '');
  assert.ok((await rc.pTTL('voicecall:id:{tess}')) > 0);
  n1 = null;
});
