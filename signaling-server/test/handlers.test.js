// Handler modules in isolation: each builds the right outgoing payload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handlers } from '../src/handlers/index.js';
import { validate } from '../src/schema.js';
import { Encoder, PacketType } from 'socket.io-parser';

function run(event, data, text) {
  const sent = [];
  const ctx = { relay: { send: async (m) => sent.push(m) } };
  const h = handlers.get(event);
  return h.handle(ctx, { from: 'me1', value: validate(h.schema, data), bytes: 99, text, receivedAt: 5, ip: '192.0.2.4' }).then(() => sent[0]);
}

test('map covers exactly the protocol events and nothing inherited', () => {
  assert.deepEqual([...handlers.keys()].sort(), ['answer_sdp', 'busy', 'call_decline', 'call_hangup', 'get_ice_servers', 'offer_sdp', 'ringing', 'sas_reveal', 'send_ice']);
  assert.equal(handlers.get('__proto__'), undefined);
  assert.equal(handlers.get('constructor'), undefined);
  for (const h of handlers.values()) assert.equal(typeof h.handle, 'function');
});

test('offer_sdp / answer_sdp pass sdp through untouched', async () => {
  const sdpObj = { type: 'offer', sdp: 'v=0', extra: true };
  assert.deepEqual(await run('offer_sdp', { targetClientId: 'you', sdp: sdpObj, callId: 'c' }), {
    event: 'offer_sdp',
    from: 'me1',
    to: 'you',
    payload: { from: 'me1', sdp: sdpObj, callId: 'c' },
    // No payload text given: the relay encodes as usual.
    encoded: undefined,
    bytes: 99,
    receivedAt: 5,
    ip: '192.0.2.4',
  });
  const m = await run('answer_sdp', { targetClientId: 'you', sdp: '{"type":"answer","sdp":"v=0"}' });
  assert.deepEqual(m.payload, { from: 'me1', sdp: '{"type":"answer","sdp":"v=0"}' });
  assert.equal(m.event, 'answer_sdp');
});

test('offer_sdp / answer_sdp come with the packet socket.io would write, the SDP taken from the payload text', async () => {
  const hex = 'ab'.repeat(32);
  const encoder = new Encoder();
  const cases = [
    ['offer_sdp', { targetClientId: 'you', sdp: { type: 'offer', sdp: 'v=0\r\no="x"\r\n', extra: [1, { a: null }] }, callId: 'c-1', sasCommit: hex }],
    ['answer_sdp', { targetClientId: 'you', sdp: JSON.stringify({ type: 'answer', sdp: 'v=0\r\n' }), sasNonce: hex, unknown: { sdp: 'not this one' } }],
  ];
  for (const [event, data] of cases) {
    const m = await run(event, data, JSON.stringify(data));
    assert.equal(m.encoded, encoder.encode({ type: PacketType.EVENT, nsp: '/', data: [event, m.payload] })[0]);
  }
  // The text as a client may write it: spaces, and a duplicate key (the
  // last wins, as in JSON.parse). Same packet once decoded.
  const text = '{ "sdp" : "first", "targetClientId":"you", "sdp" : {"type":"offer","sdp":"v=0"} }';
  const m = await run('offer_sdp', JSON.parse(text), text);
  assert.deepEqual(JSON.parse(m.encoded.slice(1)), ['offer_sdp', { from: 'me1', sdp: { type: 'offer', sdp: 'v=0' } }]);
  // A key written with escapes might spell "sdp": encoded as usual then.
  const escaped = '{"targetClientId":"you","sdp":"a","\\u0073dp":"b"}';
  assert.equal((await run('offer_sdp', JSON.parse(escaped), escaped)).encoded, undefined);
});

test('the security code fields are passed on with their event', async () => {
  const hex = 'cd'.repeat(32);
  assert.deepEqual((await run('offer_sdp', { targetClientId: 'you', sdp: 'v=0', sasCommit: hex })).payload, { from: 'me1', sdp: 'v=0', sasCommit: hex });
  assert.deepEqual((await run('answer_sdp', { targetClientId: 'you', sdp: 'v=0', callId: 'c', sasNonce: hex })).payload, {
    from: 'me1',
    sdp: 'v=0',
    callId: 'c',
    sasNonce: hex,
  });
  const reveal = await run('sas_reveal', { targetClientId: 'you', callId: 'c', nonce: hex });
  assert.equal(reveal.event, 'sas_reveal');
  assert.equal(reveal.to, 'you');
  assert.deepEqual(reveal.payload, { from: 'me1', nonce: hex, callId: 'c' });
});

test('send_ice always carries mid', async () => {
  assert.deepEqual((await run('send_ice', { targetClientId: 'you', candidate: '' })).payload, { from: 'me1', candidate: '', mid: null });
  assert.deepEqual((await run('send_ice', { targetClientId: 'you', candidate: 'c', mid: '0', mLineIndex: 0, callId: 'k' })).payload, {
    from: 'me1',
    candidate: 'c',
    mid: '0',
    mLineIndex: 0,
    callId: 'k',
  });
});

test('call control events', async () => {
  assert.deepEqual((await run('ringing', { targetClientId: 'you', callId: 'k' })).payload, { from: 'me1', callId: 'k' });
  assert.deepEqual((await run('busy', { targetClientId: 'you' })).payload, { from: 'me1' });
  assert.deepEqual((await run('call_decline', { targetClientId: 'you', reason: 'nope' })).payload, { from: 'me1', reason: 'nope' });
  assert.deepEqual((await run('call_decline', { targetClientId: 'you' })).payload, { from: 'me1' });
  assert.deepEqual((await run('call_hangup', { targetClientId: 'you' })).payload, { from: 'me1', reason: 'hangup' });
  assert.deepEqual((await run('call_hangup', { targetClientId: 'you', callId: 'k', reason: 'bye' })).payload, {
    from: 'me1',
    callId: 'k',
    reason: 'bye',
  });
});
