// Relaying between clients: every event in both payload styles, old-client
// compatibility, unknown/offline targets and the offline queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRegistered, never, once, sleep, startServer, waitOffline } from './helpers.js';

const TOKEN = 'tok_' + 'q'.repeat(28);

async function pair(config) {
  const { server, url } = await startServer(config);
  const a = await connectRegistered(url);
  const b = await connectRegistered(url);
  const close = async () => {
    a.socket.close();
    b.socket.close();
    await server.close();
  };
  return { server, url, a, b, close };
}

// [event, extra payload fields sent, extra fields expected at the receiver]
const SDP_OBJ = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
const CASES = [
  ['offer_sdp', { sdp: SDP_OBJ }, { sdp: SDP_OBJ }],
  ['offer_sdp', { sdp: JSON.stringify(SDP_OBJ) }, { sdp: JSON.stringify(SDP_OBJ) }],
  ['answer_sdp', { sdp: { type: 'answer', sdp: 'v=0' } }, { sdp: { type: 'answer', sdp: 'v=0' } }],
  ['answer_sdp', { sdp: '{"type":"answer","sdp":"v=0"}' }, { sdp: '{"type":"answer","sdp":"v=0"}' }],
  ['send_ice', { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', mid: '0', mLineIndex: 0 }, { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', mid: '0', mLineIndex: 0 }],
  ['send_ice', { candidate: '' }, { candidate: '', mid: null }],
  ['send_ice', { candidate: 'c', mid: null, mLineIndex: null }, { candidate: 'c', mid: null, mLineIndex: null }],
  ['ringing', {}, {}],
  ['call_decline', { reason: 'not now' }, { reason: 'not now' }],
  ['call_decline', {}, {}],
  ['call_hangup', {}, { reason: 'hangup' }],
  ['call_hangup', { reason: 'network' }, { reason: 'network' }],
  ['busy', {}, {}],
];

for (const style of ['object', 'string']) {
  test(`every relay event with ${style} payloads: from stamped, callId passed through`, async (t) => {
    const { a, b, close } = await pair();
    t.after(close);
    for (const [event, sent, expected] of CASES) {
      for (const callId of [undefined, 'call-42_X']) {
        // `from` in the payload is a spoofing attempt; the server overrides it.
        const body = { targetClientId: b.id, from: 'mallory', unknownField: 1, ...sent };
        if (callId) body.callId = callId;
        a.socket.emit(event, style === 'string' ? JSON.stringify(body) : body);
        const got = await once(b.socket, event);
        const want = { from: a.id, ...expected };
        if (callId) want.callId = callId;
        assert.deepEqual(got, want, `${event} ${JSON.stringify(sent)} callId=${callId}`);
      }
    }
    // And in the other direction.
    b.socket.emit('answer_sdp', { targetClientId: a.id, sdp: 'x', callId: 'c' });
    assert.deepEqual(await once(a.socket, 'answer_sdp'), { from: b.id, sdp: 'x', callId: 'c' });
  });
}

test('old course-project client flow end to end (JSON strings, sdp as JSON string)', async (t) => {
  const { a: caller, b: callee, close } = await pair();
  t.after(close);
  const offer = { type: 'offer', sdp: 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
  caller.socket.emit('offer_sdp', JSON.stringify({ targetClientId: callee.id, sdp: JSON.stringify(offer) }));
  const gotOffer = await once(callee.socket, 'offer_sdp');
  assert.deepEqual(Object.keys(gotOffer).sort(), ['from', 'sdp']);
  assert.equal(gotOffer.from, caller.id);
  assert.equal(typeof gotOffer.sdp, 'string');
  assert.deepEqual(JSON.parse(gotOffer.sdp), offer);

  const answer = { type: 'answer', sdp: 'v=0\r\ns=-\r\n' };
  callee.socket.emit('answer_sdp', JSON.stringify({ targetClientId: gotOffer.from, sdp: JSON.stringify(answer) }));
  const gotAnswer = await once(caller.socket, 'answer_sdp');
  assert.deepEqual(gotAnswer, { from: callee.id, sdp: JSON.stringify(answer) });

  caller.socket.emit('send_ice', JSON.stringify({ targetClientId: callee.id, candidate: 'candidate:0 1 UDP 2 1.2.3.4 9 typ host', mid: '0' }));
  assert.deepEqual(await once(callee.socket, 'send_ice'), { from: caller.id, candidate: 'candidate:0 1 UDP 2 1.2.3.4 9 typ host', mid: '0' });
});

test('relays from one sender arrive in the order sent', async (t) => {
  const { a, b, close } = await pair();
  t.after(close);
  const got = [];
  const done = new Promise((resolve) =>
    b.socket.on('send_ice', (p) => {
      got.push(p.candidate);
      if (got.length === 100) resolve();
    }),
  );
  a.socket.emit('offer_sdp', { targetClientId: b.id, sdp: 'o' });
  for (let i = 0; i < 100; i++) a.socket.emit('send_ice', i % 2 ? JSON.stringify({ targetClientId: b.id, candidate: `c${i}` }) : { targetClientId: b.id, candidate: `c${i}` });
  await done;
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `c${i}`));
});

test('unknown target → PEER_NOT_FOUND immediately', async (t) => {
  const { a, close } = await pair({ offlineQueueMs: 5000 });
  t.after(close);
  const started = Date.now();
  a.socket.emit('offer_sdp', { targetClientId: 'zzz-zzz-zzz', sdp: 'x', callId: 'c1' });
  const [err, legacy] = await Promise.all([once(a.socket, 'server_error'), once(a.socket, 'error')]);
  assert.ok(Date.now() - started < 1000);
  assert.deepEqual(err, legacy);
  assert.deepEqual(err, {
    code: 'PEER_NOT_FOUND',
    message: 'peer zzz-zzz-zzz is not online',
    event: 'offer_sdp',
    targetClientId: 'zzz-zzz-zzz',
    callId: 'c1',
  });
});

test('targeting yourself → INVALID_TARGET; malformed target → INVALID_ID', async (t) => {
  const { a, close } = await pair();
  t.after(close);
  a.socket.emit('ringing', { targetClientId: a.id, callId: 'k' });
  const self = await once(a.socket, 'server_error');
  assert.deepEqual([self.code, self.event, self.targetClientId, self.callId], ['INVALID_TARGET', 'ringing', a.id, 'k']);
  a.socket.emit('busy', { targetClientId: 'NOT VALID' });
  const bad = await once(a.socket, 'server_error');
  assert.deepEqual([bad.code, bad.event, bad.targetClientId], ['INVALID_ID', 'busy', 'NOT VALID']);
});

test('offline target: messages are queued and delivered in order when it reclaims its id', async (t) => {
  const { server, url } = await startServer({ offlineQueueMs: 3000 });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'callee', token: TOKEN } });
  const caller = await connectRegistered(url);
  callee.socket.close();
  await waitOffline(server, 'callee');

  const callerQuiet = never(caller.socket, 'server_error', 300);
  caller.socket.emit('offer_sdp', { targetClientId: 'callee', sdp: 'offer', callId: 'c9' });
  caller.socket.emit('send_ice', JSON.stringify({ targetClientId: 'callee', candidate: 'c1', mid: '0', callId: 'c9' }));
  caller.socket.emit('send_ice', { targetClientId: 'callee', candidate: '', callId: 'c9' });
  await callerQuiet;

  const back = await connectRegistered(url, { auth: { id: 'callee', token: TOKEN } });
  // Fresh messages sent after the reclaim come after the queued ones.
  caller.socket.emit('ringing', { targetClientId: 'callee', callId: 'c9' });
  await once(back.socket, 'ringing');
  assert.deepEqual(back.events, [
    ['your_id', 'callee'],
    ['registered', { id: 'callee', token: TOKEN, reclaimed: true }],
    ['ice_servers', { iceServers: [], ttl: 0 }],
    ['offer_sdp', { from: caller.id, sdp: 'offer', callId: 'c9' }],
    ['send_ice', { from: caller.id, candidate: 'c1', mid: '0', callId: 'c9' }],
    ['send_ice', { from: caller.id, candidate: '', mid: null, callId: 'c9' }],
    ['ringing', { from: caller.id, callId: 'c9' }],
  ]);
  // Nothing is left to expire into a bogus PEER_NOT_FOUND.
  await never(caller.socket, 'server_error', 200);
  back.socket.close();
  caller.socket.close();
});

test('offline target that does not come back → PEER_NOT_FOUND after OFFLINE_QUEUE_MS, once per event/callId', async (t) => {
  const { server, url } = await startServer({ offlineQueueMs: 200 });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'gone', token: TOKEN } });
  const caller = await connectRegistered(url);
  callee.socket.close();
  await waitOffline(server, 'gone');

  const errors = [];
  caller.socket.on('server_error', (e) => errors.push({ ...e, at: Date.now() }));
  const started = Date.now();
  caller.socket.emit('offer_sdp', { targetClientId: 'gone', sdp: 'o', callId: 'k1' });
  for (let i = 0; i < 5; i++) caller.socket.emit('send_ice', { targetClientId: 'gone', candidate: `c${i}`, callId: 'k1' });
  caller.socket.emit('call_hangup', JSON.stringify({ targetClientId: 'gone' }));

  await sleep(100);
  assert.equal(errors.length, 0, 'nothing before OFFLINE_QUEUE_MS');
  await sleep(400);
  const summary = errors.map((e) => [e.code, e.event, e.targetClientId, e.callId]).sort();
  assert.deepEqual(summary, [
    ['PEER_NOT_FOUND', 'call_hangup', 'gone', undefined],
    ['PEER_NOT_FOUND', 'offer_sdp', 'gone', 'k1'],
    ['PEER_NOT_FOUND', 'send_ice', 'gone', 'k1'],
  ]);
  for (const e of errors) {
    assert.ok(e.at - started >= 190, `error came after ${e.at - started} ms`);
    assert.match(e.message, /gone/);
  }

  // The queue entries were discarded: a later reclaim receives nothing old.
  const back = await connectRegistered(url, { auth: { id: 'gone', token: TOKEN } });
  await sleep(100);
  assert.deepEqual(back.events.map((e) => e[0]), ['your_id', 'registered', 'ice_servers']);
  back.socket.close();
  caller.socket.close();
});

test('offline queue is capped at 64 per target: oldest dropped, sender told once', async (t) => {
  const { server, url } = await startServer({ offlineQueueMs: 3000 });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'full', token: TOKEN } });
  const caller = await connectRegistered(url);
  callee.socket.close();
  await waitOffline(server, 'full');

  const errors = [];
  caller.socket.on('server_error', (e) => errors.push(e));
  for (let i = 0; i < 70; i++) caller.socket.emit('send_ice', { targetClientId: 'full', candidate: `c${i}`, callId: 'k' });
  await sleep(200);
  assert.equal(errors.length, 1);
  assert.deepEqual([errors[0].code, errors[0].event, errors[0].callId], ['PEER_NOT_FOUND', 'send_ice', 'k']);

  const back = await connectRegistered(url, { auth: { id: 'full', token: TOKEN } });
  await sleep(200);
  const ice = back.events.filter((e) => e[0] === 'send_ice').map((e) => e[1].candidate);
  assert.deepEqual(ice, Array.from({ length: 64 }, (_, i) => `c${i + 6}`));
  back.socket.close();
  caller.socket.close();
});

test('PEER_NOT_FOUND for a timed-out message reaches the sender even after it reconnected', async (t) => {
  const { server, url } = await startServer({ offlineQueueMs: 300 });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'away', token: TOKEN } });
  const caller1 = await connectRegistered(url, { auth: { id: 'caller', token: 'tok_' + 'r'.repeat(28) } });
  callee.socket.close();
  await waitOffline(server, 'away');
  caller1.socket.emit('offer_sdp', { targetClientId: 'away', sdp: 'o', callId: 'z' });
  await sleep(50);
  caller1.socket.close();
  await waitOffline(server, 'caller');
  const caller2 = await connectRegistered(url, { auth: { id: 'caller', token: 'tok_' + 'r'.repeat(28) } });
  const err = await once(caller2.socket, 'server_error', 1000);
  assert.deepEqual([err.code, err.event, err.callId], ['PEER_NOT_FOUND', 'offer_sdp', 'z']);
  caller2.socket.close();
});

test('queued messages are not handed to a new owner after the id expired', async (t) => {
  const { server, url } = await startServer({ offlineQueueMs: 5000, idTtlSeconds: 1 });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'shortlived', token: TOKEN } });
  const caller = await connectRegistered(url);
  callee.socket.close();
  await waitOffline(server, 'shortlived');
  await sleep(700);
  caller.socket.emit('offer_sdp', { targetClientId: 'shortlived', sdp: 'private', callId: 'p' });
  await sleep(500); // the id's TTL has now passed, the queue entry has not
  const stranger = await connectRegistered(url, { auth: { id: 'shortlived', token: 'tok_' + 's'.repeat(28) } });
  assert.equal(stranger.registered.reclaimed, false);
  const err = await once(caller.socket, 'server_error');
  assert.deepEqual([err.code, err.event, err.callId], ['PEER_NOT_FOUND', 'offer_sdp', 'p']);
  await sleep(100);
  assert.ok(!stranger.events.some((e) => e[0] === 'offer_sdp'));
  stranger.socket.close();
  caller.socket.close();
});
