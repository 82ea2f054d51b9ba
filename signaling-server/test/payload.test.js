// Malformed input of every kind gets the right error code, the offending
// socket stays connected, and an unrelated pair of clients is unaffected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRegistered, never, once, startServer } from './helpers.js';

const MAX = 4096;

async function setup(t) {
  const { server, url } = await startServer({ maxPayloadBytes: MAX });
  const bad = await connectRegistered(url);
  const peer = await connectRegistered(url);
  const x = await connectRegistered(url);
  const y = await connectRegistered(url);
  t.after(async () => {
    for (const c of [bad, peer, x, y]) c.socket.close();
    await server.close();
  });
  return { server, url, bad, peer, x, y };
}

/** Emit `args` as `event` from `bad`; expect error `code` on both channels. */
async function expectCode(socket, event, args, code) {
  const both = Promise.all([once(socket, 'server_error'), once(socket, 'error')]);
  socket.emit(event, ...args);
  const [err, legacy] = await both;
  assert.deepEqual(err, legacy);
  assert.equal(err.code, code, `${event} ${JSON.stringify(args).slice(0, 200)} → ${JSON.stringify(err)}`);
  assert.equal(err.event, event);
  return err;
}

async function otherPairStillWorks({ x, y }) {
  x.socket.emit('offer_sdp', { targetClientId: y.id, sdp: { type: 'offer', sdp: 'v=0' }, callId: 'ok' });
  assert.deepEqual(await once(y.socket, 'offer_sdp'), { from: x.id, sdp: { type: 'offer', sdp: 'v=0' }, callId: 'ok' });
  y.socket.emit('send_ice', JSON.stringify({ targetClientId: x.id, candidate: 'c', mid: '0' }));
  assert.deepEqual(await once(x.socket, 'send_ice'), { from: y.id, candidate: 'c', mid: '0' });
}

test('non-object payloads → INVALID_PAYLOAD', async (t) => {
  const ctx = await setup(t);
  const { bad, peer } = ctx;
  const peerQuiet = never(peer.socket, 'offer_sdp', 100);
  for (const event of ['offer_sdp', 'answer_sdp', 'send_ice', 'ringing', 'call_decline', 'call_hangup', 'busy']) {
    for (const args of [[], [42], [true], [null], [[1, 2]], [[{ targetClientId: peer.id }]], ['not json'], ['{"targetClientId":'], ['42'], ['null'], ['[]'], ['"str"'], [Buffer.from('{"targetClientId":"x"}')], [new Uint8Array([1, 2, 3])]]) {
      await expectCode(bad.socket, event, args, 'INVALID_PAYLOAD');
    }
  }
  await peerQuiet;
  assert.ok(bad.socket.connected);
  await otherPairStillWorks(ctx);
});

test('missing fields and wrong types → INVALID_PAYLOAD; bad ids → INVALID_ID', async (t) => {
  const ctx = await setup(t);
  const { bad, peer } = ctx;
  const T = peer.id;
  const invalidPayload = [
    ['offer_sdp', {}],
    ['offer_sdp', { targetClientId: T }],
    ['offer_sdp', { sdp: 'x' }],
    ['offer_sdp', { targetClientId: T, sdp: 5 }],
    ['offer_sdp', { targetClientId: T, sdp: '' }],
    ['offer_sdp', { targetClientId: T, sdp: ['v=0'] }],
    ['offer_sdp', { targetClientId: T, sdp: { type: 'rollback', sdp: '' } }],
    ['offer_sdp', { targetClientId: T, sdp: { type: 'offer', sdp: 1 } }],
    ['offer_sdp', { targetClientId: 7, sdp: 'x' }],
    ['offer_sdp', { targetClientId: T, sdp: 'x', callId: '' }],
    ['offer_sdp', { targetClientId: T, sdp: 'x', callId: 'has space' }],
    ['offer_sdp', { targetClientId: T, sdp: 'x', callId: 'x'.repeat(65) }],
    ['answer_sdp', { targetClientId: T, sdp: null }],
    ['answer_sdp', { targetClientId: [T], sdp: 'x' }],
    ['send_ice', { targetClientId: T }],
    ['send_ice', { targetClientId: T, candidate: null }],
    ['send_ice', { targetClientId: T, candidate: 5 }],
    ['send_ice', { targetClientId: T, candidate: 'c', mid: 0 }],
    ['send_ice', { targetClientId: T, candidate: 'c', mLineIndex: 'zero' }],
    ['send_ice', { targetClientId: T, candidate: 'c', mLineIndex: 0.5 }],
    ['ringing', {}],
    ['ringing', { targetClientId: true }],
    ['call_decline', { targetClientId: T, reason: 'x'.repeat(65) }],
    ['call_decline', { targetClientId: T, reason: 5 }],
    ['call_hangup', { targetClientId: T, reason: {} }],
    ['busy', { targetClientId: {} }],
  ];
  for (const [event, body] of invalidPayload) {
    await expectCode(bad.socket, event, [body], 'INVALID_PAYLOAD');
    await expectCode(bad.socket, event, [JSON.stringify(body)], 'INVALID_PAYLOAD');
  }
  for (const target of ['', 'X', 'ab', 'UPPER-case', '-abc', 'a'.repeat(33), 'sp ace']) {
    const err = await expectCode(bad.socket, 'ringing', [{ targetClientId: target, callId: 'c' }], 'INVALID_ID');
    assert.equal(err.targetClientId, target);
    assert.equal(err.callId, 'c');
  }
  assert.ok(bad.socket.connected);
  await otherPairStillWorks(ctx);
});

test('oversized payloads → PAYLOAD_TOO_LARGE (string and object), nothing relayed', async (t) => {
  const ctx = await setup(t);
  const { bad, peer } = ctx;
  const peerQuiet = never(peer.socket, 'offer_sdp', 200);
  const big = { targetClientId: peer.id, sdp: 'v'.repeat(MAX) };
  await expectCode(bad.socket, 'offer_sdp', [big], 'PAYLOAD_TOO_LARGE');
  await expectCode(bad.socket, 'offer_sdp', [JSON.stringify(big)], 'PAYLOAD_TOO_LARGE');
  await expectCode(bad.socket, 'send_ice', [{ targetClientId: peer.id, candidate: 'c', junk: 'j'.repeat(MAX) }], 'PAYLOAD_TOO_LARGE');
  // Multi-byte characters count as bytes, not characters.
  await expectCode(bad.socket, 'offer_sdp', [{ targetClientId: peer.id, sdp: 'é'.repeat(MAX / 2) }], 'PAYLOAD_TOO_LARGE');
  await peerQuiet;

  // Exactly at the limit is fine.
  const prefix = JSON.stringify({ targetClientId: peer.id, sdp: '' });
  const exact = { targetClientId: peer.id, sdp: 's'.repeat(MAX - prefix.length) };
  assert.equal(JSON.stringify(exact).length, MAX);
  bad.socket.emit('offer_sdp', exact);
  assert.equal((await once(peer.socket, 'offer_sdp')).sdp.length, MAX - prefix.length);
  assert.ok(bad.socket.connected);
  await otherPairStillWorks(ctx);
});

test('a frame far beyond the transport limit drops only that connection', async (t) => {
  const ctx = await setup(t);
  const { bad, peer } = ctx;
  const dropped = once(bad.socket, 'disconnect');
  bad.socket.emit('offer_sdp', { targetClientId: peer.id, sdp: 'v'.repeat(MAX * 16) });
  await dropped;
  await otherPairStillWorks(ctx);
});

test('payload errors echo event, targetClientId and callId when known', async (t) => {
  const ctx = await setup(t);
  const err = await expectCode(ctx.bad.socket, 'call_hangup', [{ targetClientId: ctx.peer.id, callId: 'abc', reason: 9 }], 'INVALID_PAYLOAD');
  assert.deepEqual([err.targetClientId, err.callId], [ctx.peer.id, 'abc']);
  assert.match(err.message, /reason/);
  const err2 = await expectCode(ctx.bad.socket, 'busy', [17], 'INVALID_PAYLOAD');
  assert.deepEqual(Object.keys(err2).sort(), ['code', 'event', 'message']);
});

test('binary data anywhere in a payload → INVALID_PAYLOAD, nothing relayed (e.g. a Buffer inside the forwarded sdp object)', async (t) => {
  const ctx = await setup(t);
  const { bad, peer } = ctx;
  const opened = once(peer.socket, 'offer_sdp');
  bad.socket.emit('offer_sdp', { targetClientId: peer.id, sdp: 'v=0', callId: 'bin' });
  await opened;
  const peerQuiet = never(peer.socket, 'offer_sdp', 200);
  for (const sdp of [
    { type: 'offer', sdp: 'v=0', extra: Buffer.from('binary inside sdp') },
    { type: 'offer', sdp: 'v=0', nested: [{ deeper: new Uint8Array([1, 2, 3]) }] },
  ]) {
    const err = await expectCode(bad.socket, 'offer_sdp', [{ targetClientId: peer.id, callId: 'bin', sdp }], 'INVALID_PAYLOAD');
    assert.match(err.message, /binary/);
  }
  await expectCode(bad.socket, 'send_ice', [{ targetClientId: peer.id, callId: 'bin', candidate: 'c', extra: { b: Buffer.alloc(4) } }], 'INVALID_PAYLOAD');
  await peerQuiet;
  assert.ok(bad.socket.connected);
});
