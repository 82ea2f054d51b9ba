// Relaying between clients: every event in both payload styles, old-client
// compatibility, unknown/offline targets and the offline queue. The offline
// queue's expiry runs on a fake clock (helpers.js fakeClock): OFFLINE_QUEUE_MS
// passes in clock.advance(), never in real time, so a busy machine cannot
// make a message expire early or late.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRegistered, fakeClock, never, once, startServer, strongToken, waitOffline } from './helpers.js';

const TOKEN = strongToken();
const OTHER = strongToken();

/** Resolve with the first `n` events named `event` (rejects after ms). */
function collect(socket, event, n, ms = 5000) {
  const got = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} "${event}" events: ${JSON.stringify(got)}`)), ms);
    socket.on(event, function on(arg) {
      got.push({ ...arg, at: Date.now() });
      if (got.length === n) {
        clearTimeout(timer);
        socket.off(event, on);
        resolve(got);
      }
    });
  });
}

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
        // Every call event needs a call: an offer opens one (or re-offers
        // in the one still open).
        if (event !== 'offer_sdp') {
          const opened = once(b.socket, 'offer_sdp');
          a.socket.emit('offer_sdp', callId ? { targetClientId: b.id, sdp: 'o', callId } : { targetClientId: b.id, sdp: 'o' });
          await opened;
        }
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
    a.socket.emit('offer_sdp', { targetClientId: b.id, sdp: 'o', callId: 'c' });
    await once(b.socket, 'offer_sdp');
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

test('call events outside a call → NOT_IN_CALL at once, the same for online, offline and unknown targets', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const online = await connectRegistered(url);
  const gone = await connectRegistered(url);
  gone.socket.close();
  await waitOffline(server, gone.id);
  const prober = await connectRegistered(url);
  t.after(() => [online, prober].forEach((c) => c.socket.close()));
  const quiet = never(online.socket, 'send_ice', 200);
  const answers = [];
  for (const target of [online.id, gone.id, 'nobody-ever']) {
    for (const event of ['answer_sdp', 'send_ice', 'ringing', 'busy', 'call_decline']) {
      const body = { targetClientId: target, callId: 'x', sdp: 'v=0', candidate: 'c' };
      const err = once(prober.socket, 'server_error');
      prober.socket.emit(event, body);
      const e = await err;
      answers.push([e.code, e.event, e.message.replace(target, 'T')]);
    }
  }
  const [first, ...rest] = [answers.slice(0, 5), answers.slice(5, 10), answers.slice(10)];
  assert.deepEqual(first[0], ['NOT_IN_CALL', 'answer_sdp', 'no call with T (callId x): send offer_sdp first']);
  for (const other of rest) assert.deepEqual(other, first);
  await quiet;
});

test('unknown and offline targets: PEER_NOT_FOUND after OFFLINE_QUEUE_MS, not before', async (t) => {
  const clock = fakeClock();
  const { server, url } = await startServer({ offlineQueueMs: 300 }, { clock });
  t.after(() => server.close());
  const gone = await connectRegistered(url, { auth: { id: 'gone-away', token: TOKEN } });
  gone.socket.close();
  await waitOffline(server, 'gone-away');
  const a = await connectRegistered(url);
  t.after(() => a.socket.close());
  const errors = collect(a.socket, 'server_error', 2);
  a.socket.emit('offer_sdp', { targetClientId: 'zzz-zzz-zzz', sdp: 'x', callId: 'c1' });
  a.socket.emit('offer_sdp', { targetClientId: 'gone-away', sdp: 'x', callId: 'c1' });
  await waitUntilQueued(server, 'zzz-zzz-zzz', 1);
  await waitUntilQueued(server, 'gone-away', 1);
  clock.advance(299);
  assert.deepEqual([await server.relay.queuedFor('zzz-zzz-zzz'), await server.relay.queuedFor('gone-away')], [1, 1], 'both still waiting 1 ms before OFFLINE_QUEUE_MS');
  assert.ok(!a.events.some((e) => e[0] === 'server_error'));
  clock.advance(1);
  const [e1, e2] = await errors;
  for (const e of [e1, e2]) assert.equal(e.code, 'PEER_NOT_FOUND');
  const strip = ({ at, targetClientId, message, ...rest }) => ({ ...rest, message: message.replace(targetClientId, 'T') });
  assert.deepEqual(strip(e1), strip(e2));
  assert.deepEqual(strip(e1), { code: 'PEER_NOT_FOUND', event: 'offer_sdp', callId: 'c1', message: 'peer T is not online; offer_sdp was not delivered within 300 ms' });
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
  const clock = fakeClock();
  const { server, url } = await startServer({ offlineQueueMs: 3000 }, { clock });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'callee', token: TOKEN } });
  const caller = await connectRegistered(url);
  callee.socket.close();
  await waitOffline(server, 'callee');

  caller.socket.emit('offer_sdp', { targetClientId: 'callee', sdp: 'offer', callId: 'c9' });
  caller.socket.emit('send_ice', JSON.stringify({ targetClientId: 'callee', candidate: 'c1', mid: '0', callId: 'c9' }));
  caller.socket.emit('send_ice', { targetClientId: 'callee', candidate: '', callId: 'c9' });
  await waitUntilQueued(server, 'callee', 3);
  clock.advance(2999);

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
  // Nothing is left to expire into a bogus PEER_NOT_FOUND: past the TTL, a
  // message from the callee reaches the caller with no error before it.
  assert.equal(await server.relay.queuedFor('callee'), 0);
  clock.advance(1000);
  back.socket.emit('ringing', { targetClientId: caller.id, callId: 'c9' });
  await once(caller.socket, 'ringing');
  assert.deepEqual(caller.events.filter((e) => e[0] === 'server_error'), []);
  back.socket.close();
  caller.socket.close();
});

test('offline target that does not come back → PEER_NOT_FOUND after OFFLINE_QUEUE_MS, once per event/callId', async (t) => {
  const clock = fakeClock();
  const { server, url } = await startServer({ offlineQueueMs: 200 }, { clock });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'gone', token: TOKEN } });
  const caller = await connectRegistered(url);
  callee.socket.close();
  await waitOffline(server, 'gone');

  const errors = collect(caller.socket, 'server_error', 3);
  caller.socket.emit('offer_sdp', { targetClientId: 'gone', sdp: 'o', callId: 'k1' });
  for (let i = 0; i < 5; i++) caller.socket.emit('send_ice', { targetClientId: 'gone', candidate: `c${i}`, callId: 'k1' });
  caller.socket.emit('call_hangup', JSON.stringify({ targetClientId: 'gone' }));
  await waitUntilQueued(server, 'gone', 7);
  clock.advance(199);
  assert.equal(await server.relay.queuedFor('gone'), 7, 'all still waiting 1 ms before OFFLINE_QUEUE_MS');
  clock.advance(1);

  const got = await errors;
  const summary = got.map((e) => [e.code, e.event, e.targetClientId, e.callId]).sort();
  assert.deepEqual(summary, [
    ['PEER_NOT_FOUND', 'call_hangup', 'gone', undefined],
    ['PEER_NOT_FOUND', 'offer_sdp', 'gone', 'k1'],
    ['PEER_NOT_FOUND', 'send_ice', 'gone', 'k1'],
  ]);
  for (const e of got) assert.match(e.message, /gone/);

  // The queue entries were discarded: a later reclaim receives nothing old.
  assert.equal(await server.relay.queuedFor('gone'), 0);
  const back = await connectRegistered(url, { auth: { id: 'gone', token: TOKEN } });
  assert.deepEqual(back.events.map((e) => e[0]), ['your_id', 'registered', 'ice_servers']);
  back.socket.close();
  caller.socket.close();
});

test('offline queue is capped at 64 per target: oldest dropped, sender told once per event', async (t) => {
  const { server, url } = await startServer({ offlineQueueMs: 3000 }, { clock: fakeClock() });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'full', token: TOKEN } });
  const caller = await connectRegistered(url);
  callee.socket.close();
  await waitOffline(server, 'full');

  // The offer and the first six candidates are pushed out.
  const errors = collect(caller.socket, 'server_error', 2);
  caller.socket.emit('offer_sdp', { targetClientId: 'full', sdp: 'o', callId: 'k' });
  for (let i = 0; i < 70; i++) caller.socket.emit('send_ice', { targetClientId: 'full', candidate: `c${i}`, callId: 'k' });
  const got = await errors;
  assert.deepEqual(got.map((e) => [e.code, e.event, e.callId]), [['PEER_NOT_FOUND', 'offer_sdp', 'k'], ['PEER_NOT_FOUND', 'send_ice', 'k']]);
  assert.match(got[0].message, /too many messages are waiting/);

  const back = await connectRegistered(url, { auth: { id: 'full', token: TOKEN } });
  while (back.events.filter((e) => e[0] === 'send_ice').length < 64) await once(back.socket, 'send_ice');
  const ice = back.events.filter((e) => e[0] === 'send_ice').map((e) => e[1].candidate);
  assert.deepEqual(ice, Array.from({ length: 64 }, (_, i) => `c${i + 6}`));
  back.socket.close();
  caller.socket.close();
});

test('offline queue bytes: QUEUE_MAX_BYTES_PER_TARGET drops the oldest, QUEUE_MAX_BYTES refuses new ones at once', async (t) => {
  const { server, url } = await startServer({ offlineQueueMs: 3000, queueMaxBytesPerTarget: 3000, queueMaxBytes: 4000 }, { clock: fakeClock() });
  t.after(() => server.close());
  for (const id of ['slow-a', 'slow-b']) {
    const c = await connectRegistered(url, { auth: { id, token: strongToken() } });
    c.socket.close();
    await waitOffline(server, id);
  }
  const caller = await connectRegistered(url);
  t.after(() => caller.socket.close());
  const kb = 'x'.repeat(1000);
  // ~1.1 KB each: the per-target cap keeps two of three for slow-a.
  const first = once(caller.socket, 'server_error');
  for (let i = 0; i < 3; i++) caller.socket.emit('offer_sdp', { targetClientId: 'slow-a', callId: `a${i}`, sdp: kb });
  const overflow = await first;
  assert.deepEqual([overflow.event, overflow.callId], ['offer_sdp', 'a0']);
  assert.match(overflow.message, /too many messages are waiting/);
  // All targets together: what does not fit is refused outright.
  const full = collect(caller.socket, 'server_error', 2);
  for (let i = 0; i < 3; i++) caller.socket.emit('offer_sdp', { targetClientId: 'slow-b', callId: `b${i}`, sdp: kb });
  const refused = await full;
  assert.deepEqual(refused.map((e) => e.callId), ['b1', 'b2']);
  assert.match(refused[0].message, /holds too many waiting messages/);
  assert.ok(server.relay.queuedBytes() <= 4000, `${server.relay.queuedBytes()} bytes queued`);
});

test('PEER_NOT_FOUND for a timed-out message reaches the sender even after it reconnected', async (t) => {
  const clock = fakeClock();
  const { server, url } = await startServer({ offlineQueueMs: 300 }, { clock });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'away', token: TOKEN } });
  const caller1 = await connectRegistered(url, { auth: { id: 'caller', token: OTHER } });
  callee.socket.close();
  await waitOffline(server, 'away');
  caller1.socket.emit('offer_sdp', { targetClientId: 'away', sdp: 'o', callId: 'z' });
  await waitUntilQueued(server, 'away', 1);
  caller1.socket.close();
  await waitOffline(server, 'caller');
  const caller2 = await connectRegistered(url, { auth: { id: 'caller', token: OTHER } });
  const error = once(caller2.socket, 'server_error');
  clock.advance(300);
  const err = await error;
  assert.deepEqual([err.code, err.event, err.callId], ['PEER_NOT_FOUND', 'offer_sdp', 'z']);
  caller2.socket.close();
});

test('queued messages are not handed to a new owner after the id expired', async (t) => {
  const clock = fakeClock();
  const { server, url } = await startServer({ offlineQueueMs: 120_000, idTtlSeconds: 60 }, { clock });
  t.after(() => server.close());
  const callee = await connectRegistered(url, { auth: { id: 'shortlived', token: TOKEN } });
  const caller = await connectRegistered(url);
  callee.socket.close();
  await waitOffline(server, 'shortlived');
  caller.socket.emit('offer_sdp', { targetClientId: 'shortlived', sdp: 'private', callId: 'p' });
  await waitUntilQueued(server, 'shortlived', 1);
  clock.advance(61_000); // the id's TTL has now passed, the queue entry's has not
  const stranger = await connectRegistered(url, { auth: { id: 'shortlived', token: OTHER } });
  assert.equal(stranger.registered.reclaimed, false);
  const err = await once(caller.socket, 'server_error');
  assert.deepEqual([err.code, err.event, err.callId], ['PEER_NOT_FOUND', 'offer_sdp', 'p']);
  assert.equal(await server.relay.queuedFor('shortlived'), 0);
  assert.ok(!stranger.events.some((e) => e[0] === 'offer_sdp'));
  stranger.socket.close();
  caller.socket.close();
});

/** The server has queued `n` messages for `id` (its handlers ran). */
async function waitUntilQueued(server, id, n) {
  for (let i = 0; i < 200 && (await server.relay.queuedFor(id)) < n; i++) await new Promise((r) => setImmediate(r));
  assert.equal(await server.relay.queuedFor(id), n);
}
